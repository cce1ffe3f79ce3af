"""Kubernetes resource quantities (``500m``, ``1.5Gi``, ``2e3``), exact and immutable.

Follows apimachinery ``pkg/api/resource/quantity.go`` (``ParseQuantity``, ``CanonicalizeBytes``,
``String``, ``Value``, ``MilliValue``, ``Cmp``, ``Add``, ``Sub``, ``Neg``) and ``suffix.go``
(the suffix tables). Values are held as an exact integer count of nano-units, never as floats:
upstream keeps every parsed value at nano precision too, rounding a finer non-zero value away
from zero (``"0.9n"`` -> ``1n``).

Grammar (upstream's doc comment)::

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>

A quantity remembers the suffix family it was written in (``Format``) and prints in canonical
form in that family: no fractional digits, the largest suffix that loses nothing.
Worked examples: ``1.5Gi`` = 1610612736 = 1536 * 1024^2 -> ``"1536Mi"``; ``0.5`` = 500 * 10^-3 ->
``"500m"``; ``1.5`` in BinarySI is below 1024, so it prints in DecimalSI as ``"1500m"``.

Like upstream's ``String()``, when the input was already in the form upstream's fast path
recognises as canonical, the input text itself is kept and printed (so ``"+1"`` prints ``"+1"``);
``canonical()`` always recomputes. Equality, ordering and hashing are by value only:
``1Gi == 1024Mi`` and ``1000m == 1``.

Deliberate limits (upstream accepts these but they have no meaning for a cluster): a numeric part
longer than 1000 digits or a decimal exponent beyond +/-1000 raises `QuantityError`. Accessors
return exact Python ints where upstream's int64 would overflow.
"""

from __future__ import annotations

import enum
import re
from fractions import Fraction
from typing import Final, NoReturn

from cp.api.errors_values import QuantityError

__all__ = ["Format", "Quantity", "QuantityError"]


class Format(enum.StrEnum):
    """The suffix family a quantity prints in (upstream ``resource.Format``)."""

    BINARY_SI = "BinarySI"  # 12Mi = 12 * 2^20
    DECIMAL_EXPONENT = "DecimalExponent"  # 12e6
    DECIMAL_SI = "DecimalSI"  # 12M = 12 * 10^6


SPLIT_RE: Final = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_ERR_FORMAT: Final = f"quantities must match the regular expression '{SPLIT_RE}'"
_ERR_NUMERIC: Final = "unable to parse numeric part of quantity"
_ERR_SUFFIX: Final = "unable to parse quantity's suffix"

_NANO: Final = 10**9
_MAX_BINARY_NANOS: Final = (2**63 - 1) * _NANO  # upstream caps BinarySI at maxAllowed, 2^63-1
_MAX_DIGITS: Final = 1000
_MAX_EXPONENT: Final = 1000
_SUFFIX_CHARS: Final = frozenset("eEinumkKMGTP")
_DIGITS: Final = frozenset("0123456789")
_SIGNED_INT = re.compile(r"[+-]?[0-9]+")

