"""Graceful pod deletion and delete preconditions (`rest.BeforeDelete`, the Pod strategy's
`CheckGracefulDelete`), on the API server and, with the same table, the fake client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from msgspec.structs import replace

import store
from cp.api.core_pod import Container, Pod, PodSpec, PodStatus
from cp.api.errors import Conflict, NotFound
from cp.api.meta import ApiStruct, ObjectMeta
from cp.apiserver import ApiServer
from cp.client import FakeClient
from cp.client.inprocess import InProcessClient
from cp.client.protocol import Client
from tests.apiserver.conftest import NOW, counter_ids

pytestmark = pytest.mark.anyio


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["server", "fake"])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Client, _Clock]]:
    clock = _Clock()
    if request.param == "fake":
        yield FakeClient(clock_now=clock), clock
        return
    async with store.open_log("memory://") as log:
        yield InProcessClient(ApiServer(log, clock_now=clock, ids=counter_ids())), clock


def pod(name: str = "web", node: str = "node-1", grace: int | None = None, **meta: Any) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", **meta),
        spec=PodSpec(
            containers=(Container(name="app", image="nginx"),),
            node_name=node,
            termination_grace_period_seconds=grace,
        ),
    )


def meta(obj: ApiStruct) -> ObjectMeta:
    value = getattr(obj, "metadata", None)
    assert isinstance(value, ObjectMeta)
    return value


async def test_a_bound_pod_stays_for_its_grace_period(setup: tuple[Client, _Clock]) -> None:
    client, clock = setup
    await client.create(pod(grace=45))
    marked = await client.delete("Pod", "web")
    assert meta(marked).deletion_timestamp == "2023-11-14T22:14:05Z"  # now + 45 s
    assert meta(marked).deletion_grace_period_seconds == 45
    stored = await client.get("Pod", "web")
    assert meta(stored).deletion_timestamp == "2023-11-14T22:14:05Z"
    # A second delete without a shorter period changes nothing.
    again = await client.delete("Pod", "web")
    assert meta(again).resource_version == meta(stored).resource_version
    # The kubelet's delete with grace 0 removes it.
    clock.now += 3
    gone = await client.delete("Pod", "web", grace_period_seconds=0)
    assert meta(gone).deletion_grace_period_seconds == 0
    assert meta(gone).deletion_timestamp == "2023-11-14T22:13:23Z"
    with pytest.raises(NotFound):
        await client.get("Pod", "web")


async def test_default_grace_is_30_seconds_and_shortening_moves_the_timestamp(
    setup: tuple[Client, _Clock],
) -> None:
    client, clock = setup
    await client.create(pod())
    marked = await client.delete("Pod", "web")
    assert meta(marked).deletion_grace_period_seconds == 30
    assert meta(marked).deletion_timestamp == "2023-11-14T22:13:50Z"
    clock.now += 5
    shorter = await client.delete("Pod", "web", grace_period_seconds=10)
    # deletionTimestamp moves back by 30 and forward by 10 from where it was
    assert meta(shorter).deletion_timestamp == "2023-11-14T22:13:30Z"
    assert meta(shorter).deletion_grace_period_seconds == 10
    assert meta(await client.get("Pod", "web")).deletion_grace_period_seconds == 10


@pytest.mark.parametrize(
    ("node", "phase"), [("", ""), ("node-1", "Succeeded"), ("node-1", "Failed")]
)
async def test_unscheduled_or_finished_pods_go_at_once(
    setup: tuple[Client, _Clock], node: str, phase: str
) -> None:
    client, _ = setup
    created = await client.create(pod(node=node))
    if phase:
        await client.update_status(replace(created, status=PodStatus(phase=phase)))
    await client.delete("Pod", "web")
    with pytest.raises(NotFound):
        await client.get("Pod", "web")


async def test_a_pod_with_a_finalizer_outlives_grace_zero(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    await client.create(pod(finalizers=("example.com/hold",)))
    marked = await client.delete("Pod", "web", grace_period_seconds=0)
    assert meta(marked).deletion_grace_period_seconds == 0
    assert meta(await client.get("Pod", "web")).finalizers == ("example.com/hold",)


async def test_uid_precondition(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    created = await client.create(pod(node=""))
    with pytest.raises(Conflict, match=r"the UID in the precondition \(other\) does not match"):
        await client.delete("Pod", "web", uid="other")
    assert meta(await client.get("Pod", "web")).uid == meta(created).uid
    await client.delete("Pod", "web", uid=meta(created).uid)
    with pytest.raises(NotFound):
        await client.get("Pod", "web")


async def test_resource_version_precondition(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    created = await client.create(pod(node=""))
    with pytest.raises(Conflict, match="precondition"):
        await client.delete("Pod", "web", resource_version="999")
    await client.delete("Pod", "web", resource_version=meta(created).resource_version)
    with pytest.raises(NotFound):
        await client.get("Pod", "web")


async def test_a_status_update_of_a_terminating_pod_keeps_it(
    setup: tuple[Client, _Clock],
) -> None:
    """shouldDeleteDuringUpdate: no finalizers, but a grace period runs: the update is stored."""
    client, _ = setup
    await client.create(pod())
    marked = await client.delete("Pod", "web")
    assert isinstance(marked, Pod)
    updated = await client.update_status(replace(marked, status=PodStatus(phase="Running")))
    assert isinstance(updated, Pod)
    assert updated.status is not None
    stored = await client.get("Pod", "web")
    assert isinstance(stored, Pod)
    assert stored.status == updated.status


async def test_removing_the_last_finalizer_of_a_graceless_delete_removes_it(
    setup: tuple[Client, _Clock],
) -> None:
    client, _ = setup
    await client.create(pod(finalizers=("example.com/hold",)))
    marked = await client.delete("Pod", "web", grace_period_seconds=0)
    await client.update(replace(marked, metadata=replace(meta(marked), finalizers=())))
    with pytest.raises(NotFound):
        await client.get("Pod", "web")
