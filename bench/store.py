"""The store benchmark: append rates, watch fan-out, range and reopen, against targets.

    python -m bench.store          # full run (make bench): bench/results/store.json
    python -m bench.store --short  # small sizes (make demo): bench/results/store-short.json
    python -m bench.store --only fanout --repeat 1

Measurements (each opens fresh logs; keys like `/registry/pods/default/pod-00042`, 256-byte
values; writers update keys they own, so every write is one append):

- `append1`:  appends/s of one writer awaiting each write, memory and SQLite.
- `append64`: appends/s of 64 concurrent writers, memory and SQLite; in the same run the raw
  limit (plain `sqlite3` `executemany` of the same rows, 1000-row transactions) and the ratio
  store/raw.
- `fanout`:   64 writers write as fast as they can while 1 or 100 watchers read every event;
  deliveries/s (watchers x events / time until the last watcher has the last event), delivery
  latency p50/p99, and whether every watcher got every event in order.
- `paced`:    a writer paced at 10k writes/s on real time (100 concurrent writes every 10 ms),
  1 and 100 watchers: delivery latency p50/p99.
- `range`:    one `range` over 100k live keys at the head.
- `reopen`:   a 1M-event SQLite log (built through the store: 64 writers updating 10k keys) is
  reopened and takes one write.

Delivery latency is `perf_counter()` in the watcher minus the `perf_counter()` read right before
the write was submitted. Each figure is the median of `--repeat` runs (3 in a full run, 1 in a
short one) unless its `stat` column says otherwise. Targets are for a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from time import perf_counter

import store
from bench._fanout import PACE_BATCH, PACE_INTERVAL, FanoutRun, fanout_once
from bench._harness import progress, run_reported
from bench._machine import code_version
from bench._raw import raw_append_rate
from bench._report import Result, Target, number
from bench._workload import (
    PREFIX,
    KeySet,
    create_keys,
    payload,
    percentile,
    summarize,
    update_concurrently,
)
from store import EventLog

__all__ = ["main"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BACKENDS = ("memory", "sqlite")
WRITERS = 64


# -- sizes and results ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    repeats: int
    keys: int  # keys the writers update
    append1: dict[str, int]  # writes by the single awaited writer, per backend
    append64: int  # writes by the 64 writers (and raw rows)
    fanout_events: int
    fanout_watchers: tuple[int, ...]
    paced_events: int
    paced_watchers: tuple[int, ...]
    range_keys: int
    range_reads: int
    reopen_events: int


FULL = Sizes(
    repeats=3,
    keys=10_000,
    append1={"memory": 50_000, "sqlite": 10_000},
    append64=200_000,
    fanout_events=100_000,
    fanout_watchers=(1, 100),
    paced_events=50_000,
    paced_watchers=(1, 100),
    range_keys=100_000,
    range_reads=5,
    reopen_events=1_000_000,
)
SHORT = Sizes(
    repeats=1,
    keys=2_000,
    append1={"memory": 5_000, "sqlite": 1_000},
    append64=20_000,
    fanout_events=10_000,
    fanout_watchers=(1, 100),
    paced_events=5_000,
    paced_watchers=(1, 100),
    range_keys=10_000,
    range_reads=3,
    reopen_events=20_000,
)


@dataclass
class Context:
    sizes: Sizes
    workdir: Path
    results: list[Result] = field(default_factory=list)
    _files: int = 0

    def path(self, name: str) -> Path:
        """A new file name in the work directory."""
        self._files += 1
        return self.workdir / f"{name}-{self._files}.db"

    def url(self, backend: str, name: str) -> str:
        """A fresh log URL: `memory://`, or a new SQLite file in the work directory."""
        return "memory://" if backend == "memory" else f"sqlite:///{self.path(name)}"

    def stat(self, kind: str = "median") -> str:
        n = self.sizes.repeats
        return "single run" if n == 1 else f"{kind} of {n}"

    def add(self, result: Result) -> None:
        self.results.append(result)
        verdict = {None: "", True: "  PASS", False: "  MISS"}[result.passed]
        target = f"  (target {result.target})" if result.target else ""
        progress(f"  = {result.name}: {number(result.value)} {result.unit}{target}{verdict}")


@contextlib.asynccontextmanager
async def _open(url: str) -> AsyncIterator[EventLog]:
    async with store.open_log(url) as log:
        yield log


def _fresh() -> None:
    """Start each timed run without garbage from the previous one."""
    gc.collect()


# -- append rates --------------------------------------------------------------------------


async def _append_rate(ctx: Context, backend: str, writers: int, total: int) -> float:
    async with _open(ctx.url(backend, f"append{writers}")) as log:
        keys = KeySet(ctx.sizes.keys)
        await create_keys(log, keys)
        _fresh()
        seconds = await update_concurrently(log, keys, total, writers=writers)
        if log.revision != len(keys) + total:
            raise AssertionError(f"head {log.revision}, expected {len(keys) + total}")
    return total / seconds


async def _repeat_rate(
    ctx: Context, label: str, run: Callable[[], Awaitable[float]]
) -> tuple[float, tuple[float, ...]]:
    """The median of `repeats` runs, and every run's figure."""
    rates = []
    for r in range(ctx.sizes.repeats):
        rate = await run()
        progress(f"    {label} run {r + 1}/{ctx.sizes.repeats}: {rate:,.0f}/s")
        rates.append(rate)
    return summarize(rates, stat="median"), tuple(rates)


