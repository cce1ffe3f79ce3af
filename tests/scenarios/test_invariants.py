"""The invariant checker (`tests/scenarios/invariants.py`) on synthetic event logs.

Logs are written to a memory store by `Sim`, which stores encoded `cp.api` objects under the keys
the API server uses, each write attributed to the actor a real controller would have: the
Deployment controller scales ReplicaSets, the ReplicaSet controller creates and deletes pods,
kubelets run them. Every test knows its answer: correct rollouts give no violation, and each rule
broken on purpose is reported at the revision that broke it. Hypothesis drives (a) random correct
rollouts for random replicas/maxSurge/maxUnavailable (none expected, then one injected breach
expected at its revision) and (b) random operation sequences judged by a from-scratch oracle.
The StatefulSet, claim, volume and Service rules (ordered-ready, retained-claim-deleted,
duplicate-cluster-ip, pv-double-bound) get hand-written stories in the last section: the correct
sequence passes, each breach is reported once, at the revision that made it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

import store
from cp.api.apps import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    PersistentVolumeClaimTemplate,
    ReplicaSet,
    ReplicaSetSpec,
    RollingUpdateDeployment,
    StatefulSet,
    StatefulSetOrdinals,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
)
from cp.api.codec import encode
from cp.api.core import (
    ConfigMap,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    PersistentVolumeClaimStatus,
    PersistentVolumeSpec,
    Service,
    ServiceSpec,
)
from cp.api.core_pod import Container, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec
from cp.api.kinds import KINDS
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta, ObjectReference, OwnerReference
from cp.apiserver import ApiServer
from cp.apiserver.keys import key_of
from cp.runtime import SeededIds
from tests.scenarios.invariants import (
    DUPLICATE_CLUSTER_IP,
    MAX_SURGE,
    MIN_READY,
    MISSING_CONTROLLER,
    MULTIPLE_CONTROLLERS,
    ORDERED_READY,
    PV_DOUBLE_BOUND,
    RECREATE_OVERLAP,
    RETAINED_CLAIM_DELETED,
    REVISION_ANNOTATION,
    REVISION_DECREASE,
    RULES,
    Checker,
    Violation,
    assert_invariants,
    check_log,
    resolve_fenceposts,
)

pytestmark = pytest.mark.anyio

NS = "default"
DEPLOY = "controller/deployment"
RSCTL = "controller/replicaset"
KUBELET = "kubelet/node-1"
USER = "user"
DEP_UID = "uid-dep-web"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- objects -------------------------------------------------------------------------------------


def _template(image: str) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": "web"}),
        spec=PodSpec(containers=(Container(name="web", image=image),)),
    )


def _controller_refs(kind: str, uid: str, count: int) -> tuple[OwnerReference, ...]:
    """`count` controller references, the first to `uid`."""
    return tuple(
        OwnerReference(
            api_version="apps/v1",
            kind=kind,
            name=f"owner-{i}",
            uid=uid if i == 0 else f"{uid}-other-{i}",
            controller=True,
            block_owner_deletion=True,
        )
        for i in range(count)
    )


def _deployment(
    replicas: int,
    surge: int | str | None,
    unavailable: int | str | None,
    *,
    strategy: str = "RollingUpdate",
    image: str = "nginx:1",
) -> Deployment:
    rolling = (
        RollingUpdateDeployment(max_surge=surge, max_unavailable=unavailable)
        if strategy == "RollingUpdate"
        else None
    )
    return Deployment(
        metadata=ObjectMeta(name="web", namespace=NS, uid=DEP_UID, generation=1),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels={"app": "web"}),
            template=_template(image),
            strategy=DeploymentStrategy(type=strategy, rolling_update=rolling),
        ),
    )


def _key(obj: ApiStruct) -> str:
    info = KINDS.lookup(type(obj).__name__)
    assert info is not None
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return key_of(info, meta.namespace, meta.name)


class Sim:
    """Writes a Deployment's story to a log, one revision per call; returns that revision."""

    def __init__(self, log: store.EventLog) -> None:
        self.log = log
        self.revs: dict[str, int] = {}
        self.dep: Deployment | None = None
        self.rs: dict[str, ReplicaSet] = {}
        self.pods: dict[str, Pod] = {}
        self._serial = 0

    async def put(self, obj: ApiStruct, actor: str) -> int:
        key = _key(obj)
        value = encode(obj)
        if key in self.revs:
            rev = await self.log.update(key, value, expected=self.revs[key], actor=actor)
        else:
            rev = await self.log.create(key, value, actor=actor)
        self.revs[key] = rev
        return rev

    async def remove(self, obj: ApiStruct, actor: str) -> int:
        key = _key(obj)
        rev = await self.log.delete(key, expected=self.revs.pop(key), actor=actor)
        return rev

    # Deployment

    async def deployment(
        self,
        replicas: int = 3,
        surge: int | str | None = 1,
        unavailable: int | str | None = 1,
        **kw: Any,
    ) -> int:
        self.dep = _deployment(replicas, surge, unavailable, **kw)
        return await self.put(self.dep, USER)

    async def edit(self, actor: str = USER, **spec: Any) -> int:
        assert self.dep is not None
        self.dep = replace(self.dep, spec=replace(self.dep.spec, **spec))
        return await self.put(self.dep, actor)

    async def image(self, image: str) -> int:
        return await self.edit(template=_template(image))

    async def annotate(self, revision: str, actor: str = DEPLOY) -> int:
        assert self.dep is not None
        meta = self.dep.metadata
        annotations = {**meta.annotations, REVISION_ANNOTATION: revision}
        self.dep = replace(self.dep, metadata=replace(meta, annotations=annotations))
        return await self.put(self.dep, actor)

    async def deleting(self) -> int:
        assert self.dep is not None
        meta = replace(self.dep.metadata, deletion_timestamp="2023-11-14T22:13:20Z")
        self.dep = replace(self.dep, metadata=meta)
        return await self.put(self.dep, USER)

    # ReplicaSets

    async def scale(
        self, name: str, replicas: int, actor: str = DEPLOY, *, controllers: int = 1
    ) -> int:
        rs = self.rs.get(name)
        if rs is None:
            rs = ReplicaSet(
                metadata=ObjectMeta(
                    name=name,
                    namespace=NS,
                    uid=f"uid-{name}-{self._next()}",
                    owner_references=_controller_refs("Deployment", DEP_UID, controllers),
                ),
                spec=ReplicaSetSpec(
                    replicas=replicas,
                    selector=LabelSelector(match_labels={"app": "web", "hash": name}),
                    template=_template(name),
                ),
            )
        else:
            rs = replace(rs, spec=replace(rs.spec, replicas=replicas))
        self.rs[name] = rs
        return await self.put(rs, actor)

    async def release(self, name: str, actor: str = DEPLOY) -> int:
        """Remove the ReplicaSet's ownerReferences (orphaned, as upstream's release does)."""
        rs = self.rs[name]
        rs = replace(rs, metadata=replace(rs.metadata, owner_references=()))
        self.rs[name] = rs
        return await self.put(rs, actor)

    async def delete_rs(self, name: str, actor: str = DEPLOY) -> int:
        return await self.remove(self.rs.pop(name), actor)

    # Pods

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    async def add_pod(
        self, rs_name: str, actor: str = RSCTL, *, controllers: int = 1
    ) -> tuple[str, int]:
        rs = self.rs[rs_name]
        name = f"{rs_name}-p{self._next()}"
        pod = Pod(
            metadata=ObjectMeta(
                name=name,
                namespace=NS,
                uid=f"uid-{name}",
                owner_references=_controller_refs("ReplicaSet", rs.metadata.uid, controllers),
            ),
            spec=PodSpec(containers=(Container(name="web", image=rs_name),)),
            status=PodStatus(phase="Pending"),
        )
        self.pods[name] = pod
        return name, await self.put(pod, actor)

    async def status(
        self, name: str, *, phase: str = "Running", ready: bool = True, actor: str = KUBELET
    ) -> int:
        pod = self.pods[name]
        condition = PodCondition(type="Ready", status="True" if ready else "False")
        pod = replace(pod, status=PodStatus(phase=phase, conditions=(condition,)))
        self.pods[name] = pod
        return await self.put(pod, actor)

    async def terminate(self, name: str, actor: str = RSCTL) -> int:
        pod = self.pods[name]
        meta = replace(pod.metadata, deletion_timestamp="2023-11-14T22:13:50Z")
        pod = replace(pod, metadata=meta)
        self.pods[name] = pod
        return await self.put(pod, actor)

    async def gone(self, name: str, actor: str = KUBELET) -> int:
        return await self.remove(self.pods.pop(name), actor)

    async def ready_pods(self, rs_name: str, count: int) -> list[str]:
        """Create `count` pods of the ReplicaSet and make each Running and Ready."""
        names = []
        for _ in range(count):
            name, _rev = await self.add_pod(rs_name)
            await self.status(name)
            names.append(name)
        return names

    def pods_of(self, rs_name: str) -> list[str]:
        uid = self.rs[rs_name].metadata.uid
        return [
            n
            for n, p in self.pods.items()
            if p.metadata.owner_references and p.metadata.owner_references[0].uid == uid
        ]


