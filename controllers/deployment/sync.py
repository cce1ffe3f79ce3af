"""Shared sync steps: find/create the new ReplicaSet, scale, cleanup, status.

Follows `pkg/controller/deployment/sync.go` (`sync`, `getAllReplicaSetsAndSyncRevision`,
`getNewReplicaSet`, `scale`, `scaleReplicaSet`, `cleanupDeployment`, `syncDeploymentStatus`,
`calculateStatus`, `checkPausedConditions`, `isScalingEvent`, `syncStatusOnly`).

Each step takes a `Deps` (client, event recorder, clock) and the Deployment it works on, and
returns the Deployment as last written (objects are frozen: upstream mutates `d` in place, here
the written object is threaded through so the next write carries its resourceVersion). Writes
are compare-and-swap on resourceVersion; a Conflict propagates and the controller retries.

Deployment annotations (the revision) ride on the status write as upstream; `write_status`
falls back to an update of the annotations when the server's status subresource drops them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from msgspec.structs import replace

from controllers.deployment import plan
from controllers.deployment import util as du
from cp.api.apps import Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec
from cp.api.errors import AlreadyExists, ApiError, NotFound
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta, OwnerReference
from cp.client import Client
from cp.runtime import Clock

__all__ = [
    "Deps",
    "Recorder",
    "calculate_status",
    "check_paused_conditions",
    "cleanup_deployment",
    "get_all_replica_sets_and_sync_revision",
    "is_scaling_event",
    "scale",
    "scale_replica_set_and_record_event",
    "sync",
    "sync_deployment_status",
    "sync_status_only",
    "write_status",
]


class Recorder(Protocol):
    """What the steps need of `cp.client.events.EventRecorder`."""

    async def event(self, obj: ApiStruct, kind: str, reason: str, message: str, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Deps:
    """The small dependency object every step takes."""

    client: Client
    recorder: Recorder
    clock: Clock


def _status(d: Deployment) -> DeploymentStatus:
    return d.status if d.status is not None else DeploymentStatus()


def _with_status(d: Deployment, status: DeploymentStatus) -> Deployment:
    return replace(d, status=status)


async def write_status(x: Deps, d: Deployment) -> Deployment:
    """UpdateStatus of `d` (CAS); then its annotations if the server did not keep them."""
    stored = await x.client.update_status(d)
    if stored.metadata.annotations != d.metadata.annotations:
        meta = replace(stored.metadata, annotations=d.metadata.annotations)
        stored = await x.client.update(replace(stored, metadata=meta))
    return stored


# -- the new ReplicaSet ---------------------------------------------------------------------


async def get_all_replica_sets_and_sync_revision(
    x: Deps, d: Deployment, rs_list: Sequence[ReplicaSet], *, create: bool
) -> tuple[Deployment, ReplicaSet | None, list[ReplicaSet]]:
    """(d, new RS or None, every old RS); may create the new RS when `create`."""
    _, all_old = du.find_old_replica_sets(d, rs_list)
    d, new_rs = await get_new_replica_set(x, d, rs_list, all_old, create=create)
    return d, new_rs, all_old


async def get_new_replica_set(
    x: Deps,
    d: Deployment,
    rs_list: Sequence[ReplicaSet],
    old_rss: Sequence[ReplicaSet],
    *,
    create: bool,
) -> tuple[Deployment, ReplicaSet | None]:
    """Upstream `getNewReplicaSet`: sync the existing new RS's annotations and minReadySeconds
    (and return; the Deployment's revision follows on the next pass), or record its revision
    on the Deployment; else create `<name>-<hash>` at `NewRSNewReplicas`."""
    existing = du.find_new_replica_set(d, rs_list)
    new_revision = du.max_revision(old_rss) + 1
    if existing is not None:
        rs, changed = du.set_new_replica_set_annotations(d, existing, new_revision, exists=True)
        if changed or rs.spec.min_ready_seconds != d.spec.min_ready_seconds:
            rs = replace(rs, spec=replace(rs.spec, min_ready_seconds=d.spec.min_ready_seconds))
            return d, await x.client.update(rs)
        d2, needs_update = du.set_deployment_revision(
            d, rs.metadata.annotations.get(du.REVISION_ANNOTATION, "")
        )
        status = _status(d2)
        if du.has_progress_deadline(d2) and du.get_condition(status, du.PROGRESSING) is None:
            msg = f'Found new replica set "{rs.metadata.name}"'
            cond = du.new_condition(
                du.PROGRESSING, "True", du.FOUND_NEW_RS_REASON, msg, x.clock.now()
            )
            d2 = _with_status(d2, du.set_condition(status, cond))
            needs_update = True
        if needs_update:
            d = await write_status(x, d2)
        return d, rs
    if not create:
        return d, None
    return await _create_new_replica_set(x, d, old_rss, new_revision)


def new_replica_set(d: Deployment, old_rss: Sequence[ReplicaSet], new_revision: int) -> ReplicaSet:
    """The ReplicaSet `getNewReplicaSet` creates for `d` (pure)."""
    collision = _status(d).collision_count
    pod_hash = du.compute_hash(d.spec.template, collision)
    labels = {**d.spec.template.metadata.labels, du.POD_TEMPLATE_HASH_LABEL: pod_hash}
    template = replace(d.spec.template, metadata=replace(d.spec.template.metadata, labels=labels))
    selector = LabelSelector(
        match_labels={**d.spec.selector.match_labels, du.POD_TEMPLATE_HASH_LABEL: pod_hash},
        match_expressions=d.spec.selector.match_expressions,
    )
    owner = OwnerReference(
        api_version="apps/v1",
        kind="Deployment",
        name=d.metadata.name,
        uid=d.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )
    rs = ReplicaSet(
        metadata=ObjectMeta(
            name=f"{d.metadata.name}-{pod_hash}",
            namespace=d.metadata.namespace,
            labels=labels,
            owner_references=(owner,),
        ),
        spec=ReplicaSetSpec(
            replicas=0,
            min_ready_seconds=d.spec.min_ready_seconds,
            selector=selector,
            template=template,
        ),
    )
    count = du.new_rs_new_replicas(d, [*old_rss, rs], rs)
    rs = replace(rs, spec=replace(rs.spec, replicas=count))
    rs, _ = du.set_new_replica_set_annotations(d, rs, new_revision, exists=False)
    return rs


async def _create_new_replica_set(
    x: Deps, d: Deployment, old_rss: Sequence[ReplicaSet], new_revision: int
) -> tuple[Deployment, ReplicaSet | None]:
    rs = new_replica_set(d, old_rss, new_revision)
    count = du.rs_replicas(rs)
    already_exists = False
    try:
        created = await x.client.create(rs)
    except AlreadyExists:
        found = await _existing_if_ours(x, d, rs)
        if found is None:
            status = _status(d)
            bumped = (status.collision_count or 0) + 1
            await write_status(x, _with_status(d, replace(status, collision_count=bumped)))
            raise
        created, already_exists = found, True
    except ApiError as err:
        msg = f'Failed to create new replica set "{rs.metadata.name}": {err}'
        if du.has_progress_deadline(d):
            cond = du.new_condition(
                du.PROGRESSING, "False", du.FAILED_RS_CREATE_REASON, msg, x.clock.now()
            )
            d_failed = _with_status(d, du.set_condition(_status(d), cond))
            with contextlib.suppress(ApiError):  # upstream ignores it: the create error matters
                await write_status(x, d_failed)
        await x.recorder.event(d, "Warning", du.FAILED_RS_CREATE_REASON, msg)
        raise
    if not already_exists and count > 0:
        message = f"Scaled up replica set {created.metadata.name} from 0 to {count}"
        await x.recorder.event(d, "Normal", "ScalingReplicaSet", message)
    d2, needs_update = du.set_deployment_revision(d, str(new_revision))
    if not already_exists and du.has_progress_deadline(d2):
        msg = f'Created new replica set "{created.metadata.name}"'
        cond = du.new_condition(du.PROGRESSING, "True", du.NEW_RS_REASON, msg, x.clock.now())
        d2 = _with_status(d2, du.set_condition(_status(d2), cond))
        needs_update = True
    if needs_update:
        d = await write_status(x, d2)
    return d, created


async def _existing_if_ours(x: Deps, d: Deployment, rs: ReplicaSet) -> ReplicaSet | None:
    """On AlreadyExists: the existing RS if this Deployment controls it with an equal template."""
    try:
        existing = await x.client.get("ReplicaSet", rs.metadata.name, rs.metadata.namespace)
    except NotFound:
        return None
    assert isinstance(existing, ReplicaSet)
    owner = next((r for r in existing.metadata.owner_references if r.controller), None)
    if (
        owner is not None
        and owner.uid == d.metadata.uid
        and du.equal_ignore_hash(d.spec.template, existing.spec.template)
    ):
        return existing
    return None


# -- scaling --------------------------------------------------------------------------------


async def scale_replica_set(
    x: Deps, rs: ReplicaSet, new_scale: int, d: Deployment
) -> tuple[bool, ReplicaSet]:
    """Upstream `scaleReplicaSet`: write the size and the replicas annotations if either is
    stale; (scaled, rs). Emits `ScalingReplicaSet` when the size changed."""
    old_scale = du.rs_replicas(rs)
    desired = du.replicas(d)
    maximum = desired + du.max_surge(d)
    size_changed = old_scale != new_scale
    if not size_changed and not du.replicas_annotations_need_update(rs, desired, maximum):
        return False, rs
    updated, _ = du.set_replicas_annotations(rs, desired, maximum)
    updated = replace(updated, spec=replace(updated.spec, replicas=new_scale))
    stored = await x.client.update(updated)
    if size_changed:
        direction = "up" if old_scale < new_scale else "down"
        message = (
            f"Scaled {direction} replica set {stored.metadata.name} from {old_scale} to {new_scale}"
        )
        await x.recorder.event(d, "Normal", "ScalingReplicaSet", message)
    return size_changed, stored


async def scale_replica_set_and_record_event(
    x: Deps, rs: ReplicaSet, new_scale: int, d: Deployment
) -> tuple[bool, ReplicaSet]:
    """Upstream `scaleReplicaSetAndRecordEvent`: no write when the size is already right."""
    if du.rs_replicas(rs) == new_scale:
        return False, rs
    return await scale_replica_set(x, rs, new_scale, d)


def find_active_or_latest(
    new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet]
) -> ReplicaSet | None:
    """Upstream `FindActiveOrLatest`: the only active RS, or the new/newest one if none is."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=du.by_creation, reverse=True)
    active = du.filter_active([*newest_first, new_rs])
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def proportional_sizes(
    d: Deployment, new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet]
) -> list[tuple[ReplicaSet, int]]:
    """The proportional-scaling part of upstream `scale` (RollingUpdate, several active RSs):
    each active RS with its new size, in the order upstream writes them.

    Example (TestScale "proportional scaling: 5 -> 10"): old RS 3, new RS 2, surge 0, from 5
    to 10: to_add 5; new RS fraction round(2*10/5)-2 = 2, old RS 6-3 = 3: sizes 4 and 6."""
    active = du.filter_active([*old_rss, new_rs])
    desired = du.replicas(d)
    allowed = desired + du.max_surge(d) if desired > 0 else 0
    to_add = allowed - sum(du.rs_replicas(rs) for rs in active)
    if to_add > 0:  # ReplicaSetsBySizeNewer
        active.sort(key=lambda rs: (du.rs_replicas(rs), *du.by_creation(rs)), reverse=True)
    elif to_add < 0:  # ReplicaSetsBySizeOlder
        active.sort(key=lambda rs: (-du.rs_replicas(rs), *du.by_creation(rs)))
    added = 0
    sizes: list[int] = []
    for rs in active:
        share = 0
        if to_add != 0:
            fraction = plan.replica_set_fraction(
                rs_spec=du.rs_replicas(rs),
                desired=desired,
                max_surge=du.max_surge(d),
                annotated_max=du.max_replicas_annotation(rs),
                status_replicas=_status(d).replicas,
            )
            share = plan.proportion(
                rs_spec=du.rs_replicas(rs), fraction=fraction, to_add=to_add, added=added
            )
            added += share
        sizes.append(du.rs_replicas(rs) + share)
    if sizes and to_add != 0:  # leftovers go to the first (largest) RS
        sizes[0] = max(0, sizes[0] + to_add - added)
    return list(zip(active, sizes, strict=True))


