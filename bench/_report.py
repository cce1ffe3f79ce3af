"""Results of a benchmark: figures with targets, the table printed and the JSON written."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Result", "Target", "number", "table", "write_json"]


@dataclass(frozen=True)
class Target:
    """A bar a figure must clear: `value <op> bound`."""

    op: str  # ">=", "<" or "=="
    bound: float

    def check(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.op == ">=":
            return value >= self.bound
        if self.op == "<":
            return value < self.bound
        if self.op == "==":
            return value == self.bound
        raise ValueError(f"unknown comparison {self.op!r}")

    def __str__(self) -> str:
        return f"{self.op} {number(self.bound)}"


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    target: Target | None = None
    stat: str = ""
    runs: tuple[float, ...] = ()  # every run's figure, when `value` summarizes several

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.target.check(self.value)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": None if math.isnan(self.value) else self.value,
            "unit": self.unit,
            "target": None if self.target is None else str(self.target),
            "pass": self.passed,
            "stat": self.stat,
            "runs": [None if math.isnan(v) else v for v in self.runs],
        }


def number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value == int(value) and abs(value) >= 1:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(results: Sequence[Result]) -> str:
    rows = [("measurement", "value", "unit", "target", "", "stat")]
    for r in results:
        verdict = {None: "", True: "PASS", False: "MISS"}[r.passed]
        target = "" if r.target is None else str(r.target)
        rows.append((r.name, number(r.value), r.unit, target, verdict, r.stat))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.rjust(w) if c in (1, 3) else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(path: Path, header: Mapping[str, object], results: Sequence[Result]) -> None:
    """Write `{**header, "results": [...]}` to `path` (the folder is made if missing)."""
    document = {**header, "results": [r.as_json() for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
