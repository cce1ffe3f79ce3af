"""The controller worker loop and the Manager, on the virtual clock (no real sleeps)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import structlog
from structlog.testing import capture_logs

from cp.runtime import (
    Activity,
    Controller,
    ControllerError,
    Manager,
    ManagerError,
    Request,
    Result,
    SeededIds,
    TerminalError,
    VirtualClock,
    configure_logging,
    current_actor,
    current_cause,
)
from cp.runtime.logging import RECONCILE_ERROR, RECONCILE_TERMINAL_ERROR
from cp.workqueue import WorkQueue

pytestmark = pytest.mark.anyio

WEB = Request("default", "web")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def turns(n: int) -> None:
    for _ in range(n):
        await anyio.lowlevel.checkpoint()


class Plant:
    """An activity counter, a virtual clock and a queue, as a control plane wires them."""

    def __init__(self) -> None:
        self.activity = Activity()
        self.clock = VirtualClock(self.activity)

    def controller(self, name: str, reconciler: Any, *, workers: int = 1) -> Controller:
        queue: WorkQueue[Request] = WorkQueue(clock=self.clock, activity=self.activity, name=name)
        return Controller(
            name, reconciler, queue, clock=self.clock, ids=SeededIds(0), workers=workers
        )


class Scripted:
    """Records when and with what context each reconcile ran; replays a script of outcomes."""

    def __init__(self, clock: VirtualClock, script: list[Result | Exception]) -> None:
        self.clock = clock
        self.script = script
        self.times: list[float] = []
        self.causes: list[int] = []
        self.actors: list[str] = []
        self.bound: list[dict[str, Any]] = []

    async def reconcile(self, req: Request) -> Result:
        self.times.append(self.clock.now())
        self.causes.append(current_cause())
        self.actors.append(current_actor())
        self.bound.append(structlog.contextvars.get_contextvars())
        outcome = self.script.pop(0) if self.script else Result()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


# -- retry policy -----------------------------------------------------------------------------


async def test_failures_are_retried_with_growing_backoff_in_virtual_time() -> None:
    plant = Plant()
    rec = Scripted(plant.clock, [RuntimeError("boom"), RuntimeError("boom again")])
    ctrl = plant.controller("flaky", rec, workers=3)
    with capture_logs() as logs:
        async with ctrl:
            ctrl.enqueue(WEB, cause=11)
            report = await plant.clock.run_until_idle()
    assert rec.times == [0.0, pytest.approx(0.005), pytest.approx(0.015)]
    assert rec.causes == [11, 11, 11]  # the trigger is kept across retries
    assert report.converged
    assert ctrl.queue.num_requeues(WEB) == 0  # forgotten after the success
    errors = [e for e in logs if e["event"] == RECONCILE_ERROR]
    assert [e["requeues"] for e in errors] == [1, 2]
    assert all("boom" in e["error"] for e in errors)


async def test_requeue_after_runs_again_exactly_then() -> None:
    plant = Plant()
    rec = Scripted(plant.clock, [Result(requeue_after=3600.0)])
    ctrl = plant.controller("periodic", rec)
    async with ctrl:
        ctrl.enqueue(WEB, cause=3)
        report = await plant.clock.advance(3599.0)
        assert rec.times == [0.0]
        assert report.next_timer == 3600.0
        report = await plant.clock.run_until_idle()
    assert rec.times == [0.0, 3600.0]
    assert rec.causes == [3, 3]
    assert report.converged
    assert plant.clock.now() == 3600.0


async def test_requeue_after_resets_backoff() -> None:
    plant = Plant()
    rec = Scripted(plant.clock, [RuntimeError("x"), Result(requeue_after=1.0), RuntimeError("y")])
    ctrl = plant.controller("reset", rec)
    async with ctrl:
        ctrl.enqueue(WEB)
        await plant.clock.run_until_idle()
    # 0 fails -> +5 ms; requeue 1 s; fails -> +5 ms again (not 10 ms): forget reset it.
    assert rec.times == pytest.approx([0.0, 0.005, 1.005, 1.010])


async def test_terminal_error_stops_retrying() -> None:
    plant = Plant()
    rec = Scripted(plant.clock, [TerminalError("cannot ever work")] * 5)
    ctrl = plant.controller("terminal", rec)
    with capture_logs() as logs:
        async with ctrl:
            ctrl.enqueue(WEB)
            report = await plant.clock.run_until_idle()
            assert len(rec.times) == 1
            assert report.converged
            assert plant.clock.pending == 0
            assert ctrl.queue.num_requeues(WEB) == 0
            # a new event for the key reconciles it again
            ctrl.enqueue(WEB, cause=8)
            await plant.clock.run_until_idle()
    assert len(rec.times) == 2
    assert rec.causes == [0, 8]
    assert [e["event"] for e in logs if "error" in e] == [RECONCILE_TERMINAL_ERROR] * 2


# -- exclusivity ------------------------------------------------------------------------------


class Slow:
    """Takes many loop turns per reconcile, re-enqueues its own key, tracks concurrency."""

    def __init__(self) -> None:
        self.ctrl: Controller | None = None
        self.active: Counter[Request] = Counter()
        self.runs: Counter[Request] = Counter()
        self.max_same_key = 0
        self.max_total = 0

    async def reconcile(self, req: Request) -> Result:
        self.active[req] += 1
        self.runs[req] += 1
        self.max_same_key = max(self.max_same_key, self.active[req])
        self.max_total = max(self.max_total, sum(self.active.values()))
        try:
            if self.runs[req] < 4 and self.ctrl is not None:
                self.ctrl.enqueue(req, cause=self.runs[req])  # re-add while processing
            await turns(25)
        finally:
            self.active[req] -= 1
        return Result()


async def test_never_two_workers_on_one_key() -> None:
    plant = Plant()
    rec = Slow()
    ctrl = plant.controller("slow", rec, workers=10)
    rec.ctrl = ctrl
    keys = [Request("default", f"k{i}") for i in range(4)]
    async with ctrl:
        for round_ in range(30):
            for key in keys:
                ctrl.enqueue(key, cause=round_)
            await turns(3)
        await plant.clock.run_until_idle()
        assert ctrl.queue.processing == 0
        assert len(ctrl.queue) == 0
    assert rec.max_same_key == 1
    assert rec.max_total > 1  # the workers did run concurrently, on different keys
    assert all(rec.runs[key] >= 4 for key in keys)
    assert plant.activity.idle


# -- context ----------------------------------------------------------------------------------


async def test_context_is_visible_inside_reconcile_and_reset_after() -> None:
    plant = Plant()
    rec = Scripted(plant.clock, [])
    ctrl = plant.controller("deployment", rec, workers=2)
    async with ctrl:
        ctrl.enqueue(WEB, cause=5)
        ctrl.enqueue(WEB, cause=9)  # collapses with the first; the highest cause wins
        ctrl.enqueue(WEB, cause=3)
        assert ctrl.pending_cause(WEB) == 9
        await plant.clock.run_until_idle()
        ctrl.queue.add(Request("", "cluster-scoped"))  # no cause
        await plant.clock.run_until_idle()
    assert rec.causes == [9, 0]
    assert rec.actors == ["controller/deployment"] * 2
    expected_id = SeededIds(0).reconcile_id()
    assert rec.bound[0] == {
        "controller": "deployment",
        "key": "default/web",
        "cause": 9,
        "reconcile_id": expected_id,
    }
    assert rec.bound[1]["key"] == "cluster-scoped"
    assert rec.bound[1]["reconcile_id"] != expected_id
    assert current_cause() == 0
    assert current_actor() == "user"
    assert structlog.contextvars.get_contextvars() == {}
    assert ctrl.pending_cause(WEB) == 0


async def test_reconcile_ids_are_deterministic_per_seed() -> None:
    async def ids_of_one_run() -> list[str]:
        plant = Plant()
        rec = Scripted(plant.clock, [RuntimeError("a"), Result()])
        ctrl = plant.controller("det", rec)
        async with ctrl:
            ctrl.enqueue(WEB)
            await plant.clock.run_until_idle()
        return [b["reconcile_id"] for b in rec.bound]

    first, second = await ids_of_one_run(), await ids_of_one_run()
    assert first == second
    assert len(set(first)) == 2


def test_controller_rejects_bad_worker_count() -> None:
    plant = Plant()
    with pytest.raises(ControllerError, match="workers"):
        plant.controller("bad", Scripted(plant.clock, []), workers=0)


# -- manager ----------------------------------------------------------------------------------


class Gated:
    """Blocks inside reconcile until `gate` is set, to prove shutdown drains."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.gate = anyio.Event()
        self.finished = 0

    async def reconcile(self, req: Request) -> Result:
        self.started.set()
        await self.gate.wait()
        self.finished += 1
        return Result()