def _run(test: Callable[[Sim], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """Run `test` on a fresh memory log (with a guard against hangs)."""

    async def wrapper() -> None:
        with anyio.fail_after(10):
            async with store.open_log("memory://") as log:
                await test(Sim(log))

    return wrapper


def _found(violations: list[Violation]) -> list[tuple[int, str]]:
    return [(v.revision, v.rule) for v in violations]


# -- a correct rolling update -------------------------------------------------------------------


async def _correct_rollout(sim: Sim) -> None:
    """3 replicas, maxSurge 1, maxUnavailable 1, v1 -> v2 as upstream steps it."""
    await sim.deployment(3, 1, 1)
    await sim.scale("web-v1", 3)
    await sim.annotate("1")
    await sim.ready_pods("web-v1", 3)
    await sim.image("v2")
    await sim.scale("web-v2", 1)  # S = 4 = 3 + 1
    await sim.scale("web-v1", 2)  # S = 3
    await sim.annotate("2")
    for step in range(3):
        old = sim.pods_of("web-v1")[0]
        await sim.terminate(old)  # R = 2 = 3 - 1
        (new, _rev) = await sim.add_pod("web-v2")
        await sim.gone(old)
        await sim.status(new, phase="Running", ready=False)
        await sim.status(new)  # R = 3
        if step < 2:
            await sim.scale("web-v2", 2 + step)  # S = 4
            await sim.scale("web-v1", 1 - step)  # S = 3


async def test_correct_rolling_update_passes() -> None:
    async def story(sim: Sim) -> None:
        await _correct_rollout(sim)
        assert len(sim.pods_of("web-v2")) == 3
        assert sim.pods_of("web-v1") == []
        assert await check_log(sim.log) == []
        await assert_invariants(sim.log)

    await _run(story)()


async def test_assert_invariants_raises_with_the_violations() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(3, 1, 1)
        rev = await sim.scale("web-v1", 5)
        with pytest.raises(AssertionError, match=rf"1 invariant violations:\nrevision {rev}: "):
            await assert_invariants(sim.log)

    await _run(story)()


# -- max-surge ----------------------------------------------------------------------------------


async def test_surge_beyond_the_limit_is_reported_at_its_revision() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(3, 1, 1)
        await sim.scale("web-v1", 3)
        await sim.ready_pods("web-v1", 3)
        await sim.image("v2")
        await sim.scale("web-v2", 1)  # 4: at the limit
        bad = await sim.scale("web-v2", 2)  # 5 > 3 + 1
        await sim.scale("web-v1", 1)  # back to 3: fine
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, MAX_SURGE)]
        v = violations[0]
        assert (v.kind, v.namespace, v.name, v.actor) == ("Deployment", NS, "web", DEPLOY)
        assert v.numbers["rs_spec_replicas"] == 5
        assert v.numbers["previous"] == 4
        assert v.numbers["limit"] == 4
        assert "above replicas 3 + maxSurge 1 = 4" in str(v)

    await _run(story)()


