"""What a benchmark ran on: CPU model, core count, Python, platform, SQLite and the date."""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["OtherWork", "code_version", "cpu_busy", "load_average", "machine_info"]


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("model name", "Hardware", "Processor"):
            return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def _cores() -> int:
    """Cores this process may run on (the affinity mask where there is one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_info() -> dict[str, str | int]:
    """The `machine` object of a results file."""
    return {
        "cpu": _cpu_model(),
        "cores": _cores(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): other work skews figures."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat (Linux), else None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(seconds: float = 0.5) -> float | None:
    """The share of all CPUs (0..1) that was busy during the next `seconds`, while this
    process sleeps: how much other work the machine is doing (None where unknown)."""
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if before is None or after is None or after[1] == before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


class OtherWork:
    """How much CPU the rest of the machine used while this process ran (Linux), so a results
    file shows when a figure was taken on a busy machine."""

    def __init__(self) -> None:
        self._machine = _cpu_times()
        self._own = _own_cpu()

    def share(self) -> float | None:
        """Share of all CPUs (0..1) busy with other processes since this object was made."""
        machine = _cpu_times()
        if machine is None or self._machine is None:
            return None
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        busy = (machine[0] - self._machine[0]) / ticks
        total = (machine[1] - self._machine[1]) / ticks
        if total <= 0:
            return None
        other = busy - (_own_cpu() - self._own)
        return round(min(max(other / total, 0.0), 1.0), 3)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def code_version(package: Path) -> dict[str, str | None]:
    """The git commit of the work tree (if any) and a digest of the package's sources, so a
    results file names the code it measured even when that code was not committed."""
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=package,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=package,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return {
        "commit": (commit + ("-dirty" if dirty else "")) or None,
        "sources_sha256": digest.hexdigest()[:16],
    }
