"""What one DaemonSet sync decides and writes: `manage`, `rollingUpdate`, `syncNodes`, status.

Follows upstream `pkg/controller/daemon/daemon_controller.go` (`getNodesToDaemonPods`,
`podsShouldBeOnNode`, `manage`, `syncNodes`, `updateDaemonSetStatus`, `storeDaemonSetStatus`,
`failedPodsBackoff`) and `update.go` (`rollingUpdate`, `findUpdatedPodsOnNode`,
`updatedDesiredNodeCounts`).

Per node (`pods_should_be_on_node`), with (should run, should continue running) from
`node_should_run_daemon_pod`:

- should run and no pod there -> the node needs a daemon pod;
- should continue running -> Failed pods are deleted (at most once per backoff step, 1 s
  doubling to 15 min, with a Warning `FailedDaemonPod`), Succeeded pods deleted; of the others,
  without surge all but the oldest are deleted; with surge, the oldest updated and the oldest
  old pod may coexist while the updated one is not ready (and the old one is), others go;
- otherwise every (not deleting) pod there is deleted.

Pods bound to a node that no longer exists are deleted too (upstream deletes only unbound
ones and leaves the bound ones to the pod garbage collector, which the emulator lacks).

`sync_nodes` creates the pods (`generateName: <ds>-`, pinned by `spec.nodeName`) in slow-start
batches of 1, 2, 4 ... and deletes the chosen ones, at most `burst` of each per sync, after
setting the expectations (creates counted, deletes tracked per pod key). Events: Normal
`SuccessfulCreate` "Created pod: <name>", Warning `FailedCreate` "Error creating: <err>",
Normal `SuccessfulDelete` "Deleted pod: <name>", Warning `FailedDelete` "Error deleting: <err>".

Rolling update without surge (worked example, 3 nodes, maxUnavailable 1, all old pods
available): node-1's old pod is deleted; the next syncs see node-1 with a terminating old pod
(counted unavailable), so nothing else is deleted; once it is gone the manage loop creates the
new pod, and once that one is available node-2's old pod is deleted, and so on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

import anyio
from msgspec.structs import replace

from controllers.common.expectations import UIDTrackingExpectations
from controllers.common.pods import (
    POD_FAILED,
    POD_SUCCEEDED,
    is_pod_available,
    is_pod_ready,
)
from controllers.daemonset.util import (
    HASH_LABEL,
    allows_surge,
    is_pod_updated,
    max_surge_unavailable,
    node_should_run_daemon_pod,
    oldest_first,
    pod_for_node,
    template_generation,
)
from cp.api.apps import DaemonSet, DaemonSetStatus
from cp.api.core import Node
from cp.api.core_pod import Pod
from cp.api.errors import Conflict, NotFound
from cp.api.meta import ApiStruct
from cp.client import Client
from cp.informer import key_of
from cp.runtime import Clock

__all__ = [
    "BURST_REPLICAS",
    "EventSink",
    "FailedPodsBackoff",
    "NodePlan",
    "SyncDeps",
    "calculate_status",
    "manage",
    "nodes_to_daemon_pods",
    "pods_should_be_on_node",
    "rolling_update",
    "store_status",
    "sync_nodes",
]

#: upstream `BurstReplicas`.
BURST_REPLICAS: Final = 250
STATUS_UPDATE_RETRIES: Final = 1
BACKOFF_INITIAL: Final = 1.0
BACKOFF_MAX: Final = 15 * 60.0


class EventSink(Protocol):
    """What the controller records events with (`cp.client.events.EventRecorder`)."""

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> object: ...


class FailedPodsBackoff:
    """`flowcontrol.Backoff` keyed by (DaemonSet, node): 1 s doubling to 15 min; an entry idle
    for twice the maximum starts over."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (delay, last update)

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry[0] if entry is not None else 0.0

    def _live(self, key: str, now: float) -> tuple[float, float] | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] > 2 * BACKOFF_MAX:
            return None
        return entry

    def in_backoff(self, key: str, now: float) -> bool:
        """`IsInBackOffSinceUpdate`."""
        entry = self._live(key, now)
        return entry is not None and now - entry[1] < entry[0]

    def next(self, key: str, now: float) -> None:
        entry = self._live(key, now)
        delay = BACKOFF_INITIAL if entry is None else min(entry[0] * 2, BACKOFF_MAX)
        self._entries[key] = (delay, now)

    def drop_prefix(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]


