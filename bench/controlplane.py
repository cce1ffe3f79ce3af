"""The control-plane benchmark: informer delivery, work-queue throughput, `plane.apply`.

    python -m bench.controlplane          # full run (make bench): bench/results/controlplane.json
    python -m bench.controlplane --short  # small sizes: bench/results/controlplane-short.json
    python -m bench.controlplane --only informer --repeat 1

Measurements (memory store; real time is `time.perf_counter()`):

- `informer` (the issue's figure, target >= 100k events/s): 64 concurrent writers append
  already-encoded ConfigMaps to the event log itself while one `SharedInformer` (list + watch
  through the `ApiServer`) with one handler receives them: events/s from the first store write
  to the last handler call, and whether each arrived exactly once in revision order.
  End to end through the API server: 64 concurrent writers create ConfigMaps with `ApiServer.create`
  (admission, defaulting, validation, encoding: ~12 us each, the limit of this figure) while one
  `SharedInformer` with one handler receives them; events/s from the first write submitted to
  the last handler call, latency p50/p99 from write submit to handler, and whether every event
  arrived exactly once in revision order. Then a second informer on the same server catches up
  on the objects already written (list + watch): events/s from start to its last handler call.
- `workqueue`: a `WorkQueue` on a `RealClock` and an `Activity`; adds/s of distinct keys, then
  5 workers `get` / process / `forget` / `done` every key; the processing function only
  yields once to the event loop (as any reconcile that awaits something does), so the 5
  workers interleave.
- `apply`: `ControlPlane.open(store="memory://", clock="virtual", nodes=0)`, then
  `plane.apply` of one multi-document YAML of small ConfigMaps (the YAML parse included):
  objects/s; then the same YAML again (every object unchanged: a no-op), objects/s. The plane
  runs its shipped controllers (the garbage collector) and informers meanwhile. For scale, in
  the same run: `plane.apply` of the already parsed objects on a fresh plane, and
  `load_manifests` (the YAML parse) alone.

Each figure is the median of `--repeat` runs (3 in a full run, 1 in a short one) unless its
`stat` column says otherwise. Targets are for a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from msgspec.structs import replace

import store
from bench._harness import progress, run_reported
from bench._machine import code_version
from bench._report import Result, Target, number
from bench._workload import percentile, summarize
from cp.api.codec import CODEC, load_manifests
from cp.api.core import ConfigMap, Node
from cp.api.kinds import KINDS
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.times import rfc3339
from cp.apiserver import ApiServer
from cp.apiserver.keys import key_of
from cp.informer import Handlers, ListWatcher, SharedInformerFactory, WatchContext
from cp.plane import ControlPlane
from cp.runtime import Activity, RealClock, SeededIds
from cp.workqueue import ShutDown, WorkQueue

__all__ = ["main"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
WRITERS = 64
WORKERS = 5
NAMESPACE = "bench"


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    repeats: int
    informer_objects: int
    queue_keys: int
    apply_objects: int


FULL = Sizes(repeats=3, informer_objects=100_000, queue_keys=100_000, apply_objects=10_000)
SHORT = Sizes(repeats=1, informer_objects=5_000, queue_keys=5_000, apply_objects=500)


@dataclass
class Context:
    sizes: Sizes
    results: list[Result] = field(default_factory=list)

    def stat(self) -> str:
        n = self.sizes.repeats
        return "single run" if n == 1 else f"median of {n}"

    def add(self, result: Result) -> None:
        self.results.append(result)
        verdict = {None: "", True: "  PASS", False: "  MISS"}[result.passed]
        target = f"  (target {result.target})" if result.target else ""
        progress(f"  = {result.name}: {number(result.value)} {result.unit}{target}{verdict}")

    def figure(
        self, name: str, unit: str, values: Sequence[float], target: Target | None = None
    ) -> None:
        value = summarize(values, stat="median")
        self.add(Result(name, value, unit, target, self.stat(), tuple(values)))


def _fresh() -> None:
    """Start each timed run without garbage from the previous one."""
    gc.collect()


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 else str(n)


def _config_map(i: int) -> ConfigMap:
    return ConfigMap(
        metadata=ObjectMeta(name=f"cm-{i:06d}", namespace=NAMESPACE, labels={"app": "bench"}),
        data={"index": str(i), "value": "x" * 64},
    )


def _index(obj: ApiStruct) -> int:
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return int(meta.name.removeprefix("cm-"))


def _revision(obj: ApiStruct) -> int:
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return int(meta.resource_version)


# -- informer ------------------------------------------------------------------------------


class _Receiver:
    """One handler: records (object, perf_counter) per add; sets `done` at `expected` adds."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.objects: list[ApiStruct] = []
        self.times: list[float] = []
        self.updates = 0
        self.done = asyncio.Event()

    def on_add(self, obj: ApiStruct) -> None:
        self.times.append(perf_counter())
        self.objects.append(obj)
        if len(self.objects) == self.expected:
            self.done.set()

    def on_update(self, old: ApiStruct, new: ApiStruct) -> None:
        self.updates += 1

    def handlers(self) -> Handlers:
        return Handlers(on_add=self.on_add, on_update=self.on_update)

    def complete(self, total: int, *, in_order: bool = True) -> bool:
        """Every object 0..total-1 exactly once as an add (no updates), and with `in_order`
        in strictly increasing revisions (a list delivers in key order instead)."""
        if self.updates or len(self.objects) != total:
            return False
        seen = bytearray(total)
        last = 0
        for obj in self.objects:
            i, rev = _index(obj), _revision(obj)
            if not 0 <= i < total or seen[i] or (in_order and rev <= last):
                return False
            seen[i] = 1
            last = rev
        return True


