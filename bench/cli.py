"""The CLI latency benchmark: `cpemu` read verbs on a big state file, each a fresh process.

    python -m bench.cli                    # full run: bench/results/cli.json
    python -m bench.cli --short            # 1k pods, 20k events: bench/results/cli-short.json
    python -m bench.cli --state /tmp/big.db --keep   # build once, keep it, reuse it next time
    python -m bench.cli --state /tmp/big.db --cpemu "python patched_cpemu.py"  # time a variant

Build (in a fresh child process, `ControlPlane.open(store="sqlite:///FILE", clock="virtual",
nodes=N, seed=0)` with the shipped controllers, as `bench.workloads` runs them): 10
Deployments of 1,000 replicas (`nginx:1.25`, RollingUpdate 25%/25%) applied and settled,
then every Deployment rolled to a new image (`nginx:1.26`, `nginx:1.27`, ...: what `cpemu set
image` writes) and settled, until the log holds at least 200,000 events; the file then holds
10,000 pods. Nodes: ceil(1.5 x pods / 110), as `bench.workloads`. The plane is closed, so the
file ends with its `state` checkpoint and a CLI opening it reads that plus no tail.

Measured: wall seconds of `cpemu --state FILE ...` (the installed console script,
`subprocess.run` from `perf_counter()` before the spawn to after the exit), each command
once untimed (page cache and `.pyc` warm), then the median of 5 runs:

- `help`            `cpemu --help`: the interpreter and the import of `cp.cli.main`;
- `get_pods`        `get pods` (target < 1 s): open, decode 10k pods, print the table;
- `get_pods_name`   `get pods -o name`;
- `events_deploy`   `events --kind Deployment`: a filtered scan of the whole log;
- `get_deploy_at`   `get deploy --at REV`, REV = the head revision / 2 (mid-log);
- `get_pods_at`     `get pods --at REV`.

The figures are wall time on whatever else the machine runs: the harness prints how busy the
CPUs were with other work, and the min / max of the runs are in the table and the JSON.
A command that exits non-zero is reported as such (its figure n/a, its stderr's first line
printed) and the others still run; the exit code is then 2. `lines.<name>` is how many lines
the command printed (10,001 for `get pods`: the header and one row per pod).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any, Final

import anyio

import store
from bench._child import (
    EXIT_NOT_CONVERGED,
    SETTLE_WALL_LIMIT,
    NotConverged,
    WorkloadFailed,
    child_main,
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
PODS_PER_NODE: Final = 110  # upstream kubelet's default maxPods
NODE_HEADROOM: Final = 1.5  # surge (25%) + pods still terminating
SETTLE_MAX_SECONDS: Final = 3600.0
RUNS: Final = 5
COMMAND_TIMEOUT: Final = 300.0  # wall seconds for one cpemu run: a backstop only
TARGET_GET_PODS: Final = Target("<", 1.0)


@dataclass(frozen=True)
class Plan:
    deployments: int
    replicas: int
    min_events: int

    @property
    def pods(self) -> int:
        return self.deployments * self.replicas


FULL: Final = Plan(deployments=10, replicas=1_000, min_events=200_000)
SHORT: Final = Plan(deployments=10, replicas=100, min_events=20_000)


def nodes_for(pods: int) -> int:
    return max(1, math.ceil(NODE_HEADROOM * pods / PODS_PER_NODE))


# -- the child: build the state file -------------------------------------------------------------


def _manifests(plan: Plan, image: str) -> str:
    docs = []
    for i in range(plan.deployments):
        name = f"web-{i:02d}"
        docs.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n"
            f"  namespace: {NAMESPACE}\n  labels:\n    app: {name}\n"
            f"spec:\n  replicas: {plan.replicas}\n"
            f"  selector:\n    matchLabels:\n      app: {name}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {name}\n"
            f"    spec:\n      containers:\n      - name: nginx\n        image: {image}\n"
            f"        ports:\n        - containerPort: 80\n"
        )
    return "---\n".join(docs)


async def _check_built(plane: ControlPlane, plan: Plan, image: str) -> None:
    """Every Deployment complete on `image`, and exactly `plan.pods` pods, all on it."""
    short = []
    for dep in await plane.client.list("Deployment", namespace=NAMESPACE):
        assert isinstance(dep, Deployment)
        status = dep.status
        updated = status.updated_replicas if status is not None else 0
        available = status.available_replicas if status is not None else 0
        if updated != plan.replicas or available != plan.replicas:
            short.append(f"{dep.metadata.name}: {available} available, {updated} updated")
    pods = await plane.client.list("Pod", namespace=NAMESPACE)
    on_image = 0
    for pod in pods:
        assert isinstance(pod, Pod)
        on_image += pod.spec.containers[0].image == image
    if short or len(pods) != plan.pods or on_image != plan.pods:
        raise NotConverged(
            f"build: {len(pods)} pods ({on_image} on {image}), want {plan.pods}; "
            + "; ".join(short[:3])
        )


async def build(path: str, plan: Plan, nodes: int) -> dict[str, Any]:
    """Write the state file at `path` (see the module doc) and return what it holds."""
    t0 = perf_counter()
    url = f"sqlite://{path}"
    async with ControlPlane.open(store=url, clock="virtual", nodes=nodes, seed=0) as plane:
        await watched_settle(plane, max_seconds=SETTLE_MAX_SECONDS, label="start-up")
        image = "nginx:1.25"
        await plane.apply(_manifests(plan, image))
        await watched_settle(plane, max_seconds=SETTLE_MAX_SECONDS, label="create")
        progress(f"    created {plan.pods} pods: {plane.log.revision:,} events")
        rollouts = 0
        while plane.log.revision < plan.min_events:
            rollouts += 1
            image = f"nginx:1.{25 + rollouts}"
            await plane.apply(_manifests(plan, image))
            await watched_settle(plane, max_seconds=SETTLE_MAX_SECONDS, label=f"rollout {image}")
            progress(f"    rolled to {image}: {plane.log.revision:,} events")
        await _check_built(plane, plan, image)
        events = plane.log.revision
    return {
        "events": events,
        "pods": plan.pods,
        "deployments": plan.deployments,
        "rollouts": rollouts,
        "nodes": nodes,
        "build_s": perf_counter() - t0,
    }


# -- the parent: time the commands ---------------------------------------------------------------


def _cpemu() -> list[str]:
    """The console script next to this interpreter, else `python -m cp.cli`."""
    script = Path(sys.executable).parent / "cpemu"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cp.cli"]


def commands(state: str, revision: int) -> dict[str, list[str]]:
    at = str(max(1, revision // 2))
    return {
        "help": ["--help"],
        "get_pods": ["--state", state, "get", "pods"],
        "get_pods_name": ["--state", state, "get", "pods", "-o", "name"],
        "events_deploy": ["--state", state, "events", "--kind", "Deployment"],
        "get_deploy_at": ["--state", state, "get", "deploy", "--at", at],
        "get_pods_at": ["--state", state, "get", "pods", "--at", at],
    }


@dataclass
class Timing:
    runs: list[float]
    lines: int
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs and not self.error else math.nan


def time_command(argv: list[str], runs: int) -> Timing:
    """One untimed run, then `runs` timed ones; stops at the first failure."""
    timing = Timing([], 0)
    for n in range(runs + 1):
        t0 = perf_counter()
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False, cwd=ROOT
        )
        wall = perf_counter() - t0
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["(no output)"])[0]
            timing.error = f"exit {done.returncode}: {first}"
            return timing
        timing.lines = done.stdout.count("\n")
        if n:
            timing.runs.append(wall)
    return timing


def measure(
    state: str, revision: int, runs: int, results: list[Result], base: list[str]
) -> list[str]:
    """Time every command (`base` is how to run cpemu), print a small table; returns the
    failures."""
    failures = []
    rows = [("command", "median s", "min s", "max s", "lines")]
    for name, args in commands(state, revision).items():
        timing = time_command([*base, *args], runs)
        shown = "cpemu " + " ".join(a if a != state else "FILE" for a in args)
        if timing.error:
            failures.append(f"{name} ({shown}): {timing.error}")
            progress(f"  {shown}: FAILED {timing.error}")
        else:
            progress(f"  {shown}: {timing.median:.3f} s")
        target = TARGET_GET_PODS if name == "get_pods" else None
        stat = f"median of {runs}"
        results.append(Result(f"{name}.wall", timing.median, "s", target, stat, tuple(timing.runs)))
        results.append(Result(f"lines.{name}", timing.lines, "lines"))
        low = number(min(timing.runs)) if timing.runs else ""
        high = number(max(timing.runs)) if timing.runs else ""
        rows.append((shown, number(timing.median), low, high, str(timing.lines)))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print()
    return failures


async def _revision(path: str) -> tuple[int, int]:
    """The head revision and the number of live pods of the file, read-only."""
    async with store.open_log(f"sqlite://{path}?mode=ro") as log:
        pods = await log.range("/registry/pods/")
        return log.revision, len(pods.items)


def _build(path: Path, plan: Plan) -> dict[str, Any]:
    """Build the state file in a child process; exit 2 if it fails."""
    nodes = nodes_for(plan.pods)
    progress(
        f"[build] {plan.deployments} x {plan.replicas} pods on {nodes} nodes, "
        f">= {plan.min_events:,} events: {path}"
    )
    spec = json.dumps({"plan": dataclasses.asdict(plan), "path": str(path), "nodes": nodes})
    try:
        return spawn("bench.cli", spec, label="build", limit=SETTLE_WALL_LIMIT)
    except WorkloadFailed as exc:
        progress(f"error: {exc}")
        raise SystemExit(EXIT_NOT_CONVERGED) from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cli",
        description="Latency of cpemu read verbs on a big state file (see the module doc).",
    )
    parser.add_argument("--short", action="store_true", help="1k pods, 20k events")
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="state file to use: built there when missing, reused when present (default: a "
        "temporary file, deleted after the run)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the --state file")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed runs (default {RUNS})")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="results file (default bench/results/cli.json, or cli-short.json with --short)",
    )
    parser.add_argument(
        "--cpemu",
        metavar="COMMAND",
        help="how to run cpemu (split like a shell; default: the console script next to "
        "this interpreter), e.g. to time a patched entry point",
    )
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = SHORT if args.short else FULL
    if args.child is not None:
        raw = json.loads(args.child)
        child_plan = Plan(**raw["plan"])
        return child_main(lambda: build(raw["path"], child_plan, raw["nodes"]))
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    out: Path = args.out or RESULTS_DIR / ("cli-short.json" if args.short else "cli.json")
    temporary = None
    if args.state is None:
        temporary = tempfile.mkdtemp(prefix="cpemu-bench-cli-")
        path = Path(temporary) / "state.db"
    else:
        path = args.state.expanduser().absolute()
    built: dict[str, Any] = {"reused": path.exists()}
    header: dict[str, Any] = {
        "store": code_version(Path(store.__file__).resolve().parent),
        "cp": code_version(ROOT / "cp"),
        "mode": "short" if args.short else "full",
        "plan": dataclasses.asdict(plan),
        "runs": args.runs,
        "cpemu": args.cpemu or "console script",
        "state": built,
    }
    failures: list[str] = []

    def run() -> list[Result]:
        results: list[Result] = []
        if not path.exists():
            built.update(_build(path, plan))
            results.append(Result("build.wall", built["build_s"], "s", stat="single run"))
        revision, pods = anyio.run(_revision, str(path))
        built.update({"revision": revision, "live_pods": pods, "bytes": path.stat().st_size})
        progress(f"[measure] {pods:,} pods, {revision:,} events, {path.stat().st_size >> 20} MiB")
        results.append(Result("state.events", revision, "events"))
        results.append(Result("state.pods", pods, "pods"))
        base = shlex.split(args.cpemu) if args.cpemu else _cpemu()
        failures.extend(measure(str(path), revision, args.runs, results, base))
        return results

    try:
        code = run_reported(run, out, header)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        elif not args.keep and not built["reused"]:
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    for failure in failures:
        progress(f"error: {failure}")
    return EXIT_NOT_CONVERGED if failures else code


if __name__ == "__main__":
    sys.exit(main())