@dataclass(slots=True)
class SyncDeps:
    """What a sync writes with."""

    client: Client
    expectations: UIDTrackingExpectations
    recorder: EventSink
    clock: Clock
    burst: int = BURST_REPLICAS
    backoff: FailedPodsBackoff = field(default_factory=FailedPodsBackoff)


@dataclass(slots=True)
class NodePlan:
    """What `manage` decided: nodes needing a pod, pods to delete, a requeue delay."""

    create_on: list[str] = field(default_factory=list)
    delete: list[Pod] = field(default_factory=list)
    requeue_after: float | None = None


def nodes_to_daemon_pods(pods: Sequence[Pod]) -> dict[str, list[Pod]]:
    """`getNodesToDaemonPods(includeDeletedTerminal=false)`: pods by `spec.nodeName`
    (unbound ones under ""), leaving out terminal pods that are being deleted."""
    by_node: dict[str, list[Pod]] = {}
    for pod in pods:
        phase = pod.status.phase if pod.status is not None else ""
        if pod.metadata.deletion_timestamp is not None and phase in (POD_FAILED, POD_SUCCEEDED):
            continue
        by_node.setdefault(pod.spec.node_name, []).append(pod)
    return by_node


def _phase(pod: Pod) -> str:
    return pod.status.phase if pod.status is not None else ""


def pods_should_be_on_node(
    deps: SyncDeps,
    ds: DaemonSet,
    node: Node,
    node_pods: Mapping[str, list[Pod]],
    hash_: str,
    plan: NodePlan,
    failed: list[tuple[Pod, str]],
) -> None:
    """`podsShouldBeOnNode` (see the module doc), adding to `plan`; the Failed pods it deletes
    are appended to `failed` with their node (the caller records the events)."""
    name = node.metadata.name
    should_run, should_continue = node_should_run_daemon_pod(node, ds)
    daemon_pods = node_pods.get(name)
    if should_run and daemon_pods is None:
        plan.create_on.append(name)
        return
    if should_continue:
        running: list[Pod] = []
        for pod in daemon_pods or ():
            if pod.metadata.deletion_timestamp is not None:
                continue
            phase = _phase(pod)
            if phase == POD_FAILED:
                backoff_key = f"{ds.metadata.uid}/{name}"
                now = deps.clock.now()
                if deps.backoff.in_backoff(backoff_key, now):
                    delay = deps.backoff.get(backoff_key)
                    if plan.requeue_after is None or delay < plan.requeue_after:
                        plan.requeue_after = delay
                    continue
                deps.backoff.next(backoff_key, now)
                failed.append((pod, name))
                plan.delete.append(pod)
            elif phase == POD_SUCCEEDED:
                plan.delete.append(pod)
            else:
                running.append(pod)
        if not allows_surge(ds):
            plan.delete.extend(oldest_first(running)[1:])
            return
        if len(running) <= 1:
            if not running and should_run:
                plan.create_on.append(name)
            return
        oldest_new: Pod | None = None
        oldest_old: Pod | None = None
        for pod in oldest_first(running):
            if pod.metadata.labels.get(HASH_LABEL) == hash_:
                if oldest_new is None:
                    oldest_new = pod
                    continue
            elif oldest_old is None:
                oldest_old = pod
                continue
            plan.delete.append(pod)
        if (
            oldest_new is not None
            and oldest_old is not None
            and (not is_pod_ready(oldest_old) or is_pod_ready(oldest_new))
        ):
            plan.delete.append(oldest_old)
        return
    for pod in daemon_pods or ():
        if pod.metadata.deletion_timestamp is None:
            plan.delete.append(pod)


