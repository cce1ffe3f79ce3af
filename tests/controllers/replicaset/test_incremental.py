"""A sync reads the aggregates the pod handlers keep (`owned.py`): it lists the ReplicaSet's
pods only to build the aggregate, to rank them for a scale-down, or before a claim's writes;
the status it writes still equals `calculate_status` over the pods it controls."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.replicaset import calculate_status
from cp.api.core_pod import Pod
from cp.informer import Lister
from tests.controllers.common.helpers import NOW, make_pod
from tests.controllers.replicaset.harness import RS_REF, TEMPLATE, Harness, replica_set, verbs

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The uids `Lister.by_controller` is called with, on any lister, in order."""
    calls: list[str] = []
    original = Lister.by_controller

    def spy(self: Lister[Pod], uid: str) -> list[Pod]:
        calls.append(uid)
        return original(self, uid)

    monkeypatch.setattr(Lister, "by_controller", spy)
    return calls


def owned(name: str, **kw: object) -> Pod:
    return make_pod(name, labels=dict(TEMPLATE.metadata.labels), owners=(RS_REF,), **kw)  # type: ignore[arg-type]


def _expected_status(h: Harness, min_ready: int) -> tuple[int, int, int, int]:
    active = [
        p
        for p in h.pods()
        if p.metadata.owner_references == (RS_REF,)
        and p.metadata.deletion_timestamp is None
        and p.status is not None
        and p.status.phase not in ("Succeeded", "Failed")
    ]
    status = calculate_status(replica_set(3, min_ready=min_ready), active, None, h.clock.now())
    return (
        status.replicas,
        status.fully_labeled_replicas,
        status.ready_replicas,
        status.available_replicas,
    )


def _observed(h: Harness) -> tuple[int, int, int, int]:
    s = h.status()
    return (s.replicas, s.fully_labeled_replicas, s.ready_replicas, s.available_replicas)


async def test_steady_syncs_list_no_pods(listings: list[str]) -> None:
    h = Harness(
        replica_set(3, min_ready=10),
        owned("a", ready=True, ready_since=NOW - 30),
        owned("b", ready=True, ready_since=NOW - 4),
        owned("c"),
    )
    writes, result = await h.reconcile()
    assert listings == ["rs-uid"]  # the aggregate is built once
    assert verbs(writes) == [("update_status", "ReplicaSet", "web")]
    assert _observed(h) == (3, 3, 2, 1)
    assert result.requeue_after == 6.0  # b becomes available at NOW + 6
    h.sync()
    # c turns ready, a fails, a new pod d shows up without the tier label
    h.client.add(owned("c", ready=True, ready_since=NOW))
    h.client.add(owned("a", ready=True, ready_since=NOW - 30, phase="Failed"))
    h.client.add(
        make_pod("d", labels={"app": "web"}, owners=(RS_REF,), ready=True, ready_since=NOW - 50)
    )
    h.sync()
    writes, result = await h.reconcile()
    assert listings == ["rs-uid"]
    assert verbs(writes) == [("update_status", "ReplicaSet", "web")]
    assert _observed(h) == _expected_status(h, 10) == (3, 2, 3, 1)
    assert result.requeue_after == 6.0
    await h.queued()  # an idle plane: the virtual clock jumps to the timer
    h.clock.call_later(6, lambda: None)
    await h.clock.advance(6)
    assert h.clock.now() == NOW + 6
    h.sync()
    await h.reconcile()
    assert _observed(h) == _expected_status(h, 10) == (3, 2, 3, 2)
    assert listings == ["rs-uid"]


async def test_a_spec_change_rebuilds_and_a_scale_down_lists(listings: list[str]) -> None:
    h = Harness(replica_set(2), owned("a"), owned("b"))
    await h.reconcile()
    h.sync()
    assert listings == ["rs-uid"]
    # minReadySeconds is part of the aggregate's basis: a new one is built
    h.client.add(replace(h.rs(), spec=replace(h.rs().spec, min_ready_seconds=5)))
    h.sync()
    await h.reconcile()
    assert listings == ["rs-uid", "rs-uid"]
    # a scale-down ranks the pods it keeps: listed then, with the related pods
    h.client.add(replace(h.rs(), spec=replace(h.rs().spec, replicas=1)))
    h.sync()
    writes, _ = await h.reconcile()
    assert verbs(writes)[0] == ("delete", "Pod", "a")  # equal ranks: by uid
    assert listings == ["rs-uid"] * 4


async def test_a_deleted_replica_set_drops_its_aggregate() -> None:
    h = Harness(replica_set(1), owned("a"))
    await h.reconcile()
    assert h.rsc.owned.get("rs-uid") is not None
    await h.client.delete("ReplicaSet", "web", "default")
    h.sync()
    assert h.rsc.owned.get("rs-uid") is None
    assert len(h.rsc.owned) == 0
