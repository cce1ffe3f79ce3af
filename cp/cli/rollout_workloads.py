"""What `cpemu rollout status|history|undo|pause|resume|restart` does for a StatefulSet or a
DaemonSet, with kubectl 1.32's output lines and error messages. Ported from kubectl's
`staging/src/k8s.io/kubectl/pkg/polymorphichelpers/`: `rollout_status.go`
(`StatefulSetStatusViewer`, `DaemonSetStatusViewer`), `history.go` (`StatefulSetHistoryViewer`,
`DaemonSetHistoryViewer`, `controlledHistory`), `rollback.go` (`StatefulSetRollbacker`,
`DaemonSetRollbacker`, `findHistory`), `objectrestarter.go`, `objectpauser.go` and
`objectresumer.go`; and the commands in `pkg/cmd/rollout/` (`rollout_history.go`,
`rollout_pause.go`, `rollout_restart.go`) for how their results are printed.

The history is the ControllerRevisions the object controls (controller ownerRef uid) among
those its selector matches; a revision's `data` is the replacing strategic merge patch
`{"spec": {"template": {..., "$patch": "replace"}}}` the controllers record
(`controllers.statefulset.history`, `controllers.daemonset.history`). `rollout_actions`
dispatches here for the two kinds; the Deployment path stays there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import msgspec

from controllers.common.refmanager import controller_ref_of
from controllers.daemonset.history import revision_data as daemonset_data
from controllers.statefulset.history import revision_data as statefulset_data
from cp.api.apps import (
    ControllerRevision,
    DaemonSet,
    DaemonSetStatus,
    StatefulSet,
    StatefulSetStatus,
)
from cp.api.core_pod import PodTemplateSpec
from cp.api.errors import ApiError
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct
from cp.api.selectors import Selector
from cp.api.times import rfc3339
from cp.cli.common import Runner, ref
from cp.cli.describers import PrefixWriter
from cp.cli.describers_pod import describe_pod_template
from cp.client.inprocess import InProcessClient
from cp.client.protocol import Client
from cp.informer.shared import Handlers

if TYPE_CHECKING:
    from cp.plane import ControlPlane

__all__ = ["daemonset_status", "rollout", "statefulset_status"]

RESTARTED_AT: Final = "kubectl.kubernetes.io/restartedAt"
CHANGE_CAUSE: Final = "kubernetes.io/change-cause"
_JSON: Final = msgspec.json.Encoder(order="sorted")

Workload = StatefulSet | DaemonSet


class RolloutFailed(Exception):
    """An error kubectl reports as `error: MESSAGE` (exit 1)."""


async def rollout(run: Runner, info: KindInfo, name: str) -> None:
    """`cpemu rollout ACTION statefulset/NAME|daemonset/NAME` (`info.kind` is one of them)."""
    action = run.args.action
    try:
        if action in ("history", "pause", "resume"):  # read-only: kubectl only GETs
            async with run.read() as view:
                client = InProcessClient(view.server)
                if action == "history":
                    await _history(run, client, info, name)
                else:
                    await _not_supported(run, client, info, name)
            return
        waits = action == "status"  # it reports how the rollout went on its own
        async with run.mutate(catch_up=not waits, report=not waits) as plane:
            try:
                await _ACTION[action](run, plane, info, name)
            except ApiError as exc:
                run.server_error(exc)
            except RolloutFailed as exc:
                run.error(f"error: {exc}")
    except ApiError as exc:
        run.server_error(exc)
    except RolloutFailed as exc:
        run.error(f"error: {exc}")


def _ns(run: Runner) -> str:
    return run.namespace or "default"


async def _get(client: Client, run: Runner, info: KindInfo, name: str) -> Workload:
    got = await client.get(info.kind, name, namespace=_ns(run))
    assert isinstance(got, StatefulSet | DaemonSet)
    return got


# -- status ---------------------------------------------------------------------------------

_ONLY_ROLLING: Final = "rollout status is only available for RollingUpdate strategy type"


def statefulset_status(sts: StatefulSet) -> tuple[str, bool]:
    """`StatefulSetStatusViewer.Status`: (message with kubectl's newline, done); raises
    `RolloutFailed` for a strategy other than RollingUpdate. (A defaulted RollingUpdate has
    `partition: 0`, so kubectl's partitioned messages are the usual ones.)"""
    strategy = sts.spec.update_strategy
    if strategy is None or strategy.type != "RollingUpdate":
        raise RolloutFailed(_ONLY_ROLLING)
    status = sts.status or StatefulSetStatus(replicas=0)
    if status.observed_generation == 0 or sts.metadata.generation > status.observed_generation:
        return "Waiting for statefulset spec update to be observed...\n", False
    replicas = sts.spec.replicas
    if replicas is not None and status.ready_replicas < replicas:
        return f"Waiting for {replicas - status.ready_replicas} pods to be ready...\n", False
    rolling = strategy.rolling_update
    if rolling is not None:
        if replicas is not None and rolling.partition is not None:
            wanted = replicas - rolling.partition
            if status.updated_replicas < wanted:
                return (
                    "Waiting for partitioned roll out to finish: "
                    f"{status.updated_replicas} out of {wanted} new pods have been updated...\n",
                    False,
                )
        return (
            f"partitioned roll out complete: {status.updated_replicas} new pods have been "
            "updated...\n",
            True,
        )
    if status.update_revision != status.current_revision:
        return (
            f"waiting for statefulset rolling update to complete {status.updated_replicas} "
            f"pods at revision {status.update_revision}...\n",
            False,
        )
    return (
        f"statefulset rolling update complete {status.current_replicas} pods at revision "
        f"{status.current_revision}...\n",
        True,
    )


def daemonset_status(ds: DaemonSet) -> tuple[str, bool]:
    """`DaemonSetStatusViewer.Status` (the revision is ignored, as upstream)."""
    strategy = ds.spec.update_strategy
    if strategy is None or strategy.type != "RollingUpdate":
        raise RolloutFailed(_ONLY_ROLLING)
    status = ds.status or DaemonSetStatus(
        current_number_scheduled=0,
        number_misscheduled=0,
        desired_number_scheduled=0,
        number_ready=0,
    )
    name = ds.metadata.name
    if ds.metadata.generation <= status.observed_generation:
        prefix = f'Waiting for daemon set "{name}" rollout to finish:'
        desired = status.desired_number_scheduled
        if status.updated_number_scheduled < desired:
            return (
                f"{prefix} {status.updated_number_scheduled} out of {desired} new pods have "
                "been updated...\n",
                False,
            )
        if status.number_available < desired:
            return (
                f"{prefix} {status.number_available} of {desired} updated pods are available...\n",
                False,
            )
        return f'daemon set "{name}" successfully rolled out\n', True
    return "Waiting for daemon set spec update to be observed...\n", False


def _status_of(obj: ApiStruct) -> tuple[str, bool]:
    if isinstance(obj, StatefulSet):
        return statefulset_status(obj)
    assert isinstance(obj, DaemonSet)
    return daemonset_status(obj)


async def _status(run: Runner, plane: ControlPlane, info: KindInfo, name: str) -> None:
    """kubectl's `rollout status` (`pkg/cmd/rollout/rollout_status.go`): the status line now,
    then one for each change the watch sees while the controllers run (consecutive repeats
    left out, as the Deployment path does), until done or failed."""
    message, done = _status_of(await _get(plane.client, run, info, name))
    run.out(message)
    if done:
        return
    shown = [message]
    failure: list[RolloutFailed] = []

    def on_update(_old: ApiStruct, new: ApiStruct) -> None:
        meta = new.metadata  # type: ignore[attr-defined]
        if meta.name != name or meta.namespace != _ns(run) or failure:
            return
        try:
            text, _ = _status_of(new)
        except RolloutFailed as exc:
            failure.append(exc)
            return
        if text != shown[-1]:
            shown.append(text)
            run.out(text)

    remove = plane.informers.informer_for(info.kind).add_handler(Handlers(on_update=on_update))
    try:
        await run.settle(plane)
    finally:
        remove()
    message, done = _status_of(await _get(plane.client, run, info, name))
    if not done:
        run.error("error: timed out waiting for the condition")
    elif message != shown[-1]:
        run.out(message)


# -- history --------------------------------------------------------------------------------


async def controlled_history(client: Client, obj: Workload) -> list[ControllerRevision]:
    """`controlledHistory`: the ControllerRevisions in the object's namespace that its selector
    matches and that it controls (`metav1.IsControlledBy`: the controller ref's uid)."""
    selector = str(Selector.from_label_selector(obj.spec.selector))
    listed = await client.list(
        "ControllerRevision", obj.metadata.namespace, label_selector=selector
    )
    found: list[ControllerRevision] = []
    for item in listed.items:
        assert isinstance(item, ControllerRevision)
        owner = controller_ref_of(item.metadata)
        if owner is not None and owner.uid == obj.metadata.uid:
            found.append(item)
    return found


def _applied_template(revision: ControllerRevision, obj: Workload) -> PodTemplateSpec:
    """The template after the revision's patch (`applyStatefulSetHistory`,
    `applyDaemonSetHistory`): the patch replaces `spec.template` whole."""
    data = revision.data or {}
    spec = data.get("spec")
    raw = spec.get("template") if isinstance(spec, Mapping) else None
    if not isinstance(raw, Mapping):
        return obj.spec.template
    body = {k: v for k, v in msgspec.to_builtins(raw).items() if k != "$patch"}
    return msgspec.convert(body, PodTemplateSpec)


def _print_template(template: PodTemplateSpec) -> str:
    """`printTemplate`: `DescribePodTemplate` through a bare prefix writer (raw tabs)."""
    w = PrefixWriter()
    describe_pod_template(w, template)
    return w.raw()


async def _history(run: Runner, client: Client, info: KindInfo, name: str) -> None:
    """`StatefulSetHistoryViewer` (`REVISION` only) / `DaemonSetHistoryViewer` (`REVISION
    CHANGE-CAUSE`, from the revision's annotations), printed as `rollout_history.go` does: the
    name printer with the operation `\\n<history>` or `with revision #N\\n<template>`."""
    obj = await _get(client, run, info, name)
    by_number: dict[int, ControllerRevision] = {}
    for revision in await controlled_history(client, obj):
        by_number[revision.revision] = revision  # upstream: overlapping numbers, last wins
    target = ref(info, name)
    if not by_number:
        run.out(f"{target} \nNo rollout history found.\n")
        return
    wanted = run.args.revision
    if wanted:
        if wanted not in by_number:
            raise RolloutFailed("unable to find the specified revision")
        template = _print_template(_applied_template(by_number[wanted], obj))
        run.out(f"{target} with revision #{wanted}\n{template}\n")
        return
    numbers = sorted(by_number)
    if isinstance(obj, StatefulSet):
        table = "REVISION\n" + "".join(f"{n}\n" for n in numbers)
    else:
        rows = [("REVISION", "CHANGE-CAUSE")]
        rows += [
            (str(n), by_number[n].metadata.annotations.get(CHANGE_CAUSE) or "<none>")
            for n in numbers
        ]
        width = max(len(n) for n, _ in rows) + 2  # tabwriter: padding 2
        table = "".join(f"{n.ljust(width)}{cause}\n" for n, cause in rows)
    run.out(f"{target} \n{table}\n")


# -- undo -----------------------------------------------------------------------------------


def _revision_not_found(number: int) -> RolloutFailed:
    return RolloutFailed(f"unable to find specified revision {number} in history")


def _find_history(to_revision: int, history: list[ControllerRevision]) -> ControllerRevision | None:
    """`findHistory`: the revision numbered `to_revision`, or for 0 the second highest."""
    if to_revision == 0:
        if len(history) <= 1:
            return None
        return sorted(history, key=lambda r: r.revision)[-2]
    return next((r for r in history if r.revision == to_revision), None)


def _current_data(obj: Workload) -> dict[str, Any]:
    """`getStatefulSetPatch` / `getDaemonSetPatch`: the object's template as the patch its
    controller records (compared as sorted JSON where upstream compares bytes)."""
    if isinstance(obj, StatefulSet):
        return statefulset_data(obj)
    return daemonset_data(obj)


async def _undo(run: Runner, plane: ControlPlane, info: KindInfo, name: str) -> None:
    """`StatefulSetRollbacker.Rollback` / `DaemonSetRollbacker.Rollback`: patch the object with
    the wanted revision's data (a strategic merge patch replacing the template)."""
    to_revision = run.args.to_revision
    if to_revision < 0:
        raise _revision_not_found(to_revision)
    obj = await _get(plane.client, run, info, name)
    history = await controlled_history(plane.client, obj)
    if to_revision == 0 and len(history) <= 1:
        raise RolloutFailed("no last revision to roll back to")
    target = _find_history(to_revision, history)
    if target is None:
        raise _revision_not_found(to_revision)
    data = msgspec.to_builtins(target.data or {})
    if _JSON.encode(_current_data(obj)) == _JSON.encode(data):
        skipped = f"skipped rollback (current template already matches revision {to_revision})"
        run.out(f"{ref(info, name)} {skipped}\n")
        return
    try:
        await plane.client.patch(info.kind, name, data, patch_type="strategic", namespace=_ns(run))
    except ApiError as exc:
        raise RolloutFailed(f"failed restoring revision {to_revision}: {exc.message}") from exc
    run.out(f"{ref(info, name)} rolled back\n")


# -- restart, pause, resume -----------------------------------------------------------------


async def _restart(run: Runner, plane: ControlPlane, info: KindInfo, name: str) -> None:
    """`defaultObjectRestarter` (both kinds): the template's `restartedAt` annotation set to
    now (RFC 3339, whole seconds); the same second twice makes an empty patch, which
    `rollout_restart.go` refuses."""
    obj = await _get(plane.client, run, info, name)
    stamp = rfc3339(plane.clock.now())
    if obj.spec.template.metadata.annotations.get(RESTARTED_AT) == stamp:
        raise RolloutFailed(
            f"failed to create patch for {name}: if restart has already been triggered within "
            "the past second, please wait before attempting to trigger another"
        )
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    await plane.client.patch(info.kind, name, body, patch_type="strategic", namespace=_ns(run))
    run.out(f"{ref(info, name)} restarted\n")


async def _not_supported(run: Runner, client: Client, info: KindInfo, name: str) -> None:
    """`defaultObjectPauser` / `defaultObjectResumer` support Deployments only; kubectl GETs
    the object first (`Error from server (NotFound)` if missing), then `rollout_pause.go`
    reports `error: <resource>.<group> "NAME" pausing is not supported`."""
    await _get(client, run, info, name)
    verb = "pausing" if run.args.action == "pause" else "resuming"
    run.error(f'error: {info.plural}.{info.group} "{name}" {verb} is not supported')


_ACTION = {
    "status": _status,
    "undo": _undo,
    "restart": _restart,
}
