"""The workload benchmark: whole Deployments through the control plane, until pods are Available.

    python -m bench.workloads            # full run: bench/results/workloads.json
    python -m bench.workloads --short    # small sizes: bench/results/workloads-short.json
    python -m bench.workloads --only single --only sqlite --nodes 200

Every run is `ControlPlane.open(store=..., clock="virtual", nodes=N, seed=0)` with the shipped
controllers; time is `perf_counter()` wall time, the plane's clock is virtual (timers jump).

- `single`: (a) one Deployment of 10,000 replicas (`nginx:1.25`, strategy RollingUpdate with the
  25%/25% defaults) applied and settled until every pod is Available, then rolled to
  `nginx:1.26` and settled until the rollout is complete.
- `many`: (b) 1,000 Deployments of 10 replicas (maxSurge 1, maxUnavailable 1), applied in one
  `plane.apply` and settled, then all rolled in one `plane.apply` and settled.
- `scale`: (c) per-pod cost (create wall seconds / pods) of one Deployment of 1k, 10k and 50k
  replicas; the 10k figure is (a)'s create. Growth = cost(50k) / cost(1k).
- `sqlite`: (d) (a) again on the SQLite store (a temp file).

`--short`: (a) at 1k replicas, (b) 100 x 10, (c) 1k only (no 50k, so no growth figure), (d) 1k.

Figures per workload: wall seconds of create (apply + settle) and rollout; pods/s (pods
Available / wall seconds); events written and events/s; writes per actor (`controller/...`,
`kubelet/...`, from the event log: the plane's `Controller`s expose no reconcile counters, so
writes are what can be counted); peak RSS (`ru_maxrss`: each workload runs in a fresh
subprocess, so the peak is that workload's); memory per pod = (RSS peak after the create -
RSS peak of the idle plane before it) / pods; and the invariant checker
(`tests/scenarios/invariants.py`) over the whole log: violations (target 0) and its own speed.

Nodes: upstream's default is 110 pods per node. Each workload gets ceil(1.5 x pods / 110) nodes
(10k pods: 137 nodes, 50k: 682), room for the 25% surge plus pods still terminating, so the
scheduler never runs out of room; `--nodes N` pins a count instead.

Convergence: every `settle` has `max_seconds` (virtual, 3600) and is watched on the wall clock:
no event written for 120 s while it runs (hung), or more than 3600 s in all, cancels it. A
workload whose settle did not converge, or whose pods are not all Available (or the rollout not
complete) after it, fails with a message naming what was missing. The first workload failing
stops the benchmark at once with exit code 2 (that is what happens until the Deployment,
ReplicaSet, scheduler and kubelet controllers are wired into `ControlPlane`); a later one is
recorded (`<workload>.converged` = 0), the others still run, the results are written, and the
exit code is 2. `--sizes 1000,10000` runs (c) at other sizes (the 50k run is long while the
per-pod cost grows with the cluster).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any, Final

import msgspec

import store
from bench._child import (
    EXIT_NOT_CONVERGED,
    SETTLE_WALL_LIMIT,
    NotConverged,
    WorkloadFailed,
    actor_group,
    child_main,
    maxrss_bytes,
    spawn,
    watched_settle,
)
from bench._harness import progress, run_reported
from bench._machine import code_version
from bench._report import Result, Target, number
from cp.api.apps import Deployment
from cp.api.core_pod import Pod
from cp.plane import ControlPlane

__all__ = ["main"]

ROOT: Final = Path(__file__).resolve().parent.parent
RESULTS_DIR: Final = ROOT / "bench" / "results"
NAMESPACE: Final = "default"
IMAGE_V1: Final = "nginx:1.25"
IMAGE_V2: Final = "nginx:1.26"
PODS_PER_NODE: Final = 110  # upstream kubelet's default maxPods
NODE_HEADROOM: Final = 1.5  # surge (25%) + pods still terminating
SETTLE_MAX_SECONDS: Final = 3600.0  # virtual seconds per settle

TARGET_PODS_PER_S: Final = Target(">=", 2_000)  # (a) create, memory store
TARGET_ROLLOUT_S: Final = Target("<", 15)  # (a) rollout wall seconds
TARGET_SQLITE_PODS_PER_S: Final = Target(">=", 1_000)  # (d) create, SQLite
TARGET_GROWTH: Final = Target("<", 1.5)  # (c) per-pod cost 50k / 1k
TARGET_BYTES_PER_POD: Final = Target("<", 8 * 1024)
TARGET_VIOLATIONS: Final = Target("==", 0)


# -- what to run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One child process: `deployments` Deployments of `replicas` each, on `store`."""

    label: str  # figure prefix, e.g. "deployment_10k.memory"
    deployments: int
    replicas: int
    store: str  # "memory" or "sqlite"
    rollout: bool
    surge: int | str | None  # None: the API default (25%)
    unavailable: int | str | None

    @property
    def pods(self) -> int:
        return self.deployments * self.replicas


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _single(replicas: int, store_name: str, *, rollout: bool) -> Workload:
    return Workload(
        f"deployment_{_size(replicas)}.{store_name}", 1, replicas, store_name, rollout, None, None
    )