async def scale(
    x: Deps, d: Deployment, new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet]
) -> None:
    """Upstream `scale`: a single active RS follows `spec.replicas`; a saturated new RS drains
    the old ones; otherwise (RollingUpdate) every active RS scales proportionally."""
    single = find_active_or_latest(new_rs, old_rss)
    if single is not None:
        if du.rs_replicas(single) != du.replicas(d):
            await scale_replica_set_and_record_event(x, single, du.replicas(d), d)
        return
    if du.is_saturated(d, new_rs):
        for old in du.filter_active(old_rss):
            await scale_replica_set_and_record_event(x, old, 0, d)
        return
    if du.strategy_type(d) != du.ROLLING_UPDATE:
        return
    for rs, size in proportional_sizes(d, new_rs, old_rss):
        await scale_replica_set(x, rs, size, d)


async def is_scaling_event(
    x: Deps, d: Deployment, rs_list: Sequence[ReplicaSet]
) -> tuple[Deployment, list[ReplicaSet], bool]:
    """Upstream `isScalingEvent`: an active RS's desired-replicas annotation differs from
    `spec.replicas`. Returns (d, rs_list with the new RS as written, scaling)."""
    d, new_rs, old_rss = await get_all_replica_sets_and_sync_revision(x, d, rs_list, create=False)
    rss = list(rs_list)
    if new_rs is not None:  # the sync may have written it: later steps start from that
        rss = [new_rs if rs.metadata.uid == new_rs.metadata.uid else rs for rs in rss]
    for rs in du.filter_active([*old_rss, new_rs]):
        desired = du.desired_replicas_annotation(rs)
        if desired is not None and desired != du.replicas(d):
            return d, rss, True
    return d, rss, False


