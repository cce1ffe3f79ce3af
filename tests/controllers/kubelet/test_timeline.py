"""The pure model: container timelines and the pod view built from them."""

from __future__ import annotations

import itertools

import pytest

from controllers.kubelet import Profile, load_profile
from controllers.kubelet.status import plan_pod, pod_at, stopped
from controllers.kubelet.timeline import ContainerPlan, ContainerView, container_at, go_duration
from cp.api.core_pod import Container, Pod, PodSpec, Probe, TCPSocketAction
from cp.api.meta import ObjectMeta


def view_at(plan: ContainerPlan, t: float) -> ContainerView:
    return container_at(plan, 0.0, t)


@pytest.mark.parametrize(
    ("seconds", "text"), [(10, "10s"), (80, "1m20s"), (300, "5m0s"), (3600, "1h0m0s"), (0, "0s")]
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_a_container_runs_after_its_start_time() -> None:
    plan = ContainerPlan(name="app", image="nginx", start=2.0)
    assert view_at(plan, 1.9) == ContainerView("waiting", "ContainerCreating", next_change=2.0)
    running = view_at(plan, 2.0)
    assert (running.kind, running.started_at, running.ready, running.started) == (
        "running",
        2.0,
        True,
        True,
    )
    assert running.next_change is None


def test_crash_loop_back_off_doubles_to_five_minutes() -> None:
    # the worked example of timeline.py: start 1 s, exits 5 s after each start
    plan = ContainerPlan(name="app", image="crashy", start=1.0, run=5.0, exit_code=1)
    starts = [1, 6, 21, 46, 91, 176, 341, 646, 951]
    for count, start in enumerate(starts):
        v = view_at(plan, start)
        assert (v.kind, v.restart_count, v.started_at) == ("running", count, start), count
    waits = {11: "10s", 26: "20s", 51: "40s", 96: "1m20s", 181: "2m40s", 346: "5m0s", 651: "5m0s"}
    for exit_at, back_off in waits.items():
        v = view_at(plan, exit_at)
        assert (v.kind, v.reason) == ("waiting", "CrashLoopBackOff")
        assert v.message == f"back-off {back_off} restarting failed container=app"
        assert v.last is not None
        assert (v.last.exit_code, v.last.reason, v.last.finished_at) == (1, "Error", exit_at)
        assert not v.ready
    assert view_at(plan, 6).last is not None  # restarted at once, lastState kept


def test_back_off_expires_after_ten_healthy_minutes() -> None:
    plan = ContainerPlan(name="app", image="slow-crash", start=0.0, run=700.0, exit_code=2)
    # every exit is more than 2 x 300 s after the last back-off update: restarted at once
    assert [view_at(plan, t).restart_count for t in (0, 700, 1400, 2100)] == [0, 1, 2, 3]


def test_a_completed_container_that_does_not_restart_stays_terminated() -> None:
    plan = ContainerPlan(name="job", image="busybox", start=0.0, run=3.0, restarts=False)
    v = view_at(plan, 10)
    assert (v.kind, v.reason, v.exit_code, v.completed, v.next_change) == (
        "terminated",
        "Completed",
        0,
        True,
        None,
    )


def test_image_pull_errors_back_off() -> None:
    plan = ContainerPlan(name="app", image="nginx:broken", start=1.0, pull_error=True)
    # attempts at 1, 11, 31, 71, 151, 311, 611, 911; ErrImagePull for a second after each
    attempts = [1, 11, 31, 71, 151, 311, 611, 911]
    for a, b in itertools.pairwise(attempts):
        assert view_at(plan, a).reason == "ErrImagePull"
        backoff = view_at(plan, a + 1)
        assert backoff.reason == "ImagePullBackOff"
        assert backoff.message == 'Back-off pulling image "nginx:broken"'
        assert backoff.next_change == b
        assert view_at(plan, b - 0.5).reason == "ImagePullBackOff"
    assert view_at(plan, 0.5).reason == "ContainerCreating"


def probe(delay: int = 0, period: int = 0, successes: int = 0) -> Probe:
    return Probe(
        tcp_socket=TCPSocketAction(port=80),
        initial_delay_seconds=delay,
        period_seconds=period,
        success_threshold=successes,
    )


def pod(*containers: Container, init: tuple[Container, ...] = (), policy: str = "") -> Pod:
    return Pod(
        metadata=ObjectMeta(name="p", namespace="default", uid="uid-1"),
        spec=PodSpec(containers=containers, init_containers=init, restart_policy=policy),
    )


def test_readiness_after_the_initial_delay_and_success_threshold() -> None:
    app = Container(name="app", image="nginx", readiness_probe=probe(5, 3, 2))
    plan = plan_pod(pod(app), Profile.default(), seed=0)
    # running at 1; probes at 1 + 5 = 6 and 9: the second success makes it ready at 9
    assert pod_at(plan, 0, 8.99).app[0].ready is False
    assert pod_at(plan, 0, 8.99).next_change == 9.0
    assert pod_at(plan, 0, 9).app[0].ready is True
    default_period = plan_pod(
        pod(Container(name="app", image="nginx", readiness_probe=probe(successes=3))),
        Profile.default(),
        seed=0,
    )
    assert default_period.app[0].ready_after == 20.0  # periodSeconds defaults to 10


def test_init_containers_run_in_order_then_the_app() -> None:
    init = (Container(name="a", image="busybox"), Container(name="b", image="busybox"))
    plan = plan_pod(pod(Container(name="app", image="nginx"), init=init), Profile.default(), seed=0)
    expected = {
        0: ("running", "waiting", "PodInitializing", "Pending"),
        2: ("terminated", "running", "PodInitializing", "Pending"),
        4: ("terminated", "terminated", "PodInitializing", "Pending"),
        5: ("terminated", "terminated", "", "Running"),
    }
    for t, (a, b, app_reason, phase) in expected.items():
        view = pod_at(plan, 0, t)
        assert (view.init[0].kind, view.init[1].kind, view.app[0].reason, view.phase) == (
            a,
            b,
            app_reason,
            phase,
        ), t


def test_a_failing_init_container_blocks_or_fails_the_pod() -> None:
    profile = load_profile("rules: [{image: bad-init, crashLoop: {afterSeconds: 1, exitCode: 3}}]")
    init = (Container(name="a", image="bad-init"),)
    app = Container(name="app", image="nginx")
    always = pod_at(plan_pod(pod(app, init=init), profile, seed=0), 0, 100)
    assert (always.phase, always.init[0].reason, always.app[0].reason) == (
        "Pending",
        "CrashLoopBackOff",
        "PodInitializing",
    )
    never = pod_at(plan_pod(pod(app, init=init, policy="Never"), profile, seed=0), 0, 100)
    assert (never.phase, never.init[0].exit_code, never.next_change) == ("Failed", 3, None)


def test_restart_policies_decide_terminal_phases() -> None:
    profile = load_profile(
        "rules: [{image: ok, crashLoop: {afterSeconds: 2, exitCode: 0}},"
        " {image: bad, crashLoop: {afterSeconds: 2, exitCode: 1}}]"
    )
    ok, bad = Container(name="app", image="ok"), Container(name="app", image="bad")
    assert (
        pod_at(plan_pod(pod(ok, policy="OnFailure"), profile, seed=0), 0, 10).phase == "Succeeded"
    )
    assert pod_at(plan_pod(pod(bad, policy="Never"), profile, seed=0), 0, 10).phase == "Failed"
    assert pod_at(plan_pod(pod(bad, policy="OnFailure"), profile, seed=0), 0, 10).phase == "Running"
    assert pod_at(plan_pod(pod(ok), profile, seed=0), 0, 10).app[0].restart_count > 0


def test_never_ready_runs_but_is_never_ready() -> None:
    profile = load_profile("rules: [{image: 'flaky*', neverReady: true}]")
    view = pod_at(plan_pod(pod(Container(name="app", image="flaky:1")), profile, seed=0), 0, 1e6)
    assert (view.phase, view.app[0].kind, view.app[0].ready, view.next_change) == (
        "Running",
        "running",
        False,
        None,
    )


def test_stopping_within_or_past_the_grace_period() -> None:
    plan = plan_pod(pod(Container(name="app", image="nginx")), Profile.default(), seed=0)
    graceful = stopped(pod_at(plan, 0, 50), 50, killed=False)
    assert (graceful.phase, graceful.app[0].exit_code, graceful.app[0].reason) == (
        "Succeeded",
        0,
        "Completed",
    )
    killed = stopped(pod_at(plan, 0, 50), 50, killed=True)
    assert (killed.phase, killed.app[0].exit_code, killed.app[0].finished_at) == ("Failed", 137, 50)


def test_jitter_is_seeded_by_the_seed_and_pod_not_by_order() -> None:
    profile = load_profile("defaults: {jitter: 0.5, startSeconds: 10}")
    p = pod(Container(name="app", image="nginx"))
    starts = {plan_pod(p, profile, seed=s).app[0].start for s in range(20)}
    assert len(starts) > 10
    assert all(5.0 <= s <= 15.0 for s in starts)
    assert plan_pod(p, profile, seed=3) == plan_pod(p, profile, seed=3)
