"""The kubelet simulator on the virtual clock (ApiServer, informers, manager; no plane), and one
reconcile as recorded actions on the fake client."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from msgspec.structs import replace

from controllers.kubelet import Kubelet, Profile, load_profile
from controllers.kubelet.status import PodNetwork, plan_pod, pod_at, pod_status
from cp.api.core import Event
from cp.api.core_pod import (
    ContainerStatus,
    Pod,
    PodCondition,
    PodReadinessGate,
    Probe,
    TCPSocketAction,
)
from cp.api.meta import ApiStruct
from cp.api.times import rfc3339
from cp.client import Action, FakeClient
from cp.informer import SharedInformerFactory, WatchContext
from cp.runtime import Activity, Request, Result, SeededIds, VirtualClock
from tests.controllers.kubelet.harness import T0, Cluster, Write, cluster, make_node, make_pod

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def condition(pod: Pod, type_: str) -> PodCondition:
    assert pod.status is not None
    return next(c for c in pod.status.conditions if c.type == type_)


def app(pod: Pod) -> ContainerStatus:
    assert pod.status is not None
    return pod.status.container_statuses[0]


def kubelet_writes(history: Sequence[Write]) -> list[Write]:
    return [w for w in history if w.actor.startswith("kubelet/")]


async def events(c: Cluster) -> list[tuple[str, str, str, int]]:
    """(type, reason, message, count) of every Event, oldest first."""
    items = [e for e in (await c.client.list("Event")).items if isinstance(e, Event)]
    items.sort(key=lambda e: (e.first_timestamp or "", e.metadata.name))
    return [(e.type, e.reason, e.message, e.count) for e in items]


async def test_a_pod_is_admitted_then_runs_and_is_ready_in_two_writes() -> None:
    async with cluster(scheduler=False) as c:
        await c.client.create(make_pod("web", node_name="node-2"))
        await c.run_until(60)
        writes = kubelet_writes(await c.history("web"))
    assert [(w.at, w.actor) for w in writes] == [(0, "kubelet/node-2"), (1, "kubelet/node-2")]
    admitted, ready = writes[0].pod, writes[1].pod
    assert admitted.status is not None
    assert (admitted.status.phase, admitted.status.pod_ip, admitted.status.host_ip) == (
        "Pending",
        "10.244.1.2",
        "172.18.0.3",
    )
    assert admitted.status.start_time == rfc3339(T0)
    waiting = app(admitted).state
    assert waiting is not None
    assert waiting.waiting is not None
    assert waiting.waiting.reason == "ContainerCreating"
    assert (condition(admitted, "Ready").reason, condition(admitted, "Ready").message) == (
        "ContainersNotReady",
        "containers with unready status: [app]",
    )
    assert [c.type for c in admitted.status.conditions] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert ready.status is not None
    assert ready.status.phase == "Running"
    status = app(ready)
    assert status.ready
    assert status.started
    assert status.restart_count == 0
    assert status.container_id.startswith("containerd://")
    assert len(status.container_id) == 77
    assert status.image_id.startswith("nginx@sha256:")
    assert condition(ready, "Ready").status == "True"
    assert condition(ready, "Ready").last_transition_time == rfc3339(T0 + 1)
    assert condition(ready, "Initialized").last_transition_time == rfc3339(T0)  # unchanged


async def test_pod_ips_are_unique_per_node_and_released() -> None:
    async with cluster(scheduler=False) as c:
        for i in range(4):
            await c.client.create(make_pod(f"a-{i}", node_name="node-1"))
        await c.client.create(make_pod("b-0", node_name="node-3"))
        await c.run_until(5)
        ips = {p.metadata.name: p.status.pod_ip for p in await c.pods() if p.status}
        assert ips == {
            "a-0": "10.244.0.2",
            "a-1": "10.244.0.3",
            "a-2": "10.244.0.4",
            "a-3": "10.244.0.5",
            "b-0": "10.244.2.2",
        }
        await c.client.delete("Pod", "a-1", "default")
        await c.run_until(10)
        await c.client.create(make_pod("a-4", node_name="node-1"))
        await c.run_until(15)
        assert (await c.pod("a-4")).status.pod_ip == "10.244.0.3"  # type: ignore[union-attr]


async def test_a_full_address_range_holds_pods_until_an_address_is_free() -> None:
    nodes = [make_node(1, cidr="10.9.0.0/29")]  # 5 pod addresses: .2 .. .6
    async with cluster(nodes, scheduler=False) as c:
        for i in range(6):
            await c.client.create(make_pod(f"p-{i}", node_name="node-1"))
        await c.run_until(5)
        assert (await c.pod("p-5")).status is None  # nothing reported: no sandbox without an IP
        failed = (
            'Failed to create pod sandbox: plugin type="host-local" failed (add): failed to '
            "allocate for range 0: no IP addresses available in range set: 10.9.0.0/29"
        )
        assert await events(c) == [("Warning", "FailedCreatePodSandBox", failed, 1)]
        await c.client.delete("Pod", "p-2", "default", grace_period_seconds=0)
        await c.run_until(10)
        p5 = await c.pod("p-5")
        assert p5.status is not None
        assert (p5.status.pod_ip, p5.status.phase) == ("10.9.0.4", "Running")


async def test_init_containers_run_one_after_another() -> None:
    async with cluster(scheduler=False) as c:
        await c.client.create(make_pod("db", node_name="node-1", init=("busybox", "busybox")))
        await c.run_until(60)
        writes = kubelet_writes(await c.history("db"))
    seen = []
    for w in writes:
        assert w.pod.status is not None
        inits = w.pod.status.init_container_statuses
        kinds = tuple(
            "running"
            if s.state and s.state.running
            else "done"
            if s.state and s.state.terminated
            else "waiting"
            for s in inits
        )
        seen.append((w.at, kinds, w.pod.status.phase, condition(w.pod, "Initialized").status))
    assert seen == [
        (0, ("running", "waiting"), "Pending", "False"),
        (2, ("done", "running"), "Pending", "False"),
        (4, ("done", "done"), "Pending", "True"),
        (5, ("done", "done"), "Running", "True"),
    ]
    first = writes[0].pod
    assert condition(first, "Initialized").message == (
        "containers with incomplete status: [init-0 init-1]"
    )
    assert app(first).state.waiting.reason == "PodInitializing"  # type: ignore[union-attr]
    done = writes[-1].pod.status.init_container_statuses[0]  # type: ignore[union-attr]
    assert done.state is not None
    assert done.state.terminated is not None
    assert (done.state.terminated.exit_code, done.state.terminated.reason, done.ready) == (
        0,
        "Completed",
        True,
    )


async def test_readiness_probe_timing_is_exact_to_the_second() -> None:
    probe = Probe(
        tcp_socket=TCPSocketAction(port=80),
        initial_delay_seconds=5,
        period_seconds=3,
        success_threshold=2,
    )
    async with cluster(scheduler=False) as c:
        await c.client.create(make_pod("web", node_name="node-1", readiness=probe))
        await c.run_until(8)
        assert condition(await c.pod("web"), "Ready").status == "False"
        assert app(await c.pod("web")).started
        await c.run_until(9)  # running at 1, probed at 6 and 9
        pod = await c.pod("web")
    assert condition(pod, "Ready").status == "True"
    assert condition(pod, "Ready").last_transition_time == rfc3339(T0 + 9)


async def test_image_pull_errors_back_off_and_the_pod_never_runs() -> None:
    profile = load_profile("rules: [{image: 'nginx:broken', pullError: true}]")
    async with cluster(scheduler=False, profile=profile) as c:
        await c.client.create(make_pod("web", node_name="node-1", image="nginx:broken"))
        await c.run_until(100)
        writes = kubelet_writes(await c.history("web"))
        recorded = await events(c)
    pulled = 'Failed to pull image "nginx:broken": (cpemu profile) pullError'
    assert recorded == [
        ("Warning", "Failed", pulled, 4),
        ("Warning", "Failed", "Error: ErrImagePull", 4),
        ("Normal", "BackOff", 'Back-off pulling image "nginx:broken"', 4),
        ("Warning", "Failed", "Error: ImagePullBackOff", 4),
    ]
    reasons = [(w.at, app(w.pod).state.waiting.reason) for w in writes]  # type: ignore[union-attr]
    assert reasons == [
        (0, "ContainerCreating"),
        (1, "ErrImagePull"),
        (2, "ImagePullBackOff"),
        (11, "ErrImagePull"),
        (12, "ImagePullBackOff"),
        (31, "ErrImagePull"),
        (32, "ImagePullBackOff"),
        (71, "ErrImagePull"),
        (72, "ImagePullBackOff"),
    ]
    assert {w.pod.status.phase for w in writes} == {"Pending"}  # type: ignore[union-attr]


async def test_crash_loop_restart_counts_at_given_times() -> None:
    profile = load_profile("rules: [{image: crashy, crashLoop: {afterSeconds: 5, exitCode: 1}}]")
    expected = {
        3: (0, "running", True),
        6: (1, "running", True),
        11: (1, "CrashLoopBackOff", False),
        21: (2, "running", True),
        30: (2, "CrashLoopBackOff", False),
        46: (3, "running", True),
        91: (4, "running", True),
        100: (4, "CrashLoopBackOff", False),
        176: (5, "running", True),
    }
    async with cluster(scheduler=False, profile=profile) as c:
        await c.client.create(make_pod("web", node_name="node-1", image="crashy"))
        for t, (count, state, ready) in expected.items():
            await c.run_until(t)
            pod = await c.pod("web")
            status = app(pod)
            assert status.state is not None
            shown = "running" if status.state.running else status.state.waiting.reason  # type: ignore[union-attr]
            assert (status.restart_count, shown, status.ready) == (count, state, ready), t
            assert pod.status is not None
            assert pod.status.phase == "Running"
        last = app(await c.pod("web")).last_state
        uid = (await c.pod("web")).metadata.uid
        recorded = await events(c)
    message = f"Back-off restarting failed container app in pod web_default({uid})"
    assert recorded == [("Warning", "BackOff", message, 4)]  # at 11, 26, 51 and 96
    assert last is not None
    assert last.terminated is not None
    assert (last.terminated.exit_code, last.terminated.reason) == (1, "Error")
    assert last.terminated.finished_at == rfc3339(T0 + 96)  # ran 91 .. 96, then 80 s of back-off


async def test_never_ready_pods_run_and_settle() -> None:
    profile = load_profile("rules: [{image: 'flaky*', neverReady: true}]")
    async with cluster(scheduler=False, profile=profile) as c:
        await c.client.create(make_pod("web", node_name="node-1", image="flaky:1"))
        report = await c.clock.run_until_idle(T0 + 10_000)
        pod = await c.pod("web")
    assert report.converged
    assert pod.status is not None
    assert pod.status.phase == "Running"
    assert condition(pod, "Ready").status == "False"
    assert app(pod).started
    assert not app(pod).ready


async def deleted_at(c: Cluster, name: str) -> tuple[Write, Write]:
    """(the kubelet's last status write, the delete) of pod `name`."""
    history = await c.history(name)
    assert history[-1].type == "DELETE"
    return history[-2], history[-1]


async def test_graceful_deletion_stops_then_deletes() -> None:
    async with cluster(scheduler=False) as c:
        await c.client.create(make_pod("web", node_name="node-1"))
        await c.run_until(10)
        marked = await c.client.delete("Pod", "web", "default")
        assert isinstance(marked, Pod)
        assert marked.metadata.deletion_timestamp == rfc3339(T0 + 40)
        await c.run_until(60)
        final, gone = await deleted_at(c, "web")
    assert (final.at, final.actor, gone.at, gone.actor) == (
        11,
        "kubelet/node-1",
        11,
        "kubelet/node-1",
    )
    assert final.pod.status is not None
    assert final.pod.status.phase == "Succeeded"
    terminated = app(final.pod).state.terminated  # type: ignore[union-attr]
    assert terminated is not None
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert condition(final.pod, "Ready").reason == "PodCompleted"


async def test_a_container_slower_than_the_grace_period_is_killed_at_its_end() -> None:
    profile = load_profile("defaults: {stopSeconds: 60}")
    async with cluster(scheduler=False, profile=profile) as c:
        await c.client.create(make_pod("web", node_name="node-1", grace=20))
        await c.run_until(10)
        await c.client.delete("Pod", "web", "default")
        await c.run_until(100)
        final, gone = await deleted_at(c, "web")
    assert (final.at, gone.at) == (30, 30)
    assert final.pod.status is not None
    assert final.pod.status.phase == "Failed"
    assert app(final.pod).state.terminated.exit_code == 137  # type: ignore[union-attr]


async def test_a_pod_on_an_unknown_node_waits_for_it() -> None:
    async with cluster(1, scheduler=False) as c:
        await c.client.create(make_pod("web", node_name="node-2"))
        await c.run_until(10)
        assert (await c.pod("web")).status is None
        await c.client.create(make_node(2))
        await c.run_until(20)
        assert (await c.pod("web")).status.phase == "Running"  # type: ignore[union-attr]


async def test_the_same_seed_writes_the_same_log() -> None:
    profile = load_profile("defaults: {jitter: 0.5}")

    async def run() -> list[tuple[int, str, str, bytes | None, str]]:
        async with cluster(profile=profile, seed=7) as c:
            for i in range(6):
                await c.client.create(make_pod(f"web-{i}", init=("busybox",)))
            await c.run_until(30)
            return [
                (e.revision, e.type, e.key, e.value, e.actor) async for e in c.server.log.events()
            ]

    assert await run() == await run()


# -- one reconcile, recorded ---------------------------------------------------------------------


class _NoApi:
    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]:
        raise AssertionError("the unit tests do not start the informers")

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> WatchContext:
        raise AssertionError("the unit tests do not start the informers")