async def test_manager_runs_controllers_and_drains_on_exit() -> None:
    plant = Plant()
    a_rec, b_rec = Scripted(plant.clock, []), Gated()
    a = plant.controller("a", a_rec, workers=2)
    b = plant.controller("b", b_rec, workers=2)
    manager = Manager()
    manager.add(a)
    manager.add(b)
    with pytest.raises(ManagerError, match="already added"):
        manager.add(plant.controller("a", a_rec))

    async def open_gate_later() -> None:
        await turns(20)
        assert b.queue.shutting_down  # exit has begun and is waiting for the drain
        b_rec.gate.set()

    async with anyio.create_task_group() as tg:
        async with manager:
            assert manager.running
            a.enqueue(WEB, cause=1)
            await plant.clock.run_until_idle()
            assert a_rec.causes == [1]
            b.enqueue(WEB, cause=2)
            b.enqueue(Request("default", "other"))  # queued behind nothing; may start too
            await b_rec.started.wait()
            tg.start_soon(open_gate_later)
        assert not manager.running
        assert b_rec.finished >= 1  # the reconcile in flight finished: it was not cancelled
    for ctrl in (a, b):
        assert ctrl.queue.shutting_down
        assert ctrl.queue.processing == 0
        assert len(ctrl.queue) == 0
    assert plant.activity.idle
    ctrl_enqueued_after_stop = a.queue.processing
    a.enqueue(WEB, cause=3)  # ignored once shut down
    assert len(a.queue) == ctrl_enqueued_after_stop == 0


