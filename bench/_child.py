"""What `bench.workloads` and `bench.stateful` share: each workload runs in a fresh child
process (so its peak RSS is its own) under a settle watched on the wall clock.

    report = await watched_settle(plane, max_seconds=3600, label="deployment_10k: create")
    sys.exit(child_main(lambda: run_workload(...)))            # in the child
    result = spawn("bench.workloads", spec, label=..., limit=...)  # in the parent
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter
from typing import Any, Final

from cp.plane import ControlPlane, SettleReport

__all__ = [
    "EXIT_NOT_CONVERGED",
    "SETTLE_WALL_LIMIT",
    "STALL_SECONDS",
    "NotConverged",
    "WorkloadFailed",
    "actor_group",
    "child_main",
    "maxrss_bytes",
    "spawn",
    "watched_settle",
]

ROOT: Final = Path(__file__).resolve().parent.parent
STALL_SECONDS: Final = 120.0  # wall seconds without a new event while settling: hung
SETTLE_WALL_LIMIT: Final = 3600.0  # wall seconds for one settle, progress or not
EXIT_NOT_CONVERGED: Final = 2


class NotConverged(Exception):
    """The settle did not converge, or left the workload unfinished."""


class WorkloadFailed(Exception):
    """A workload's process did not converge (or failed); the message says what happened."""


async def watched_settle(plane: ControlPlane, *, max_seconds: float, label: str) -> SettleReport:
    """`settle(max_seconds=...)` watched on the wall clock: NotConverged if no event is written
    for `STALL_SECONDS` while it runs (hung), if it runs longer than `SETTLE_WALL_LIMIT`, or
    if it returns not converged."""
    start_rev = plane.log.revision
    task = asyncio.create_task(plane.settle(max_seconds=max_seconds))
    t0 = last_change = perf_counter()
    last_rev = start_rev
    while not task.done():
        await asyncio.wait({task}, timeout=1.0)
        now, rev = perf_counter(), plane.log.revision
        if rev != last_rev:
            last_rev, last_change = rev, now
        stalled = now - last_change >= STALL_SECONDS
        if not task.done() and (stalled or now - t0 >= SETTLE_WALL_LIMIT):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            why = (
                f"wrote no event for {STALL_SECONDS:.0f} wall seconds (hung?)"
                if stalled
                else f"still running after {SETTLE_WALL_LIMIT:.0f} wall seconds"
            )
            raise NotConverged(f"{label}: settle {why}; {rev - start_rev} events written")
    report = task.result()
    if not report.converged:
        raise NotConverged(
            f"{label}: settle did not converge within {max_seconds:.0f} virtual seconds "
            f"({report.events} events written, timers still pending)"
        )
    return report


def actor_group(actor: str) -> str:
    """`kubelet/node-7` -> `kubelet/*` (one figure for all kubelets); others unchanged."""
    kind, sep, _rest = actor.partition("/")
    return f"{kind}/*" if sep and kind == "kubelet" else actor


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def child_main(run: Callable[[], Awaitable[dict[str, Any]]]) -> int:
    """Run the workload; print its result (or `{"error": ...}`) as the last stdout line."""
    error = ""
    result: dict[str, Any] = {}
    try:
        result = asyncio.run(_call(run))
    except* NotConverged as group:  # raised inside the plane's task groups
        error = "; ".join(str(exc) for exc in _leaves(group))
    if error:
        print(json.dumps({"error": error}), flush=True)
        return EXIT_NOT_CONVERGED
    print(json.dumps(result), flush=True)
    return 0


async def _call(run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    return await run()


def spawn(module: str, spec: str, *, label: str, limit: float) -> dict[str, Any]:
    """`python -m <module> --child <spec>` in a fresh process: its result (WorkloadFailed when
    it did not converge, failed, or gave no result within `limit` wall seconds)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, "--child", spec],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            timeout=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WorkloadFailed(f"{label}: no result after {limit:.0f} wall seconds") from None
    lines = done.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if done.returncode == EXIT_NOT_CONVERGED:
        raise WorkloadFailed(f"did not converge: {result.get('error', '?')}")
    if done.returncode != 0 or not result:
        raise WorkloadFailed(f"{label}: the workload process failed (exit {done.returncode})")
    return result