# -- sync, cleanup, status ------------------------------------------------------------------


async def sync(x: Deps, d: Deployment, rs_list: Sequence[ReplicaSet]) -> None:
    """Upstream `sync`: scaling (and cleanup when paused) without creating a new RS."""
    d, new_rs, old_rss = await get_all_replica_sets_and_sync_revision(x, d, rs_list, create=False)
    await scale(x, d, new_rs, old_rss)
    if d.spec.paused:
        await cleanup_deployment(x, old_rss, d)
    await sync_deployment_status(x, [*old_rss, new_rs], new_rs, d)


async def sync_status_only(x: Deps, d: Deployment, rs_list: Sequence[ReplicaSet]) -> None:
    """Upstream `syncStatusOnly` (a Deployment being deleted)."""
    d, new_rs, old_rss = await get_all_replica_sets_and_sync_revision(x, d, rs_list, create=False)
    await sync_deployment_status(x, [*old_rss, new_rs], new_rs, d)


def _by_revision(rs: ReplicaSet) -> tuple[int, str, str]:
    return (du.revision(rs.metadata.annotations), *du.by_creation(rs))


async def cleanup_deployment(x: Deps, old_rss: Sequence[ReplicaSet], d: Deployment) -> None:
    """Upstream `cleanupDeployment`: delete the oldest (by revision) old RSs beyond
    `revisionHistoryLimit`, skipping any that still has replicas or an unobserved spec. The
    delete carries uid and resourceVersion preconditions (a changed RS is a Conflict: retry)."""
    if not du.has_revision_history_limit(d):
        return
    limit = d.spec.revision_history_limit or 0
    cleanable = [rs for rs in old_rss if rs.metadata.deletion_timestamp is None]
    diff = len(cleanable) - limit
    if diff <= 0:
        return
    for rs in sorted(cleanable, key=_by_revision)[:diff]:
        observed = rs.status.observed_generation if rs.status is not None else 0
        if (
            du.rs_status_replicas(rs) != 0
            or du.rs_replicas(rs) != 0
            or rs.metadata.generation > observed
        ):
            continue
        try:  # preconditions: what was judged deletable is what gets deleted
            await x.client.delete(
                "ReplicaSet",
                rs.metadata.name,
                rs.metadata.namespace,
                uid=rs.metadata.uid,
                resource_version=rs.metadata.resource_version or None,
            )
        except NotFound:
            continue