_DECIMAL_SUFFIXES: Final[dict[str, int]] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_DECIMAL_BY_EXPONENT: Final = {exp: suffix for suffix, exp in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES: Final = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")  # index i is 1024^i
_BINARY_EXPONENTS: Final = {suffix: 10 * i for i, suffix in enumerate(_BINARY_SUFFIXES) if i}


def _fail(message: str) -> NoReturn:
    raise QuantityError(message)


def _scan(text: str) -> tuple[bool, str, str, str]:
    """Split ``text`` into (positive, numerator digits, denominator digits, suffix).

    A transcription of upstream's ``parseQuantityString`` scanner, quirks included: leading
    zeros are stripped, an empty numerator is ``"0"``, ``"1."`` and ``"."`` are accepted.
    """
    positive, pos, end = True, 0, len(text)
    if end and text[0] in "+-":
        positive = text[0] == "+"
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        _fail(_ERR_FORMAT)
    return positive, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, Format]:
    """Upstream ``suffixHandler.interpret``: (base, exponent, format) of a suffix."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], Format.DECIMAL_SI
    if suffix in _BINARY_EXPONENTS:
        return 2, _BINARY_EXPONENTS[suffix], Format.BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE" and _SIGNED_INT.fullmatch(suffix[1:]):
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            _fail(f"{_ERR_NUMERIC}: exponent {exponent} is out of range")
        return 10, exponent, Format.DECIMAL_EXPONENT
    _fail(_ERR_SUFFIX)


def _keeps_text(num: str, denom: str, exponent: int, fmt: Format) -> bool:
    """Whether upstream's fast path would cache the input string as the canonical one."""
    shifted = num + denom
    if fmt is Format.BINARY_SI:
        precision = 15 - len(num) - exponent * 3 // 10 - 1
        return not denom and precision >= 0 and int(num) & 0x07 != 0
    scale = exponent - len(denom)
    return (
        18 - len(shifted) >= 0
        and scale >= -9
        and scale % 3 == 0
        and not shifted.endswith("000")
        and shifted[0] != "0"
    )