def _many(deployments: int, replicas: int) -> Workload:
    return Workload(
        f"deployments_{deployments}x{replicas}.memory", deployments, replicas, "memory", True, 1, 1
    )


@dataclass(frozen=True)
class Plan:
    single: int  # (a) replicas
    many: tuple[int, int]  # (b) deployments, replicas
    scale: tuple[int, ...]  # (c) sizes (the one equal to `single` reuses (a))
    sqlite: int  # (d) replicas


FULL: Final = Plan(single=10_000, many=(1_000, 10), scale=(1_000, 10_000, 50_000), sqlite=10_000)
SHORT: Final = Plan(single=1_000, many=(100, 10), scale=(1_000,), sqlite=1_000)
MEASUREMENTS: Final = ("single", "many", "scale", "sqlite")


def nodes_for(pods: int) -> int:
    return max(1, math.ceil(NODE_HEADROOM * pods / PODS_PER_NODE))


# -- the child: one workload in a fresh process ----------------------------------------------------


def _manifests(w: Workload, image: str) -> str:
    docs = []
    for i in range(w.deployments):
        name = "web" if w.deployments == 1 else f"web-{i:04d}"
        rolling = ""
        if w.surge is not None or w.unavailable is not None:
            rolling = (
                "  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n"
                f"      maxSurge: {w.surge}\n      maxUnavailable: {w.unavailable}\n"
            )
        docs.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n"
            f"  namespace: {NAMESPACE}\n  labels:\n    app: {name}\n"
            f"spec:\n  replicas: {w.replicas}\n{rolling}"
            f"  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n"
            f"    spec:\n      containers:\n      - name: nginx\n        image: {image}\n"
            f"        ports:\n        - containerPort: 80\n"
        )
    return "---\n".join(docs)


async def _verify(plane: ControlPlane, w: Workload, phase: str, image: str, start_rev: int) -> int:
    """Every Deployment Available and complete on `image`; returns the pods Available."""
    deployments = await plane.client.list("Deployment", namespace=NAMESPACE)
    available = 0
    short: list[str] = []
    for dep in deployments:
        assert isinstance(dep, Deployment)
        want = dep.spec.replicas if dep.spec.replicas is not None else 1
        status = dep.status
        got = status.available_replicas if status is not None else 0
        updated = status.updated_replicas if status is not None else 0
        observed = status.observed_generation if status is not None else 0
        available += min(got, want)
        if got < want or updated != want or observed < dep.metadata.generation:
            short.append(
                f"{dep.metadata.name}: {got}/{want} available, {updated} updated, "
                f"observedGeneration {observed}/{dep.metadata.generation}"
            )
    pods = await plane.client.list("Pod", namespace=NAMESPACE)
    ready_on_image = 0
    for pod in pods:
        assert isinstance(pod, Pod)
        if pod.metadata.deletion_timestamp is not None or pod.status is None:
            continue
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
        if ready and pod.spec.containers[0].image == image:
            ready_on_image += 1
    if len(deployments) != w.deployments or short or ready_on_image < w.pods:
        detail = "; ".join(short[:3]) + (f"; and {len(short) - 3} more" if len(short) > 3 else "")
        written = plane.log.revision - start_rev
        hint = (
            " Nothing but the manifests was written: are the Deployment, ReplicaSet, scheduler "
            "and kubelet controllers wired into cp.plane.ControlPlane?"
            if written <= w.deployments
            else ""
        )
        raise NotConverged(
            f"{w.label}: {phase}: {available}/{w.pods} pods Available after settle "
            f"({ready_on_image} Ready pods on {image} listed, {len(deployments)} Deployments"
            f"{'; ' + detail if detail else ''}; {written} events written).{hint}"
        )
    return available


