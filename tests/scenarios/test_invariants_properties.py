"""The invariant checker under hypothesis: (a) random correct rollouts for random
replicas/maxSurge/maxUnavailable give no violation, and one injected breach is found at its
revision; (b) random operation sequences are judged as a from-scratch oracle judges them."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cp.api.core_pod import Pod
from tests.scenarios.invariant_sim import (
    DEPLOY,
    KUBELET,
    RSCTL,
    USER,
    Sim,
    _found,
    _run,
)
from tests.scenarios.invariants import (
    MAX_SURGE,
    MIN_READY,
    RECREATE_OVERLAP,
    check_log,
    resolve_fenceposts,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
