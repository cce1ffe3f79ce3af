"""`format_age` against apimachinery's `duration_test.go` (TestHumanDuration and
TestHumanDurationBoundaries, kubernetes master), and the tabwriter layout."""

from __future__ import annotations

import pytest

from cp.cli.printers import format_age
from cp.cli.printers_common import tabulate

S = 1.0
MS = 0.001
MIN = 60.0
H = 3600.0
D = 24 * H
Y = 365 * D

HUMAN_DURATION = [
    (S, "1s"),
    (70 * S, "70s"),
    (190 * S, "3m10s"),
    (70 * MIN, "70m"),
    (47 * H, "47h"),
    (49 * H, "2d1h"),
    ((8 * 24 + 2) * H, "8d"),
    (367 * 24 * H, "367d"),
    ((365 * 2 * 24 + 25) * H, "2y1d"),
    ((365 * 8 * 24 + 2) * H, "8y"),
]

BOUNDARIES = [
    (-2 * S, "<invalid>"),
    (-2 * S + 1e-9, "0s"),
    (0.0, "0s"),
    (S - MS, "0s"),
    (2 * MIN - MS, "119s"),
    (2 * MIN, "2m"),
    (2 * MIN + S, "2m1s"),
    (10 * MIN - MS, "9m59s"),
    (10 * MIN, "10m"),
    (10 * MIN + S, "10m"),
    (3 * H - MS, "179m"),
    (3 * H, "3h"),
    (3 * H + MIN, "3h1m"),
    (8 * H - MS, "7h59m"),
    (8 * H, "8h"),
    (8 * H + 59 * MIN, "8h"),
    (2 * D - MS, "47h"),
    (2 * D, "2d"),
    (2 * D + H, "2d1h"),
    (8 * D - MS, "7d23h"),
    (8 * D, "8d"),
    (8 * D + 23 * H, "8d"),
    (2 * Y - MS, "729d"),
    (2 * Y, "2y"),
    (2 * Y + 23 * H, "2y"),
    (2 * Y + 23 * H + 59 * MIN, "2y"),
    (2 * Y + D - MS, "2y"),
    (2 * Y + D, "2y1d"),
    (3 * Y, "3y"),
    (4 * Y, "4y"),
    (5 * Y, "5y"),
    (6 * Y, "6y"),
    (7 * Y, "7y"),
    (8 * Y - MS, "7y364d"),
    (8 * Y, "8y"),
    (8 * Y + 364 * D, "8y"),
    (9 * Y, "9y"),
]

# The examples of the brief and of the reference (`<120s -> Ns`, `<10m -> NmSs`, ...).
EXAMPLES = [
    (59 * S, "59s"),
    (125 * S, "2m5s"),
    (10 * MIN, "10m"),
    (3 * H + 20 * MIN, "3h20m"),
    (2 * D + 3 * H, "2d3h"),
    (8 * D, "8d"),
    (-1 * S, "0s"),
    (-1.5 * S, "0s"),
]


@pytest.mark.parametrize(("seconds", "expected"), HUMAN_DURATION + BOUNDARIES + EXAMPLES)
def test_format_age_matches_human_duration(seconds: float, expected: str) -> None:
    assert format_age(seconds) == expected


def test_tabwriter_pads_three_spaces_and_never_the_last_cell() -> None:
    out = tabulate([["NAME", "READY", "AGE"], ["web-1", "1/1", "5s"]])
    assert out == "NAME    READY   AGE\nweb-1   1/1     5s\n"


def test_tabwriter_minimum_cell_width_is_six() -> None:
    assert tabulate([["A", "B"], ["x", "yy"]]) == "A     B\nx     yy\n"


def test_tabwriter_pads_empty_cells() -> None:
    out = tabulate([["NAME", "VOLUME", "AGE"], ["a", "", "1s"]])
    assert out == "NAME   VOLUME   AGE\n" + "a" + " " * 15 + "1s\n"
