"""The ReplicaSet controller as recorded actions (STYLE 13, upstream `replica_set_test.go`):
preload a fake client and the caches, run one sync, compare the writes."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.replicaset import RS_NAME, ReplicaSetController
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod, PodCondition, PodStatus
from cp.api.errors import BadRequest, NotFound
from cp.api.meta import ApiStruct
from cp.informer import Deleted, meta_of
from cp.runtime import Request, Result
from tests.controllers.common.helpers import NOW, make_pod
from tests.controllers.replicaset.harness import (
    RS_REF,
    TEMPLATE,
    WEB,
    Harness,
    replica_set,
    verbs,
)

pytestmark = pytest.mark.anyio

KEY = "default/web"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def owned(name: str, **kw: object) -> Pod:
    return make_pod(name, labels=dict(TEMPLATE.metadata.labels), owners=(RS_REF,), **kw)  # type: ignore[arg-type]


async def test_names_and_wiring() -> None:
    h = Harness(replica_set())
    assert RS_NAME == "replicaset"
    assert h.rsc.controller.actor == "controller/replicaset"
    assert h.rsc.controller.workers == 5


async def test_scale_up_creates_pods_from_the_template() -> None:
    h = Harness(replica_set(5))
    writes, result = await h.reconcile()
    assert verbs(writes) == [("create", "Pod", "")] * 5 + [("update_status", "ReplicaSet", "web")]
    sent = writes[0].obj
    assert isinstance(sent, Pod)
    assert sent.metadata.generate_name == "web-"
    assert sent.metadata.labels == TEMPLATE.metadata.labels
    assert sent.metadata.owner_references == (RS_REF,)
    names = sorted(p.metadata.name for p in h.pods())
    assert names == [f"web-{i:05d}" for i in range(1, 6)]
    assert h.recorder.events == [("Normal", "SuccessfulCreate", f"Created pod: {n}") for n in names]
    assert h.status().replicas == 0  # computed from the pods seen before the creates
    assert h.status().observed_generation == 1
    assert result == Result()
    record = h.rsc.expectations.get(KEY)
    assert record is not None
    assert (record.add, record.dele) == (5, 0)


async def test_expectations_block_a_second_create_from_a_stale_cache() -> None:
    h = Harness(replica_set(3))
    await h.reconcile()
    h.sync(["ReplicaSet"])  # the pods' ADDs have not arrived
    writes, _ = await h.reconcile()
    assert writes == []
    h.sync()  # the ADDs arrive: three creations observed
    assert h.rsc.expectations.satisfied(KEY)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [("update_status", "ReplicaSet", "web")]
    assert h.status().replicas == 3
    assert len(h.pods()) == 3


async def test_failed_create_stops_the_slow_start_and_lowers_expectations() -> None:
    h = Harness(replica_set(10))
    real_create = h.client.create
    calls = 0

    async def create(obj: ApiStruct) -> ApiStruct:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise BadRequest("exceeded quota")
        return await real_create(obj)

    h.client.create = create  # type: ignore[assignment,method-assign]
    with pytest.raises(BadRequest):
        await h.reconcile()
    assert calls == 3  # batches 1 and 2; the second batch had the failure
    assert h.recorder.reasons() == ["SuccessfulCreate", "SuccessfulCreate", "FailedCreate"]
    assert h.recorder.events[-1][2].startswith("Error creating: ")
    record = h.rsc.expectations.get(KEY)
    assert record is not None
    assert record.add == 2  # 10 expected, 8 never created
    condition = h.status().conditions[0]
    assert (condition.type, condition.reason) == ("ReplicaFailure", "FailedCreate")
    h.sync()
    h.client.create = real_create  # type: ignore[method-assign]
    writes, _ = await h.reconcile()  # the next clean sync clears the condition
    assert [w.verb for w in writes].count("create") == 8
    assert h.status().conditions == ()


async def test_scale_down_deletes_the_ranked_pods() -> None:
    pods = [
        owned("ready-old", ready=True, ready_since=NOW - 3600, node="n1"),
        owned("unscheduled", node="", phase="Pending"),
        owned("not-ready", node="n3"),
        owned("ready-new", ready=True, ready_since=NOW - 60, node="n2"),
    ]
    h = Harness(replica_set(1), *pods)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [
        ("delete", "Pod", "unscheduled"),
        ("delete", "Pod", "not-ready"),
        ("delete", "Pod", "ready-new"),
        ("update_status", "ReplicaSet", "web"),
    ]
    assert h.recorder.events == [
        ("Normal", "SuccessfulDelete", "Deleted pod: unscheduled"),
        ("Normal", "SuccessfulDelete", "Deleted pod: not-ready"),
        ("Normal", "SuccessfulDelete", "Deleted pod: ready-new"),
    ]
    assert h.rsc.expectations.deleted_keys(KEY) == {
        "default/unscheduled",
        "default/not-ready",
        "default/ready-new",
    }
    assert not h.rsc.expectations.satisfied(KEY)
    # bound pods stay with a deletionTimestamp (graceful); the unscheduled one is gone
    assert sorted(p.metadata.name for p in h.pods()) == ["not-ready", "ready-new", "ready-old"]
    h.sync()
    assert h.rsc.expectations.satisfied(KEY)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [("update_status", "ReplicaSet", "web")]
    assert h.status().replicas == 1


async def test_terminating_pods_are_not_counted_and_are_replaced() -> None:
    h = Harness(replica_set(2), owned("a"), owned("dying", deleting=True))
    writes, _ = await h.reconcile()
    assert [w.verb for w in writes] == ["create", "update_status"]
    assert h.status().replicas == 1


async def test_delete_of_a_vanished_pod_is_observed_without_error() -> None:
    h = Harness(replica_set(0), owned("a", node=""))
    real_delete = h.client.delete

    async def delete(*args: object, **kw: object) -> ApiStruct:
        raise NotFound('pods "a" not found')

    h.client.delete = delete  # type: ignore[method-assign]
    writes, _ = await h.reconcile()
    assert [w.verb for w in writes] == ["update_status"]
    assert h.recorder.events == []
    assert h.rsc.expectations.satisfied(KEY)
    h.client.delete = real_delete  # type: ignore[method-assign]


async def test_adopts_orphans_and_releases_strays() -> None:
    orphan = make_pod("orphan", labels=dict(TEMPLATE.metadata.labels))
    stray = owned("stray")
    stray = replace(stray, metadata=replace(stray.metadata, labels={"app": "db"}))
    h = Harness(replica_set(2), owned("mine"), orphan, stray)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [
        ("patch", "Pod", "stray"),
        ("patch", "Pod", "orphan"),
        ("update_status", "ReplicaSet", "web"),
    ]
    assert h.status().replicas == 2
    by_name = {p.metadata.name: p for p in h.pods()}
    assert by_name["orphan"].metadata.owner_references == (RS_REF,)
    assert by_name["stray"].metadata.owner_references == ()
    # adoption re-read the ReplicaSet live first (RecheckDeletionTimestamp)
    assert ("get", "ReplicaSet", "web") in verbs(h.client.actions)


async def test_ignores_pods_of_other_controllers() -> None:
    theirs = make_pod("theirs", labels=WEB, owners=(replace(RS_REF, name="x", uid="x-uid"),))
    h = Harness(replica_set(1), theirs)
    writes, _ = await h.reconcile()
    assert [w.verb for w in writes] == ["create", "update_status"]


async def test_being_deleted_only_updates_status() -> None:
    h = Harness(replica_set(3, deleting=True), make_pod("orphan", labels=WEB))
    writes, _ = await h.reconcile()
    assert verbs(writes) == [("update_status", "ReplicaSet", "web")]


async def test_gone_replica_set_forgets_its_expectations() -> None:
    h = Harness(replica_set(2))
    await h.reconcile()
    await h.client.delete("ReplicaSet", "web", "default")
    h.sync(["ReplicaSet"])
    assert h.rsc.expectations.get(KEY) is None  # the RS delete handler
    h.rsc.expectations.expect_creations(KEY, 1)
    writes, result = await h.reconcile()
    assert (writes, result) == ([], Result())
    assert h.rsc.expectations.get(KEY) is None


async def test_min_ready_seconds_requeues_when_a_pod_becomes_available() -> None:
    pods = [
        owned("a", ready=True, ready_since=NOW - 30),
        owned("b", ready=True, ready_since=NOW - 3),
    ]
    h = Harness(replica_set(2, min_ready=10), *pods)
    writes, result = await h.reconcile()
    assert [w.verb for w in writes] == ["update_status"]
    status = h.status()
    assert (status.ready_replicas, status.available_replicas) == (2, 1)
    assert result == Result(requeue_after=7.0)


async def test_burst_replicas_caps_one_sync_at_500() -> None:
    h = Harness(replica_set(600))
    writes, _ = await h.reconcile()
    assert [w.verb for w in writes].count("create") == 500


# -- handlers -------------------------------------------------------------------------------


async def test_orphan_pod_enqueues_the_matching_replica_sets() -> None:
    other = replica_set(1, name="db", uid="db-uid")
    other = replace(
        other,
        spec=replace(other.spec, selector=replace(other.spec.selector, match_labels={"app": "db"})),
    )
    h = Harness(replica_set(1), other)
    await h.queued()
    h.client.add(make_pod("orphan", labels=WEB))
    h.sync(["Pod"])
    assert await h.queued() == [Request("default", "web")]
    assert h.rsc.controller.pending_cause(Request("default", "web")) > 0


async def test_pod_add_observes_creation_and_carries_its_revision_as_cause() -> None:
    h = Harness(replica_set(1))
    await h.queued()
    h.rsc.expectations.expect_creations(KEY, 1)
    stored = h.client.add(owned("a"))
    h.sync(["Pod"])
    assert h.rsc.expectations.satisfied(KEY)
    req = Request("default", "web")
    assert await h.queued() == [req]
    assert h.rsc.controller.pending_cause(req) == int(meta_of(stored).resource_version)


async def test_pod_of_an_unknown_owner_enqueues_nothing() -> None:
    h = Harness(replica_set(1))
    await h.queued()
    h.client.add(make_pod("a", labels=WEB, owners=(replace(RS_REF, uid="gone-uid"),)))
    h.sync(["Pod"])
    assert await h.queued() == []


async def test_pod_turning_ready_requeues_after_min_ready_seconds() -> None:
    h = Harness(replica_set(1, min_ready=10), owned("a"))
    await h.queued()
    pod = h.pods()[0]
    ready = PodStatus(phase="Running", conditions=(PodCondition(type="Ready", status="True"),))
    h.client.add(replace(pod, status=ready))
    h.sync(["Pod"])
    assert await h.queued() == [Request("default", "web")]
    assert h.rsc.controller.queue.waiting == 1  # again after minReadySeconds + 1 s


async def test_replica_set_replaced_under_the_same_name() -> None:
    h = Harness(replica_set(1))
    h.rsc.expectations.expect_creations(KEY, 1)
    h.client.add(replica_set(1, uid="new-uid"))
    h.sync(["ReplicaSet"])
    assert h.rsc.expectations.get(KEY) is None  # the old one's record went with it


async def test_handlers_ignore_other_types() -> None:
    h = Harness(replica_set(1))
    await h.queued()
    rs_informer = h.factory.informer_for("ReplicaSet")
    rs_informer.on_delete(Deleted(make_pod("x")))
    h.factory.informer_for("Pod").on_add(replica_set(1))
    assert await h.queued() == []
    assert isinstance(h.rsc, ReplicaSetController)
    assert isinstance(h.rs(), ReplicaSet)


async def test_scale_down_ranks_against_the_pods_of_sibling_replica_sets() -> None:
    """Siblings share the Deployment: the pod on the node crowded by a sibling's pod goes."""
    dep = replace(RS_REF, api_version="apps/v1", kind="Deployment", name="d", uid="dep-uid")
    sibling_ref = replace(RS_REF, name="web-old", uid="old-uid")
    since = NOW - 600
    h = Harness(
        replica_set(1, owners=(dep,)),
        replica_set(1, owners=(dep,), name="web-old", uid="old-uid"),
        owned("on-n1", ready=True, ready_since=since, node="n1"),
        owned("on-n2", ready=True, ready_since=since, node="n2"),
        make_pod("old-on-n2", labels={"app": "old"}, owners=(sibling_ref,), node="n2"),
    )
    writes, _ = await h.reconcile()
    assert verbs(writes)[0] == ("delete", "Pod", "on-n2")


async def test_orphans_are_tracked_by_the_pod_handlers() -> None:
    h = Harness(replica_set(1))
    await h.reconcile()  # creates web-00001
    h.sync()
    orphan = h.client.add(make_pod("orphan", labels=dict(TEMPLATE.metadata.labels), node=""))
    h.sync(["Pod"])
    await h.client.delete("Pod", "orphan", "default")
    h.sync(["Pod"])  # gone again before the sync: nothing to adopt
    writes, _ = await h.reconcile()
    assert "patch" not in [w.verb for w in writes]
    h.client.add(orphan)
    h.sync(["Pod"])
    writes, _ = await h.reconcile()  # adopted, then one pod too many: the pending one goes
    assert verbs(writes)[:2] == [("patch", "Pod", "orphan"), ("delete", "Pod", "web-00001")]