async def test_surge_percentages_round_up() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(10, "25%", "25%")  # surge ceil(2.5) = 3: limit 13
        await sim.scale("web-v1", 10)
        await sim.scale("web-v2", 3)  # 13: fine
        bad = await sim.scale("web-v2", 4)  # 14
        assert _found(await check_log(sim.log)) == [(bad, MAX_SURGE)]

    await _run(story)()


async def test_user_scale_down_moves_the_bound_and_only_increases_above_it_count() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(10, 1, 1)
        await sim.scale("web-v1", 10)
        await sim.edit(replicas=4)  # S = 10 > 4 + 1: the user's change, not judged
        await sim.scale("web-v1", 8)  # still above, but going down: fine
        bad = await sim.scale("web-v1", 9)  # up while above the bound
        await sim.scale("web-v1", 4)
        assert _found(await check_log(sim.log)) == [(bad, MAX_SURGE)]

    await _run(story)()


async def test_a_released_replicaset_stops_counting_and_an_adopted_one_starts() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(3, 1, 1)
        await sim.scale("web-v1", 3)
        await sim.scale("web-v2", 1)  # 4
        await sim.release("web-v1")  # 1
        await sim.scale("web-v3", 3)  # 4
        await sim.delete_rs("web-v3")  # 1
        await sim.scale("web-v3", 4)  # a new uid: 5 > 4
        violations = await check_log(sim.log)
        assert [v.rule for v in violations] == [MAX_SURGE]
        assert violations[0].numbers["rs_spec_replicas"] == 5

    await _run(story)()


