"""ReplicaSet status (upstream `TestCalculateStatus`, `TestCalculateStatusConditions`) and the
status write (skip when unchanged, one retry after a Conflict)."""

from __future__ import annotations

from typing import TypeVar

import pytest
from msgspec.structs import replace

from controllers.common.times import format_time
from controllers.replicaset import REPLICA_FAILURE, calculate_status, next_available_in
from controllers.replicaset.status import status_unchanged, update_replica_set_status
from cp.api.apps import ReplicaSet, ReplicaSetCondition, ReplicaSetStatus
from cp.api.core_pod import Pod
from cp.api.errors import Conflict
from cp.api.meta import ApiStruct
from cp.client import FakeClient
from tests.controllers.common.helpers import NOW, make_pod
from tests.controllers.replicaset.harness import RS_REF, replica_set

pytestmark = pytest.mark.anyio

_T = TypeVar("_T", bound=ApiStruct)

FULL = {"app": "web", "tier": "front"}  # the template's labels
PARTIAL = {"app": "web"}  # matches the selector only


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pod(name: str, labels: dict[str, str] = FULL, **kw: object) -> Pod:
    return make_pod(name, labels=labels, owners=(RS_REF,), **kw)  # type: ignore[arg-type]


def counts(status: ReplicaSetStatus) -> tuple[int, int, int, int]:
    return (
        status.replicas,
        status.fully_labeled_replicas,
        status.ready_replicas,
        status.available_replicas,
    )


@pytest.mark.parametrize(
    ("pods", "min_ready", "want"),
    [
        ([pod("a")], 0, (1, 1, 0, 0)),  # 1 fully labelled pod
        ([pod("a", PARTIAL)], 0, (1, 0, 0, 0)),  # 1 not fully labelled pod
        ([pod("a"), pod("b")], 0, (2, 2, 0, 0)),  # 2 fully labelled pods
        ([pod("a"), pod("b", PARTIAL)], 0, (2, 1, 0, 0)),  # 1 of 2 fully labelled
        ([pod("a", ready=True, ready_since=NOW)], 0, (1, 1, 1, 1)),  # ready = available
        ([pod("a", ready=True, ready_since=NOW - 5)], 10, (1, 1, 1, 0)),  # not yet available
        ([pod("a", ready=True, ready_since=NOW - 10)], 10, (1, 1, 1, 1)),  # exactly 10 s
        ([pod("a", ready=True)], 10, (1, 1, 1, 0)),  # unknown ready time
    ],
)
def test_calculate_status(pods: list[Pod], min_ready: int, want: tuple[int, ...]) -> None:
    rs = replica_set(2, min_ready=min_ready)
    assert counts(calculate_status(rs, pods, None, NOW)) == want


def test_replica_failure_condition_set_and_removed() -> None:
    rs = replica_set(2)
    missing = calculate_status(rs, [pod("a")], RuntimeError("quota"), NOW)
    assert missing.conditions == (
        ReplicaSetCondition(
            type=REPLICA_FAILURE,
            status="True",
            last_transition_time=format_time(NOW),
            reason="FailedCreate",
            message="quota",
        ),
    )
    extra = calculate_status(rs, [pod("a"), pod("b"), pod("c")], RuntimeError("x"), NOW)
    assert extra.conditions[0].reason == "FailedDelete"
    failing = replace(rs, status=missing)
    kept = calculate_status(failing, [pod("a")], RuntimeError("other"), NOW + 5)
    assert kept.conditions == missing.conditions  # an existing condition is not replaced
    cleared = calculate_status(failing, [pod("a")], None, NOW)
    assert cleared.conditions == ()


def test_next_available_in() -> None:
    """The docstring's example: minReadySeconds 10, pods ready since 85 s and 95 s."""
    rs = replica_set(3, min_ready=10)
    pods = [
        pod("p1", ready=True, ready_since=NOW - 15),
        pod("p2", ready=True, ready_since=NOW - 5),
        pod("p3"),
    ]
    assert counts(calculate_status(rs, pods, None, NOW)) == (3, 3, 2, 1)
    assert next_available_in(rs, pods, NOW) == 5.0
    assert next_available_in(rs, pods[:1], NOW) is None
    assert next_available_in(replica_set(3), pods, NOW) is None


async def test_update_skipped_when_unchanged() -> None:
    status = ReplicaSetStatus(replicas=1, fully_labeled_replicas=1, observed_generation=1)
    client = FakeClient(replica_set(1, status=status))
    rs = await client.get("ReplicaSet", "web", "default")
    assert isinstance(rs, ReplicaSet)
    assert status_unchanged(rs, status)
    client.clear_actions()
    assert await update_replica_set_status(client, rs, status) is rs
    assert client.writes() == []
    # a new generation alone is a change: observedGeneration must catch up
    assert not status_unchanged(replace(rs, metadata=replace(rs.metadata, generation=2)), status)


async def test_update_retries_once_after_a_conflict() -> None:
    client = FakeClient(replica_set(1))
    stale = await client.get("ReplicaSet", "web", "default")
    assert isinstance(stale, ReplicaSet)
    await client.update_status(replace(stale, status=ReplicaSetStatus(replicas=7)))
    client.clear_actions()
    new = ReplicaSetStatus(replicas=1, fully_labeled_replicas=1)
    stored = await update_replica_set_status(client, stale, new)
    assert [a.verb for a in client.actions] == ["update_status", "get", "update_status"]
    assert stored.status == replace(new, observed_generation=1)


async def test_update_gives_up_after_the_retry() -> None:
    class AlwaysConflict(FakeClient):
        async def update_status(self, obj: _T) -> _T:
            raise Conflict("conflict")

    client = AlwaysConflict(replica_set(1))
    rs = await client.get("ReplicaSet", "web", "default")
    assert isinstance(rs, ReplicaSet)
    with pytest.raises(Conflict):
        await update_replica_set_status(client, rs, ReplicaSetStatus(replicas=3))
