"""What `cpemu rollout status|history|undo|pause|resume|restart deployment/NAME` does, with
kubectl's output lines and error messages (`controllers.deployment`'s rollout helpers);
StatefulSets and DaemonSets are handed to `cp.cli.rollout_workloads`. The parser is
`cp.cli.rollout`, which loads this module (and the controllers) only when it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec.structs import replace

from controllers.deployment import RolloutError, format_history, history, rollout_status, undo
from cp.api.apps import Deployment, ReplicaSet
from cp.api.errors import ApiError
from cp.api.meta import ApiStruct
from cp.api.times import rfc3339
from cp.cli.common import CliError, Runner, split_target
from cp.cli.describers import PrefixWriter
from cp.cli.describers_pod import describe_pod_template
from cp.cli.replay import history_all
from cp.client.inprocess import InProcessClient
from cp.client.protocol import Client
from cp.informer.shared import Handlers

if TYPE_CHECKING:
    from cp.plane import ControlPlane

__all__ = ["rollout"]

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
CHANGE_CAUSE = "kubernetes.io/change-cause"


async def rollout(run: Runner) -> None:
    if run.args.action == "history" and run.args.all:
        await history_all(run)
        return
    info, name = split_target(run.args.target, f"rollout {run.args.action}")
    if info.kind in ("StatefulSet", "DaemonSet"):
        from cp.cli import rollout_workloads

        await rollout_workloads.rollout(run, info, name)
        return
    if info.kind != "Deployment":
        raise CliError(
            f'no {run.args.action} for kind "{info.kind}" '
            "(only deployments, statefulsets and daemonsets)"
        )
    if run.args.action == "history":
        async with run.read() as view:
            try:
                await _history(run, InProcessClient(view.server), name)
            except ApiError as exc:
                run.server_error(exc)
        return
    waits = run.args.action == "status"  # it reports how the rollout went on its own
    async with run.mutate(catch_up=not waits, report=not waits) as plane:
        try:
            await _ACTION[run.args.action](run, plane, name)
        except RolloutError as exc:
            run.error(f"error: {exc}")
        except ApiError as exc:
            run.server_error(exc)


def _ns(run: Runner) -> str:
    return run.namespace or "default"


async def _get(plane: ControlPlane, run: Runner, name: str) -> Deployment:
    got = await plane.client.get("Deployment", name, namespace=_ns(run))
    assert isinstance(got, Deployment)
    return got


async def _status(run: Runner, plane: ControlPlane, name: str) -> None:
    """kubectl's `rollout status`: the status line now, then one for each change the watch
    sees while the controllers run (consecutive repeats left out), until done or failed."""
    message, done = rollout_status(await _get(plane, run, name), run.args.revision)
    run.out(message)
    if done:
        return
    shown = [message]
    failure: list[RolloutError] = []

    def on_update(_old: ApiStruct, new: ApiStruct) -> None:
        meta = new.metadata  # type: ignore[attr-defined]
        if meta.name != name or meta.namespace != _ns(run) or failure:
            return
        assert isinstance(new, Deployment)
        try:
            text, _ = rollout_status(new, run.args.revision)
        except RolloutError as exc:
            failure.append(exc)
            return
        if text != shown[-1]:
            shown.append(text)
            run.out(text)

    remove = plane.informers.informer_for("Deployment").add_handler(Handlers(on_update=on_update))
    try:
        await run.settle(plane)
    finally:
        remove()
    message, done = rollout_status(await _get(plane, run, name), run.args.revision)
    if not done:
        run.error("error: timed out waiting for the condition")
    elif message != shown[-1]:
        run.out(message)


async def _history(run: Runner, client: Client, name: str) -> None:
    entries = await history(client, name, _ns(run))
    revision = run.args.revision
    if not revision:
        run.out(format_history(name, entries))
        return
    if revision not in entries:
        run.error("error: unable to find the specified revision")
        return
    run.out(f"deployment.apps/{name} with revision #{revision}\n{_template(*entries[revision])}\n")


def _template(rs: ReplicaSet, change_cause: str) -> str:
    """kubectl's `printTemplate` (`polymorphichelpers/history.go`): `DescribePodTemplate` of the
    revision's template, the change-cause among its annotations, through a bare prefix writer
    (tabs left as they are, no tabwriter)."""
    template = rs.spec.template
    if change_cause:
        annotations = {**template.metadata.annotations, CHANGE_CAUSE: change_cause}
        template = replace(template, metadata=replace(template.metadata, annotations=annotations))
    w = PrefixWriter()
    describe_pod_template(w, template)
    return w.raw()


async def _undo(run: Runner, plane: ControlPlane, name: str) -> None:
    _, message = await undo(plane.client, name, _ns(run), to_revision=run.args.to_revision)
    run.out(message + "\n")


async def _set_paused(run: Runner, plane: ControlPlane, name: str, paused: bool) -> None:
    d = await _get(plane, run, name)
    if d.spec.paused == paused:
        state = "already paused" if paused else "not paused"
        run.error(f'error: deployments.apps "{name}" is {state}')
        return
    body = {"spec": {"paused": paused}}
    await plane.client.patch("Deployment", name, body, patch_type="merge", namespace=_ns(run))
    run.out(f"deployment.apps/{name} {'paused' if paused else 'resumed'}\n")


async def _pause(run: Runner, plane: ControlPlane, name: str) -> None:
    await _set_paused(run, plane, name, True)


async def _resume(run: Runner, plane: ControlPlane, name: str) -> None:
    await _set_paused(run, plane, name, False)


async def _restart(run: Runner, plane: ControlPlane, name: str) -> None:
    d = await _get(plane, run, name)
    if d.spec.paused:
        run.error(
            f'error: deployments.apps "{name}" can\'t restart paused deployment '
            "(run rollout resume first)"
        )
        return
    stamp = rfc3339(plane.clock.now())
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    await plane.client.patch("Deployment", name, body, patch_type="strategic", namespace=_ns(run))
    run.out(f"deployment.apps/{name} restarted\n")


_ACTION = {
    "status": _status,
    "undo": _undo,
    "pause": _pause,
    "resume": _resume,
    "restart": _restart,
}