async def _writes_by_actor(log: store.EventLog, after: int, until: int) -> dict[str, int]:
    """Events in (after, until] per actor (kubelets summed as `kubelet/*`)."""
    counts: Counter[str] = Counter()
    async for event in log.events(after=after, until=until):
        counts[event.actor] += 1
    grouped: Counter[str] = Counter()
    for actor, count in counts.items():
        grouped[actor_group(actor)] += count
    return dict(sorted(grouped.items()))


async def _phase(plane: ControlPlane, w: Workload, phase: str, image: str) -> dict[str, Any]:
    text = _manifests(w, image)
    gc.collect()
    start_rev = plane.log.revision
    t0 = perf_counter()
    await plane.apply(text)
    report = await watched_settle(
        plane, max_seconds=SETTLE_MAX_SECONDS, label=f"{w.label}: {phase}"
    )
    wall = perf_counter() - t0
    available = await _verify(plane, w, phase, image, start_rev)
    end_rev = plane.log.revision
    return {
        "wall_s": wall,
        "pods_available": available,
        "events": end_rev - start_rev,
        "virtual_s": report.seconds,
        "revisions": [start_rev, end_rev],
    }


async def run_workload(w: Workload, *, nodes: int, check: bool) -> dict[str, Any]:
    """Run one workload in this process and return its figures (see the module doc)."""
    from tests.scenarios.invariants import check_log  # the repo root is on sys.path

    with tempfile.TemporaryDirectory(prefix="cpemu-bench-") as tmp:
        url = "memory://" if w.store == "memory" else f"sqlite:///{tmp}/bench.db"
        async with ControlPlane.open(store=url, clock="virtual", nodes=nodes, seed=0) as plane:
            idle = await watched_settle(
                plane, max_seconds=SETTLE_MAX_SECONDS, label=f"{w.label}: start-up"
            )
            gc.collect()
            rss_idle = maxrss_bytes()
            result: dict[str, Any] = {
                "nodes": nodes,
                "pods": w.pods,
                "startup_events": plane.log.revision,
                "startup_converged": idle.converged,
                "controllers": [c.name for c in plane.manager.controllers],
            }
            progress(f"    {w.label}: create {w.deployments} x {w.replicas} on {nodes} nodes")
            create = await _phase(plane, w, "create", IMAGE_V1)
            rss_created = maxrss_bytes()
            result["create"] = create
            if w.rollout:
                progress(f"    {w.label}: rollout to {IMAGE_V2}")
                result["rollout"] = await _phase(plane, w, "rollout", IMAGE_V2)
            result["rss_idle_bytes"] = rss_idle
            result["rss_created_bytes"] = rss_created
            result["rss_peak_bytes"] = maxrss_bytes()
            result["bytes_per_pod"] = (rss_created - rss_idle) / w.pods
            for phase in ("create", "rollout"):
                if phase in result:
                    first, last = result[phase]["revisions"]
                    result[phase]["writes_by_actor"] = await _writes_by_actor(
                        plane.log, first, last
                    )
            if check:
                progress(f"    {w.label}: checking invariants over {plane.log.revision} events")
                t0 = perf_counter()
                violations = await check_log(plane.log)
                result["check"] = {
                    "seconds": perf_counter() - t0,
                    "events": plane.log.revision,
                    "violations": len(violations),
                    "by_rule": dict(Counter(v.rule for v in violations)),
                    "first": [str(v) for v in violations[:10]],
                }
    return result


