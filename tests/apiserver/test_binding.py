"""The pods/binding subresource (`BindingREST` in pkg/registry/core/pod/storage/storage.go):
one write binding a pod, its preconditions and errors, on the API server and, with the same
tests, the fake client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from msgspec.structs import replace

import store
from cp.api.admission import bind_pod
from cp.api.core_pod import Container, Pod, PodCondition, PodSpec, PodStatus
from cp.api.errors import Conflict, Invalid, NotFound
from cp.api.meta import ObjectMeta
from cp.api.times import rfc3339
from cp.apiserver import ApiServer
from cp.client import FakeClient, acting_as
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


def pod(name: str = "web", node: str = "", status: PodStatus | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", annotations={"a": "1"}),
        spec=PodSpec(containers=(Container(name="app", image="nginx"),), node_name=node),
        status=status,
    )


def condition(p: Pod) -> PodCondition:
    assert p.status is not None
    return next(c for c in p.status.conditions if c.type == "PodScheduled")


async def test_one_write_sets_the_node_the_condition_and_the_annotations(
    setup: tuple[Client, _Clock],
) -> None:
    client, clock = setup
    created = await client.create(pod())
    clock.now = NOW + 5
    bound = await client.bind("web", "node-1", "default", annotations={"b": "2", "a": "3"})
    assert bound.spec.node_name == "node-1"
    assert bound.metadata.annotations == {"a": "3", "b": "2"}
    assert condition(bound) == PodCondition(
        type="PodScheduled", status="True", last_transition_time=rfc3339(NOW + 5)
    )
    assert bound.status is not None
    assert bound.status.phase == "Pending"
    # no generation bump, the other metadata kept; one revision further
    assert bound.metadata.generation == created.metadata.generation
    assert bound.metadata.uid == created.metadata.uid
    assert int(bound.metadata.resource_version) > int(created.metadata.resource_version)
    assert await client.get("Pod", "web", "default") == bound


async def test_the_condition_replaces_an_unschedulable_one(
    setup: tuple[Client, _Clock],
) -> None:
    client, clock = setup
    failed = PodCondition(
        type="PodScheduled",
        status="False",
        last_probe_time=rfc3339(NOW),
        last_transition_time=rfc3339(NOW),
        reason="Unschedulable",
        message="0/1 nodes are available: 1 Too many pods.",
    )
    ready = PodCondition(type="Ready", status="False")
    await client.create(pod(status=PodStatus(phase="Pending", conditions=(ready, failed))))
    clock.now = NOW + 7
    bound = await client.bind("web", "node-1")
    assert bound.status is not None
    # `UpdatePodCondition`: the whole condition replaced (no reason, message, probe time),
    # in its place, lastTransitionTime now since the status changed
    assert bound.status.conditions == (
        ready,
        PodCondition(type="PodScheduled", status="True", last_transition_time=rfc3339(NOW + 7)),
    )


def test_an_already_true_condition_keeps_its_transition_time() -> None:
    earlier = PodCondition(
        type="PodScheduled", status="True", last_transition_time=rfc3339(NOW), reason="Old"
    )
    status = PodStatus(phase="Pending", conditions=(earlier,))
    bound = bind_pod(pod(status=status), "n", now=NOW + 9)
    assert condition(bound) == PodCondition(
        type="PodScheduled", status="True", last_transition_time=rfc3339(NOW)
    )
    assert bound.metadata.resource_version == ""


async def test_a_bound_pod_is_a_conflict(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    await client.create(pod(node="node-1"))
    with pytest.raises(Conflict) as err:
        await client.bind("web", "node-2")
    assert str(err.value) == (
        'Operation cannot be fulfilled on pods/binding "web": '
        'pod web is already assigned to node "node-1"'
    )
    await client.create(pod("db"))
    await client.bind("db", "node-1")
    with pytest.raises(Conflict, match='already assigned to node "node-1"'):
        await client.bind("db", "node-1")  # the same node again, too


async def test_a_pod_being_deleted_is_a_conflict(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    await client.create(replace(pod(), metadata=replace(pod().metadata, finalizers=("f/x",))))
    await client.delete("Pod", "web", "default")  # unbound: marked at once, kept by the finalizer
    with pytest.raises(Conflict) as err:
        await client.bind("web", "node-1")
    assert str(err.value) == (
        'Operation cannot be fulfilled on pods/binding "web": '
        "pod web is being deleted, cannot be assigned to a host"
    )


async def test_a_missing_pod_is_not_found(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    with pytest.raises(NotFound, match='pods "web" not found'):
        await client.bind("web", "node-1", uid="u")


async def test_no_node_is_invalid(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    await client.create(pod())
    with pytest.raises(Invalid) as err:
        await client.bind("web", "")
    assert str(err.value) == 'Binding "web" is invalid: target.name: Required value'
    assert not (await client.get("Pod", "web")).spec.node_name  # type: ignore[attr-defined]


async def test_uid_and_resource_version_preconditions(setup: tuple[Client, _Clock]) -> None:
    client, _ = setup
    created = await client.create(pod())
    uid, rv = created.metadata.uid, created.metadata.resource_version
    with pytest.raises(Conflict) as err:
        await client.bind("web", "node-1", uid="other-uid")
    assert str(err.value) == (
        'Operation cannot be fulfilled on pods "web": StorageError: invalid object, Code: 4, '
        "Key: /registry/pods/default/web, ResourceVersion: 0, AdditionalErrorMsg: "
        f"Precondition failed: UID in precondition: other-uid, UID in object meta: {uid}"
    )
    stale = str(int(rv) + 100)
    with pytest.raises(Conflict) as err:
        await client.bind("web", "node-1", uid=uid, resource_version=stale)
    assert str(err.value).endswith(
        f"Precondition failed: ResourceVersion in precondition: {stale}, "
        f"ResourceVersion in object meta: {rv}"
    )
    assert not (await client.get("Pod", "web")).spec.node_name  # type: ignore[attr-defined]
    bound = await client.bind("web", "node-1", uid=uid, resource_version=rv)
    assert bound.spec.node_name == "node-1"


async def test_the_write_is_one_watch_event_attributed_to_the_caller(
    setup: tuple[Client, _Clock],
) -> None:
    client, _ = setup
    created = await client.create(pod())
    async with client.watch("Pod", "default", created.metadata.resource_version) as events:
        with acting_as("controller/scheduler", cause=3):
            bound = await client.bind("web", "node-1")
        async for event in events:
            assert (event.type, event.object) == ("MODIFIED", bound)
            break
    if isinstance(client, FakeClient):
        action = client.writes()[-1]
        assert (action.verb, action.kind, action.namespace, action.name, action.obj) == (
            "bind",
            "Pod",
            "default",
            "web",
            "node-1",
        )
        assert (action.actor, action.cause) == ("controller/scheduler", 3)