# -- min-ready ----------------------------------------------------------------------------------


async def test_ready_pods_below_the_floor_are_reported_at_their_revision() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(3, 1, 1)
        await sim.scale("web-v1", 3)
        first, second, _third = await sim.ready_pods("web-v1", 3)
        await sim.image("v2")
        await sim.scale("web-v1", 1)
        await sim.terminate(first)  # R = 2: at the floor
        bad = await sim.terminate(second)  # R = 1 < 3 - 1
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, MIN_READY)]
        assert violations[0].numbers["ready_pods"] == 1
        assert violations[0].numbers["floor"] == 2
        assert violations[0].actor == RSCTL

    await _run(story)()


async def test_ready_lost_by_the_kubelet_counts_unless_exempt() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(2, 1, 0)
        await sim.scale("web-v1", 2)
        first, _second = await sim.ready_pods("web-v1", 2)
        bad = await sim.status(first, ready=False)  # 1 < 2 - 0
        assert _found(await check_log(sim.log)) == [(bad, MIN_READY)]
        assert await check_log(sim.log, exempt_actors=("user", "kubelet/")) == []

    await _run(story)()


async def test_while_below_the_floor_ready_pods_may_grow_but_not_drop() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(3, 1, 1)
        await sim.scale("web-v1", 3)
        await sim.ready_pods("web-v1", 3)
        await sim.edit(replicas=10)  # floor 9, R = 3: below by the user's change
        await sim.scale("web-v1", 10)
        await sim.ready_pods("web-v1", 2)  # 5: growing, fine
        pod = sim.pods_of("web-v1")[0]
        bad = await sim.terminate(pod)  # 4: a drop while below
        await sim.ready_pods("web-v1", 6)  # 10
        assert _found(await check_log(sim.log)) == [(bad, MIN_READY)]

    await _run(story)()


async def test_user_disruptions_are_not_judged_but_what_follows_is() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(3, 0, 1)
        await sim.scale("web-v1", 3)
        a, b, c = await sim.ready_pods("web-v1", 3)
        await sim.gone(a, actor=USER)  # 2 = floor
        await sim.gone(b, actor=USER)  # 1 < 2, but the user's doing
        bad = await sim.terminate(c)  # 0: the controller makes it worse
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, MIN_READY)]
        assert _found(await check_log(sim.log, exempt_actors=())) == [
            (bad - 1, MIN_READY),
            (bad, MIN_READY),
        ]

    await _run(story)()


async def test_a_deployment_being_deleted_is_not_judged() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(2, 1, 0)
        await sim.scale("web-v1", 2)
        first, second = await sim.ready_pods("web-v1", 2)
        await sim.deleting()
        await sim.terminate(first)
        await sim.terminate(second)
        await sim.scale("web-v1", 9)
        assert await check_log(sim.log) == []

    await _run(story)()


# -- recreate -----------------------------------------------------------------------------------


async def _recreate_start(sim: Sim) -> list[str]:
    await sim.deployment(3, None, None, strategy="Recreate")
    await sim.scale("web-v1", 3)
    old = await sim.ready_pods("web-v1", 3)
    await sim.image("v2")
    await sim.scale("web-v1", 0)
    for name in old:
        await sim.terminate(name)  # still phase Running: still running
    return old