async def measure_append1(ctx: Context) -> None:
    """One writer awaiting each write."""
    for backend in BACKENDS:
        total = ctx.sizes.append1[backend]
        rate, runs = await _repeat_rate(
            ctx, f"append1 {backend}", partial(_append_rate, ctx, backend, 1, total)
        )
        target = Target(">=", 5_000) if backend == "sqlite" else None
        name = f"append.1writer.{backend}"
        ctx.add(Result(name, rate, "appends/s", target, ctx.stat(), runs))


async def measure_append64(ctx: Context) -> None:
    """64 concurrent writers on each backend, and the raw sqlite3 limit in the same run."""
    total = ctx.sizes.append64
    memory, runs = await _repeat_rate(
        ctx, f"append{WRITERS} memory", partial(_append_rate, ctx, "memory", WRITERS, total)
    )
    name = f"append.{WRITERS}writers.memory"
    ctx.add(Result(name, memory, "appends/s", Target(">=", 300_000), ctx.stat(), runs))

    # SQLite through the store and raw sqlite3 take turns, so both see the same machine.
    keys = KeySet(ctx.sizes.keys)
    sqlite_runs: list[float] = []
    raw_runs: list[float] = []
    for r in range(ctx.sizes.repeats):
        sqlite_runs.append(await _append_rate(ctx, "sqlite", WRITERS, total))
        raw_runs.append(raw_append_rate(ctx.path("raw"), keys, total))
        progress(
            f"    append{WRITERS} sqlite run {r + 1}/{ctx.sizes.repeats}: "
            f"{sqlite_runs[-1]:,.0f}/s; raw sqlite3 executemany {raw_runs[-1]:,.0f} rows/s"
        )
    sqlite = summarize(sqlite_runs, stat="median")
    raw = summarize(raw_runs, stat="median")
    stat = ctx.stat()
    name = f"append.{WRITERS}writers.sqlite"
    ctx.add(Result(name, sqlite, "appends/s", Target(">=", 100_000), stat, tuple(sqlite_runs)))
    name = "append.raw_sqlite3.executemany"
    ctx.add(Result(name, raw, "rows/s", None, stat, tuple(raw_runs)))
    ratios = tuple(a / b for a, b in zip(sqlite_runs, raw_runs, strict=True))
    stat = "median/median" if ctx.sizes.repeats > 1 else "single run"
    name = f"append.{WRITERS}writers.sqlite/raw"
    ctx.add(Result(name, sqlite / raw, "ratio", Target(">=", 0.40), stat, ratios))


# -- watch fan-out and delivery latency ----------------------------------------------------


