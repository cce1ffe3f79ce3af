"""Watch fan-out: writers and watchers on one log, every delivery checked and timed.

Delivery latency is `perf_counter()` in the watcher minus the `perf_counter()` read right before
the write was submitted (recorded per revision by the writers). Ten watchers spread over the
list record every arrival; the others only check order, so timing costs the same in each run.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from array import array
from dataclasses import dataclass
from time import perf_counter

import store
from bench._workload import PREFIX, KeySet, update_concurrently, update_paced
from store import EventLog

__all__ = ["PACE_BATCH", "PACE_INTERVAL", "FanoutRun", "fanout_once"]

PACE_BATCH = 100  # writes per tick ...
PACE_INTERVAL = 0.010  # ... every 10 ms: 10k writes/s


@dataclass(frozen=True)
class FanoutRun:
    """What one fan-out run measured."""

    write_seconds: float
    deliver_seconds: float  # from the first submit until the last watcher had the last event
    complete: int  # watchers that got every event, in order, exactly once
    latencies: list[float]  # seconds, sorted; from the sampled watchers


def _sampled(watchers: int, samples: int = 10) -> set[int]:
    """Indexes of up to `samples` watchers spread evenly, first and last included."""
    if watchers <= samples:
        return set(range(watchers))
    return {round(k * (watchers - 1) / (samples - 1)) for k in range(samples)}


async def _watch_all(
    log: EventLog, after: int, last: int, arrivals: array[float] | None, done: list[float]
) -> bool:
    """Read events after `after` up to `last`; True if all came, in order, exactly once."""
    expect = after + 1
    try:
        async with log.watch(PREFIX, after=after) as watch:
            async for ev in watch:
                if ev.revision != expect:
                    print(
                        f"    watcher got revision {ev.revision}, expected {expect}",
                        file=sys.stderr,
                    )
                    return False
                if arrivals is not None:
                    arrivals.append(perf_counter())
                if expect == last:
                    done.append(perf_counter())
                    return True
                expect += 1
    except store.StoreError as exc:
        print(f"    watcher stopped at revision {expect - 1}: {exc!r}", file=sys.stderr)
    return False


async def fanout_once(
    log: EventLog, keys: KeySet, events: int, watchers: int, *, paced: bool, writers: int
) -> FanoutRun:
    """`watchers` watch the log while `events` updates are written: by `writers` tasks as fast
    as they go, or `paced` at PACE_BATCH writes every PACE_INTERVAL seconds."""
    after = log.revision
    last = after + events
    sampled = _sampled(watchers)
    arrivals = {w: array("d") for w in sampled}
    done: list[float] = []
    tasks = [
        asyncio.ensure_future(_watch_all(log, after, last, arrivals.get(w), done))
        for w in range(watchers)
    ]
    for _ in range(3):  # let every watcher reach its first wait before the writers start
        await asyncio.sleep(0)
    await asyncio.sleep(0.005)
    submitted: dict[int, float] = {}
    gc.collect()
    t0 = perf_counter()
    if paced:
        write_seconds = await update_paced(
            log, keys, events, batch=PACE_BATCH, interval=PACE_INTERVAL, submitted=submitted
        )
    else:
        write_seconds = await update_concurrently(
            log, keys, events, writers=writers, submitted=submitted
        )
    finished, pending = await asyncio.wait(tasks, timeout=max(30.0, events / 2_000))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in finished:
        if task.exception() is not None:
            print(f"    watcher failed: {task.exception()!r}", file=sys.stderr)
    complete = sum(1 for task in finished if task.exception() is None and task.result())
    deliver_seconds = (max(done) if len(done) == watchers else perf_counter()) - t0
    latencies: list[float] = []
    for series in arrivals.values():
        latencies.extend(t - submitted[after + 1 + j] for j, t in enumerate(series))
    latencies.sort()
    return FanoutRun(write_seconds, deliver_seconds, complete, latencies)
