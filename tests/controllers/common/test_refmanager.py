"""ControllerRefManager claims as recorded actions (upstream `TestClaimPods`,
`TestClaimReplicaSets` in `controller_ref_manager_test.go`)."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.common.refmanager import (
    AdoptionRefused,
    ControllerRefManager,
    controller_ref,
    controller_ref_of,
    recheck_deletion_timestamp,
)
from cp.api.apps import ReplicaSet, ReplicaSetSpec
from cp.api.core_pod import Container, Pod, PodSpec, PodTemplateSpec
from cp.api.meta import LabelSelector, ObjectMeta, OwnerReference
from cp.api.selectors import Selector
from cp.client import Action, FakeClient
from tests.controllers.common.helpers import make_pod

pytestmark = pytest.mark.anyio

TEMPLATE = PodTemplateSpec(
    metadata=ObjectMeta(labels={"app": "web"}),
    spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def owner(*, deleting: bool = False) -> ReplicaSet:
    return ReplicaSet(
        metadata=ObjectMeta(
            name="web",
            namespace="default",
            uid="rs-uid",
            deletion_timestamp="2024-01-01T00:00:00Z" if deleting else None,
            finalizers=("keep",) if deleting else (),
        ),
        spec=ReplicaSetSpec(selector=LabelSelector(match_labels={"app": "web"}), template=TEMPLATE),
    )


REF = OwnerReference(
    api_version="apps/v1",
    kind="ReplicaSet",
    name="web",
    uid="rs-uid",
    controller=True,
    block_owner_deletion=True,
)
OTHER = replace(REF, name="other", uid="other-uid")
WEB = {"app": "web"}


async def stored(client: FakeClient, pod: Pod) -> Pod:
    got = await client.get("Pod", pod.metadata.name, "default")
    assert isinstance(got, Pod)
    return got


async def claim(client: FakeClient, rs: ReplicaSet, names: list[str], **kw: object) -> list[str]:
    pods = [await stored(client, make_pod(n)) for n in names]
    client.clear_actions()
    manager = ControllerRefManager(client, rs, Selector.from_label_selector(rs.spec.selector))
    claimed = await manager.claim("Pod", pods)
    return [p.metadata.name for p in claimed]


def test_controller_ref() -> None:
    assert controller_ref(owner()) == REF
    assert (
        controller_ref_of(make_pod("p", owners=(replace(REF, controller=None), OTHER)).metadata)
        == OTHER
    )
    assert controller_ref_of(make_pod("p").metadata) is None


async def test_claims_owned_adopts_orphans_ignores_others() -> None:
    client = FakeClient(
        owner(),
        make_pod("mine", labels=WEB, owners=(REF,)),
        make_pod("orphan", labels=WEB),
        make_pod("theirs", labels=WEB, owners=(OTHER,)),
        make_pod("unmatched-orphan", labels={"app": "db"}),
    )
    names = ["mine", "orphan", "theirs", "unmatched-orphan"]
    assert await claim(client, owner(), names) == ["mine", "orphan"]
    writes = client.writes()
    assert [(a.verb, a.name) for a in writes] == [("patch", "orphan")]
    ops = writes[0].obj
    assert isinstance(ops, list)
    assert ops[0] == {"op": "test", "path": "/metadata/uid", "value": "orphan-uid"}
    assert ops[1]["path"] == "/metadata/resourceVersion"
    assert ops[2]["op"] == "add"
    adopted = await stored(client, make_pod("orphan"))
    assert adopted.metadata.owner_references == (REF,)


async def test_adoption_appends_to_other_non_controller_refs() -> None:
    plain = replace(OTHER, controller=None, block_owner_deletion=None)
    client = FakeClient(owner(), make_pod("orphan", labels=WEB, owners=(plain,)))
    assert await claim(client, owner(), ["orphan"]) == ["orphan"]
    adopted = await stored(client, make_pod("orphan"))
    assert adopted.metadata.owner_references == (plain, REF)


async def test_releases_owned_pods_that_stopped_matching() -> None:
    client = FakeClient(owner(), make_pod("strayed", labels={"app": "db"}, owners=(REF,)))
    assert await claim(client, owner(), ["strayed"]) == []
    assert [(a.verb, a.name) for a in client.writes()] == [("patch", "strayed")]
    released = await stored(client, make_pod("strayed"))
    assert released.metadata.owner_references == ()


async def test_owner_being_deleted_neither_adopts_nor_releases() -> None:
    rs = owner(deleting=True)
    client = FakeClient(
        rs,
        make_pod("mine", labels=WEB, owners=(REF,)),
        make_pod("strayed", labels={"app": "db"}, owners=(REF,)),
        make_pod("orphan", labels=WEB),
    )
    assert await claim(client, rs, ["mine", "strayed", "orphan"]) == ["mine"]
    assert client.writes() == []


async def test_orphan_being_deleted_or_elsewhere_is_not_adopted() -> None:
    client = FakeClient(
        owner(),
        make_pod("dying", labels=WEB, deleting=True),
        make_pod("elsewhere", labels=WEB, namespace="other"),
    )
    pods = [
        await stored(client, make_pod("dying")),
        await client.get("Pod", "elsewhere", "other"),
    ]
    manager = ControllerRefManager(client, owner(), Selector.from_label_selector(WEB_SELECTOR))
    client.clear_actions()
    assert await manager.claim("Pod", pods) == []
    assert client.writes() == []


WEB_SELECTOR = LabelSelector(match_labels=WEB)


async def test_can_adopt_is_checked_once_and_refusal_is_raised() -> None:
    client = FakeClient(owner(), make_pod("a", labels=WEB), make_pod("b", labels=WEB))
    calls: list[int] = []

    async def can_adopt() -> None:
        calls.append(1)

    pods = [await stored(client, make_pod(n)) for n in ("a", "b")]
    manager = ControllerRefManager(
        client, owner(), Selector.from_label_selector(WEB_SELECTOR), can_adopt=can_adopt
    )
    assert len(await manager.claim("Pod", pods)) == 2
    assert calls == [1]


async def test_recheck_deletion_timestamp() -> None:
    live = owner()
    client = FakeClient(live)
    await recheck_deletion_timestamp(client, "ReplicaSet", live.metadata)()
    stale = replace(live.metadata, uid="old-uid")
    with pytest.raises(AdoptionRefused, match="is gone: got uid rs-uid, wanted old-uid"):
        await recheck_deletion_timestamp(client, "ReplicaSet", stale)()
    deleting = owner(deleting=True)
    client = FakeClient(deleting)
    with pytest.raises(AdoptionRefused, match="has just been deleted"):
        await recheck_deletion_timestamp(client, "ReplicaSet", live.metadata)()
    pods = [make_pod("orphan", labels=WEB)]
    client = FakeClient(deleting, *pods)
    manager = ControllerRefManager(
        client,
        live,
        Selector.from_label_selector(WEB_SELECTOR),
        can_adopt=recheck_deletion_timestamp(client, "ReplicaSet", live.metadata),
    )
    with pytest.raises(AdoptionRefused):
        await manager.claim("Pod", [await stored(client, pods[0])])
    assert client.writes() == []


async def test_gone_objects_are_skipped_and_stale_ones_raise() -> None:
    client = FakeClient(owner(), make_pod("orphan", labels=WEB, node=""))
    pod = await stored(client, make_pod("orphan"))
    await client.delete("Pod", "orphan", "default")  # unscheduled: removed at once
    manager = ControllerRefManager(client, owner(), Selector.from_label_selector(WEB_SELECTOR))
    assert await manager.claim("Pod", [pod]) == []
    client = FakeClient(owner(), make_pod("orphan", labels=WEB))
    pod = await stored(client, make_pod("orphan"))
    await client.patch("Pod", "orphan", {"metadata": {"annotations": {"x": "y"}}})
    manager = ControllerRefManager(client, owner(), Selector.from_label_selector(WEB_SELECTOR))
    client.clear_actions()
    with pytest.raises(Exception, match="test failed"):
        await manager.claim("Pod", [pod])  # a stale cache: the patch's tests fail, retried later
    assert [a.verb for a in client.actions] == ["patch"]
    assert isinstance(client.actions[0], Action)