def manage(
    deps: SyncDeps,
    ds: DaemonSet,
    nodes: Sequence[Node],
    pods: Sequence[Pod],
    hash_: str,
    failed: list[tuple[Pod, str]],
) -> NodePlan:
    """`manage`'s decisions: `pods_should_be_on_node` for every node, then the (not deleting)
    pods on nodes that do not exist."""
    node_pods = nodes_to_daemon_pods(pods)
    plan = NodePlan()
    for node in nodes:
        pods_should_be_on_node(deps, ds, node, node_pods, hash_, plan, failed)
    known = {node.metadata.name for node in nodes}
    for node_name in sorted(node_pods):
        if node_name not in known:
            plan.delete.extend(
                pod for pod in node_pods[node_name] if pod.metadata.deletion_timestamp is None
            )
    return plan


def _find_updated_pods_on_node(
    pods: Sequence[Pod], hash_: str, generation: int | None
) -> tuple[Pod | None, Pod | None, bool]:
    """`findUpdatedPodsOnNode`: (the updated pod, the old pod, ok); not ok when there are two
    of either kind (the manage loop cleans it up first). Deleting pods are skipped."""
    new: Pod | None = None
    old: Pod | None = None
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        if is_pod_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update(
    ds: DaemonSet, nodes: Sequence[Node], pods: Sequence[Pod], hash_: str, now: float
) -> tuple[list[Pod], list[str]]:
    """`rollingUpdate`: (old pods to delete, nodes to create an updated pod on). Nodes are
    visited in name order (upstream walks a Go map)."""
    node_pods = nodes_to_daemon_pods(pods)
    desired = 0
    for node in nodes:
        if node_should_run_daemon_pod(node, ds)[0]:
            desired += 1
            node_pods.setdefault(node.metadata.name, [])
    max_surge, max_unavailable = max_surge_unavailable(ds, desired)
    generation = template_generation(ds)
    min_ready = ds.spec.min_ready_seconds
    if max_surge == 0:
        unavailable = 0
        replace_now: list[Pod] = []
        candidates: list[Pod] = []
        for name in sorted(node_pods):
            new, old, ok = _find_updated_pods_on_node(node_pods[name], hash_, generation)
            if not ok or (new is None) == (old is None):
                unavailable += 1
            elif new is not None:
                if not is_pod_available(new, min_ready, now):
                    unavailable += 1
            elif old is not None:
                if not is_pod_available(old, min_ready, now):
                    replace_now.append(old)
                elif unavailable < max_unavailable:
                    candidates.append(old)
        room = min(max(max_unavailable - unavailable, 0), len(candidates))
        return replace_now + candidates[:room], []
    surge = 0
    allowed: list[str] = []
    candidate_nodes: list[str] = []
    to_delete: list[Pod] = []
    for name in sorted(node_pods):
        new, old, ok = _find_updated_pods_on_node(node_pods[name], hash_, generation)
        if not ok or old is None:
            continue
        if new is None:
            if not is_pod_available(old, min_ready, now):
                allowed.append(name)
            elif surge < max_surge:
                candidate_nodes.append(name)
        elif not is_pod_available(new, min_ready, now):
            surge += 1
        else:
            to_delete.append(old)
    room = min(max(max_surge - surge, 0), len(candidate_nodes))
    return to_delete, allowed + candidate_nodes[:room]


async def _run_all(calls: Sequence[Callable[[], Awaitable[None]]]) -> list[Exception]:
    """Run `calls` concurrently; their errors, in call order."""
    errors: list[Exception | None] = [None] * len(calls)

    async def run(index: int) -> None:
        try:
            await calls[index]()
        except Exception as err:  # reported to the caller
            errors[index] = err

    if len(calls) == 1:
        await run(0)
    elif calls:
        async with anyio.create_task_group() as tg:
            for index in range(len(calls)):
                tg.start_soon(run, index)
    return [err for err in errors if err is not None]


