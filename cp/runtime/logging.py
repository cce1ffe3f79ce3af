"""structlog setup and the fixed log vocabulary (DESIGN.md, "Conventions"; STYLE.md item 10).

Library code only *uses* structlog (`structlog.get_logger()`) and binds the fixed keys with
contextvars; only the composition roots (CLI, server) call `configure_logging`, once.

Fixed keys, always in this order at the front of a rendered line, after `event` and `level`:
`controller`, `key`, `rv`, `cause`, `reconcile_id`, `duration_ms`. Event names are the
snake_case constants below. Logs go to stderr, so `-o json` output on stdout stays clean,
and carry no timestamp: nothing in cpemu reads the wall clock except `RealClock`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol

import structlog
from structlog.typing import Processor, WrappedLogger

__all__ = [
    "CONTROLLER_STARTED",
    "CONTROLLER_STOPPED",
    "FIXED_KEYS",
    "KEY_CAUSE",
    "KEY_CONTROLLER",
    "KEY_DURATION_MS",
    "KEY_KEY",
    "KEY_RECONCILE_ID",
    "KEY_RV",
    "LEVELS",
    "RECONCILE_DONE",
    "RECONCILE_ERROR",
    "RECONCILE_REQUEUE",
    "RECONCILE_TERMINAL_ERROR",
    "EventLogger",
    "QuietLogger",
    "configure_logging",
]

KEY_CONTROLLER = "controller"
KEY_KEY = "key"
KEY_RV = "rv"
KEY_CAUSE = "cause"
KEY_RECONCILE_ID = "reconcile_id"
KEY_DURATION_MS = "duration_ms"
#: The fixed keys, in rendering order.
FIXED_KEYS: tuple[str, ...] = (
    KEY_CONTROLLER,
    KEY_KEY,
    KEY_RV,
    KEY_CAUSE,
    KEY_RECONCILE_ID,
    KEY_DURATION_MS,
)

#: A controller's workers started / stopped.
CONTROLLER_STARTED = "controller_started"
CONTROLLER_STOPPED = "controller_stopped"
#: A reconcile returned normally (debug level; carries `duration_ms`).
RECONCILE_DONE = "reconcile_done"
#: A reconcile asked to run again after `requeue_after` seconds.
RECONCILE_REQUEUE = "reconcile_requeue"
#: A reconcile raised; the key is retried with backoff.
RECONCILE_ERROR = "reconcile_error"
#: A reconcile raised `TerminalError`; the key is not retried.
RECONCILE_TERMINAL_ERROR = "reconcile_terminal_error"

#: Level names accepted by `configure_logging`, with their numeric (stdlib) values.
LEVELS: Mapping[str, int] = {
    "debug": 10,
    "info": 20,
    "warning": 30,
    "error": 40,
    "critical": 50,
}


def _fixed_keys_first(
    _logger: WrappedLogger, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Reorder: `event`, `level`, the fixed keys in order, then the rest as bound."""
    head = ("event", "level", *FIXED_KEYS)
    ordered = {k: event_dict[k] for k in head if k in event_dict}
    ordered.update((k, v) for k, v in event_dict.items() if k not in ordered)
    return ordered


class EventLogger(Protocol):
    """What library code logs through: structlog's level methods, event name first."""

    def debug(self, event: str, **kw: Any) -> Any: ...

    def info(self, event: str, **kw: Any) -> Any: ...

    def warning(self, event: str, **kw: Any) -> Any: ...

    def error(self, event: str, **kw: Any) -> Any: ...


class QuietLogger:
    """Library code's default logger: it forwards to structlog only once a composition root
    configured structlog (`configure_logging`, or a test's `capture_logs`), and drops every
    event until then, because library code never prints (unconfigured structlog would write
    to stdout). Checked per call, so configuring later takes effect at once."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _emit(self, level: str, event: str, kw: dict[str, Any]) -> None:
        if structlog.is_configured():
            getattr(structlog.get_logger(self._name), level)(event, **kw)

    def debug(self, event: str, **kw: Any) -> None:
        self._emit("debug", event, kw)

    def info(self, event: str, **kw: Any) -> None:
        self._emit("info", event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._emit("warning", event, kw)

    def error(self, event: str, **kw: Any) -> None:
        self._emit("error", event, kw)


def configure_logging(level: str = "info", *, json: bool = False) -> None:
    """Configure structlog for a CLI or server process: `level` name, console or JSON lines.

    Raises `ValueError` for an unknown level name. Call once, from a composition root only.
    """
    try:
        threshold = LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; expected one of {list(LEVELS)}") from None
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(sort_keys=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info if json else _passthrough,
            _fixed_keys_first,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def _passthrough(
    _logger: WrappedLogger, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return event_dict