async def _fanout(ctx: Context, backend: str, watchers: int, events: int, *, paced: bool) -> None:
    mode = "paced" if paced else "fanout"
    runs: list[FanoutRun] = []
    async with _open(ctx.url(backend, mode)) as log:
        keys = KeySet(ctx.sizes.keys)
        await create_keys(log, keys)
        for r in range(ctx.sizes.repeats):
            run = await fanout_once(log, keys, events, watchers, paced=paced, writers=WRITERS)
            progress(
                f"    {mode} {backend} {watchers} watchers run {r + 1}/{ctx.sizes.repeats}: "
                f"writes {events / run.write_seconds:,.0f}/s, deliveries "
                f"{watchers * events / run.deliver_seconds:,.0f}/s, "
                f"p50 {percentile(run.latencies, 50) * 1e3:.2f} ms, "
                f"p99 {percentile(run.latencies, 99) * 1e3:.2f} ms, "
                f"complete {run.complete}/{watchers}"
            )
            runs.append(run)
    stat = ctx.stat()
    name = f"{mode}.{backend}.{watchers}w"

    def add(figure: str, unit: str, target: Target | None, values: list[float]) -> None:
        value = summarize(values, stat="median")
        ctx.add(Result(f"{name}.{figure}", value, unit, target, stat, tuple(values)))

    writes = [events / r.write_seconds for r in runs]
    p50 = [percentile(r.latencies, 50) * 1e3 for r in runs]
    p99 = [percentile(r.latencies, 99) * 1e3 for r in runs]
    if paced:
        add("writes", "writes/s", Target(">=", 0.95 * PACE_BATCH / PACE_INTERVAL), writes)
        add("latency_p50", "ms", None, p50)
        add("latency_p99", "ms", Target("<", 10.0), p99)
    else:
        add("writes", "writes/s", None, writes)
        add("deliveries", "events/s", None, [watchers * events / r.deliver_seconds for r in runs])
        add("latency_p50", "ms", None, p50)
        add("latency_p99", "ms", None, p99)
    complete = [float(r.complete) for r in runs]
    worst = "worst" if len(runs) > 1 else "single run"
    target = Target("==", watchers)
    ctx.add(
        Result(
            f"{name}.complete_in_order", min(complete), "watchers", target, worst, tuple(complete)
        )
    )


async def measure_fanout(ctx: Context) -> None:
    """64 writers as fast as they go, 1 and 100 watchers reading every event."""
    for backend in BACKENDS:
        for watchers in ctx.sizes.fanout_watchers:
            await _fanout(ctx, backend, watchers, ctx.sizes.fanout_events, paced=False)


async def measure_paced(ctx: Context) -> None:
    """10k writes/s on real time, 1 and 100 watchers: delivery latency."""
    for backend in BACKENDS:
        for watchers in ctx.sizes.paced_watchers:
            await _fanout(ctx, backend, watchers, ctx.sizes.paced_events, paced=True)


# -- range and reopen ----------------------------------------------------------------------


async def measure_range(ctx: Context) -> None:
    """One `range` over all live keys (100k in a full run) at the head."""
    n = ctx.sizes.range_keys
    for backend in BACKENDS:
        async with _open(ctx.url(backend, "range")) as log:
            keys = KeySet(n)
            await create_keys(log, keys)
            seconds = []
            for _ in range(ctx.sizes.range_reads):
                _fresh()
                t0 = perf_counter()
                result = await log.range(PREFIX)
                seconds.append(perf_counter() - t0)
                if len(result.items) != n or result.revision != log.revision:
                    raise AssertionError(f"range returned {len(result.items)} keys, not {n}")
        median = summarize(seconds, stat="median")
        stat = f"median of {len(seconds)}"
        name = f"range.{n // 1000}k_keys.{backend}"
        runs = tuple(t * 1e3 for t in seconds)
        ctx.add(Result(name, median * 1e3, "ms", None, stat, runs))
        ctx.add(Result(f"{name}.rate", n / median, "keys/s", None, stat))


