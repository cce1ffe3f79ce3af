"""IntOrString values (``maxSurge: 25%`` or ``maxSurge: 3``) and their scaling.

Follows apimachinery ``pkg/util/intstr/intstr.go``: ``GetScaledValueFromIntOrPercent`` and its
helper ``getIntOrPercentValueSafely``. On the wire an IntOrString is a JSON number or a JSON
string, so in Python it is simply ``int | str``.

Percentages scale exactly (integer arithmetic, where upstream goes through float64, which only
differs for totals beyond 2^53). Worked example, a Deployment of 10 replicas with
``maxSurge: 25%`` (rounded up) and ``maxUnavailable: 25%`` (rounded down)::

    scaled_value("25%", 10, round_up=True)  == ceil(2.5)  == 3
    scaled_value("25%", 10, round_up=False) == floor(2.5) == 2
"""

from __future__ import annotations

import re
from typing import Final, TypeAlias

from cp.api.errors_values import IntOrStringError

__all__ = ["IntOrString", "IntOrStringError", "int_value", "is_percent", "scaled_value"]

IntOrString: TypeAlias = int | str

_ATOI: Final = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi accepts (no spaces, no "_")


def is_percent(value: IntOrString) -> bool:
    """Whether ``value`` is a string ending in ``%`` (it may still be a malformed one)."""
    return isinstance(value, str) and value.endswith("%")


def _percent(value: str) -> int:
    """Upstream ``getIntOrPercentValueSafely`` for the String case: ``"25%"`` -> 25."""
    if not value.endswith("%"):
        raise IntOrStringError(
            "invalid value for IntOrString: invalid type: string is not a percentage"
        )
    digits = value[:-1]
    if not _ATOI.fullmatch(digits):
        raise IntOrStringError(
            f'invalid value for IntOrString: invalid value "{value}": '
            f'strconv.Atoi: parsing "{digits}": invalid syntax'
        )
    return int(digits)


def scaled_value(value: IntOrString, total: int, *, round_up: bool) -> int:
    """Upstream ``GetScaledValueFromIntOrPercent(value, total, roundUp)``.

    An int is returned as is; ``"NN%"`` is NN percent of ``total``, rounded up or down.
    Anything else raises `IntOrStringError`.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise IntOrStringError(
            "invalid value for IntOrString: invalid type: neither int nor percentage"
        )
    if isinstance(value, int):
        return value
    product = _percent(value) * total
    return -(-product // 100) if round_up else product // 100


def int_value(value: IntOrString) -> int:
    """Upstream ``IntOrString.IntValue()``: the int, or a string parsed as an int (else 0)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _ATOI.fullmatch(value):
        return int(value)
    return 0
