"""cp.api.quantity against apimachinery's own table tests and hypothesis properties.

Tables are taken from ``k8s.io/apimachinery/pkg/api/resource/quantity_test.go``
(TestQuantityParse, TestQuantityString, TestQuantityParseEmit, TestQuantityCmp,
TestQuantityRoundUp, TestNewSet, TestMilliNewSet, TestQuantityAddZeroPreservesSuffix).
"""

from __future__ import annotations

import copy
import pickle
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cp.api.errors_values import InvalidValue
from cp.api.quantity import Format, Quantity, QuantityError

BIN, DEC, EXP = Format.BINARY_SI, Format.DECIMAL_SI, Format.DECIMAL_EXPONENT
MAX_ALLOWED = 2**63 - 1


def d(mantissa: int, exponent: int) -> Fraction:
    """upstream's decQuantity(mantissa, exponent, _): mantissa * 10^exponent."""
    return Fraction(mantissa) * Fraction(10) ** exponent


# TestQuantityParse: input, expected value, expected format.
PARSE_TABLE = [
    ("0", d(0, 0), DEC),
    ("0n", d(0, 0), DEC),
    ("0u", d(0, 0), DEC),
    ("0m", d(0, 0), DEC),
    ("0Ki", d(0, 0), BIN),
    ("0k", d(0, 0), DEC),
    ("0Mi", d(0, 0), BIN),
    ("0M", d(0, 0), DEC),
    ("0Gi", d(0, 0), BIN),
    ("0G", d(0, 0), DEC),
    ("0Ti", d(0, 0), BIN),
    ("0T", d(0, 0), DEC),
    ("1", d(1, 0), DEC),
    ("1Ki", d(1024, 0), BIN),
    ("8Ki", d(8 * 1024, 0), BIN),
    ("7Mi", d(7 * 1024**2, 0), BIN),
    ("6Gi", d(6 * 1024**3, 0), BIN),
    ("5Ti", d(5 * 1024**4, 0), BIN),
    ("4Pi", d(4 * 1024**5, 0), BIN),
    ("3Ei", d(3 * 1024**6, 0), BIN),
    ("10Ti", d(10 * 1024**4, 0), BIN),
    ("100Ti", d(100 * 1024**4, 0), BIN),
    ("5n", d(5, -9), DEC),
    ("4u", d(4, -6), DEC),
    ("3m", d(3, -3), DEC),
    ("9", d(9, 0), DEC),
    ("8k", d(8, 3), DEC),
    ("50k", d(5, 4), DEC),
    ("7M", d(7, 6), DEC),
    ("6G", d(6, 9), DEC),
    ("5T", d(5, 12), DEC),
    ("40T", d(4, 13), DEC),
    ("300T", d(3, 14), DEC),
    ("2P", d(2, 15), DEC),
    ("1E", d(1, 18), DEC),
    ("1E-3", d(1, -3), EXP),
    ("1e3", d(1, 3), EXP),
    ("1E6", d(1, 6), EXP),
    ("1e9", d(1, 9), EXP),
    ("1E12", d(1, 12), EXP),
    ("1e15", d(1, 15), EXP),
    ("1E18", d(1, 18), EXP),
    ("1e14", d(1, 14), EXP),
    ("1e13", d(1, 13), EXP),
    ("100.035k", d(100035, 0), DEC),
    ("0.001", d(1, -3), DEC),
    ("0.0005k", d(5, -1), DEC),
    ("0.005", d(5, -3), DEC),
    ("0.05", d(5, -2), DEC),
    ("0.5", d(5, -1), DEC),
    ("0.00050k", d(5, -1), DEC),
    ("0.00500", d(5, -3), DEC),
    ("0.05000", d(5, -2), DEC),
    ("0.50000", d(5, -1), DEC),
    ("0.5e0", d(5, -1), EXP),
    ("0.5e-1", d(5, -2), EXP),
    ("0.5e-2", d(5, -3), EXP),
    ("10.035M", d(10035, 3), DEC),
    ("1.2e3", d(12, 2), EXP),
    ("1.3E+6", d(13, 5), EXP),
    ("1.40e9", d(14, 8), EXP),
    ("1.53E12", d(153, 10), EXP),
    ("1.6e15", d(16, 14), EXP),
    ("1.7E18", d(17, 17), EXP),
    ("9.01", d(901, -2), DEC),
    ("8.1k", d(81, 2), DEC),
    ("7.123456M", d(7123456, 0), DEC),
    ("6.987654321G", d(6987654321, 0), DEC),
    ("5.444T", d(5444, 9), DEC),
    ("40.1T", d(401, 11), DEC),
    ("300.2T", d(3002, 11), DEC),
    ("2.5P", d(25, 14), DEC),
    ("1.01E", d(101, 16), DEC),
    # Things that saturate/round
    ("3.001n", d(4, -9), DEC),
    ("1.1E-9", d(2, -9), EXP),
    ("0.0000000001", d(1, -9), DEC),
    ("0.0000000005", d(1, -9), DEC),
    ("0.00000000050", d(1, -9), DEC),
    ("0.5e-9", d(1, -9), EXP),
    ("0.9n", d(1, -9), DEC),
    ("0.00000012345", d(124, -9), DEC),
    ("0.00000012354", d(124, -9), DEC),
    ("9Ei", d(MAX_ALLOWED, 0), BIN),
    ("9223372036854775807Ki", d(MAX_ALLOWED, 0), BIN),
    ("12E", d(12, 18), DEC),
    # We'll accept fractional binary stuff, too.
    ("100.035Ki", d(10243584, -2), BIN),
    ("0.5Mi", d(512 * 1024, 0), BIN),
    ("0.05Gi", d(536870912, -1), BIN),
    ("0.025Ti", d(274877906944, -1), BIN),
    # Things written by trolls
    ("0.000000000001Ki", d(2, -9), DEC),  # rounds up, changes format
    (".001", d(1, -3), DEC),
    (".0001k", d(100, -3), DEC),
    ("1.", d(1, 0), DEC),
    ("1.G", d(1, 9), DEC),
]