async def measure_reopen(ctx: Context) -> None:
    """Build a 1M-event SQLite log through the store, then reopen it and write once."""
    total = ctx.sizes.reopen_events
    url = ctx.url("sqlite", "reopen")
    keys = KeySet(ctx.sizes.keys)
    progress(f"    building a {total:,}-event SQLite log through the store ...")
    async with _open(url) as log:
        t0 = perf_counter()
        await create_keys(log, keys)
        await update_concurrently(log, keys, total - len(keys), writers=WRITERS)
        build = perf_counter() - t0
        t1 = perf_counter()
    close = perf_counter() - t1
    path = Path(url.removeprefix("sqlite://"))
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    label = f"{total // 1000}k" if total < 1_000_000 else f"{total // 1_000_000}M"
    ctx.add(Result(f"reopen.{label}_events.build", total / build, "appends/s", None, "single run"))
    ctx.add(Result(f"reopen.{label}_events.file_size", size / 1e6, "MB", None, "single run"))
    ctx.add(Result(f"reopen.{label}_events.close", close, "s", None, "single run"))
    times = []
    for r in range(ctx.sizes.repeats):
        _fresh()
        t0 = perf_counter()
        async with _open(url) as log:
            rev = await log.create(f"/registry/bench/reopen-{r}", payload(r), actor="bench")
            seconds = perf_counter() - t0
        if rev != total + r + 1:
            raise AssertionError(f"the write after reopening got revision {rev}")
        progress(f"    reopen run {r + 1}/{ctx.sizes.repeats}: {seconds:.2f} s")
        times.append(seconds)
    reopen = summarize(times, stat="median")
    name = f"reopen.{label}_events.sqlite"
    ctx.add(Result(name, reopen, "s", Target("<", 5.0), ctx.stat(), tuple(times)))


MEASUREMENTS: dict[str, Callable[[Context], Awaitable[None]]] = {
    "append1": measure_append1,
    "append64": measure_append64,
    "fanout": measure_fanout,
    "paced": measure_paced,
    "range": measure_range,
    "reopen": measure_reopen,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.store",
        description="Benchmark the store: appends/s, watch fan-out and latency, range, reopen.",
    )
    parser.add_argument(
        "--short", action="store_true", help="small sizes, one run each (the whole run < 30 s)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(MEASUREMENTS),
        metavar="NAME",
        help=f"run only this measurement (repeatable): {', '.join(MEASUREMENTS)}",
    )
    parser.add_argument("--repeat", type=int, metavar="N", help="runs per figure (median)")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="results file (default bench/results/store.json, or store-short.json with "
        "--short; a run with --only writes none unless --out is given)",
    )
    parser.add_argument(
        "--dir", type=Path, metavar="DIR", help="where SQLite files go (default: a temp dir)"
    )
    return parser.parse_args(argv)


async def _run(names: Sequence[str], ctx: Context) -> None:
    for name in names:
        progress(f"[{name}] {MEASUREMENTS[name].__doc__}")
        t0 = perf_counter()
        await MEASUREMENTS[name](ctx)
        progress(f"[{name}] {perf_counter() - t0:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = SHORT if args.short else FULL
    if args.repeat is not None:
        if args.repeat < 1:
            raise SystemExit("--repeat must be at least 1")
        sizes = Sizes(**{**vars(sizes), "repeats": args.repeat})
    names = list(dict.fromkeys(args.only)) if args.only else list(MEASUREMENTS)
    out: Path | None = args.out
    if out is None and not args.only:
        out = RESULTS_DIR / ("store-short.json" if args.short else "store.json")
    header = {
        "store": code_version(Path(store.__file__).resolve().parent),
        "mode": "short" if args.short else "full",
        "sizes": dict(vars(sizes)),
    }

    def run() -> list[Result]:
        with tempfile.TemporaryDirectory(prefix="cpemu-bench-", dir=args.dir) as workdir:
            ctx = Context(sizes, Path(workdir))
            asyncio.run(_run(names, ctx))
        return ctx.results

    return run_reported(run, out, header)


if __name__ == "__main__":
    sys.exit(main())