async def test_recreate_that_waits_for_old_pods_passes() -> None:
    async def story(sim: Sim) -> None:
        old = await _recreate_start(sim)
        for name in old:
            await sim.gone(name)
        await sim.scale("web-v2", 3)
        await sim.ready_pods("web-v2", 3)
        assert await check_log(sim.log) == []

    await _run(story)()


async def test_recreate_overlap_is_reported_when_a_new_pod_runs_beside_an_old_one() -> None:
    async def story(sim: Sim) -> None:
        old = await _recreate_start(sim)
        await sim.gone(old[0])
        await sim.gone(old[1])
        await sim.scale("web-v2", 3)
        new, _rev = await sim.add_pod("web-v2")  # Pending: not running yet
        bad = await sim.status(new, ready=False)  # Running while old[2] still runs
        await sim.gone(old[2])
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, RECREATE_OVERLAP)]
        assert violations[0].numbers["replicasets_running"] == 2
        assert "web-v1: 1" in violations[0].message
        assert "web-v2: 1" in violations[0].message

    await _run(story)()


async def test_an_overlap_left_by_a_strategy_switch_may_drain_but_not_grow() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(3, 1, 1)
        await sim.scale("web-v1", 3)
        old = await sim.ready_pods("web-v1", 3)
        await sim.image("v2")
        await sim.scale("web-v2", 1)
        await sim.ready_pods("web-v2", 1)  # two ReplicaSets running: fine for RollingUpdate
        await sim.edit(strategy=DeploymentStrategy(type="Recreate"))
        await sim.scale("web-v1", 0)
        await sim.terminate(old[0])
        await sim.gone(old[0])  # draining: fine
        await sim.scale("web-v2", 3)
        new, _rev = await sim.add_pod("web-v2")
        bad = await sim.status(new)  # grows while overlapping
        assert _found(await check_log(sim.log)) == [(bad, RECREATE_OVERLAP)]

    await _run(story)()


# -- revision annotation ------------------------------------------------------------------------


async def test_revision_annotation_going_down_is_reported() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment()
        await sim.annotate("1")
        await sim.annotate("2")
        await sim.annotate("2")
        await sim.annotate("1", actor=USER)  # the user's: not judged, no mark
        await sim.annotate("3")
        bad = await sim.annotate("2")
        await sim.annotate("junk")  # unparseable: skipped
        violations = await check_log(sim.log)
        assert _found(violations) == [(bad, REVISION_DECREASE)]
        assert violations[0].numbers == {"revision": 2, "previous": 3}

    await _run(story)()


# -- controller references ----------------------------------------------------------------------


async def test_two_controller_references_are_reported_once() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment()
        rs_bad = await sim.scale("web-v1", 1, controllers=2)
        await sim.scale("web-v1", 0, controllers=2)  # the same state again: not repeated
        name, pod_bad = await sim.add_pod("web-v1", controllers=2)
        await sim.status(name, ready=False)
        violations = await check_log(sim.log)
        assert _found(violations) == [
            (rs_bad, MULTIPLE_CONTROLLERS),
            (pod_bad, MULTIPLE_CONTROLLERS),
        ]
        assert [(v.kind, v.name) for v in violations] == [("ReplicaSet", "web-v1"), ("Pod", name)]
        assert violations[1].numbers == {"controller_refs": 2}

    await _run(story)()


async def test_objects_created_by_controllers_need_a_controller_reference() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment()
        rs_bad = await sim.scale("web-v1", 1, controllers=0)
        await sim.scale("web-bare", 1, actor=USER, controllers=0)  # the user's: fine
        _name, pod_bad = await sim.add_pod("web-v1", controllers=0)
        await sim.add_pod("web-v1", actor=USER, controllers=0)
        assert _found(await check_log(sim.log)) == [
            (rs_bad, MISSING_CONTROLLER),
            (pod_bad, MISSING_CONTROLLER),
        ]

    await _run(story)()


# -- replay mechanics ---------------------------------------------------------------------------