@pytest.mark.parametrize(("text", "value", "fmt"), PARSE_TABLE)
def test_parse_table(text: str, value: Fraction, fmt: Format) -> None:
    for prefix, sign in (("", 1), ("+", 1), ("-", -1)):
        quantity = Quantity.parse(prefix + text)
        assert quantity.as_fraction() == sign * value, prefix + text
        assert quantity.format is fmt


@pytest.mark.parametrize(
    "text",
    # TestQuantityParse's invalid list, plus the empty string.
    ["", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 "],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(QuantityError):
        Quantity.parse(text)


def test_error_messages_are_upstreams() -> None:
    with pytest.raises(QuantityError) as format_wrong:
        Quantity.parse("aoeu")
    assert str(format_wrong.value) == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    with pytest.raises(QuantityError, match=r"^unable to parse quantity's suffix$"):
        Quantity.parse("1i")
    assert issubclass(QuantityError, InvalidValue)
    assert not issubclass(QuantityError, ValueError)


def test_scanner_quirks_follow_upstream() -> None:
    """parseQuantityString accepts an empty number part ("." and "+" are zero)."""
    assert Quantity.parse(".").is_zero()
    assert Quantity.parse("-.").is_zero()
    assert Quantity.parse("Ki").is_zero()


# TestQuantityString (expect, alternate spelling) as parsed strings; the first column is the
# canonical form of the value written in the second.
STRING_TABLE = [
    ("1Gi", "1024Mi"),
    ("300Mi", "307200Ki"),
    ("1001Gi", "1025024Mi"),
    ("1Ti", "1024Gi"),
    ("500m", "0.5"),
    ("1G", "1000M"),
    ("1G", "0.001T"),
    ("1m", "1000u"),
    ("1080m", "1.08"),
    ("1080m", "1080000000n"),
    ("1e21", "1000E"),
    ("5e21", "5000E"),
    ("1e24", "1000000E"),
    ("1e9", ".001e12"),
    ("1e-3", "0.001e0"),
    ("1e-9", "1000e-12"),
    ("0", "00"),
    ("1536Mi", "1.5Gi"),
    ("1500m", "1.5"),
]


@pytest.mark.parametrize(("expect", "alternate"), STRING_TABLE)
def test_alternate_spellings_print_canonically(expect: str, alternate: str) -> None:
    quantity = Quantity.parse(alternate)
    assert str(quantity) == expect
    assert quantity.canonical() == expect
    if expect != "0":
        assert str(-quantity) == "-" + expect
    assert Quantity.parse(expect) == quantity


@pytest.mark.parametrize(
    "canonical",
    # TestQuantityString's expected strings: parsing them keeps them as they are.
    ["1Gi", "300Mi", "6Ki", "1001Gi", "1Ti", "5", "500m", "1G", "1m", "80m", "1080m", "300M",
     "1T", "1E", "1234567M", "1234567m", "3k", "1025", "0", "1e9", "1e-3", "1e-9", "80e-3",
     "300e6", "1e12", "1e3", "3e3", "1n", "80n", "1080n", "1u", "80u", "1080u"],
)  # fmt: skip
def test_canonical_strings_round_trip(canonical: str) -> None:
    assert str(Quantity.parse(canonical)) == canonical
    assert Quantity.parse(canonical).canonical() == canonical


@pytest.mark.parametrize(
    ("text", "expect"),
    # TestQuantityParseEmit
    [("1Ki", "1Ki"), ("1Mi", "1Mi"), ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1000M", "1G"),
     (".001Ki", "1024m"), (".000001Ki", "1024u"), (".000000001Ki", "1024n"),
     (".000000000001Ki", "2n")],
)  # fmt: skip
def test_parse_emit(text: str, expect: str) -> None:
    assert str(Quantity.parse(text)) == expect
    assert str(Quantity.parse("-" + text)) == "-" + expect


def test_string_keeps_input_when_upstream_does() -> None:
    """String() reuses the input text on upstream's fast path; canonical() never does."""
    assert str(Quantity.parse("+1")) == "+1"
    assert str(Quantity.parse("1E3")) == "1E3"
    assert Quantity.parse("1E3").canonical() == "1e3"
    assert str(Quantity.parse("+1") + Quantity.parse("0")) == "1"


@pytest.mark.parametrize(
    ("left", "right", "expect"),
    # TestQuantityCmp
    [("0", "0", 0), ("100m", "50m", 1), ("50m", "100m", -1), ("10000T", "100Gi", 1)],
)
def test_cmp(left: str, right: str, expect: int) -> None:
    assert Quantity.parse(left).cmp(Quantity.parse(right)) == expect
    assert Quantity.parse(right).cmp(Quantity.parse(left)) == -expect


def test_equality_and_hash_are_by_value() -> None:
    assert Quantity.parse("1Gi") == Quantity.parse("1024Mi")
    assert Quantity.parse("1000m") == Quantity.parse("1")
    assert hash(Quantity.parse("1000m")) == hash(Quantity.parse("1"))
    assert len({Quantity.parse("1k"), Quantity.parse("1000"), Quantity.parse("1e3")}) == 1
    assert Quantity.parse("1Ki") != Quantity.parse("1k")
    assert Quantity.parse("1") != 1
    assert Quantity.parse("999m") < Quantity.parse("1") <= Quantity.parse("1000m")
    assert sorted(map(Quantity.parse, ["1Gi", "1G", "1Mi"])) == [
        Quantity.parse("1Mi"),
        Quantity.parse("1G"),
        Quantity.parse("1Gi"),
    ]


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    # Value()/MilliValue() round up, away from zero (TestQuantityRoundUp's 9.01 and -9.01).
    [("9.01", 10, 9010), ("-9.01", -10, -9010), ("1Gi", 2**30, 2**30 * 1000),
     ("500m", 1, 500), ("1n", 1, 1), ("-1n", -1, -1), ("0", 0, 0), ("1.5", 2, 1500)],
)  # fmt: skip
def test_value_and_milli_value(text: str, value: int, milli: int) -> None:
    quantity = Quantity.parse(text)
    assert quantity.value() == value
    assert quantity.milli_value() == milli


def test_scaled_value() -> None:
    assert Quantity.parse("9.01").scaled_value(-2) == 901
    assert Quantity.parse("9.01").scaled_value(2) == 1
    assert Quantity.parse("1").scaled_value(-3) == 1000


@pytest.mark.parametrize(
    ("value", "fmt", "expect"),
    # TestNewSet
    [(1, DEC, "1"), (1000, DEC, "1k"), (1234000, DEC, "1234k"), (1024, BIN, "1Ki"),
     (1000000, EXP, "1e6"), (1024 * 1024, BIN, "1Mi")],
)  # fmt: skip
def test_from_int(value: int, fmt: Format, expect: str) -> None:
    quantity = Quantity.from_int(value, fmt)
    assert str(quantity) == expect
    assert Quantity.parse(expect).value() == value


@pytest.mark.parametrize(
    ("value", "fmt", "expect"),
    # TestMilliNewSet
    [(1, DEC, "1m"), (1000, DEC, "1"), (1234000, DEC, "1234"), (1024, BIN, "1024m"),
     (1000000, EXP, "1e3"), (1024 * 1024, BIN, "1048576m")],
)  # fmt: skip
def test_from_milli(value: int, fmt: Format, expect: str) -> None:
    quantity = Quantity.from_milli(value, fmt)
    assert str(quantity) == expect
    assert Quantity.parse(expect).milli_value() == value


@pytest.mark.parametrize("text", ["100m", "1Gi"])
def test_adding_or_subtracting_zero_preserves_suffix(text: str) -> None:
    """TestQuantityAddZeroPreservesSuffix and TestQuantitySubZeroPreservesSuffix."""
    value, zero = Quantity.parse(text), Quantity.parse("0")
    assert str(value + zero) == text
    assert str(zero + value) == text
    assert str(value - zero) == text
    assert str(zero - value) == str(-value) == "-" + text


def test_arithmetic_is_exact() -> None:
    total = sum((Quantity.parse("100m") for _ in range(10)), Quantity.parse("0"))
    assert total == Quantity.parse("1")
    assert str(total) == "1"
    assert str(Quantity.parse("1Gi") - Quantity.parse("512Mi")) == "512Mi"
    assert str(Quantity.parse("250m") * 4) == "1"
    assert str(3 * Quantity.parse("1Ki")) == "3Ki"
    assert str(Quantity.parse("7Ei") + Quantity.parse("7Ei")) == "14Ei"  # beyond upstream's cap


def test_immutable_and_copyable() -> None:
    quantity = Quantity.parse("1.5Gi")
    with pytest.raises(AttributeError):
        quantity._nanos = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        Quantity()
    assert copy.deepcopy(quantity) is quantity
    restored = pickle.loads(pickle.dumps(quantity))
    assert restored == quantity
    assert restored.format is quantity.format
    assert repr(quantity) == "Quantity('1536Mi')"


def test_pathological_sizes_are_refused() -> None:
    with pytest.raises(QuantityError):
        Quantity.parse("1e100000")
    with pytest.raises(QuantityError):
        Quantity.parse("1" * 2000)
    assert str(Quantity.parse("1e-1000")) == "1e-9"


# -- properties ----------------------------------------------------------------------------------

SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]


