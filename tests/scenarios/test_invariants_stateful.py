"""The StatefulSet, claim, volume and Service rules of the invariant checker (ordered-ready,
retained-claim-deleted, duplicate-cluster-ip, pv-double-bound) on hand-written stories: the
correct sequence passes, each breach is reported once, at the revision that made it."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from cp.api.apps import (
    PersistentVolumeClaimTemplate,
    StatefulSet,
    StatefulSetOrdinals,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
)
from cp.api.core import (
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    PersistentVolumeClaimStatus,
    PersistentVolumeSpec,
    Service,
    ServiceSpec,
)
from cp.api.core_pod import Container, Pod, PodCondition, PodSpec, PodStatus
from cp.api.meta import LabelSelector, ObjectMeta, ObjectReference
from tests.scenarios.invariant_sim import (
    KUBELET,
    NS,
    USER,
    Sim,
    _controller_refs,
    _found,
    _run,
    _template,
)
from tests.scenarios.invariants import (
    DUPLICATE_CLUSTER_IP,
    ORDERED_READY,
    PV_DOUBLE_BOUND,
    RETAINED_CLAIM_DELETED,
    RULES,
    check_log,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- StatefulSets, claims, volumes, Services ------------------------------------------------------

STSCTL = "controller/statefulset"
BINDER = "controller/persistentvolume-binder"
GC = "controller/garbagecollector"
STS_UID = "uid-sts-db"


def _statefulset(
    *,
    policy: str = "",
    retention: tuple[str, str] | None = None,
    start: int | None = None,
    deleting: bool = False,
) -> StatefulSet:
    retain = (
        None
        if retention is None
        else StatefulSetPersistentVolumeClaimRetentionPolicy(
            when_scaled=retention[0], when_deleted=retention[1]
        )
    )
    template = PersistentVolumeClaimTemplate(
        metadata=ObjectMeta(name="data"),
        spec=PersistentVolumeClaimSpec(access_modes=("ReadWriteOnce",)),
    )
    return StatefulSet(
        metadata=ObjectMeta(
            name="db",
            namespace=NS,
            uid=STS_UID,
            deletion_timestamp="2023-11-14T22:13:20Z" if deleting else None,
        ),
        spec=StatefulSetSpec(
            replicas=3,
            selector=LabelSelector(match_labels={"app": "db"}),
            template=_template("db:1"),
            volume_claim_templates=(template,),
            service_name="db",
            pod_management_policy=policy,
            persistent_volume_claim_retention_policy=retain,
            ordinals=None if start is None else StatefulSetOrdinals(start=start),
        ),
    )


def _set_pod(ordinal: int, *, phase: str = "Pending", ready: bool = False) -> Pod:
    refs = tuple(
        replace(ref, kind="StatefulSet", name="db")
        for ref in _controller_refs("StatefulSet", STS_UID, 1)
    )
    return Pod(
        metadata=ObjectMeta(
            name=f"db-{ordinal}", namespace=NS, uid=f"uid-db-{ordinal}", owner_references=refs
        ),
        spec=PodSpec(containers=(Container(name="db", image="db:1"),)),
        status=PodStatus(
            phase=phase,
            conditions=(PodCondition(type="Ready", status="True" if ready else "False"),),
        ),
    )


async def _start_ready(sim: Sim, ordinal: int) -> int:
    """The controller creates pod `db-<ordinal>`; the kubelet makes it Running and Ready."""
    rev = await sim.put(_set_pod(ordinal), STSCTL)
    await sim.put(_set_pod(ordinal, phase="Running", ready=False), KUBELET)
    await sim.put(_set_pod(ordinal, phase="Running", ready=True), KUBELET)
    return rev


def test_the_new_rules_are_listed() -> None:
    assert {ORDERED_READY, RETAINED_CLAIM_DELETED, DUPLICATE_CLUSTER_IP, PV_DOUBLE_BOUND} <= set(
        RULES
    )
    assert len(set(RULES)) == len(RULES)


# ordered-ready


async def test_ordered_ready_creation_one_at_a_time_passes() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(), USER)
        for ordinal in range(3):
            await _start_ready(sim, ordinal)
        await sim.remove(_set_pod(0), USER)  # `kubectl delete pod db-0`
        await _start_ready(sim, 0)  # the lowest comes back first: fine
        assert await check_log(sim.log) == []

    await _run(story)()


async def test_a_pod_created_before_its_predecessor_is_ready_is_reported() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(policy="OrderedReady"), USER)
        await _start_ready(sim, 0)
        await sim.put(_set_pod(1), STSCTL)
        await sim.put(_set_pod(1, phase="Running", ready=False), KUBELET)
        bad = await sim.put(_set_pod(2), STSCTL)  # db-1 Running but not Ready
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, ORDERED_READY)]
        v = violations[0]
        assert (v.kind, v.namespace, v.name, v.actor) == ("StatefulSet", NS, "db", STSCTL)
        assert v.numbers == {"ordinal": 2, "not_ready": 1, "not_ready_count": 1}
        assert "db-2 (ordinal 2)" in v.message

    await _run(story)()


async def test_a_missing_or_terminating_predecessor_counts_as_not_ready() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(), USER)
        await _start_ready(sim, 0)
        await _start_ready(sim, 1)
        await sim.remove(_set_pod(0), USER)
        missing = await sim.put(_set_pod(2), STSCTL)  # db-0 is gone
        await _start_ready(sim, 0)
        ready_1 = _set_pod(1, phase="Running", ready=True)
        meta = replace(ready_1.metadata, deletion_timestamp="2023-11-14T22:13:50Z")
        await sim.put(replace(ready_1, metadata=meta), USER)  # db-1 terminating
        await sim.remove(_set_pod(2), USER)
        terminating = await sim.put(_set_pod(2), STSCTL)
        assert _found(await check_log(sim.log)) == [
            (missing, ORDERED_READY),
            (terminating, ORDERED_READY),
        ]

    await _run(story)()


async def test_parallel_sets_user_pods_and_sets_being_deleted_are_not_judged() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(policy="Parallel"), USER)
        await sim.put(_set_pod(2), STSCTL)  # Parallel: fine
        await sim.put(_statefulset(), USER)  # OrderedReady from now on
        await sim.put(_set_pod(1), USER)  # the user's pod: not judged
        await sim.put(_statefulset(deleting=True), USER)
        await sim.put(_set_pod(3), STSCTL)  # the set is being deleted
        assert await check_log(sim.log) == []
        assert await check_log(sim.log, exempt_actors=()) == []

    await _run(story)()


async def test_ordinals_start_moves_the_first_ordinal() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(start=5), USER)
        await _start_ready(sim, 5)  # nothing below 5 is required
        await _start_ready(sim, 6)
        bad = await sim.put(_set_pod(8), STSCTL)  # 7 missing
        assert _found(await check_log(sim.log)) == [(bad, ORDERED_READY)]

    await _run(story)()


# retained-claim-deleted


def _claim(
    name: str,
    *,
    volume: str = "",
    phase: str = "Pending",
    uid: str = "",
    deleting: bool = False,
) -> PersistentVolumeClaim:
    return PersistentVolumeClaim(
        metadata=ObjectMeta(
            name=name,
            namespace=NS,
            uid=uid or f"uid-{name}",
            deletion_timestamp="2023-11-14T22:13:20Z" if deleting else None,
            finalizers=("kubernetes.io/pvc-protection",) if deleting else (),
        ),
        spec=PersistentVolumeClaimSpec(access_modes=("ReadWriteOnce",), volume_name=volume),
        status=PersistentVolumeClaimStatus(phase=phase),
    )


async def test_claims_of_a_retain_set_deleted_by_a_controller_are_reported() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(), USER)  # no policy: Retain/Retain
        for ordinal in range(3):
            await sim.put(_claim(f"data-db-{ordinal}"), STSCTL)
        await sim.put(_claim("data-other-0"), STSCTL)  # not this set's template
        await sim.put(_claim("data-db-0", phase="Bound", volume="pv-0"), BINDER)
        first = await sim.put(_claim("data-db-0", deleting=True), STSCTL)  # deletionTimestamp
        await sim.remove(_claim("data-db-0"), GC)  # the final removal: not judged again
        second = await sim.remove(_claim("data-db-1"), STSCTL)  # removed outright
        await sim.remove(_claim("data-other-0"), STSCTL)  # not a template claim: fine
        await sim.remove(_claim("data-db-2"), USER)  # the user may
        violations = await check_log(sim.log)
        assert _found(violations) == [
            (first, RETAINED_CLAIM_DELETED),
            (second, RETAINED_CLAIM_DELETED),
        ]
        assert await check_log(sim.log, exempt_actors=()) == violations  # the user's never
        v = violations[0]
        assert (v.kind, v.namespace, v.name, v.actor) == (
            "PersistentVolumeClaim",
            NS,
            "data-db-0",
            STSCTL,
        )

    await _run(story)()


async def test_retention_survives_the_set_and_delete_policies_allow_deletion() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(retention=("Retain", "Retain")), USER)
        await sim.put(_claim("data-db-0"), STSCTL)
        await sim.put(_claim("data-db-1"), STSCTL)
        await sim.remove(_statefulset(), USER)  # the set goes, its claims stay
        bad = await sim.remove(_claim("data-db-0"), GC)
        await sim.put(_statefulset(retention=("Delete", "Retain")), USER)  # recreated
        await sim.remove(_claim("data-db-1"), STSCTL)  # whenScaled Delete: allowed
        await sim.put(_claim("data-db-2"), STSCTL)
        await sim.put(_statefulset(retention=("Retain", "Delete")), USER)
        await sim.remove(_claim("data-db-2"), GC)  # whenDeleted Delete: allowed
        assert _found(await check_log(sim.log)) == [(bad, RETAINED_CLAIM_DELETED)]

    await _run(story)()


# duplicate-cluster-ip


def _service(name: str, ip: str, *ips: str) -> Service:
    return Service(
        metadata=ObjectMeta(name=name, namespace=NS, uid=f"uid-svc-{name}"),
        spec=ServiceSpec(selector={"app": name}, cluster_ip=ip, cluster_ips=ips),
    )


async def test_two_services_with_one_cluster_ip_are_reported_once() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_service("a", "10.96.0.10", "10.96.0.10"), USER)
        await sim.put(_service("headless", "None", "None"), USER)
        await sim.put(_service("headless-2", "None"), USER)  # "None" is shared freely
        await sim.put(_service("unset", ""), USER)
        await sim.put(_service("b", "10.96.0.11"), USER)
        bad = await sim.put(_service("b", "10.96.0.10"), USER)
        await sim.put(replace(_service("b", "10.96.0.10"), status=None), USER)  # same IP: once
        await sim.remove(_service("a", ""), USER)
        await sim.put(_service("c", "10.96.0.11"), USER)  # freed by b: fine
        second = await sim.put(_service("d", "10.96.0.12", "10.96.0.12", "fd00::10"), USER)
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, DUPLICATE_CLUSTER_IP)]
        assert violations[0].name == "b"
        assert "10.96.0.10 already held by default/a" in violations[0].message
        assert second > bad

    await _run(story)()


async def test_a_second_cluster_ip_of_a_dual_stack_service_counts() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_service("a", "10.96.0.10", "10.96.0.10", "fd00::10"), USER)
        bad = await sim.put(_service("b", "10.96.0.20", "10.96.0.20", "fd00::10"), USER)
        assert _found(await check_log(sim.log)) == [(bad, DUPLICATE_CLUSTER_IP)]

    await _run(story)()


# pv-double-bound


def _volume(name: str, claim: str | None, uid: str = "") -> PersistentVolume:
    ref = (
        None
        if claim is None
        else ObjectReference(
            kind="PersistentVolumeClaim", namespace=NS, name=claim, uid=uid or f"uid-{claim}"
        )
    )
    return PersistentVolume(
        metadata=ObjectMeta(name=name, uid=f"uid-{name}"),
        spec=PersistentVolumeSpec(capacity={"storage": "1Gi"}, claim_ref=ref),
    )


async def test_a_correct_bind_release_and_rebind_passes() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_volume("pv-1", None), BINDER)
        await sim.put(_claim("one"), USER)
        await sim.put(_volume("pv-1", "one"), BINDER)
        await sim.put(_claim("one", volume="pv-1"), BINDER)
        await sim.put(_claim("one", volume="pv-1", phase="Bound"), BINDER)
        await sim.put(_claim("one", volume="pv-1", phase="Bound"), BINDER)  # a status rewrite
        await sim.remove(_claim("one"), USER)
        await sim.put(_claim("two"), USER)
        await sim.put(_volume("pv-1", "two"), BINDER)  # the first claim is gone: fine
        await sim.put(_claim("two", volume="pv-1", phase="Bound"), BINDER)
        assert await check_log(sim.log) == []

    await _run(story)()


async def test_two_bound_claims_on_one_volume_are_reported() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_claim("one", volume="pv-1", phase="Bound"), BINDER)
        await sim.put(_claim("two", volume="pv-1"), BINDER)  # Pending: not bound yet
        bad = await sim.put(_claim("two", volume="pv-1", phase="Bound"), BINDER)
        await sim.put(_claim("two", volume="pv-1", phase="Bound"), BINDER)  # not repeated
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, PV_DOUBLE_BOUND)]
        v = violations[0]
        assert (v.kind, v.name) == ("PersistentVolume", "pv-1")
        assert "default/one" in v.message

    await _run(story)()


async def test_a_claim_ref_moved_away_from_a_bound_claim_is_reported() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_volume("pv-1", "one"), BINDER)
        await sim.put(_claim("one", volume="pv-1", phase="Bound"), BINDER)
        await sim.put(_claim("two"), USER)
        bad = await sim.put(_volume("pv-1", "two"), BINDER)
        await sim.put(_claim("one", volume="pv-1", phase="Lost"), BINDER)
        await sim.put(_volume("pv-1", "one"), BINDER)  # one is not Bound any more: fine
        await sim.put(_volume("pv-1", "one", uid="uid-one-recreated"), BINDER)
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, PV_DOUBLE_BOUND)]
        assert "from default/one to default/two" in violations[0].message

    await _run(story)()


async def test_a_compacted_log_seeds_sets_claims_and_services() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(_statefulset(), USER)
        await sim.put(_claim("data-db-0"), STSCTL)
        await sim.put(_service("a", "10.96.0.10"), USER)
        await sim.put(_claim("one", volume="pv-1", phase="Bound"), BINDER)
        await _start_ready(sim, 0)
        await sim.log.compact(sim.log.revision)
        ok = await sim.put(_set_pod(1), STSCTL)  # db-0 is Running and Ready in the snapshot
        ip = await sim.put(_service("b", "10.96.0.10"), USER)
        bound = await sim.put(_claim("two", volume="pv-1", phase="Bound"), BINDER)
        retained = await sim.remove(_claim("data-db-0"), GC)
        assert _found(await check_log(sim.log)) == [
            (ip, DUPLICATE_CLUSTER_IP),
            (bound, PV_DOUBLE_BOUND),
            (retained, RETAINED_CLAIM_DELETED),
        ]
        assert ok < ip

    await _run(story)()
