"""Controller expectations: how many creates and deletes a controller still waits to *see*.

Follows upstream `pkg/controller/controller_utils.go` (`ControllerExpectations`,
`UIDTrackingExpectations`, `ExpectationsTimeout`). A controller that has just written N pods
must not trust a cache that does not show them yet, or it would create them again:

    exp = UIDTrackingExpectations(clock)
    exp.expect_creations("default/web", 3)       # before the creates (overwrites the record)
    exp.satisfied("default/web")                 # False until 3 ADDs are observed ...
    exp.creation_observed("default/web")         # ... from the pod informer's on_add
    exp.expect_deletions("default/web", ["default/web-abcde"])   # pod keys, tracked one by one
    exp.deletion_observed("default/web", "default/web-abcde")    # counted once per pod key
    exp.delete("default/web")                    # the controller object is gone

Contracts: `satisfied(key)` is True when there is no record, when adds <= 0 and dels <= 0, or
when the record is older than `EXPECTATIONS_TIMEOUT` (5 minutes) on the injected clock (a lost
watch event must not wedge the controller forever). `expect_*` overwrite the whole record (as
upstream's `SetExpectations`); `*_observed` lower it. All methods are synchronous: informer
handlers and reconciles run on one event loop, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from cp.runtime import Clock

__all__ = [
    "EXPECTATIONS_TIMEOUT",
    "ControlleeExpectations",
    "ControllerExpectations",
    "UIDTrackingExpectations",
]

#: upstream `ExpectationsTimeout`: a record older than this counts as satisfied.
EXPECTATIONS_TIMEOUT: Final = 5 * 60.0


class ControlleeExpectations:
    """One controller's record: creates and deletes still to observe, and when it was set."""

    __slots__ = ("add", "dele", "timestamp")

    def __init__(self, add: int, dele: int, timestamp: float) -> None:
        self.add = add
        self.dele = dele
        self.timestamp = timestamp

    def fulfilled(self) -> bool:
        """Every expected create and delete has been observed."""
        return self.add <= 0 and self.dele <= 0

    def __repr__(self) -> str:
        return f"ControlleeExpectations(add={self.add}, dele={self.dele}, at={self.timestamp})"


class ControllerExpectations:
    """Counts of expected creates/deletes per controller key (`ControllerExpectations`)."""

    __slots__ = ("_clock", "_records")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._records: dict[str, ControlleeExpectations] = {}

    def get(self, key: str) -> ControlleeExpectations | None:
        """The record of `key` (shared, for inspection), or None."""
        return self._records.get(key)

    def satisfied(self, key: str) -> bool:
        """`SatisfiedExpectations`: no record, fulfilled, or expired."""
        record = self._records.get(key)
        if record is None or record.fulfilled():
            return True
        return self._clock.now() - record.timestamp > EXPECTATIONS_TIMEOUT

    def set(self, key: str, add: int, dele: int) -> None:
        """Replace the record of `key` (`SetExpectations`), timestamped now."""
        self._records[key] = ControlleeExpectations(add, dele, self._clock.now())

    def expect_creations(self, key: str, adds: int) -> None:
        self.set(key, adds, 0)

    def expect_deletions(self, key: str, dels: int) -> None:
        self.set(key, 0, dels)

    def raise_expectations(self, key: str, add: int, dele: int) -> None:
        """Add to an existing record (no-op without one), as upstream."""
        record = self._records.get(key)
        if record is not None:
            record.add += add
            record.dele += dele

    def lower_expectations(self, key: str, add: int, dele: int) -> None:
        """Subtract from an existing record (no-op without one), as upstream."""
        record = self._records.get(key)
        if record is not None:
            record.add -= add
            record.dele -= dele

    def creation_observed(self, key: str) -> None:
        self.lower_expectations(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower_expectations(key, 0, 1)

    def delete(self, key: str) -> None:
        """Forget `key` (`DeleteExpectations`)."""
        self._records.pop(key, None)


class UIDTrackingExpectations:
    """Expectations whose deletes are tracked by pod key, so a pod's deletion counts once
    even when seen twice (deletionTimestamp set, then removed) (`UIDTrackingExpectations`)."""

    __slots__ = ("_counts", "_keys")

    def __init__(self, clock: Clock) -> None:
        self._counts = ControllerExpectations(clock)
        self._keys: dict[str, set[str]] = {}

    @property
    def counts(self) -> ControllerExpectations:
        """The underlying counters."""
        return self._counts

    def get(self, key: str) -> ControlleeExpectations | None:
        return self._counts.get(key)

    def satisfied(self, key: str) -> bool:
        return self._counts.satisfied(key)

    def expect_creations(self, key: str, adds: int) -> None:
        self._counts.expect_creations(key, adds)

    def creation_observed(self, key: str) -> None:
        self._counts.creation_observed(key)

    def lower_expectations(self, key: str, add: int, dele: int) -> None:
        self._counts.lower_expectations(key, add, dele)

    def deleted_keys(self, key: str) -> frozenset[str]:
        """The pod keys whose deletion `key` still waits to observe."""
        return frozenset(self._keys.get(key, ()))

    def expect_deletions(self, key: str, deleted_keys: Collection[str]) -> None:
        """Expect the deletion of each of `deleted_keys` (replaces the record of `key`)."""
        expected = set(deleted_keys)
        self._keys[key] = expected
        self._counts.expect_deletions(key, len(expected))

    def deletion_observed(self, key: str, deleted_key: str) -> None:
        """Lower the deletes of `key` by one if `deleted_key` was expected (once per pod)."""
        expected = self._keys.get(key)
        if expected is not None and deleted_key in expected:
            expected.discard(deleted_key)
            self._counts.lower_expectations(key, 0, 1)

    def delete(self, key: str) -> None:
        self._keys.pop(key, None)
        self._counts.delete(key)