async def test_other_kinds_are_ignored_and_a_compacted_log_starts_from_its_state() -> None:
    async def story(sim: Sim) -> None:
        await sim.put(ConfigMap(metadata=ObjectMeta(name="cfg", namespace=NS)), USER)
        await sim.deployment(3, 1, 1)
        early = await sim.scale("web-v1", 5)  # a violation that will be compacted away
        await sim.scale("web-v1", 4)
        await sim.log.compact(sim.log.revision)
        bad = await sim.scale("web-v1", 5)  # judged against the compacted state (4)
        assert _found(await check_log(sim.log)) == [(bad, MAX_SURGE)]
        assert early < sim.log.compacted_revision

    await _run(story)()


async def test_checker_feed_judges_one_event_at_a_time() -> None:
    async def story(sim: Sim) -> None:
        await sim.deployment(1, 0, 1)
        await sim.scale("web-v1", 2)
        checker = Checker()
        found: list[Violation] = []
        async for entry in sim.log.events():
            found.extend(checker.feed(entry))
        assert checker.revision == sim.log.revision
        assert checker.events == 2
        assert _found(found) == [(2, MAX_SURGE)]

    await _run(story)()


async def test_undecodable_values_name_the_revision_and_key() -> None:
    async def story(sim: Sim) -> None:
        await sim.log.create("/registry/pods/default/broken", b"{not json")
        with pytest.raises(ValueError, match=r"revision 1: /registry/pods/default/broken"):
            await check_log(sim.log)

    await _run(story)()


async def test_a_log_written_by_the_api_server() -> None:
    """Objects written through the real API server (defaulting, uids, key layout)."""
    with anyio.fail_after(10):
        async with store.open_log("memory://") as log:
            server = ApiServer(log, clock_now=lambda: 1_700_000_000.0, ids=SeededIds(0).uid)
            manifest = _deployment(4, "25%", "25%")  # surge 1, unavailable 1: limit 5
            dep = await server.create(
                replace(manifest, metadata=ObjectMeta(name="web", namespace=NS)), actor=USER
            )
            ref = OwnerReference(
                api_version="apps/v1",
                kind="Deployment",
                name="web",
                uid=dep.metadata.uid,
                controller=True,
            )
            for name, replicas in (("web-a", 4), ("web-b", 2)):
                rs = ReplicaSet(
                    metadata=ObjectMeta(name=name, namespace=NS, owner_references=(ref,)),
                    spec=ReplicaSetSpec(
                        replicas=replicas,
                        selector=LabelSelector(match_labels={"app": "web"}),
                        template=_template(name),
                    ),
                )
                await server.create(rs, actor=DEPLOY, cause=1)
            violations = await check_log(log)
            assert _found(violations) == [(log.revision, MAX_SURGE)]
            assert violations[0].numbers["limit"] == 5
            assert violations[0].numbers["rs_spec_replicas"] == 6


# -- fenceposts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"),
    # kubernetes-semantics.md 1.2, the default 25%/25% table
    [(1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 1), (5, 2, 1), (10, 3, 2)],
)
def test_fenceposts_of_the_default_strategy(replicas: int, surge: int, unavailable: int) -> None:
    assert resolve_fenceposts(replicas, "25%", "25%") == (surge, unavailable)
    assert resolve_fenceposts(replicas, None, None) == (surge, unavailable)


def test_fenceposts_edge_cases() -> None:
    assert resolve_fenceposts(3, 0, 0) == (0, 1)  # both 0: unavailable 1
    assert resolve_fenceposts(3, "10%", "10%") == (1, 0)  # ceil(0.3), floor(0.3)
    assert resolve_fenceposts(2, 0, 5) == (0, 2)  # clamped to replicas
    assert resolve_fenceposts(0, 1, 1) == (1, 0)  # replicas 0: unavailable 0


# -- hypothesis: correct rollouts, then one injected breach ------------------------------------

