"""Expectations (upstream `TestControllerExpectations`, `TestUIDExpectations`)."""

from __future__ import annotations

from controllers.common.expectations import (
    EXPECTATIONS_TIMEOUT,
    ControllerExpectations,
    UIDTrackingExpectations,
)
from tests.controllers.common.helpers import ManualClock

KEY = "default/web"


def test_no_record_is_satisfied() -> None:
    exp = ControllerExpectations(ManualClock())
    assert exp.satisfied(KEY)
    assert exp.get(KEY) is None


def test_creations_and_deletions_count_down() -> None:
    """upstream: expect 10 adds, observe them one by one; then deletes."""
    exp = ControllerExpectations(ManualClock())
    exp.expect_creations(KEY, 10)
    for _ in range(9):
        exp.creation_observed(KEY)
        assert not exp.satisfied(KEY)
    exp.creation_observed(KEY)
    assert exp.satisfied(KEY)
    exp.expect_deletions(KEY, 2)
    exp.deletion_observed(KEY)
    assert not exp.satisfied(KEY)
    exp.deletion_observed(KEY)
    assert exp.satisfied(KEY)


def test_expect_overwrites_and_raise_lower_adjust() -> None:
    exp = ControllerExpectations(ManualClock())
    exp.set(KEY, 3, 3)
    exp.expect_creations(KEY, 1)  # overwrites: no deletions expected any more
    record = exp.get(KEY)
    assert record is not None
    assert (record.add, record.dele) == (1, 0)
    exp.raise_expectations(KEY, 2, 1)
    exp.lower_expectations(KEY, 3, 0)
    assert (record.add, record.dele) == (0, 1)
    assert not exp.satisfied(KEY)
    exp.raise_expectations("default/other", 5, 5)  # no record: no-op, as upstream
    assert exp.get("default/other") is None


def test_expiry_after_five_minutes_on_the_injected_clock() -> None:
    clock = ManualClock()
    exp = ControllerExpectations(clock)
    exp.expect_creations(KEY, 1)
    clock.t += EXPECTATIONS_TIMEOUT
    assert not exp.satisfied(KEY)  # exactly 5 min: not yet
    clock.t += 0.001
    assert exp.satisfied(KEY)


def test_delete_forgets() -> None:
    exp = ControllerExpectations(ManualClock())
    exp.expect_creations(KEY, 1)
    exp.delete(KEY)
    assert exp.satisfied(KEY)
    assert exp.get(KEY) is None


def test_uid_tracking_counts_each_pod_once() -> None:
    exp = UIDTrackingExpectations(ManualClock())
    exp.expect_deletions(KEY, ["default/a", "default/b"])
    assert exp.deleted_keys(KEY) == {"default/a", "default/b"}
    exp.deletion_observed(KEY, "default/a")
    exp.deletion_observed(KEY, "default/a")  # seen again (deletionTimestamp, then gone)
    exp.deletion_observed(KEY, "default/zzz")  # never expected
    assert not exp.satisfied(KEY)
    exp.deletion_observed(KEY, "default/b")
    assert exp.satisfied(KEY)
    assert exp.deleted_keys(KEY) == frozenset()


def test_uid_tracking_creations_and_delete() -> None:
    exp = UIDTrackingExpectations(ManualClock())
    exp.expect_creations(KEY, 1)
    assert not exp.satisfied(KEY)
    exp.creation_observed(KEY)
    assert exp.satisfied(KEY)
    exp.expect_deletions(KEY, ["default/a"])
    exp.delete(KEY)
    assert exp.satisfied(KEY)
    assert exp.deleted_keys(KEY) == frozenset()
    exp.lower_expectations(KEY, 1, 1)  # no record: no-op
    assert exp.get(KEY) is None
    assert exp.counts.get(KEY) is None


def test_times_parse_format_and_memo() -> None:
    from controllers.common.times import format_time, memo_parser, parse_time

    assert format_time(1_700_000_000.9) == "2023-11-14T22:13:20Z"
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse_time(None) is None
    assert parse_time("") is None
    assert parse_time("yesterday") is None
    parse = memo_parser()
    assert parse("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse(None) is None
