"""ControllerRevisions: data, hashing, choosing current/update (create, reuse, rollback
renumbering, name collisions) and history truncation, against a FakeClient."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.statefulset.history import (
    HASH_LABEL,
    apply_revision,
    choose_revisions,
    equal_revision,
    hash_revision,
    new_revision,
    revision_data,
    sort_revisions,
    truncate_history,
)
from controllers.statefulset.identity import REVISION_LABEL, new_pod
from cp.api.apps import ControllerRevision, StatefulSet, StatefulSetStatus
from cp.client import FakeClient
from tests.controllers.statefulset.harness import stateful_set

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def image(sts: StatefulSet, value: str) -> StatefulSet:
    container = replace(sts.spec.template.spec.containers[0], image=value)
    template = replace(
        sts.spec.template, spec=replace(sts.spec.template.spec, containers=(container,))
    )
    return replace(sts, spec=replace(sts.spec, template=template))


def stored(client: FakeClient) -> list[ControllerRevision]:
    return sort_revisions(o for o in client.objects() if isinstance(o, ControllerRevision))


def test_revision_shape_and_round_trip() -> None:
    sts = stateful_set()
    revision = new_revision(sts, 4, 0)
    assert revision.revision == 4
    assert revision.data == revision_data(sts)
    assert revision.data is not None
    assert revision.data["spec"]["template"]["$patch"] == "replace"
    hash_ = hash_revision(revision.data, 0)
    assert revision.metadata.name == f"web-{hash_}"
    assert revision.metadata.labels == {"app": "web", HASH_LABEL: hash_}
    assert revision.metadata.owner_references[0].uid == "sts-uid"
    assert apply_revision(image(sts, "other"), revision).spec.template == sts.spec.template


def test_hash_depends_on_data_and_collision_count() -> None:
    data = revision_data(stateful_set())
    assert hash_revision(data, 0) == hash_revision(data, 0)
    assert hash_revision(data, 0) != hash_revision(data, 1)
    assert hash_revision(data, 0) != hash_revision(revision_data(image(stateful_set(), "x")), 0)
    assert equal_revision(new_revision(stateful_set(), 1, 0), new_revision(stateful_set(), 7, 3))


async def test_create_reuse_and_rollback_renumbering() -> None:
    client = FakeClient()
    v1 = stateful_set()
    current, update, count = await choose_revisions(client, v1, [])
    assert current == update
    assert (update.revision, count) == (1, 0)
    v1 = replace(v1, status=StatefulSetStatus(replicas=0, current_revision=update.metadata.name))
    # unchanged template: the newest revision is reused, nothing written
    client.clear_actions()
    again = await choose_revisions(client, v1, stored(client))
    assert again[1].metadata.name == update.metadata.name
    assert client.writes() == []
    v2 = image(v1, "nginx:2")
    current2, update2, _ = await choose_revisions(client, v2, stored(client))
    assert current2.metadata.name == update.metadata.name
    assert update2.revision == 2
    # back to v1: the old revision is renumbered, not duplicated
    _, back, _ = await choose_revisions(client, v1, stored(client))
    assert back.metadata.name == update.metadata.name
    assert back.revision == 3
    assert len(stored(client)) == 2


async def test_name_collision_bumps_the_collision_count() -> None:
    sts = stateful_set()
    squatter = new_revision(image(sts, "squatter"), 1, 0)
    squatter = replace(
        squatter, metadata=replace(squatter.metadata, name=new_revision(sts, 1, 0).metadata.name)
    )
    client = FakeClient(squatter)
    _, update, count = await choose_revisions(client, sts, [])
    assert count == 1
    assert update.metadata.name == f"web-{hash_revision(revision_data(sts), 1)}"


async def test_truncate_keeps_live_revisions_and_the_limit() -> None:
    sts = replace(stateful_set(), spec=replace(stateful_set().spec, revision_history_limit=1))
    revisions = [new_revision(image(sts, f"v{i}"), i, 0) for i in range(1, 6)]
    client = FakeClient(*revisions)
    names = [r.metadata.name for r in revisions]
    pod = new_pod(sts, 0)
    pod = replace(pod, metadata=replace(pod.metadata, labels={REVISION_LABEL: names[1]}))
    await truncate_history(client, sts, [pod], stored(client), revisions[3], revisions[4])
    # live: 2 (a pod), 4 (current), 5 (update); history 1, 3 -> keep the newest one (3)
    assert [r.metadata.name for r in stored(client)] == [names[1], names[2], names[3], names[4]]