class _ListAt:
    """The server as a `ListWatcher` whose lists read at a fixed old revision, so an informer
    replays every later event through its watch (the informer's delivery path alone)."""

    def __init__(self, server: ApiServer, revision: int) -> None:
        self._server = server
        self._revision = revision

    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]:
        return await self._server.list(kind, namespace, at=self._revision)

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> WatchContext:
        return self._server.watch(kind, namespace, resource_version=resource_version)


async def _catch_up(
    list_watcher: ListWatcher, activity: Activity, total: int, *, in_order: bool
) -> tuple[float, bool]:
    """A fresh informer with one handler until it has `total` adds: (seconds, complete)."""
    _fresh()
    receiver = _Receiver(total)
    factory = SharedInformerFactory(list_watcher, activity)
    factory.informer_for("ConfigMap").add_handler(receiver.handlers())
    t0 = perf_counter()
    async with factory:
        await factory.wait_for_sync()
        await asyncio.wait_for(receiver.done.wait(), timeout=600)
    seconds = receiver.times[-1] - t0
    return seconds, receiver.complete(total, in_order=in_order)


@dataclass(frozen=True)
class _InformerRun:
    write_seconds: float
    deliver_seconds: float
    latencies: list[float]  # sorted, seconds
    in_order: bool
    list_seconds: float  # a fresh informer lists the objects written
    list_complete: bool
    replay_seconds: float  # a fresh informer lists at the start revision, watches the rest
    replay_in_order: bool


async def _informer_once(total: int) -> _InformerRun:
    async with store.open_log("memory://") as log:
        activity = Activity()
        server = ApiServer(log, clock_now=time.time, ids=SeededIds(0).uid)
        # Another kind's object first: the replay informer lists at its revision (not 0).
        await server.create(Node(metadata=ObjectMeta(name="sentinel")))
        start = log.revision
        objects = [_config_map(i) for i in range(total)]
        submitted = [0.0] * total
        receiver = _Receiver(total)
        factory = SharedInformerFactory(server, activity, head=lambda: log.revision)
        factory.informer_for("ConfigMap").add_handler(receiver.handlers())
        async with factory:
            await factory.wait_for_sync()
            _fresh()

            async def writer(w: int) -> None:
                create = server.create
                for i in range(w, total, WRITERS):
                    submitted[i] = perf_counter()
                    await create(objects[i])

            t0 = perf_counter()
            async with asyncio.TaskGroup() as tg:
                for w in range(WRITERS):
                    tg.create_task(writer(w))
            write_seconds = perf_counter() - t0
            await asyncio.wait_for(receiver.done.wait(), timeout=600)
            deliver_seconds = receiver.times[-1] - t0
        latencies = sorted(
            t - submitted[_index(obj)]
            for obj, t in zip(receiver.objects, receiver.times, strict=True)
        )
        in_order = receiver.complete(total)
        del receiver
        list_seconds, list_complete = await _catch_up(server, activity, total, in_order=False)
        replay = _ListAt(server, start)
        replay_seconds, replay_in_order = await _catch_up(replay, activity, total, in_order=True)
    return _InformerRun(
        write_seconds,
        deliver_seconds,
        latencies,
        in_order,
        list_seconds,
        list_complete,
        replay_seconds,
        replay_in_order,
    )


