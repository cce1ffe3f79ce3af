"""The Deployment controller as recorded actions (STYLE 13): preload a FakeClient and the
informer caches, run one reconcile, compare the ordered writes and events."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.deployment import DEPLOYMENT_NAME, DeploymentController
from controllers.deployment import util as du
from cp.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentStatus,
    ReplicaSet,
    ReplicaSetStatus,
)
from cp.api.core_pod import Pod, PodStatus
from cp.api.errors import AlreadyExists
from cp.api.meta import LabelSelector, ObjectMeta, OwnerReference
from cp.client import Action
from cp.runtime import Request

from .harness import START, Harness
from .helpers import deployment, name_of, owner_ref, replica_set

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def verbs(writes: list[Action]) -> list[tuple[str, str, str]]:
    return [(w.verb, w.kind, w.name) for w in writes]


def new_name(d: Deployment) -> str:
    return f"web-{du.compute_hash(d.spec.template, None)}"


async def set_rs_status(
    h: Harness, name: str, *, available: int, replicas: int | None = None
) -> None:
    """What the ReplicaSet controller would report: `available` ready and available pods."""
    rs = h.get("ReplicaSet", name)
    assert isinstance(rs, ReplicaSet)
    count = du.rs_replicas(rs) if replicas is None else replicas
    status = ReplicaSetStatus(
        replicas=count,
        ready_replicas=available,
        available_replicas=available,
        observed_generation=rs.metadata.generation,
    )
    await h.client.update_status(replace(rs, status=status))
    h.sync()


def test_the_controller_acts_as_deployment() -> None:
    h = Harness()
    assert isinstance(h.dc, DeploymentController)
    assert h.dc.controller.actor == f"controller/{DEPLOYMENT_NAME}" == "controller/deployment"
    assert h.dc.controller.workers == 5


async def test_a_new_deployment_creates_its_replica_set() -> None:
    d = deployment(3, max_surge=1, max_unavailable=0)
    h = Harness(d)
    writes, result = await h.reconcile()
    rs_name = new_name(d)
    assert verbs(writes) == [
        ("create", "ReplicaSet", rs_name),
        ("update_status", "Deployment", "web"),
        ("update", "Deployment", "web"),  # the revision annotation (see sync.write_status)
        ("update_status", "Deployment", "web"),
    ]
    assert all(w.actor == "controller/deployment" for w in writes)
    assert result.requeue_after is None
    rs = h.get("ReplicaSet", rs_name)
    assert isinstance(rs, ReplicaSet)
    pod_hash = rs_name.removeprefix("web-")
    assert rs.spec.replicas == 3
    assert rs.metadata.labels == {"app": "web", "pod-template-hash": pod_hash}
    assert rs.spec.selector.match_labels == {"app": "web", "pod-template-hash": pod_hash}
    assert rs.spec.template.metadata.labels == {"app": "web", "pod-template-hash": pod_hash}
    assert rs.metadata.owner_references == (owner_ref(),)
    assert rs.metadata.annotations == {
        du.REVISION_ANNOTATION: "1",
        du.DESIRED_REPLICAS_ANNOTATION: "3",
        du.MAX_REPLICAS_ANNOTATION: "4",
    }
    assert h.events.seen == [
        ("Normal", "ScalingReplicaSet", f"Scaled up replica set {rs_name} from 0 to 3")
    ]
    stored = h.get("Deployment", "web")
    assert isinstance(stored, Deployment)
    assert stored.status is not None
    assert stored.metadata.annotations[du.REVISION_ANNOTATION] == "1"
    assert [(c.type, c.status, c.reason, c.message) for c in stored.status.conditions] == [
        ("Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"'),
        (
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        ),
    ]
    assert stored.status.observed_generation == 1
    assert stored.status.unavailable_replicas == 3


async def test_change_cause_is_copied_to_the_new_replica_set() -> None:
    d = deployment(1, annotations={du.CHANGE_CAUSE_ANNOTATION: "kubectl create"})
    h = Harness(d)
    await h.reconcile()
    rs = h.get("ReplicaSet", new_name(d))
    assert isinstance(rs, ReplicaSet)
    assert rs.metadata.annotations[du.CHANGE_CAUSE_ANNOTATION] == "kubectl create"


async def test_rolling_update_step_arithmetic() -> None:
    # 10 replicas, maxSurge 3, maxUnavailable 2: the rolling.py walk-through.
    d = deployment(10, image="nginx:2.0", max_surge=3, max_unavailable=2)
    old = replica_set("web-old", 10, available=10, revision=1)
    h = Harness(d, old)
    rs_name = new_name(d)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [
        ("create", "ReplicaSet", rs_name),
        ("update_status", "Deployment", "web"),
        ("update", "Deployment", "web"),
        ("update", "ReplicaSet", "web-old"),
        ("update_status", "Deployment", "web"),
    ]
    assert writes[0].obj.spec.replicas == 3  # type: ignore[attr-defined]
    assert writes[3].obj.spec.replicas == 8  # type: ignore[attr-defined]
    assert h.events.seen == [
        ("Normal", "ScalingReplicaSet", f"Scaled up replica set {rs_name} from 0 to 3"),
        ("Normal", "ScalingReplicaSet", "Scaled down replica set web-old from 10 to 8"),
    ]
    new = h.get("ReplicaSet", rs_name)
    assert isinstance(new, ReplicaSet)
    assert new.metadata.annotations[du.REVISION_ANNOTATION] == "2"
    # The new pods become available: the new RS surges to 13 - 8 = 5.
    await set_rs_status(h, "web-old", available=8)
    await set_rs_status(h, rs_name, available=3)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [
        ("update", "ReplicaSet", rs_name),
        ("update_status", "Deployment", "web"),
    ]
    assert writes[0].obj.spec.replicas == 5  # type: ignore[attr-defined]
    # Nothing more to surge: 8 + 3 = 11 available, 8 must stay: the old RS goes to 5.
    writes, _ = await h.reconcile()
    assert verbs(writes) == [
        ("update", "ReplicaSet", "web-old"),
        ("update_status", "Deployment", "web"),
    ]
    assert writes[0].obj.spec.replicas == 5  # type: ignore[attr-defined]


async def test_unhealthy_old_replicas_go_first() -> None:
    # TestDeploymentController_reconcileOldReplicaSets row 3, through the controller.
    d = deployment(10, image="nginx:2.0", max_surge=0, max_unavailable=2)
    old = replica_set("web-old", 10, available=8, revision=1)
    h = Harness(d, old)
    writes, _ = await h.reconcile()
    scaled = [w for w in writes if w.verb == "update" and w.kind == "ReplicaSet"]
    assert [(w.name, w.obj.spec.replicas) for w in scaled] == [("web-old", 8)]  # type: ignore[attr-defined]


async def test_recreate_scales_down_waits_for_old_pods_then_creates() -> None:
    d = deployment(3, image="nginx:2.0", recreate=True)
    old = replica_set("web-old", 3, available=3, revision=1)
    pods = [
        Pod(
            metadata=ObjectMeta(
                name=f"web-old-{i}",
                namespace="default",
                uid=f"pod-{i}",
                labels=dict(old.metadata.labels),
                owner_references=(
                    OwnerReference(
                        api_version="apps/v1",
                        kind="ReplicaSet",
                        name="web-old",
                        uid=old.metadata.uid,
                        controller=True,
                    ),
                ),
            ),
            spec=old.spec.template.spec,
            status=PodStatus(phase="Running"),
        )
        for i in range(3)
    ]
    h = Harness(d, old, *pods)
    writes, _ = await h.reconcile()
    assert verbs(writes)[:1] == [("update", "ReplicaSet", "web-old")]
    assert writes[0].obj.spec.replicas == 0  # type: ignore[attr-defined]
    assert not [w for w in writes if w.verb == "create"]
    # The RS reports no replicas, but terminating pods still run: wait.
    await set_rs_status(h, "web-old", available=0, replicas=0)
    writes, _ = await h.reconcile()
    assert not [w for w in writes if w.kind == "ReplicaSet"]
    # The pods are gone: the new RS is created at full size.
    for pod in pods:
        await h.client.delete("Pod", name_of(pod), "default")
    h.sync()
    writes, _ = await h.reconcile()
    created = [w for w in writes if w.verb == "create"]
    assert [(w.name, w.obj.spec.replicas) for w in created] == [(new_name(d), 3)]  # type: ignore[attr-defined]


async def test_a_paused_deployment_creates_nothing_and_says_so() -> None:
    d = deployment(3, image="nginx:2.0", paused=True)
    old = replica_set("web-old", 3, available=3, revision=1)
    h = Harness(d, old)
    writes, _ = await h.reconcile()
    assert not [w for w in writes if w.kind == "ReplicaSet"]
    stored = h.get("Deployment", "web")
    assert isinstance(stored, Deployment)
    assert stored.status is not None
    cond = du.get_condition(stored.status, du.PROGRESSING)
    assert cond is not None
    assert (cond.status, cond.reason, cond.message) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )


async def test_a_paused_deployment_still_scales() -> None:
    d = deployment(5, paused=True)
    rs = replica_set("web-a", 3, available=3, revision=1)
    rs = replace(
        rs,
        metadata=replace(
            rs.metadata,
            annotations={**rs.metadata.annotations, du.DESIRED_REPLICAS_ANNOTATION: "3"},
        ),
    )
    h = Harness(d, rs)
    writes, _ = await h.reconcile()
    scaled = [w for w in writes if w.kind == "ReplicaSet"]
    assert [(w.name, w.obj.spec.replicas) for w in scaled] == [("web-a", 5)]  # type: ignore[attr-defined]
    assert h.events.seen == [
        ("Normal", "ScalingReplicaSet", "Scaled up replica set web-a from 3 to 5")
    ]


async def test_cleanup_keeps_revision_history_limit_old_replica_sets() -> None:
    d = deployment(
        2,
        history_limit=1,
        annotations={du.REVISION_ANNOTATION: "4"},
        status=DeploymentStatus(
            observed_generation=1, replicas=2, updated_replicas=2, available_replicas=2
        ),
    )
    current = replica_set("web-cur", 2, available=2, revision=4)
    h = Harness(
        d,
        current,
        replica_set("web-r1", 0, image="v1", revision=1),
        replica_set("web-r2", 0, image="v2", revision=2),
        replica_set("web-r3", 0, image="v3", revision=3),
    )
    writes, _ = await h.reconcile()
    deletes = [(w.verb, w.name) for w in writes if w.verb == "delete"]
    assert deletes == [("delete", "web-r1"), ("delete", "web-r2")]


async def test_rollback_renumbers_the_reused_replica_set() -> None:
    # History 1, 2, 3; the template goes back to revision 2's: revisions become 1, 3, 4.
    d = deployment(2, image="v2", annotations={du.REVISION_ANNOTATION: "3"})
    h = Harness(
        d,
        replica_set("web-r1", 0, image="v1", revision=1, created="2024-01-01T00:00:01Z"),
        replica_set("web-r2", 0, image="v2", revision=2, created="2024-01-01T00:00:02Z"),
        replica_set(
            "web-r3", 2, image="v3", revision=3, available=2, created="2024-01-01T00:00:03Z"
        ),
    )
    writes, _ = await h.reconcile()
    assert verbs(writes)[0] == ("update", "ReplicaSet", "web-r2")
    reused = h.get("ReplicaSet", "web-r2")
    assert isinstance(reused, ReplicaSet)
    assert reused.metadata.annotations[du.REVISION_ANNOTATION] == "4"
    assert reused.metadata.annotations[du.REVISION_HISTORY_ANNOTATION] == "2"
    await h.reconcile()  # records revision 4 on the Deployment and starts rolling
    stored = h.get("Deployment", "web")
    assert isinstance(stored, Deployment)
    assert stored.metadata.annotations[du.REVISION_ANNOTATION] == "4"
    revisions = sorted(
        du.revision(rs.metadata.annotations)
        for rs in h.of_kind("ReplicaSet")
        if isinstance(rs, ReplicaSet)
    )
    assert revisions == [1, 3, 4]


def stuck(age: float) -> Harness:
    """A 2-replica rollout whose Progressing condition was last updated `age` seconds ago
    (deadline 600 s) and whose new pods never became available."""
    rs_name = new_name(deployment(2))
    stamp = du.rfc3339(START - age)
    progressing = DeploymentCondition(
        type="Progressing",
        status="True",
        reason="ReplicaSetUpdated",
        message=f'ReplicaSet "{rs_name}" is progressing.',
        last_update_time=stamp,
        last_transition_time=stamp,
    )
    available = DeploymentCondition(
        type="Available",
        status="False",
        reason="MinimumReplicasUnavailable",
        message="Deployment does not have minimum availability.",
        last_update_time=stamp,
        last_transition_time=stamp,
    )
    status = DeploymentStatus(
        observed_generation=1,
        replicas=2,
        updated_replicas=2,
        unavailable_replicas=2,
        conditions=(available, progressing),
    )
    d = deployment(2, annotations={du.REVISION_ANNOTATION: "1"}, status=status)
    notes = {du.DESIRED_REPLICAS_ANNOTATION: "2", du.MAX_REPLICAS_ANNOTATION: "2"}
    return Harness(d, replica_set(rs_name, 2, revision=1, annotations=notes))


async def test_the_progress_check_is_armed_at_the_deadline() -> None:
    h = stuck(180)
    writes, result = await h.reconcile()
    assert writes == []
    assert result.requeue_after is None  # a timer of the controller, not a requeue
    # 03:00 after the last update, deadline 600 s: due in 420 s, plus upstream's second.
    assert h.clock.next_timer == START + 600 - 180 + 1
    # The pods become available: the rollout completes and the check is cancelled.
    rs_name = new_name(deployment(2))
    await set_rs_status(h, rs_name, available=2)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [("update_status", "Deployment", "web")]
    assert h.clock.next_timer is None


async def test_a_rollout_past_its_deadline_times_out() -> None:
    h = stuck(601)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [("update_status", "Deployment", "web")]
    stored = h.get("Deployment", "web")
    assert isinstance(stored, Deployment)
    assert stored.status is not None
    cond = du.get_condition(stored.status, du.PROGRESSING)
    assert cond is not None
    assert (cond.status, cond.reason, cond.message) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{new_name(deployment(2))}" has timed out progressing.',
    )
    writes, _ = await h.reconcile()
    assert writes == []
    assert h.clock.next_timer is None  # timed out: nothing more to check


async def test_a_complete_rollout_reports_success() -> None:
    d = deployment(2, annotations={du.REVISION_ANNOTATION: "1"})
    rs_name = new_name(d)
    rs = replica_set(
        rs_name,
        2,
        available=2,
        revision=1,
        annotations={du.DESIRED_REPLICAS_ANNOTATION: "2", du.MAX_REPLICAS_ANNOTATION: "2"},
    )
    h = Harness(d, rs)
    await h.reconcile()
    stored = h.get("Deployment", "web")
    assert isinstance(stored, Deployment)
    assert stored.status is not None
    got = {c.type: (c.status, c.reason, c.message) for c in stored.status.conditions}
    assert got == {
        "Available": ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        "Progressing": (
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{rs_name}" has successfully progressed.',
        ),
    }
    writes, result = await h.reconcile()
    assert (writes, result.requeue_after) == ([], None)  # converged: nothing to write


async def test_an_orphan_replica_set_is_adopted() -> None:
    d = deployment(1, annotations={du.REVISION_ANNOTATION: "1"})
    orphan = replica_set(new_name(d), 1, available=1, revision=1, owned=False)
    h = Harness(d, orphan)
    writes, _ = await h.reconcile()
    assert verbs(writes)[0] == ("patch", "ReplicaSet", new_name(d))
    adopted = h.get("ReplicaSet", new_name(d))
    assert isinstance(adopted, ReplicaSet)
    assert adopted.metadata.owner_references == (owner_ref(),)
    assert not [w for w in writes if w.verb == "create"]


async def test_a_hash_collision_bumps_collision_count() -> None:
    d = deployment(1)
    squatter = replica_set(new_name(d), 1, image="other", owned=False)
    squatter = replace(squatter, metadata=replace(squatter.metadata, labels={"x": "y"}))
    h = Harness(d, squatter)
    with pytest.raises(AlreadyExists):
        await h.reconcile()
    stored = h.get("Deployment", "web")
    assert isinstance(stored, Deployment)
    assert stored.status is not None
    assert stored.status.collision_count == 1
    h.sync()
    await h.reconcile()  # the next hash is free
    names = sorted(name_of(rs) for rs in h.of_kind("ReplicaSet"))
    assert f"web-{du.compute_hash(d.spec.template, 1)}" in names


async def test_an_empty_selector_selects_all_and_is_refused() -> None:
    d = deployment(1, generation=2)
    d = replace(d, spec=replace(d.spec, selector=LabelSelector()))
    h = Harness(d)
    writes, _ = await h.reconcile()
    assert verbs(writes) == [("update_status", "Deployment", "web")]
    assert h.events.seen == [
        (
            "Warning",
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
    ]


async def test_a_missing_deployment_is_nothing_to_do() -> None:
    h = Harness()
    writes, result = await h.reconcile("gone")
    assert (writes, result.requeue_after) == ([], None)


async def test_a_deadline_due_now_is_checked_with_backoff() -> None:
    # Last updated exactly 600 s ago: not yet timed out, check "now" (rate-limited).
    h = stuck(600)
    delays = []
    for _ in range(3):
        await h.reconcile()
        assert h.clock.next_timer is not None
        delays.append(h.clock.next_timer - START)
    assert delays == pytest.approx([0.005, 0.01, 0.02], abs=1e-6)


def test_replica_set_events_enqueue_the_owning_deployment_with_their_revision() -> None:
    d = deployment(1)
    h = Harness(d)
    rs = replace(
        replica_set("web-a", 1),
        metadata=replace(replica_set("web-a", 1).metadata, resource_version="42"),
    )
    h.factory.informer_for("ReplicaSet").on_add(rs)
    assert h.dc.controller.pending_cause(Request("default", "web")) == 42


def test_an_orphan_replica_set_enqueues_matching_deployments() -> None:
    h = Harness(deployment(1), deployment(1, name="other"))
    orphan = replica_set("web-a", 1, owned=False)
    orphan = replace(orphan, metadata=replace(orphan.metadata, resource_version="7"))
    h.factory.informer_for("ReplicaSet").on_add(orphan)
    assert h.dc.controller.pending_cause(Request("default", "web")) == 7
    assert h.dc.controller.pending_cause(Request("default", "other")) == 7