_INTSTR = st.one_of(st.integers(0, 3), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


def _is_ready(pod: Pod) -> bool:
    if pod.metadata.deletion_timestamp is not None or pod.status is None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


@dataclass
class _Model:
    """A Deployment controller that follows upstream's rolling algorithm on fresh data, the
    ReplicaSet controller, and kubelets that make a random share of pods Ready each round."""

    sim: Sim
    replicas: int
    surge: int
    unavailable: int
    data: st.DataObject
    inject: str  # "", "surge" or "ready"
    surge_value: int | str
    unavailable_value: int | str
    injected: int = 0  # the revision of the injected breach

    def ready(self, rs: str) -> list[str]:
        return [n for n in self.sim.pods_of(rs) if _is_ready(self.sim.pods[n])]

    def live(self, rs: str) -> list[str]:
        return [
            n for n in self.sim.pods_of(rs) if self.sim.pods[n].metadata.deletion_timestamp is None
        ]

    def spec(self, rs: str) -> int:
        replicas = self.sim.rs[rs].spec.replicas
        assert replicas is not None
        return replicas

    async def replicaset_controller(self) -> None:
        for rs in ("web-v1", "web-v2"):
            live = self.live(rs)
            for _ in range(self.spec(rs) - len(live)):
                await self.sim.add_pod(rs)
            excess = len(live) - self.spec(rs)
            if excess > 0:
                ready = set(self.ready(rs))
                victims = sorted(live, key=lambda n: n in ready)[:excess]  # not-ready first
                for name in victims:
                    await self.sim.terminate(name)

    async def kubelets(self) -> None:
        for name, pod in list(self.sim.pods.items()):
            if pod.metadata.deletion_timestamp is not None:
                await self.sim.gone(name)
        pending = [
            n for rs in ("web-v1", "web-v2") for n in self.live(rs) if n not in self.ready(rs)
        ]
        if pending:
            chosen = self.data.draw(st.lists(st.sampled_from(pending), min_size=1, unique=True))
            for name in chosen:
                await self.sim.status(name)

    async def deployment_controller(self) -> None:
        limit = self.replicas + self.surge
        floor = self.replicas - self.unavailable
        new, old = self.spec("web-v2"), self.spec("web-v1")
        if new < self.replicas and new + old < limit:
            await self.sim.scale("web-v2", new + min(limit - new - old, self.replicas - new))
            return
        available = len(self.ready("web-v1")) + len(self.ready("web-v2"))
        new_unavailable = self.spec("web-v2") - len(self.ready("web-v2"))
        if old > 0 and new + old - floor - new_unavailable > 0 and available > floor:
            await self.sim.scale("web-v1", old - min(old, available - floor))

    async def breach(self) -> None:
        floor = self.replicas - self.unavailable
        if self.inject == "surge" and self.spec("web-v1") + self.spec("web-v2") >= (
            self.replicas + self.surge
        ):
            self.injected = await self.sim.scale("web-v2", self.spec("web-v2") + 1)
            await self.sim.scale("web-v2", self.spec("web-v2") - 1)
        ready = self.ready("web-v1") + self.ready("web-v2")
        if self.inject == "ready" and len(ready) == floor and ready:
            self.injected = await self.sim.terminate(ready[0])

    async def run(self) -> None:
        sim = self.sim
        await sim.deployment(self.replicas, self.surge_value, self.unavailable_value)
        await sim.scale("web-v1", self.replicas)
        await sim.ready_pods("web-v1", self.replicas)
        await sim.image("v2")
        await sim.scale("web-v2", 0)
        for _ in range(10 * self.replicas + 10):
            if self.inject and not self.injected:
                await self.breach()
            await self.deployment_controller()
            await self.replicaset_controller()
            await self.kubelets()
            if (
                self.spec("web-v1") == 0
                and len(self.ready("web-v2")) == self.replicas
                and not sim.pods_of("web-v1")
            ):
                return
        raise AssertionError("the model rollout did not finish")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replicas=st.integers(1, 8),
    surge=_INTSTR,
    unavailable=_INTSTR,
    inject=st.sampled_from(["", "surge", "ready"]),
    data=st.data(),
)
def test_random_correct_rollouts_pass_and_an_injected_breach_is_found(
    replicas: int, surge: int | str, unavailable: int | str, inject: str, data: st.DataObject
) -> None:
    max_surge, max_unavailable = resolve_fenceposts(replicas, surge, unavailable)

    async def story(sim: Sim) -> None:
        model = _Model(sim, replicas, max_surge, max_unavailable, data, inject, surge, unavailable)
        await model.run()
        event(f"breach injected: {bool(model.injected)}")
        violations = _found(await check_log(sim.log))
        if model.injected:
            rule = MAX_SURGE if inject == "surge" else MIN_READY
            assert violations == [(model.injected, rule)]
        else:
            assert violations == []

    anyio.run(_run(story))