async def _informer_from_store_once(total: int) -> tuple[float, bool]:
    """64 writers append already-encoded ConfigMaps to the log itself (what the API server
    would store); one informer with one handler: (seconds from first write to last handler
    call, every object exactly once in revision order)."""
    async with store.open_log("memory://") as log:
        activity = Activity()
        server = ApiServer(log, clock_now=time.time, ids=SeededIds(0).uid)
        info = KINDS.lookup("ConfigMap")
        assert info is not None
        stamp = rfc3339(time.time())
        values = [
            (
                key_of(info, NAMESPACE, f"cm-{i:06d}"),
                CODEC.encode(
                    replace(
                        obj,
                        metadata=replace(obj.metadata, uid=f"uid-{i}", creation_timestamp=stamp),
                    )
                ),
            )
            for i, obj in enumerate(_config_map(i) for i in range(total))
        ]
        receiver = _Receiver(total)
        factory = SharedInformerFactory(server, activity, head=lambda: log.revision)
        factory.informer_for("ConfigMap").add_handler(receiver.handlers())
        async with factory:
            await factory.wait_for_sync()
            _fresh()

            async def writer(w: int) -> None:
                create = log.create
                for i in range(w, total, WRITERS):
                    key, value = values[i]
                    await create(key, value)

            t0 = perf_counter()
            async with asyncio.TaskGroup() as tg:
                for w in range(WRITERS):
                    tg.create_task(writer(w))
            await asyncio.wait_for(receiver.done.wait(), timeout=600)
            seconds = receiver.times[-1] - t0
        return seconds, receiver.complete(total)


async def measure_informer(ctx: Context) -> None:
    """64 writers create ConfigMaps through the ApiServer; one informer with one handler."""
    total = ctx.sizes.informer_objects
    runs: list[_InformerRun] = []
    for r in range(ctx.sizes.repeats):
        run = await _informer_once(total)
        progress(
            f"    informer run {r + 1}/{ctx.sizes.repeats}: writes "
            f"{total / run.write_seconds:,.0f}/s, delivery {total / run.deliver_seconds:,.0f}/s, "
            f"p50 {percentile(run.latencies, 50) * 1e3:.2f} ms, "
            f"p99 {percentile(run.latencies, 99) * 1e3:.2f} ms, in order {run.in_order}; "
            f"catch-up by list {total / run.list_seconds:,.0f}/s ({run.list_complete}), "
            f"by watch {total / run.replay_seconds:,.0f}/s ({run.replay_in_order})"
        )
        runs.append(run)
    name = f"informer.{_size(total)}_configmaps.memory"
    store_runs = []
    for r in range(ctx.sizes.repeats):
        seconds, complete = await _informer_from_store_once(total)
        progress(
            f"    informer from store writes, run {r + 1}/{ctx.sizes.repeats}: "
            f"{total / seconds:,.0f} events/s, exactly once in order {complete}"
        )
        store_runs.append((seconds, complete))
    ctx.figure(
        f"{name}.store_write_to_handler",
        "events/s",
        [total / seconds for seconds, _ in store_runs],
        Target(">=", 100_000),
    )
    ok = [float(complete) for _, complete in store_runs]
    worst = "worst" if len(store_runs) > 1 else "single run"
    ctx.add(
        Result(
            f"{name}.store_write_to_handler.exactly_once_in_order",
            min(ok),
            "bool",
            Target("==", 1),
            worst,
            tuple(ok),
        )
    )
    ctx.figure(f"{name}.writes", "writes/s", [total / r.write_seconds for r in runs])
    ctx.figure(f"{name}.delivery", "events/s", [total / r.deliver_seconds for r in runs])
    ctx.figure(f"{name}.latency_p50", "ms", [percentile(r.latencies, 50) * 1e3 for r in runs])
    ctx.figure(f"{name}.latency_p99", "ms", [percentile(r.latencies, 99) * 1e3 for r in runs])
    ok = [float(r.in_order) for r in runs]
    worst = "worst" if len(runs) > 1 else "single run"
    ctx.add(
        Result(f"{name}.exactly_once_in_order", min(ok), "bool", Target("==", 1), worst, tuple(ok))
    )
    for label, seconds, complete in (
        ("catchup_list", [r.list_seconds for r in runs], [r.list_complete for r in runs]),
        ("catchup_watch", [r.replay_seconds for r in runs], [r.replay_in_order for r in runs]),
    ):
        ctx.figure(f"{name}.{label}", "events/s", [total / t for t in seconds])
        ok = [float(c) for c in complete]
        target = Target("==", 1)
        ctx.add(Result(f"{name}.{label}.complete", min(ok), "bool", target, worst, tuple(ok)))


