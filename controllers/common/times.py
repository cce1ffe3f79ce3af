"""RFC 3339 timestamps <-> seconds for controllers, over `cp.api.times`, forgiving absent values.

    parse_time("2024-01-01T00:00:05Z")   # 1704067205.0; None for None, "" or a malformed value
    parse = memo_parser()                # the same, parsing each distinct text once (per sync:
                                         # 10,000 pods share a few hundred timestamps)
    format_time(1704067205.9)            # "2024-01-01T00:00:05Z" (whole seconds, as metav1.Time)

Times come from the injected clock (`clock.now()`, seconds since the Unix epoch); nothing here
reads the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable

from cp.api.times import parse_rfc3339, rfc3339

__all__ = ["TimeParser", "format_time", "memo_parser", "parse_time"]

#: What `parse_time` and `memo_parser()` are.
TimeParser = Callable[[str | None], float | None]


def parse_time(text: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp; None when absent or unparsable
    (upstream's zero `metav1.Time`)."""
    if not text:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def format_time(seconds: float) -> str:
    """`2023-11-14T22:13:20Z` for `seconds` since the epoch, truncated to whole seconds."""
    return rfc3339(seconds)


def memo_parser() -> TimeParser:
    """A `parse_time` that remembers its results; make one per sync, not per process."""
    parsed: dict[str | None, float | None] = {}

    def parse(text: str | None) -> float | None:
        if text in parsed:
            return parsed[text]
        value = parsed[text] = parse_time(text)
        return value

    return parse