async def test_one_reconcile_writes_one_status_as_the_node() -> None:
    activity = Activity()
    clock = VirtualClock(activity, start=T0)
    client = FakeClient(make_node(1), make_pod("web", node_name="node-1"), clock_now=clock.now)
    factory = SharedInformerFactory(_NoApi(), activity)
    kubelet = Kubelet(client, factory, clock=clock, activity=activity, ids=SeededIds(0))
    for obj in client.objects():
        factory.informer_for(type(obj).__name__).indexer.upsert(obj)
    assert kubelet.controller.name == "kubelet"

    result = await kubelet.reconcile(Request("default", "web"))

    assert result == Result(requeue_after=1.0)
    writes = client.writes()
    assert [(a.verb, a.kind, a.name, a.actor) for a in writes] == [
        ("update_status", "Pod", "web", "kubelet/node-1")
    ]
    sent = writes[0].obj
    assert isinstance(sent, Pod)
    assert sent.status is not None
    assert sent.status.pod_ip == "10.244.0.2"
    assert client.writes() == [Action("update_status", "Pod", "default", "web", sent)]


async def test_readiness_gates_hold_ready_until_their_condition_is_true() -> None:
    async with cluster(scheduler=False) as c:
        pod = make_pod("web", node_name="node-1")
        gates = (PodReadinessGate(condition_type="example.com/lb"),)
        await c.client.create(replace(pod, spec=replace(pod.spec, readiness_gates=gates)))
        await c.run_until(5)
        pod = await c.pod("web")
        assert (condition(pod, "ContainersReady").status, condition(pod, "Ready").status) == (
            "True",
            "False",
        )
        assert condition(pod, "Ready").reason == "ReadinessGatesNotReady"
        assert condition(pod, "Ready").message == (
            'corresponding condition of pod readiness gate "example.com/lb" does not exist.'
        )
        assert pod.status is not None
        gate = PodCondition(type="example.com/lb", status="True")
        await c.client.update_status(
            replace(pod, status=replace(pod.status, conditions=(*pod.status.conditions, gate)))
        )
        await c.run_until(6)
        pod = await c.pod("web")
    assert condition(pod, "Ready").status == "True"
    assert condition(pod, "example.com/lb").status == "True"  # kept by the kubelet