# -- work queue ----------------------------------------------------------------------------


async def _queue_once(total: int) -> tuple[float, float, list[int]]:
    """(adds/s, processed keys/s, keys processed per worker)."""
    activity = Activity()
    queue: WorkQueue[str] = WorkQueue(clock=RealClock(), activity=activity, name="bench")
    keys = [f"{NAMESPACE}/obj-{i:06d}" for i in range(total)]
    _fresh()
    t0 = perf_counter()
    for key in keys:
        queue.add(key)
    add_seconds = perf_counter() - t0
    if len(queue) != total or activity.count != total:
        raise AssertionError(f"{len(queue)} keys queued, activity {activity.count}, not {total}")

    counts = [0] * WORKERS
    processed = 0
    finished = asyncio.Event()

    async def process(key: str) -> None:
        await asyncio.sleep(0)  # a reconcile that awaits something once

    async def worker(w: int) -> None:
        nonlocal processed
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            try:
                await process(key)
                queue.forget(key)
            finally:
                queue.done(key)
            counts[w] += 1
            processed += 1
            if processed == total:
                finished.set()

    t0 = perf_counter()
    async with asyncio.TaskGroup() as tg:
        for w in range(WORKERS):
            tg.create_task(worker(w))
        await finished.wait()
        process_seconds = perf_counter() - t0
        queue.shut_down()
    if not activity.idle:
        raise AssertionError(f"activity count {activity.count} after every key was done")
    return total / add_seconds, total / process_seconds, counts


async def measure_workqueue(ctx: Context) -> None:
    """Adds/s and processed keys/s of a WorkQueue with 5 workers (RealClock + Activity)."""
    total = ctx.sizes.queue_keys
    adds: list[float] = []
    rates: list[float] = []
    for r in range(ctx.sizes.repeats):
        add, rate, counts = await _queue_once(total)
        progress(
            f"    workqueue run {r + 1}/{ctx.sizes.repeats}: adds {add:,.0f}/s, "
            f"processed {rate:,.0f}/s, per worker {counts}"
        )
        adds.append(add)
        rates.append(rate)
    name = f"workqueue.{_size(total)}_keys.{WORKERS}workers"
    ctx.figure(f"{name}.adds", "adds/s", adds)
    ctx.figure(f"{name}.processed", "keys/s", rates)


# -- plane.apply ---------------------------------------------------------------------------