@st.composite
def quantity_texts(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.integers(min_value=0, max_value=10**12))
    fraction = draw(st.one_of(st.just(""), st.from_regex(r"\.[0-9]{0,12}", fullmatch=True)))
    suffix = draw(
        st.one_of(
            st.sampled_from(SUFFIXES),
            st.builds(lambda e, n: f"{e}{n}", st.sampled_from("eE"), st.integers(-30, 30)),
        )
    )
    return f"{sign}{whole}{fraction}{suffix}"


@given(quantity_texts())
def test_parse_of_str_is_identity(text: str) -> None:
    quantity = Quantity.parse(text)
    assert Quantity.parse(str(quantity)) == quantity
    assert Quantity.parse(quantity.canonical()) == quantity
    assert Quantity.parse(quantity.canonical()).canonical() == quantity.canonical()


@given(quantity_texts())
def test_value_is_the_input_rounded_up_to_a_nano(text: str) -> None:
    quantity, exact = Quantity.parse(text), _exact_value(text)
    value = quantity.as_fraction()
    if text.endswith("i") and abs(exact) > MAX_ALLOWED:  # upstream caps BinarySI at 2^63-1
        assert abs(value) == MAX_ALLOWED
        return
    assert (value * 10**9).denominator == 1
    assert abs(exact) <= abs(value) < abs(exact) + Fraction(1, 10**9)
    assert value == 0 or (value > 0) == (exact > 0)


def _exact_value(text: str) -> Fraction:
    """The written value without upstream's nano rounding or binary cap."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    powers = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
    for index, name in enumerate(["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"], start=1):
        if body.endswith(name):
            return sign * Fraction(body[:-2] or "0") * 1024**index
    if body[-1:] in powers:
        return sign * Fraction(body[:-1] or "0") * Fraction(10) ** powers[body[-1]]
    number, _, exponent = body.lower().partition("e")
    return sign * Fraction(number or "0") * Fraction(10) ** int(exponent or "0")


@given(quantity_texts(), quantity_texts())
def test_ordering_agrees_with_fractions(left: str, right: str) -> None:
    a, b = Quantity.parse(left), Quantity.parse(right)
    fa, fb = a.as_fraction(), b.as_fraction()
    assert (a < b, a <= b, a == b, a > b, a >= b) == (
        fa < fb,
        fa <= fb,
        fa == fb,
        fa > fb,
        fa >= fb,
    )
    assert (a == b) == (hash(a) == hash(b)) or a != b
    assert (a + b).as_fraction() == fa + fb
    assert (a - b).as_fraction() == fa - fb
