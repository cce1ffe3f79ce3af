"""The RollingUpdate strategy: surge the new ReplicaSet, drain the old ones.

Follows `pkg/controller/deployment/rolling.go` (`rolloutRolling`, `reconcileNewReplicaSet`,
`reconcileOldReplicaSets`, `cleanupUnhealthyReplicas`,
`scaleDownOldReplicaSetsForRollingUpdate`); the arithmetic is in `plan`.

Worked example: 10 replicas, maxSurge 3, maxUnavailable 2 (min available 8), old RS at 10 with
10 available, template changed:
1. the new RS is created at 3 (13 pods at most): `new_rs_new_replicas` = 3; a new RS created in
   this pass does not count as "scaled up", so step 2 runs in the same pass;
2. old RSs: all 13 - min available 8 - new unavailable 3 = 2 may go; no old replica is
   unhealthy, and 10 available - 8 = 2 can be removed: the old RS goes to 8.
Then each time the RS controller reports new pods available, the old RS shrinks and the new one
grows, never above 13 pods (by spec) nor below 8 available.
"""

from __future__ import annotations

from collections.abc import Sequence

from controllers.deployment import plan
from controllers.deployment import util as du
from controllers.deployment.progress import sync_rollout_status
from controllers.deployment.sync import (
    Deps,
    cleanup_deployment,
    get_all_replica_sets_and_sync_revision,
    scale_replica_set_and_record_event,
)
from cp.api.apps import Deployment, DeploymentStatus, ReplicaSet

__all__ = [
    "cleanup_unhealthy_replicas",
    "reconcile_new_replica_set",
    "reconcile_old_replica_sets",
    "rollout_rolling",
    "scale_down_old_replica_sets_for_rolling_update",
]


async def rollout_rolling(x: Deps, d: Deployment, rs_list: Sequence[ReplicaSet]) -> float | None:
    """Upstream `rolloutRolling`; returns the progress-deadline requeue delay (or None)."""
    d, new_rs, old_rss = await get_all_replica_sets_and_sync_revision(x, d, rs_list, create=True)
    all_rss: list[ReplicaSet | None] = [*old_rss, new_rs]
    if new_rs is not None and await reconcile_new_replica_set(x, all_rss, new_rs, d):
        return await sync_rollout_status(x, all_rss, new_rs, d)
    if new_rs is not None and await reconcile_old_replica_sets(
        x, all_rss, du.filter_active(old_rss), new_rs, d
    ):
        return await sync_rollout_status(x, all_rss, new_rs, d)
    if du.deployment_complete(d, d.status or DeploymentStatus()):
        await cleanup_deployment(x, old_rss, d)
    return await sync_rollout_status(x, all_rss, new_rs, d)


async def reconcile_new_replica_set(
    x: Deps, all_rss: Sequence[ReplicaSet | None], new_rs: ReplicaSet, d: Deployment
) -> bool:
    """Upstream `reconcileNewReplicaSet`: scale the new RS down to replicas, or up by what
    `NewRSNewReplicas` allows. True if its size changed."""
    want = du.replicas(d)
    have = du.rs_replicas(new_rs)
    if have == want:
        return False
    if have > want:
        scaled, _ = await scale_replica_set_and_record_event(x, new_rs, want, d)
        return scaled
    count = du.new_rs_new_replicas(d, [rs for rs in all_rss if rs is not None], new_rs)
    scaled, _ = await scale_replica_set_and_record_event(x, new_rs, count, d)
    return scaled


async def reconcile_old_replica_sets(
    x: Deps,
    all_rss: Sequence[ReplicaSet | None],
    old_rss: Sequence[ReplicaSet],
    new_rs: ReplicaSet,
    d: Deployment,
) -> bool:
    """Upstream `reconcileOldReplicaSets`: first drop unhealthy old replicas, then scale old
    RSs down as far as availability allows. True if any old replica went."""
    if sum(du.rs_replicas(rs) for rs in old_rss) == 0:
        return False
    limit = plan.max_scaled_down(
        all_spec=sum(du.rs_replicas(rs) for rs in all_rss if rs is not None),
        min_available=du.replicas(d) - du.max_unavailable(d),
        new_spec=du.rs_replicas(new_rs),
        new_available=du.rs_available(new_rs),
    )
    if limit <= 0:
        return False
    old_after, cleaned = await cleanup_unhealthy_replicas(x, old_rss, d, limit)
    scaled = await scale_down_old_replica_sets_for_rolling_update(
        x, [*old_after, new_rs], old_after, d
    )
    return cleaned + scaled > 0


async def cleanup_unhealthy_replicas(
    x: Deps, old_rss: Sequence[ReplicaSet], d: Deployment, max_cleanup: int
) -> tuple[list[ReplicaSet], int]:
    """Upstream `cleanupUnhealthyReplicas`: (old RSs as written, oldest first; replicas removed)."""
    ordered = du.sorted_by_creation(old_rss)
    sizes, total = plan.cleanup_unhealthy(
        [plan.RSPlan(du.rs_replicas(rs), du.rs_available(rs)) for rs in ordered], max_cleanup
    )
    for rs, size in zip(ordered, sizes, strict=True):
        if size > du.rs_replicas(rs):  # status ahead of spec (pods still going): upstream errs
            raise RuntimeError(
                "when cleaning up unhealthy replicas, got invalid request to scale down "
                f"{rs.metadata.namespace}/{rs.metadata.name} {du.rs_replicas(rs)} -> {size}"
            )
    result: list[ReplicaSet] = []
    for rs, size in zip(ordered, sizes, strict=True):
        _, written = await scale_replica_set_and_record_event(x, rs, size, d)
        result.append(written)
    return result, total


async def scale_down_old_replica_sets_for_rolling_update(
    x: Deps, all_rss: Sequence[ReplicaSet], old_rss: Sequence[ReplicaSet], d: Deployment
) -> int:
    """Upstream `scaleDownOldReplicaSetsForRollingUpdate`: replicas removed, oldest RS first,
    keeping `replicas - maxUnavailable` available (counted over every RS)."""
    ordered = du.sorted_by_creation(old_rss)
    before = [du.rs_replicas(rs) for rs in ordered]
    sizes = plan.scale_down_old(
        [plan.RSPlan(spec, du.rs_available(rs)) for rs, spec in zip(ordered, before, strict=True)],
        total_available=sum(du.rs_available(rs) for rs in all_rss),
        min_available=du.replicas(d) - du.max_unavailable(d),
    )
    for rs, size in zip(ordered, sizes, strict=True):
        await scale_replica_set_and_record_event(x, rs, size, d)
    return sum(before) - sum(sizes)