# -- the parent: one subprocess per workload -----------------------------------------------------


def _spawn(w: Workload, *, nodes: int, check: bool) -> dict[str, Any]:
    spec = json.dumps({"workload": vars(w), "nodes": nodes, "check": check})
    limit = (2 if w.rollout else 1) * SETTLE_WALL_LIMIT + 600.0  # a backstop only
    return spawn("bench.workloads", spec, label=w.label, limit=limit)


@dataclass
class Context:
    check: bool
    nodes: int | None
    results: list[Result]
    runs: dict[str, Any]
    failures: list[str] = dataclasses.field(default_factory=list)

    def add(self, name: str, value: float, unit: str, target: Target | None = None) -> None:
        result = Result(name, value, unit, target, "single run", (value,))
        self.results.append(result)
        verdict = {None: "", True: "  PASS", False: "  MISS"}[result.passed]
        shown = f"  (target {target})" if target else ""
        progress(f"  = {name}: {number(value)} {unit}{shown}{verdict}")

    def run(self, w: Workload) -> dict[str, Any] | None:
        """Run `w` (once) in a fresh process and report it; None if it failed. The first
        workload failing stops the benchmark (nothing later can converge either)."""
        if w.label in self.runs:
            previous: dict[str, Any] | None = self.runs[w.label]
            return previous
        nodes = self.nodes if self.nodes is not None else nodes_for(w.pods)
        progress(f"[{w.label}] {w.deployments} x {w.replicas} replicas, {w.store} store")
        t0 = perf_counter()
        try:
            result = _spawn(w, nodes=nodes, check=self.check)
        except WorkloadFailed as exc:
            progress(f"error: {exc}")
            if not self.runs:
                raise SystemExit(EXIT_NOT_CONVERGED) from None
            self.failures.append(str(exc))
            self.runs[w.label] = None
            self.add(f"{w.label}.converged", 0, "bool", Target("==", 1))
            return None
        progress(f"[{w.label}] {perf_counter() - t0:.1f} s")
        self.runs[w.label] = result
        self.add(f"{w.label}.converged", 1, "bool", Target("==", 1))
        self.report(w, result)
        return result

    def report(self, w: Workload, r: dict[str, Any]) -> None:
        designated = w.deployments == 1 and w.rollout  # (a) and (d)
        for phase in ("create", "rollout"):
            p = r.get(phase)
            if p is None:
                continue
            name = f"{w.label}.{phase}"
            wall = p["wall_s"]
            rate_target: Target | None = None
            wall_target: Target | None = None
            if designated and phase == "create":
                memory = w.store == "memory"
                rate_target = TARGET_PODS_PER_S if memory else TARGET_SQLITE_PODS_PER_S
            if designated and phase == "rollout" and w.store == "memory":
                wall_target = TARGET_ROLLOUT_S
            self.add(f"{name}.wall", wall, "s", wall_target)
            self.add(f"{name}.pods_per_s", p["pods_available"] / wall, "pods/s", rate_target)
            self.add(f"{name}.events", p["events"], "events")
            self.add(f"{name}.events_per_s", p["events"] / wall, "events/s")
            for actor, count in p.get("writes_by_actor", {}).items():
                self.add(f"{name}.writes.{actor}", count, "writes")
        self.add(f"{w.label}.peak_rss", r["rss_peak_bytes"] / 2**20, "MiB")
        self.add(f"{w.label}.memory_per_pod", r["bytes_per_pod"], "B/pod", TARGET_BYTES_PER_POD)
        check = r.get("check")
        if check is not None:
            for line in check["first"]:
                progress(f"    violation: {line}")
            if check["violations"]:
                progress(f"    violations by rule: {check.get('by_rule', '?')}")
            self.add(f"{w.label}.invariant_violations", check["violations"], "", TARGET_VIOLATIONS)
            self.add(f"{w.label}.checker", check["events"] / check["seconds"], "events/s")