async def test_manager_starts_a_controller_added_while_running() -> None:
    plant = Plant()
    rec = Scripted(plant.clock, [])
    late = plant.controller("late", rec)
    async with Manager() as manager:
        manager.add(late)
        late.enqueue(WEB, cause=4)
        await plant.clock.run_until_idle()
    assert rec.causes == [4]
    assert late.queue.shutting_down


async def test_manager_with_no_controllers_and_double_enter() -> None:
    manager = Manager()
    async with manager:
        with pytest.raises(ManagerError, match="already running"):
            await manager.__aenter__()
    assert manager.controllers == ()


async def test_body_error_cancels_and_propagates() -> None:
    plant = Plant()
    rec = Gated()
    ctrl = plant.controller("err", rec)
    # anyio task groups report errors as an ExceptionGroup, the body's own included
    with pytest.RaisesGroup(pytest.RaisesExc(RuntimeError, match="body failed")):
        async with Manager() as manager:
            manager.add(ctrl)
            ctrl.enqueue(WEB)
            await rec.started.wait()
            raise RuntimeError("body failed")
    assert rec.finished == 0  # cancelled, not drained: the body failed
    assert ctrl.queue.processing == 0
    assert plant.activity.idle


# -- logging setup ----------------------------------------------------------------------------


def test_configure_logging_json_puts_fixed_keys_first(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging("info", json=True)
        with structlog.contextvars.bound_contextvars(reconcile_id="r1", key="ns/a", controller="c"):
            structlog.get_logger().debug("hidden")
            structlog.get_logger().info(RECONCILE_ERROR, extra=1, duration_ms=2.0, cause=7)
        with pytest.raises(ValueError, match="unknown log level"):
            configure_logging("loud")
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr()
    assert out.out == ""  # logs go to stderr
    (line,) = out.err.splitlines()
    assert json.loads(line) == {
        "event": "reconcile_error",
        "level": "info",
        "controller": "c",
        "key": "ns/a",
        "cause": 7,
        "reconcile_id": "r1",
        "duration_ms": 2.0,
        "extra": 1,
    }
    assert list(json.loads(line))[:7] == [
        "event",
        "level",
        "controller",
        "key",
        "cause",
        "reconcile_id",
        "duration_ms",
    ]


async def test_a_retry_after_a_newer_reconcile_keeps_a_cause() -> None:
    """A backoff retry that fires after a newer reconcile consumed the remembered cause still
    runs with a cause (the last one seen), so its writes are attributed."""
    activity = Activity()
    clock = VirtualClock(activity)
    queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity)
    causes: list[int] = []
    controller: Controller

    class FailsOnce:
        async def reconcile(self, req: Request) -> Result:
            causes.append(current_cause())
            if len(causes) == 1:
                controller.enqueue(req, cause=2)
                raise RuntimeError("conflict")
            return Result()

    controller = Controller("x", FailsOnce(), queue, clock=clock, ids=SeededIds(0))
    async with Manager() as manager:
        manager.add(controller)
        controller.enqueue(Request("default", "a"), cause=1)
        await clock.run_until_idle()
    assert causes == [1, 2, 2]


async def test_an_unconfigured_controller_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Library code never prints: until a composition root configures structlog, the
    controller's events (start, errors, stop) are dropped rather than written to stdout."""
    structlog.reset_defaults()
    assert not structlog.is_configured()
    plant = Plant()
    rec = Scripted(plant.clock, [RuntimeError("boom")])
    ctrl = plant.controller("quiet", rec)
    async with ctrl:
        ctrl.enqueue(WEB, cause=1)
        await plant.clock.run_until_idle()
    assert len(rec.times) == 2  # it failed once (an error event) and was retried
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
