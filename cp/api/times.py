"""Timestamps in Kubernetes' wire form (`metav1.Time`): RFC 3339, UTC, whole seconds.

    rfc3339(1_700_000_000.0)            # "2023-11-14T22:13:20Z"
    parse_rfc3339("2023-11-14T22:13:20Z")  # 1700000000.0

Pure functions of seconds since the Unix epoch; the seconds come from an injected clock, never
from the wall clock here.
"""

from __future__ import annotations

import calendar
import functools
import time
from datetime import UTC, datetime

__all__ = ["parse_rfc3339", "rfc3339"]

#: 10000-01-01T00:00:00Z: `rfc3339` takes the `time.gmtime` path for [1970, 10000).
_YEAR_10000 = 253402300800
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def rfc3339(seconds: float) -> str:
    """`2023-11-14T22:13:20Z` for seconds since the Unix epoch (truncated to whole seconds)."""
    return _format(int(seconds))


@functools.lru_cache(maxsize=1 << 12)
def _format(whole: int) -> str:
    """Memoised: on the virtual clock thousands of writes share one second."""
    if not 0 <= whole < _YEAR_10000:
        return datetime.fromtimestamp(whole, UTC).strftime(_FORMAT)
    # What `datetime.strftime` does underneath, without building the datetime.
    return time.strftime(_FORMAT, time.gmtime(whole))


@functools.lru_cache(maxsize=1 << 16)
def parse_rfc3339(text: str) -> float:
    """Seconds since the Unix epoch of an RFC 3339 timestamp (`Z` or an offset, fractions
    allowed); ValueError when `text` is not one. Memoised (a pure function of the text):
    controllers re-read the same condition timestamps of thousands of pods on every sync."""
    if len(text) == 20 and text.endswith("Z"):
        try:
            return float(calendar.timegm(time.strptime(text, _FORMAT)))
        except ValueError:
            pass
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return parsed.timestamp()