async def test_a_restarted_kubelet_resumes_from_the_status() -> None:
    activity = Activity()
    clock = VirtualClock(activity, start=T0 + 50)
    running = replace(
        make_pod("old", node_name="node-1"),
        metadata=replace(make_pod("old").metadata, uid="uid-old", resource_version=""),
    )
    plan = plan_pod(running, Profile.default(), seed=0)
    net = PodNetwork(host_ip="172.18.0.2", pod_ip="10.244.0.7")
    status = pod_status(running, pod_at(plan, T0, T0 + 50), net, t0=T0, now=T0 + 1, seed=0)
    running = replace(running, status=status)
    client = FakeClient(make_node(1), running, make_pod("new", node_name="node-1"))
    factory = SharedInformerFactory(_NoApi(), activity)
    kubelet = Kubelet(client, factory, clock=clock, activity=activity, ids=SeededIds(0))
    for obj in client.objects():
        factory.informer_for(type(obj).__name__).indexer.upsert(obj)

    assert await kubelet.reconcile(Request("default", "old")) == Result()
    assert client.writes() == []  # the status it would write is the stored one
    await kubelet.reconcile(Request("default", "new"))
    new = await client.get("Pod", "new", "default")
    assert isinstance(new, Pod)
    assert new.status is not None
    assert new.status.pod_ip == "10.244.0.2"