# -- hypothesis: random operations against a from-scratch oracle --------------------------------

_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("scale"), st.integers(0, 2), st.integers(0, 5)),
        st.tuples(st.just("add_pod"), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("ready"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("start"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("unready"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("terminate"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("delete"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("user_delete"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("user_replicas"), st.integers(0, 6), st.just(0)),
        st.tuples(st.just("release"), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("delete_rs"), st.integers(0, 2), st.just(0)),
    ),
    max_size=60,
)


def _oracle(sim: Sim, rs_owned: dict[str, bool]) -> tuple[int, int, int, int]:
    """(S, R, ReplicaSets with running pods, running pods), recomputed from scratch."""
    owned = {rs.metadata.uid: name for name, rs in sim.rs.items() if rs_owned.get(name, False)}
    s = sum(sim.rs[name].spec.replicas or 0 for name in owned.values())
    ready, running, sets = 0, 0, set()
    for pod in sim.pods.values():
        owner = pod.metadata.owner_references[0].uid
        if owner not in owned:
            continue
        status = pod.status
        assert status is not None
        if status.phase == "Running":
            running += 1
            sets.add(owner)
        is_ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions)
        if is_ready and pod.metadata.deletion_timestamp is None:
            ready += 1
    return s, ready, len(sets), running


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=_OPS,
    strategy=st.sampled_from(["RollingUpdate", "Recreate"]),
    replicas=st.integers(0, 5),
    surge=_INTSTR,
    unavailable=_INTSTR,
)
def test_random_operations_match_the_oracle(
    ops: list[tuple[str, int, int]],
    strategy: str,
    replicas: int,
    surge: int | str,
    unavailable: int | str,
) -> None:
    names = ("web-a", "web-b", "web-c")

    async def story(sim: Sim) -> None:
        expected: list[tuple[int, str]] = []
        rs_owned: dict[str, bool] = {}
        if strategy == "RollingUpdate":
            await sim.deployment(replicas, surge, unavailable)
        else:
            await sim.deployment(replicas, None, None, strategy="Recreate")
        current = replicas
        for op, a, b in ops:
            before = _oracle(sim, rs_owned)
            pods = sorted(sim.pods)
            pod = pods[a % len(pods)] if pods else None
            actor = DEPLOY
            if op == "scale":
                if names[a] not in sim.rs:
                    rs_owned[names[a]] = True
                rev = await sim.scale(names[a], b)
            elif op == "add_pod" and names[a] in sim.rs:
                _name, rev = await sim.add_pod(names[a])
                actor = RSCTL
            elif op in ("ready", "start", "unready") and pod is not None:
                rev = await sim.status(pod, ready=op == "ready")
                actor = KUBELET
            elif op == "terminate" and pod is not None:
                rev = await sim.terminate(pod)
                actor = RSCTL
            elif op in ("delete", "user_delete") and pod is not None:
                actor = USER if op == "user_delete" else KUBELET
                rev = await sim.gone(pod, actor=actor)
            elif op == "user_replicas":
                current = a
                rev = await sim.edit(replicas=a)
                actor = USER
            elif op == "release" and names[a] in sim.rs:
                rs_owned[names[a]] = False
                rev = await sim.release(names[a])
            elif op == "delete_rs" and names[a] in sim.rs:
                del rs_owned[names[a]]
                rev = await sim.delete_rs(names[a])
            else:
                continue
            s1, r1, n1, t1 = _oracle(sim, rs_owned)
            s0, r0, n0, t0 = before
            if actor == USER:
                continue
            if strategy == "RollingUpdate":
                max_surge, max_unavailable = resolve_fenceposts(current, surge, unavailable)
                if s1 > max(current + max_surge, s0):
                    expected.append((rev, MAX_SURGE))
                if r1 < min(current - max_unavailable, r0):
                    expected.append((rev, MIN_READY))
            elif n1 >= 2 and (n0 < 2 or t1 > t0):
                expected.append((rev, RECREATE_OVERLAP))
        assert _found(await check_log(sim.log)) == expected

    anyio.run(_run(story))


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
