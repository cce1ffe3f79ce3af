"""What a benchmark ran on: CPU model, core count, Python, platform, SQLite and the date."""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["code_version", "load_average", "machine_info"]


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