def measure(ctx: Context, plan: Plan, names: Sequence[str]) -> None:
    if "single" in names:
        ctx.run(_single(plan.single, "memory", rollout=True))
    if "many" in names:
        ctx.run(_many(*plan.many))
    if "scale" in names:
        costs: dict[int, float] = {}
        for size in plan.scale:
            rollout = size == plan.single and "single" in names
            w = _single(size, "memory", rollout=rollout)
            if size == plan.single and not rollout:
                w = Workload(f"{w.label}.create_only", 1, size, "memory", False, None, None)
            r = ctx.run(w)
            if r is None:
                continue
            costs[size] = r["create"]["wall_s"] / size
            ctx.add(f"per_pod_cost.{_size(size)}", costs[size] * 1e6, "us/pod")
        if len(costs) > 1:
            low, high = min(costs), max(costs)
            ctx.add(
                f"per_pod_cost.growth_{_size(low)}_to_{_size(high)}",
                costs[high] / costs[low],
                "x",
                TARGET_GROWTH,
            )
    if "sqlite" in names:
        ctx.run(_single(plan.sqlite, "sqlite", rollout=True))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.workloads",
        description="Benchmark whole Deployments through the control plane (see the module doc).",
    )
    parser.add_argument("--short", action="store_true", help="small sizes (1k; no 50k)")
    parser.add_argument(
        "--only",
        action="append",
        choices=MEASUREMENTS,
        metavar="NAME",
        help=f"run only this measurement (repeatable): {', '.join(MEASUREMENTS)}",
    )
    parser.add_argument("--nodes", type=int, metavar="N", help="nodes for every workload")
    parser.add_argument(
        "--sizes",
        metavar="N,N,...",
        help="replicas of the per-pod cost runs (c), instead of 1000,10000,50000 (1000 short)",
    )
    parser.add_argument(
        "--no-check", action="store_true", help="skip the invariant check of each log"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="results file (default bench/results/workloads.json, or workloads-short.json with "
        "--short; a run with --only writes none unless --out is given)",
    )
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        raw = json.loads(args.child)
        w = Workload(**raw["workload"])
        return child_main(lambda: run_workload(w, nodes=raw["nodes"], check=raw["check"]))
    if args.nodes is not None and args.nodes < 1:
        raise SystemExit("--nodes must be at least 1")
    plan = SHORT if args.short else FULL
    if args.sizes:
        try:
            sizes = tuple(int(n) for n in args.sizes.split(","))
        except ValueError:
            raise SystemExit(f"--sizes: not a list of integers: {args.sizes!r}") from None
        if not sizes or min(sizes) < 1:
            raise SystemExit("--sizes: every size must be at least 1")
        plan = dataclasses.replace(plan, scale=sizes)
    names = list(dict.fromkeys(args.only)) if args.only else list(MEASUREMENTS)
    out: Path | None = args.out
    if out is None and not args.only:
        out = RESULTS_DIR / ("workloads-short.json" if args.short else "workloads.json")
    cp_dir = Path(sys.modules["cp"].__file__ or "cp").resolve().parent
    runs: dict[str, Any] = {}
    header = {
        "store": code_version(Path(store.__file__).resolve().parent),
        "cp": code_version(cp_dir),
        "controllers": code_version(ROOT / "controllers"),
        "mode": "short" if args.short else "full",
        "plan": msgspec.to_builtins(dataclasses.asdict(plan)),
        "nodes": args.nodes if args.nodes is not None else "ceil(1.5 * pods / 110)",
        "settle_max_seconds": SETTLE_MAX_SECONDS,
        "runs": runs,
    }

    ctx = Context(check=not args.no_check, nodes=args.nodes, results=[], runs=runs)

    def run() -> list[Result]:
        measure(ctx, plan, names)
        return ctx.results

    code = run_reported(run, out, header)
    if ctx.failures:
        for failure in ctx.failures:
            progress(f"error: {failure}")
        return EXIT_NOT_CONVERGED
    return code


if __name__ == "__main__":
    sys.exit(main())