def _manifests(total: int) -> str:
    docs = [
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:06d}\n"
        f"  namespace: {NAMESPACE}\n  labels:\n    app: bench\n"
        f'data:\n  index: "{i}"\n  value: {"x" * 64}\n'
        for i in range(total)
    ]
    return "---\n".join(docs)


@dataclass(frozen=True)
class _ApplyRun:
    parse: float  # objects/s of `load_manifests` alone
    create: float  # objects/s of the first apply of the YAML text (parse included)
    noop: float  # objects/s of the same text applied again
    objects: float  # objects/s of a first apply of already parsed objects (another plane)


async def _apply_once(total: int) -> _ApplyRun:
    text = _manifests(total)
    load_manifests(_manifests(10), source="<warm-up>")
    _fresh()
    t0 = perf_counter()
    parsed = load_manifests(text, source="<bench>")
    parse = perf_counter() - t0
    if len(parsed) != total:
        raise AssertionError(f"the YAML holds {len(parsed)} objects, not {total}")
    async with ControlPlane.open(store="memory://", clock="virtual", nodes=0) as plane:
        await plane.settle()
        _fresh()
        t0 = perf_counter()
        created = await plane.apply(text)
        first = perf_counter() - t0
        head = plane.log.revision
        await plane.settle()
        _fresh()
        t0 = perf_counter()
        again = await plane.apply(text)
        second = perf_counter() - t0
        if len(created) != total or len(again) != total:
            raise AssertionError(f"apply returned {len(created)}, {len(again)} objects")
        if plane.log.revision != head:
            raise AssertionError(f"the re-apply wrote {plane.log.revision - head} revisions")
    async with ControlPlane.open(store="memory://", clock="virtual", nodes=0) as plane:
        await plane.settle()
        _fresh()
        t0 = perf_counter()
        created = await plane.apply(parsed)
        objects = perf_counter() - t0
        if len(created) != total:
            raise AssertionError(f"apply returned {len(created)} objects")
    return _ApplyRun(total / parse, total / first, total / second, total / objects)


async def measure_apply(ctx: Context) -> None:
    """`plane.apply` of small ConfigMaps in one YAML (memory store, virtual clock), twice."""
    total = ctx.sizes.apply_objects
    runs: list[_ApplyRun] = []
    for r in range(ctx.sizes.repeats):
        run = await _apply_once(total)
        progress(
            f"    apply run {r + 1}/{ctx.sizes.repeats}: YAML parse {run.parse:,.0f}/s, "
            f"create {run.create:,.0f} objects/s, re-apply (no-op) {run.noop:,.0f} objects/s, "
            f"create from parsed objects {run.objects:,.0f}/s"
        )
        runs.append(run)
    name = f"apply.{_size(total)}_configmaps.memory"
    ctx.figure(f"{name}.create", "objects/s", [r.create for r in runs])
    ctx.figure(f"{name}.reapply_noop", "objects/s", [r.noop for r in runs])
    ctx.figure(f"{name}.create_parsed_objects", "objects/s", [r.objects for r in runs])
    ctx.figure(f"{name}.yaml_parse_only", "objects/s", [r.parse for r in runs])


MEASUREMENTS: dict[str, Callable[[Context], Awaitable[None]]] = {
    "informer": measure_informer,
    "workqueue": measure_workqueue,
    "apply": measure_apply,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.controlplane",
        description="Benchmark the control plane: informer delivery, work queue, apply.",
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
        help="results file (default bench/results/controlplane.json, or controlplane-short.json "
        "with --short; a run with --only writes none unless --out is given)",
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
        out = RESULTS_DIR / ("controlplane-short.json" if args.short else "controlplane.json")
    cp_dir = Path(sys.modules["cp"].__file__ or "cp").resolve().parent
    header = {
        "store": code_version(Path(store.__file__).resolve().parent),
        "cp": code_version(cp_dir),
        "mode": "short" if args.short else "full",
        "sizes": dict(vars(sizes)),
    }

    def run() -> list[Result]:
        ctx = Context(sizes)
        asyncio.run(_run(names, ctx))
        return ctx.results

    return run_reported(run, out, header)


if __name__ == "__main__":
    sys.exit(main())