def calculate_status(
    all_rss: Sequence[ReplicaSet | None], new_rs: ReplicaSet | None, d: Deployment, now: float
) -> DeploymentStatus:
    """Upstream `calculateStatus`, with the Available condition recomputed (stamped `now`
    when it changes)."""
    rss = [rs for rs in all_rss if rs is not None]
    available = sum(du.rs_available(rs) for rs in rss)
    total_spec = sum(du.rs_replicas(rs) for rs in rss)
    old = _status(d)
    status = DeploymentStatus(
        observed_generation=d.metadata.generation,
        replicas=sum(du.rs_status_replicas(rs) for rs in rss),
        updated_replicas=du.rs_status_replicas(new_rs) if new_rs is not None else 0,
        ready_replicas=sum(rs.status.ready_replicas for rs in rss if rs.status is not None),
        available_replicas=available,
        unavailable_replicas=max(0, total_spec - available),
        conditions=old.conditions,
        collision_count=old.collision_count,
    )
    if available >= du.replicas(d) - du.max_unavailable(d):
        cond = du.new_condition(
            du.AVAILABLE,
            "True",
            du.MIN_AVAILABLE_REASON,
            "Deployment has minimum availability.",
            now,
        )
    else:
        cond = du.new_condition(
            du.AVAILABLE,
            "False",
            du.MIN_UNAVAILABLE_REASON,
            "Deployment does not have minimum availability.",
            now,
        )
    return du.set_condition(status, cond)