def _ceil_div(numerator: int, denominator: int) -> int:
    """Divide, rounding away from zero (upstream's ``RoundUp``)."""
    quotient = -(-abs(numerator) // denominator)
    return quotient if numerator >= 0 else -quotient


class Quantity:
    """An immutable, hashable resource quantity; see the module docstring."""

    __slots__ = ("_format", "_nanos", "_text")

    _nanos: int
    _format: Format
    _text: str | None

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("use Quantity.parse(), Quantity.from_int() or Quantity.from_milli()")

    @classmethod
    def _make(cls, nanos: int, fmt: Format, text: str | None = None) -> Quantity:
        self = object.__new__(cls)
        object.__setattr__(self, "_nanos", nanos)
        object.__setattr__(self, "_format", fmt)
        object.__setattr__(self, "_text", text)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Quantity is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Quantity is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[object, tuple[int, str, str | None]]:
        return _restore, (self._nanos, self._format.value, self._text)

    def __copy__(self) -> Quantity:
        return self

    def __deepcopy__(self, memo: object) -> Quantity:
        return self

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """Parse like upstream ``ParseQuantity``; raise `QuantityError` when it would fail."""
        if not isinstance(text, str):
            _fail(f"quantity must be a string, not {type(text).__name__}")
        if not text:
            _fail(_ERR_FORMAT)
        if text == "0":
            return cls._make(0, Format.DECIMAL_SI, "0")
        positive, num, denom, suffix = _scan(text)
        base, exponent, fmt = _interpret(suffix)
        if len(num) + len(denom) > _MAX_DIGITS:
            _fail(f"{_ERR_NUMERIC}: more than {_MAX_DIGITS} digits")
        value = Fraction(int(num + denom), 10 ** len(denom)) * Fraction(base) ** exponent
        nanos = _ceil_div(value.numerator * _NANO, value.denominator)  # exact when >= 1n
        if fmt is Format.BINARY_SI:
            nanos = min(nanos, _MAX_BINARY_NANOS)
            if 0 < nanos < _NANO:
                fmt = Format.DECIMAL_SI  # upstream: avoids rounding "0.5Ki"-like values
        kept = text if _keeps_text(num, denom, exponent, fmt) else None
        return cls._make(nanos if positive else -nanos, fmt, kept)

    @classmethod
    def from_int(cls, value: int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """Upstream ``NewQuantity(value, format)``."""
        return cls._make(value * _NANO, Format(fmt))

    @classmethod
    def from_milli(cls, value: int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """Upstream ``NewMilliQuantity(value, format)``: value / 1000."""
        return cls._make(value * (_NANO // 1000), Format(fmt))

    # -- accessors ------------------------------------------------------------------------

    @property
    def format(self) -> Format:
        """The suffix family of the input (BinarySI, DecimalSI or DecimalExponent)."""
        return self._format

    def as_fraction(self) -> Fraction:
        """The exact value."""
        return Fraction(self._nanos, _NANO)

    def is_zero(self) -> bool:
        return self._nanos == 0

    def sign(self) -> int:
        """-1, 0 or 1."""
        return (self._nanos > 0) - (self._nanos < 0)

    def value(self) -> int:
        """Upstream ``Value()``: the value rounded up, away from zero, to an integer."""
        return _ceil_div(self._nanos, _NANO)

    def milli_value(self) -> int:
        """Upstream ``MilliValue()``: ``value * 1000`` rounded up, away from zero."""
        return _ceil_div(self._nanos, _NANO // 1000)

    def scaled_value(self, scale: int) -> int:
        """Upstream ``ScaledValue(scale)``: ``value / 10^scale`` rounded up, away from zero."""
        fraction = self.as_fraction() / Fraction(10) ** scale
        return _ceil_div(fraction.numerator, fraction.denominator)

    # -- arithmetic (upstream Add/Sub/Neg/Mul: a zero left operand takes the right's format) --

    def __add__(self, other: object) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other._format if self._nanos == 0 else self._format
        return Quantity._make(self._nanos + other._nanos, fmt)

    def __sub__(self, other: object) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other._format if self._nanos == 0 else self._format
        return Quantity._make(self._nanos - other._nanos, fmt)

    def __neg__(self) -> Quantity:
        return Quantity._make(-self._nanos, self._format)

    def __mul__(self, other: object) -> Quantity:
        if not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented
        return Quantity._make(self._nanos * other, self._format)

    __rmul__ = __mul__

    # -- comparison (by value; the format and the kept text play no part) ------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos == other._nanos

    def __hash__(self) -> int:
        return hash(self._nanos)

    def __lt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos < other._nanos

    def __le__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos <= other._nanos

    def __gt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos > other._nanos

    def __ge__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._nanos >= other._nanos

    def cmp(self, other: Quantity) -> int:
        """Upstream ``Cmp``: -1, 0 or 1."""
        return (self._nanos > other._nanos) - (self._nanos < other._nanos)

    # -- printing ---------------------------------------------------------------------------

    def __str__(self) -> str:
        """Upstream ``String()``: the kept input text, else `canonical()`."""
        return self._text if self._text is not None else self.canonical()

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def canonical(self) -> str:
        """Upstream ``CanonicalizeBytes``, number and suffix joined."""
        nanos = self._nanos
        if nanos == 0:
            return "0"
        sign = "-" if nanos < 0 else ""
        magnitude = abs(nanos)
        if (
            self._format is Format.BINARY_SI
            and magnitude >= 1024 * _NANO
            and magnitude % _NANO == 0
        ):
            number, power = magnitude // _NANO, 0
            while power < len(_BINARY_SUFFIXES) - 1 and number % 1024 == 0:
                number //= 1024
                power += 1
            return f"{sign}{number}{_BINARY_SUFFIXES[power]}"
        # Decimal: move every factor of ten into the exponent, then step the exponent down to a
        # multiple of three. 1.5 = 15e-1 -> 150e-2 -> 1500e-3 -> "1500m"; 1e21 -> "1e21".
        number, exponent = magnitude, -9
        while number % 10 == 0:
            number //= 10
            exponent += 1
        while exponent % 3:
            number *= 10
            exponent -= 1
        if self._format is Format.DECIMAL_EXPONENT or exponent not in _DECIMAL_BY_EXPONENT:
            suffix = f"e{exponent}" if exponent else ""
        else:
            suffix = _DECIMAL_BY_EXPONENT[exponent]
        return f"{sign}{number}{suffix}"


def _restore(nanos: int, fmt: str, text: str | None) -> Quantity:
    """Unpickle a `Quantity` (see ``Quantity.__reduce__``)."""
    return Quantity._make(nanos, Format(fmt), text)
