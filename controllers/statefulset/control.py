"""`updateStatefulSet`: one pass of the StatefulSet's pods toward its spec, and its status.

Follows upstream `pkg/controller/statefulset/stateful_set_control.go` (`UpdateStatefulSet`,
`performUpdate`, `updateStatefulSet`, `processReplica`, `processCondemned`, `runForAll`,
`updateStatefulSetAfterInvariantEstablished`, `updateStatus` / `computeReplicaStatus`,
`completeRollingUpdate`, `inconsistentStatus`) and `stateful_set_status_updater.go`.

One pass (`update_stateful_set`), with revisions already chosen:

1. split the pods: `replicas[ordinal - start]` for ordinals in [start, start + replicas),
   `condemned` (valid ordinals outside), sorted by descending ordinal; names without an ordinal
   are ignored; each empty slot gets a not-yet-created pod at the right revision;
2. a set being deleted: status only;
3. replicas, ascending (OrderedReady: stop at the first create, terminating, not Running+Ready
   or not available pod; Parallel: all of them, slow-start batches 1, 2, 4 ...): recreate a
   Failed/Succeeded pod, create a missing one (claims first), create the missing claims of a
   Pending one, fix identity / storage / claim references;
4. condemned pods' claim references for the retention policy;
5. condemned, descending: OrderedReady deletes one pod per pass (the highest, once its
   predecessors are healthy, or it is the first unhealthy pod) and waits for it to vanish;
   Parallel deletes them all;
6. OnDelete: done. RollingUpdate: from the highest ordinal down to the partition, delete the
   first pod not at the update revision (one per pass), waiting while a target is unhealthy.
   With `rollingUpdate.maxUnavailable` set: up to maxUnavailable - unhealthy pods per pass.

Worked example (OrderedReady, replicas 2 -> 4 -> 2, kubelet start 1 s): pass 1 creates web-2
and stops; web-2 Running+Ready at t+1 s -> web-3 created; scale to 2: web-3 deleted (graceful),
the next passes wait while it terminates, then web-2 goes. Claims data-web-2/3 stay (Retain)
and are reused when the set grows again.

Difference from upstream: a slow-start batch runs its calls one after another (upstream runs
a batch concurrently); the outcome (stop after the first batch with an error) is the same.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from msgspec.structs import replace

from controllers.common.pods import available_at, is_pod_available
from controllers.statefulset.history import apply_revision
from controllers.statefulset.identity import (
    PARALLEL,
    identity_matches,
    in_ordinal_range,
    is_healthy,
    is_running_and_ready,
    new_versioned_pod,
    parent_and_ordinal,
    pod_revision,
    replicas_of,
    start_ordinal,
    storage_matches,
)
from controllers.statefulset.podcontrol import StatefulPodControl
from cp.api.apps import ControllerRevision, StatefulSet, StatefulSetStatus
from cp.api.core_pod import Pod
from cp.api.errors import Conflict, NotFound
from cp.client import Client

__all__ = [
    "Pass",
    "complete_rolling_update",
    "compute_status",
    "inconsistent_status",
    "split_pods",
    "update_stateful_set",
    "update_status",
]


def _is_created(pod: Pod) -> bool:
    """`isCreated`: the pod came from the API. Upstream tests the phase the apiserver sets on
    create; here a stored pod may have no phase until the scheduler or kubelet writes one,
    so the uid (which a slot's new pod object lacks) counts too."""
    return bool(pod.metadata.uid) or (pod.status is not None and pod.status.phase != "")


def _phase(pod: Pod) -> str:
    return pod.status.phase if pod.status is not None else ""


def _terminating(pod: Pod) -> bool:
    return pod.metadata.deletion_timestamp is not None


def split_pods(sts: StatefulSet, pods: Sequence[Pod]) -> tuple[list[Pod | None], list[Pod]]:
    """Step 1 without the new pods: (slots by ordinal - start, condemned by descending
    ordinal)."""
    start = start_ordinal(sts)
    slots: list[Pod | None] = [None] * replicas_of(sts)
    condemned = []
    for pod in pods:
        ordinal = parent_and_ordinal(pod.metadata.name)[1]
        if in_ordinal_range(ordinal, sts):
            slots[ordinal - start] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    condemned.sort(key=lambda p: parent_and_ordinal(p.metadata.name)[1], reverse=True)
    return slots, condemned


@dataclass
class Pass:
    """The state of one `updateStatefulSet` pass."""

    ctl: StatefulPodControl
    sts: StatefulSet
    current: ControllerRevision
    update: ControllerRevision
    now: float
    current_set: StatefulSet = field(init=False)
    update_set: StatefulSet = field(init=False)
    replicas: list[Pod] = field(default_factory=list)
    condemned: list[Pod] = field(default_factory=list)
    first_unhealthy: Pod | None = None
    monotonic: bool = True

    def __post_init__(self) -> None:
        self.current_set = apply_revision(self.sts, self.current)
        self.update_set = apply_revision(self.sts, self.update)
        self.monotonic = self.sts.spec.pod_management_policy != PARALLEL

    def versioned_pod(self, ordinal: int) -> Pod:
        """The not-yet-created pod of `ordinal` at its revision (`newVersionedStatefulSetPod`)."""
        return new_versioned_pod(
            self.current_set,
            self.update_set,
            self.current.metadata.name,
            self.update.metadata.name,
            ordinal,
        )

    def available(self, pod: Pod) -> bool:
        """`isRunningAndAvailable`."""
        min_ready = self.sts.spec.min_ready_seconds
        return is_running_and_ready(pod) and is_pod_available(pod, min_ready, self.now)


async def _run_for_all(count: int, fn: Callable[[int], Awaitable[bool]], monotonic: bool) -> bool:
    """`runForAll`: monotonic -> in order, stop at the first `True` (or error); otherwise
    `slowStartBatch(1, count, fn)`: batches of 1, 2, 4 ..., ending after a batch with an error
    (raised). True when the caller must stop this pass."""
    if monotonic:
        for i in range(count):
            if await fn(i):
                return True
        return False
    done, batch = 0, min(1, count)
    while batch > 0:
        errors: list[Exception] = []
        for i in range(done, done + batch):
            try:
                await fn(i)
            except Exception as err:  # the batch runs whole; the first error is raised
                errors.append(err)
        if errors:
            raise errors[0]
        done += batch
        batch = min(2 * batch, count - done)
    return False


async def _process_replica(p: Pass, i: int) -> bool:
    """`processReplica` for slot `i`; True to stop the pass."""
    ctl, sts = p.ctl, p.sts
    pod = p.replicas[i]
    if _phase(pod) in ("Failed", "Succeeded"):
        meta = sts.metadata
        if _phase(pod) == "Failed":
            message = f"StatefulSet {meta.namespace}/{meta.name} is recreating failed Pod"
            await ctl.recorder.event(
                sts, "Warning", "RecreatingFailedPod", f"{message} {pod.metadata.name}"
            )
        else:
            message = f"StatefulSet {meta.namespace}/{meta.name} is recreating terminated Pod"
            await ctl.recorder.event(
                sts, "Normal", "RecreatingTerminatedPod", f"{message} {pod.metadata.name}"
            )
        await ctl.delete_pod(sts, pod)
        pod = p.replicas[i] = p.versioned_pod(i + start_ordinal(sts))
    if not _is_created(pod):
        if ctl.pod_claim_is_stale(sts, pod):
            return True  # a claim of an earlier pod of that name is being collected
        await ctl.create_pod(p.update_set, pod)
        if p.monotonic:
            return True
    if _phase(pod) == "Pending":
        await ctl.create_missing_claims(p.update_set, pod)
    if _terminating(pod) and p.monotonic:
        return True
    if not is_running_and_ready(pod) and p.monotonic:
        return True
    if not p.available(pod) and p.monotonic:
        return True
    if not _is_created(pod):
        return False  # just created (Parallel): nothing to fix yet
    if (
        identity_matches(sts, pod)
        and storage_matches(sts, pod)
        and ctl.claims_match_retention(p.update_set, pod)
    ):
        return False
    await ctl.update_pod(p.update_set, pod)
    return False


async def _fix_condemned_claims(p: Pass, i: int) -> bool:
    """Step 4: the claims of condemned pods get the references of a scaled-away pod."""
    pod = p.condemned[i]
    if not p.ctl.claims_match_retention(p.update_set, pod):
        await p.ctl.update_claims_for_retention(p.update_set, pod)
    return False


async def _process_condemned(p: Pass, i: int) -> bool:
    """`processCondemned` for condemned pod `i` (descending ordinals); True to stop."""
    pod = p.condemned[i]
    if _terminating(pod):
        return p.monotonic
    if (
        p.monotonic
        and pod is not p.first_unhealthy
        and (not is_running_and_ready(pod) or not p.available(pod))
    ):
        return True
    await p.ctl.delete_pod(p.sts, pod)
    return True


def _max_unavailable(value: int | str, replicas: int) -> int:
    """`getStatefulSetMaxUnavailable`: an int or a percentage of replicas rounded down, >= 1."""
    if isinstance(value, str):
        number = int(value.rstrip("%")) * replicas // 100 if value.endswith("%") else int(value)
    else:
        number = value
    return max(1, number)


async def _rolling_update(p: Pass, status: StatefulSetStatus) -> StatefulSetStatus:
    """Step 6 (RollingUpdate): delete outdated pods from the highest ordinal down to the
    partition. Returns the status with `currentReplicas` decremented per deletion."""
    rolling = p.sts.spec.update_strategy.rolling_update if p.sts.spec.update_strategy else None
    update_min = (rolling.partition or 0) if rolling is not None else 0
    update_name = p.update.metadata.name
    if rolling is not None and rolling.max_unavailable is not None:
        budget = _max_unavailable(rolling.max_unavailable, replicas_of(p.sts))
        budget -= sum(1 for pod in p.replicas if not is_healthy(pod))
        for target in range(len(p.replicas) - 1, update_min - 1, -1):
            if budget <= 0:
                break
            pod = p.replicas[target]
            if pod_revision(pod) != update_name and not _terminating(pod):
                await _delete_for_update(p, pod)
                budget -= 1
                status = replace(status, current_replicas=status.current_replicas - 1)
        return status
    for target in range(len(p.replicas) - 1, update_min - 1, -1):
        pod = p.replicas[target]
        if pod_revision(pod) != update_name and not _terminating(pod):
            await _delete_for_update(p, pod)
            return replace(status, current_replicas=status.current_replicas - 1)
        if not is_healthy(pod):
            return status
    return status


async def _delete_for_update(p: Pass, pod: Pod) -> None:
    with contextlib.suppress(NotFound):
        await p.ctl.delete_pod(p.sts, pod)


def compute_status(p: Pass, collision_count: int) -> StatefulSetStatus:
    """`updateStatus` / `computeReplicaStatus` over the slots and the condemned pods."""
    replicas = ready = available = current = updated = 0
    current_name, update_name = p.current.metadata.name, p.update.metadata.name
    for pod in (*p.replicas, *p.condemned):
        created = _is_created(pod)
        replicas += created
        if is_running_and_ready(pod):
            ready += 1
            available += p.available(pod)
        if created and not _terminating(pod):
            revision = pod_revision(pod)
            current += revision == current_name
            updated += revision == update_name
    old = p.sts.status
    return StatefulSetStatus(
        observed_generation=p.sts.metadata.generation,
        replicas=replicas,
        ready_replicas=ready,
        current_replicas=current,
        updated_replicas=updated,
        current_revision=current_name,
        update_revision=update_name,
        collision_count=collision_count,
        conditions=old.conditions if old is not None else (),
        available_replicas=available,
    )


def next_available(p: Pass) -> float | None:
    """When the next ready-but-not-yet-available pod becomes available (None: none waits)."""
    min_ready = p.sts.spec.min_ready_seconds
    times = [
        when
        for pod in (*p.replicas, *p.condemned)
        if is_running_and_ready(pod)
        and (when := available_at(pod, min_ready)) is not None
        and when > p.now
    ]
    return min(times, default=None)


async def update_stateful_set(
    p: Pass, pods: Sequence[Pod], collision_count: int
) -> tuple[StatefulSetStatus, Exception | None]:
    """`updateStatefulSet` (see the module doc): (the status after this pass, the error of a
    write, if any: the caller writes the status first, then raises it, as `performUpdate`)."""
    slots, p.condemned = split_pods(p.sts, pods)
    start = start_ordinal(p.sts)
    p.replicas = [
        pod if pod is not None else p.versioned_pod(start + i) for i, pod in enumerate(slots)
    ]
    unhealthy = [pod for pod in p.replicas if not is_healthy(pod)]
    unhealthy += [pod for pod in reversed(p.condemned) if not is_healthy(pod)]
    p.first_unhealthy = unhealthy[0] if unhealthy else None
    if p.sts.metadata.deletion_timestamp is not None:
        return compute_status(p, collision_count), None
    try:
        return await _update_pods(p, collision_count), None
    except Exception as err:  # the status of what was seen, then the error
        return compute_status(p, collision_count), err


async def _update_pods(p: Pass, collision_count: int) -> StatefulSetStatus:
    """Steps 3 to 6 of the module doc."""
    if await _run_for_all(len(p.replicas), lambda i: _process_replica(p, i), p.monotonic):
        return compute_status(p, collision_count)
    await _run_for_all(len(p.condemned), lambda i: _fix_condemned_claims(p, i), p.monotonic)
    if await _run_for_all(len(p.condemned), lambda i: _process_condemned(p, i), p.monotonic):
        return compute_status(p, collision_count)
    status = compute_status(p, collision_count)
    strategy = p.sts.spec.update_strategy
    if strategy is not None and strategy.type == "OnDelete":
        return status
    return await _rolling_update(p, status)


def complete_rolling_update(sts: StatefulSet, status: StatefulSetStatus) -> StatefulSetStatus:
    """`completeRollingUpdate`: RollingUpdate with every pod updated and ready -> the update
    revision becomes the current one."""
    strategy = sts.spec.update_strategy
    rolling = strategy is None or strategy.type in ("RollingUpdate", "")
    if rolling and status.updated_replicas == status.replicas == status.ready_replicas:
        return replace(
            status,
            current_replicas=status.updated_replicas,
            current_revision=status.update_revision,
        )
    return status


def inconsistent_status(sts: StatefulSet, status: StatefulSetStatus) -> bool:
    """`inconsistentStatus`: the computed status differs from the stored one."""
    old = sts.status
    if old is None:
        return True
    return (
        status.observed_generation > old.observed_generation
        or status.replicas != old.replicas
        or status.current_replicas != old.current_replicas
        or status.ready_replicas != old.ready_replicas
        or status.updated_replicas != old.updated_replicas
        or status.current_revision != old.current_revision
        or status.available_replicas != old.available_replicas
        or status.update_revision != old.update_revision
        or status.collision_count != old.collision_count
    )


async def update_status(client: Client, sts: StatefulSet, status: StatefulSetStatus) -> None:
    """`updateStatefulSetStatus`: complete a finished rolling update, then write the status
    when it differs; on Conflict re-read the set once and retry (`UpdateStatefulSetStatus`)."""
    status = complete_rolling_update(sts, status)
    if not inconsistent_status(sts, status):
        return
    try:
        await client.update_status(replace(sts, status=status))
    except Conflict:
        live = await client.get("StatefulSet", sts.metadata.name, sts.metadata.namespace)
        if not isinstance(live, StatefulSet) or live.metadata.uid != sts.metadata.uid:
            return
        await client.update_status(replace(live, status=status))