async def sync_nodes(
    deps: SyncDeps, ds: DaemonSet, delete: Sequence[Pod], create_on: Sequence[str], hash_: str
) -> None:
    """`syncNodes` (see the module doc); raises the first write error (NotFound deletes are
    not errors)."""
    key = key_of(ds.metadata.namespace, ds.metadata.name)
    create_on = list(create_on[: deps.burst])
    delete = list(delete[: deps.burst])
    deps.expectations.expect_deletions(
        key, [key_of(p.metadata.namespace, p.metadata.name) for p in delete]
    )
    deps.expectations.counts.raise_expectations(key, len(create_on), 0)
    errors: list[Exception] = []

    def creator(node_name: str) -> Callable[[], Awaitable[None]]:
        async def create() -> None:
            try:
                pod = await deps.client.create(pod_for_node(ds, node_name, hash_))
            except Exception as err:
                deps.expectations.creation_observed(key)
                await deps.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {err}")
                raise
            await deps.recorder.event(
                ds, "Normal", "SuccessfulCreate", f"Created pod: {pod.metadata.name}"
            )

        return create

    pos, batch = 0, min(len(create_on), 1)
    while batch > 0:
        batch_errors = await _run_all([creator(n) for n in create_on[pos : pos + batch]])
        pos += batch
        if batch_errors:
            errors.extend(batch_errors)
            skipped = len(create_on) - pos
            if skipped > 0:
                deps.expectations.lower_expectations(key, skipped, 0)
            break
        batch = min(2 * batch, len(create_on) - pos)

    def deleter(pod: Pod) -> Callable[[], Awaitable[None]]:
        async def remove() -> None:
            meta = pod.metadata
            try:
                await deps.client.delete("Pod", meta.name, meta.namespace)
            except Exception as err:
                deps.expectations.deletion_observed(key, key_of(meta.namespace, meta.name))
                if isinstance(err, NotFound):
                    return
                await deps.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {err}")
                raise
            await deps.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {meta.name}")

        return remove

    errors.extend(await _run_all([deleter(pod) for pod in delete]))
    if errors:
        raise errors[0]


def calculate_status(
    ds: DaemonSet, nodes: Sequence[Node], pods: Sequence[Pod], hash_: str, now: float
) -> DaemonSetStatus:
    """`updateDaemonSetStatus`'s counts (observedGeneration and collisionCount as they were):
    per node that should run the daemon, its oldest pod is the one counted."""
    node_pods = nodes_to_daemon_pods(pods)
    generation = template_generation(ds)
    desired = current = misscheduled = ready = updated = available = 0
    for node in nodes:
        should_run, _ = node_should_run_daemon_pod(node, ds)
        daemon_pods = node_pods.get(node.metadata.name)
        if not should_run:
            if daemon_pods:
                misscheduled += 1
            continue
        desired += 1
        if not daemon_pods:
            continue
        current += 1
        pod = oldest_first(daemon_pods)[0]
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, ds.spec.min_ready_seconds, now):
                available += 1
        if is_pod_updated(pod, hash_, generation):
            updated += 1
    base = ds.status or DaemonSetStatus(
        current_number_scheduled=0,
        number_misscheduled=0,
        desired_number_scheduled=0,
        number_ready=0,
    )
    return replace(
        base,
        desired_number_scheduled=desired,
        current_number_scheduled=current,
        number_misscheduled=misscheduled,
        number_ready=ready,
        updated_number_scheduled=updated,
        number_available=available,
        number_unavailable=desired - available,
    )


async def store_status(
    client: Client, ds: DaemonSet, status: DaemonSetStatus, update_generation: bool
) -> None:
    """`storeDaemonSetStatus`: write the counts (and observedGeneration = generation when
    `update_generation`) unless nothing changes; on a failed write re-read once and retry."""
    target = ds
    for attempt in range(STATUS_UPDATE_RETRIES + 1):
        old = target.status
        new = replace(
            old or status,
            desired_number_scheduled=status.desired_number_scheduled,
            current_number_scheduled=status.current_number_scheduled,
            number_misscheduled=status.number_misscheduled,
            number_ready=status.number_ready,
            updated_number_scheduled=status.updated_number_scheduled,
            number_available=status.number_available,
            number_unavailable=status.number_unavailable,
        )
        if update_generation:
            new = replace(new, observed_generation=ds.metadata.generation)
        if new == old:
            return
        try:
            await client.update_status(replace(target, status=new))
            return
        except Conflict:
            if attempt >= STATUS_UPDATE_RETRIES:
                raise
        fresh = await client.get("DaemonSet", ds.metadata.name, ds.metadata.namespace)
        if not isinstance(fresh, DaemonSet) or fresh.metadata.uid != ds.metadata.uid:
            return
        target = fresh
