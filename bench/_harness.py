"""What every benchmark script does around its measurements: warn when other work keeps the
CPUs busy, time the run, print the table and a summary, write the results with machine facts."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from time import perf_counter

from bench._machine import OtherWork, cpu_busy, load_average, machine_info
from bench._report import Result, table, write_json

__all__ = ["BUSY", "progress", "run_reported"]

BUSY = 0.10  # share of the CPUs busy with other work before the run above which it warns


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _share(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0%}"


def run_reported(
    run: Callable[[], Sequence[Result]], out: Path | None, header: Mapping[str, object]
) -> int:
    """Run the measurements, report them, and write `{"machine": ..., **header}` and the
    results to `out` when given. Returns the process exit code."""
    load, busy = load_average(), cpu_busy()
    if busy is not None and busy > BUSY:
        progress(f"warning: other work keeps {busy:.0%} of the CPUs busy: figures will be low")
    other = OtherWork()
    t0 = perf_counter()
    results = run()
    end_load, other_share = load_average(), other.share()
    print(table(results))
    missed = [r.name for r in results if r.passed is False]
    print(
        f"\n{len(results)} figures, {len(missed)} targets missed, "
        f"{perf_counter() - t0:.0f} s; CPUs busy with other work: {_share(busy)} before the "
        f"run, {_share(other_share)} during it"
    )
    if out is not None:
        machine = {
            **machine_info(),
            "other_work": {"before": busy, "during": other_share},
            "load_average_1m": {"start": load, "end": end_load},
        }
        write_json(out, {"machine": machine, **header}, results)
        print(f"results written to {out}")
    return 0
