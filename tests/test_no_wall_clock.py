"""No wall clock outside `RealClock`: time is injected (`cp.runtime.Clock`), tests never sleep.

Walks the sources with pathlib, parses them with `ast`, resolves each call's dotted name through
the module's imports (`import time as t`, `from time import monotonic`, `from datetime import
datetime` all count) and fails on:

- `time.time`, `time.time_ns`, `time.monotonic`, `time.monotonic_ns`, `time.perf_counter`,
  `time.perf_counter_ns`, `time.sleep`, `datetime.datetime.now`, `datetime.datetime.utcnow`,
  `anyio.sleep_until` (wall-clock readings and real sleeps);
- `asyncio.sleep` / `anyio.sleep` unless the delay is the constant 0 (a bare yield): a
  non-zero constant or a computed delay is a real sleep.

Scanned: the packages `cp`, `controllers`, `store`, and `tests/`. Exempt: the body of
`RealClock` in `cp/clock/clock.py` (the one place wall time is read), and the process-level
crash tests (`tests/store/test_crash.py`, `tests/store/crash_writer.py`, and
`tests/cli/test_console.py`, which SIGKILLs a `cpemu` process mid-settle), documented as needing
real time. `bench/` is not scanned.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent

#: Wall-clock readings and real sleeps, by fully qualified name: forbidden whatever the args.
FORBIDDEN: Final = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.sleep",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "anyio.sleep_until",
    }
)
#: Async sleeps: allowed only as `sleep(0)` (a checkpoint), never with a real delay.
SLEEPS: Final = frozenset({"asyncio.sleep", "anyio.sleep"})

#: (file relative to ROOT, enclosing class) where wall time is the point.
EXEMPT_CLASSES: Final = frozenset({("cp/clock/clock.py", "RealClock")})
#: Files not scanned: the crash test kills a real writer process and needs real time.
EXEMPT_FILES: Final = frozenset(
    {"tests/store/test_crash.py", "tests/store/crash_writer.py", "tests/cli/test_console.py"}
)

#: Known offenders in code this test's owner does not own, as "path:line: call". Each entry is
#: reported to the lead; remove it when the code is fixed (a stale entry fails the test too).
ALLOWLIST: Final[frozenset[str]] = frozenset()


class _Scanner(ast.NodeVisitor):
    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.aliases: dict[str, str] = {}  # local name -> qualified name
        self.classes: list[str] = []
        self.found: list[str] = []

    # imports (module level and local: an import anywhere binds the name for the scan)
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            for alias in node.names:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def _qualified(self, func: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            return None
        base = self.aliases.get(func.id)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])

    def visit_Call(self, node: ast.Call) -> None:
        name = self._qualified(node.func)
        exempt = any((self.rel, cls) in EXEMPT_CLASSES for cls in self.classes)
        if name is not None and not exempt:
            if name in FORBIDDEN:
                self.found.append(f"{self.rel}:{node.lineno}: {name}()")
            elif name in SLEEPS and not _zero_delay(node):
                self.found.append(f"{self.rel}:{node.lineno}: {name}({_args(node)})")
        self.generic_visit(node)


def _delay(node: ast.Call) -> ast.expr | None:
    if node.args:
        return node.args[0]
    for kw in node.keywords:
        if kw.arg in ("delay", "seconds"):
            return kw.value
    return None


def _zero_delay(node: ast.Call) -> bool:
    delay = _delay(node)
    return (
        isinstance(delay, ast.Constant)
        and isinstance(delay.value, int | float)
        and not isinstance(delay.value, bool)
        and delay.value == 0
    )


def _args(node: ast.Call) -> str:
    delay = _delay(node)
    return "" if delay is None else ast.unparse(delay)


def _sources(top: str) -> list[Path]:
    return sorted(p for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


def scan(top: str) -> list[str]:
    """Every forbidden call under ROOT/top, as "path:line: call"."""
    found: list[str] = []
    for path in _sources(top):
        rel = path.relative_to(ROOT).as_posix()
        if rel in EXEMPT_FILES:
            continue
        scanner = _Scanner(rel)
        scanner.visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        found.extend(scanner.found)
    return found


@pytest.mark.parametrize("top", ["cp", "controllers", "store", "tests"])
def test_no_wall_clock_or_real_sleep(top: str) -> None:
    assert _sources(top), f"nothing to scan under {top}/"
    offenders = [f for f in scan(top) if f not in ALLOWLIST]
    assert offenders == [], "wall clock / real sleep outside RealClock:\n" + "\n".join(offenders)


def test_allowlist_is_not_stale() -> None:
    found = {f for top in ("cp", "controllers", "store", "tests") for f in scan(top)}
    assert sorted(ALLOWLIST - found) == []


# -- the scanner itself -----------------------------------------------------------------------

_BAD = """
import time, asyncio
import anyio as aio
from time import monotonic as mono
from datetime import datetime
import datetime as dt

async def f(n):
    time.time()
    mono()
    datetime.now()
    dt.datetime.utcnow()
    await asyncio.sleep(0.1)
    await aio.sleep(n)
    await aio.sleep(delay=1)
"""

_GOOD = """
import time, asyncio, anyio
from datetime import UTC, datetime

class RealClock:
    def now(self):
        return time.monotonic()

async def f(clock):
    await asyncio.sleep(0)
    await anyio.sleep(0.0)
    await clock.sleep(5)
    datetime.fromtimestamp(0, UTC)
    time.strftime("%Y")
"""


def _scan_text(text: str, rel: str) -> list[str]:
    scanner = _Scanner(rel)
    scanner.visit(ast.parse(text))
    return scanner.found


def test_scanner_flags_every_form() -> None:
    found = _scan_text(_BAD, "x.py")
    assert [f.partition(": ")[2] for f in found] == [
        "time.time()",
        "time.monotonic()",
        "datetime.datetime.now()",
        "datetime.datetime.utcnow()",
        "asyncio.sleep(0.1)",
        "anyio.sleep(n)",
        "anyio.sleep(1)",
    ]


def test_scanner_exempts_real_clock_and_zero_sleeps() -> None:
    assert _scan_text(_GOOD, "cp/clock/clock.py") == []
    # the RealClock exemption is for cp/clock/clock.py only
    assert _scan_text(_GOOD, "cp/other.py") == ["cp/other.py:7: time.monotonic()"]