async def sync_deployment_status(
    x: Deps, all_rss: Sequence[ReplicaSet | None], new_rs: ReplicaSet | None, d: Deployment
) -> Deployment:
    """Upstream `syncDeploymentStatus`: write the calculated status if it differs."""
    new_status = calculate_status(all_rss, new_rs, d, x.clock.now())
    if new_status == _status(d):
        return d
    return await write_status(x, _with_status(d, new_status))


async def check_paused_conditions(x: Deps, d: Deployment) -> Deployment:
    """Upstream `checkPausedConditions`: Progressing=Unknown DeploymentPaused/Resumed."""
    if not du.has_progress_deadline(d):
        return d
    status = _status(d)
    cond = du.get_condition(status, du.PROGRESSING)
    if cond is not None and cond.reason == du.TIMED_OUT_REASON:
        return d
    paused_exists = cond is not None and cond.reason == du.PAUSED_REASON
    now = x.clock.now()
    if d.spec.paused and not paused_exists:
        new = du.new_condition(
            du.PROGRESSING, "Unknown", du.PAUSED_REASON, "Deployment is paused", now
        )
    elif not d.spec.paused and paused_exists:
        new = du.new_condition(
            du.PROGRESSING, "Unknown", du.RESUMED_REASON, "Deployment is resumed", now
        )
    else:
        return d
    return await write_status(x, _with_status(d, du.set_condition(status, new)))
