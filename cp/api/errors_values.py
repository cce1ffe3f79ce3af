"""Errors for values that do not parse or validate: quantities, int-or-string, selectors.

One small tree, rooted at `InvalidValue` (deliberately not a `ValueError`, so that a
protocol state is never confused with a Python programming error)::

    InvalidValue
    +-- QuantityError            cp.api.quantity: a resource quantity does not parse
    +-- IntOrStringError         cp.api.intstr: not an int and not a "NN%" percentage
    +-- SelectorError            cp.api.selectors: a label or field selector is invalid
        +-- FieldSelectorNotSupported   a field selector names a field we do not index

Messages follow apimachinery's wording, so that they can be shown as kubectl would.
"""

from __future__ import annotations

from cp.api.errors import BadRequest

__all__ = [
    "FieldSelectorNotSupported",
    "IntOrStringError",
    "InvalidValue",
    "QuantityError",
    "SelectorError",
]


class InvalidValue(BadRequest):
    """Root of the value errors of `cp.api` (quantities, intstr, selectors)."""


class QuantityError(InvalidValue):
    """A resource quantity does not parse (apimachinery `ErrFormatWrong`, `ErrSuffix`, ...)."""


class IntOrStringError(InvalidValue):
    """An IntOrString is neither an int nor a percentage string such as ``"25%"``."""


class SelectorError(InvalidValue):
    """A label or field selector does not parse, or names an invalid key or value."""


class FieldSelectorNotSupported(SelectorError):
    """A field selector names a field other than ``metadata.name`` / ``metadata.namespace``."""

    def __init__(self, field: str, supported: tuple[str, ...]) -> None:
        self.field = field
        self.supported = supported
        only = ", ".join(f'"{name}"' for name in supported)
        super().__init__(f'"{field}" is not a known field selector: only {only}')
