"""Keys, payloads, writer tasks and statistics shared by the store benchmark.

The workload looks like what the API server writes: keys such as
`/registry/pods/default/pod-00042` and ~256-byte JSON values. Writers update keys they own
(each key belongs to exactly one writer task), so every compare-and-swap succeeds and every
write is one append.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Sequence
from time import perf_counter

from store import EventLog

__all__ = [
    "ACTOR",
    "PAYLOAD_BYTES",
    "PREFIX",
    "KeySet",
    "create_keys",
    "key_name",
    "payload",
    "percentile",
    "summarize",
    "update_concurrently",
    "update_paced",
]

PREFIX = "/registry/pods/"
PAYLOAD_BYTES = 256
ACTOR = "bench"


def key_name(i: int, namespace: str = "default") -> str:
    """The key of pod number `i`: `/registry/pods/default/pod-00042`."""
    return f"{PREFIX}{namespace}/pod-{i:05d}"


def payload(i: int, generation: int = 1) -> bytes:
    """A pod-like JSON value of about `PAYLOAD_BYTES` bytes (the `pad` label fills it up)."""

    def encode(pad: str) -> bytes:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"pod-{i:05d}",
                "namespace": "default",
                "uid": f"6f1c{i & 0xFFFF:04x}-2b7e-4c1a-9d3e-{i:012x}",
                "generation": generation,
                "labels": {"app": "web", "pad": pad},
            },
            "spec": {"nodeName": f"node-{i % 3}"},
            "status": {"phase": "Running", "podIP": f"10.244.{(i >> 8) & 0xFF}.{i & 0xFF}"},
        }
        return json.dumps(pod, separators=(",", ":")).encode()

    return encode("p" * max(PAYLOAD_BYTES - len(encode("")), 0))


class KeySet:
    """Keys, their current mod_revisions and a value each; split among writer tasks."""

    def __init__(self, count: int, *, start: int = 0) -> None:
        self.keys = [key_name(start + i) for i in range(count)]
        self.values = [payload(start + i) for i in range(count)]
        self.revs = [0] * count

    def __len__(self) -> int:
        return len(self.keys)

    def share(self, writer: int, writers: int) -> range:
        """Indexes of the keys writer number `writer` (of `writers`) owns."""
        return range(writer, len(self.keys), writers)


def _split(total: int, parts: int) -> list[int]:
    """`total` split into `parts` counts that differ by at most one."""
    base, extra = divmod(total, parts)
    return [base + (1 if p < extra else 0) for p in range(parts)]


async def create_keys(log: EventLog, keys: KeySet, *, writers: int = 64) -> float:
    """Create every key of `keys` with `writers` concurrent tasks; returns seconds taken."""
    create = log.create

    async def writer(w: int) -> None:
        for i in keys.share(w, writers):
            keys.revs[i] = await create(keys.keys[i], keys.values[i], actor=ACTOR)

    t0 = perf_counter()
    await asyncio.gather(*(writer(w) for w in range(min(writers, len(keys)))))
    return perf_counter() - t0


async def update_concurrently(
    log: EventLog,
    keys: KeySet,
    total: int,
    *,
    writers: int,
    submitted: dict[int, float] | None = None,
) -> float:
    """`total` updates by `writers` tasks, each awaiting its own writes; returns seconds taken.

    Writer w cycles over the keys it owns. With `submitted`, records for each revision the
    `perf_counter()` read right before its write was submitted.
    """
    update = log.update
    ks, vs, revs = keys.keys, keys.values, keys.revs

    async def writer(w: int, n: int) -> None:
        mine = keys.share(w, writers)
        owned = len(mine)
        for j in range(n):
            i = mine[j % owned]
            revs[i] = await update(ks[i], vs[i], expected=revs[i], actor=ACTOR)

    async def timed_writer(w: int, n: int) -> None:
        assert submitted is not None
        mine = keys.share(w, writers)
        owned = len(mine)
        for j in range(n):
            i = mine[j % owned]
            t = perf_counter()
            rev = await update(ks[i], vs[i], expected=revs[i], actor=ACTOR)
            revs[i] = rev
            submitted[rev] = t

    if writers > len(keys):
        raise ValueError(f"{writers} writers need at least as many keys, not {len(keys)}")
    t0 = perf_counter()
    task = writer if submitted is None else timed_writer
    await asyncio.gather(*(task(w, n) for w, n in enumerate(_split(total, writers)) if n))
    return perf_counter() - t0


async def update_paced(
    log: EventLog,
    keys: KeySet,
    total: int,
    *,
    batch: int,
    interval: float,
    submitted: dict[int, float],
) -> float:
    """`total` updates at a steady rate: `batch` concurrent writes every `interval` seconds.

    Ticks follow an absolute schedule on `perf_counter`, so a late tick does not shift the
    later ones (the writer catches up instead). Returns seconds taken.
    """
    update = log.update
    ks, vs, revs = keys.keys, keys.values, keys.revs
    if batch > len(keys):
        raise ValueError(f"a batch of {batch} needs at least as many keys, not {len(keys)}")

    async def one(i: int) -> None:
        t = perf_counter()
        rev = await update(ks[i], vs[i], expected=revs[i], actor=ACTOR)
        revs[i] = rev
        submitted[rev] = t

    t0 = perf_counter()
    done = 0
    tick = 0
    while done < total:
        delay = t0 + tick * interval - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        n = min(batch, total - done)
        await asyncio.gather(*(one((done + j) % len(keys)) for j in range(n)))
        done += n
        tick += 1
    return perf_counter() - t0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (0 < q <= 100) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def summarize(values: Sequence[float], *, stat: str) -> float:
    """`stat` ("median" or "best-max" / "best-min") of repeated measurements."""
    if stat == "median":
        return statistics.median(values)
    if stat == "best-max":
        return max(values)
    if stat == "best-min":
        return min(values)
    raise ValueError(f"unknown statistic {stat!r}")
