"""cp.api.intstr against apimachinery's ``intstr_test.go`` (TestGetIntFromIntOrPercent,
TestGetValueFromIntOrPercent) and hypothesis properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cp.api.errors_values import InvalidValue
from cp.api.intstr import IntOrString, IntOrStringError, int_value, is_percent, scaled_value


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expect"),
    [
        (123, 0, False, 123),
        ("90%", 100, True, 90),
        ("90%", 95, True, 86),
        ("90%", 95, False, 85),
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("0%", 10, True, 0),
        ("100%", 7, False, 7),
        ("+10%", 10, True, 1),
        ("-10%", 15, True, -1),
        ("-10%", 15, False, -2),
        (-3, 10, True, -3),
    ],
)
def test_scaled_value(value: IntOrString, total: int, round_up: bool, expect: int) -> None:
    assert scaled_value(value, total, round_up=round_up) == expect


@pytest.mark.parametrize("value", ["%", "90#", "#%", "90", "", " 5%", "5 %", "1_0%", "1.5%"])
def test_scaled_value_rejects(value: str) -> None:
    with pytest.raises(IntOrStringError):
        scaled_value(value, 10, round_up=True)


def test_error_wording_and_tree() -> None:
    with pytest.raises(IntOrStringError, match="string is not a percentage"):
        scaled_value("5", 10, round_up=False)
    with pytest.raises(IntOrStringError, match='invalid value "x%"'):
        scaled_value("x%", 10, round_up=False)
    with pytest.raises(IntOrStringError, match="neither int nor percentage"):
        scaled_value(True, 10, round_up=False)
    with pytest.raises(IntOrStringError, match="neither int nor percentage"):
        scaled_value(1.5, 10, round_up=False)  # type: ignore[arg-type]
    assert issubclass(IntOrStringError, InvalidValue)
    assert not issubclass(IntOrStringError, ValueError)


def test_int_value_and_is_percent() -> None:
    assert int_value(5) == 5
    assert int_value("7") == 7
    assert int_value("7%") == 0
    assert is_percent("7%")
    assert not is_percent(7)
    assert not is_percent("7")


@given(st.integers(0, 1000), st.integers(0, 10**6))
def test_percent_matches_float_rounding_of_upstream(percent: int, total: int) -> None:
    """Upstream computes math.Ceil/Floor(float64(value) * float64(total) / 100)."""
    up = scaled_value(f"{percent}%", total, round_up=True)
    down = scaled_value(f"{percent}%", total, round_up=False)
    assert up == math.ceil(percent * total / 100)
    assert down == math.floor(percent * total / 100)
    assert down <= up <= down + 1


@given(st.integers())
def test_ints_pass_through(value: int) -> None:
    assert scaled_value(value, 10, round_up=True) == value
    assert scaled_value(value, 10, round_up=False) == value
