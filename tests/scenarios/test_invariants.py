"""The invariant checker (`tests/scenarios/invariants.py`) on synthetic event logs.

Logs are written to a memory store by `Sim`, which stores encoded `cp.api` objects under the keys
the API server uses, each write attributed to the actor a real controller would have: the
Deployment controller scales ReplicaSets, the ReplicaSet controller creates and deletes pods,
kubelets run them. Every test knows its answer: correct rollouts give no violation, and each rule
broken on purpose is reported at the revision that broke it. Hypothesis drives (a) random correct
rollouts for random replicas/maxSurge/maxUnavailable (none expected, then one injected breach
expected at its revision) and (b) random operation sequences judged by a from-scratch oracle.
The hypothesis tests are in `test_invariants_properties.py`; the StatefulSet, claim, volume and
Service rules in `test_invariants_stateful.py`.
"""

from __future__ import annotations

import anyio
import pytest
from msgspec.structs import replace

import store
from cp.api.apps import (
    DeploymentStrategy,
    ReplicaSet,
    ReplicaSetSpec,
)
from cp.api.core import (
    ConfigMap,
)
from cp.api.meta import LabelSelector, ObjectMeta, OwnerReference
from cp.apiserver import ApiServer
from cp.runtime import SeededIds
from tests.scenarios.invariant_sim import (
    DEPLOY,
    NS,
    RSCTL,
    USER,
    Sim,
    _deployment,
    _found,
    _run,
    _template,
)
from tests.scenarios.invariants import (
    MAX_SURGE,
    MIN_READY,
    MISSING_CONTROLLER,
    MULTIPLE_CONTROLLERS,
    RECREATE_OVERLAP,
    REVISION_DECREASE,
    Checker,
    Violation,
    assert_invariants,
    check_log,
    resolve_fenceposts,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
