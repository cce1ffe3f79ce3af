"""The Recreate strategy: every old pod gone before the new ReplicaSet gets any.

Follows `pkg/controller/deployment/recreate.go` (`rolloutRecreate`,
`scaleDownOldReplicaSetsForRecreate`, `oldPodsRunning`, `scaleUpNewReplicaSetForRecreate`).

Example: 3 replicas on the old RS, template changed. Pass 1 scales the old RS to 0 (no new RS
yet). While any old pod is not Succeeded/Failed (terminating ones included: they keep their
phase until the kubelet finishes them) or the old RS still reports replicas, passes only sync
the status. Once they are gone, the new RS is created at 3 at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controllers.deployment import util as du
from controllers.deployment.progress import sync_rollout_status
from controllers.deployment.sync import (
    Deps,
    cleanup_deployment,
    get_all_replica_sets_and_sync_revision,
    scale_replica_set_and_record_event,
)
from cp.api.apps import Deployment, DeploymentStatus, ReplicaSet
from cp.api.core_pod import Pod

__all__ = ["old_pods_running", "rollout_recreate"]

#: Phases of pods that no longer run (`oldPodsRunning` skips them).
_TERMINAL = frozenset({"Succeeded", "Failed"})


def old_pods_running(
    new_rs: ReplicaSet | None,
    old_rss: Sequence[ReplicaSet],
    pod_map: Mapping[str, Sequence[Pod]],
) -> bool:
    """Upstream `oldPodsRunning`: an old RS reports replicas, or a pod of an RS other than the
    new one (`pod_map` is by RS uid) is not Succeeded/Failed."""
    if sum(du.rs_status_replicas(rs) for rs in old_rss) > 0:
        return True
    for uid, pods in pod_map.items():
        if new_rs is not None and new_rs.metadata.uid == uid:
            continue
        for pod in pods:
            phase = pod.status.phase if pod.status is not None else ""
            if phase not in _TERMINAL:
                return True
    return False


async def rollout_recreate(
    x: Deps,
    d: Deployment,
    rs_list: Sequence[ReplicaSet],
    pod_map: Mapping[str, Sequence[Pod]],
) -> float | None:
    """Upstream `rolloutRecreate`; returns the progress-deadline requeue delay (or None)."""
    d, new_rs, old_rss = await get_all_replica_sets_and_sync_revision(x, d, rs_list, create=False)
    all_rss: list[ReplicaSet | None] = [*old_rss, new_rs]
    scaled_down = False
    for rs in du.filter_active(old_rss):
        scaled, _ = await scale_replica_set_and_record_event(x, rs, 0, d)
        scaled_down = scaled_down or scaled
    if scaled_down:
        return await sync_rollout_status(x, all_rss, new_rs, d)
    if old_pods_running(new_rs, old_rss, pod_map):
        return await sync_rollout_status(x, all_rss, new_rs, d)
    if new_rs is None:
        d, new_rs, old_rss = await get_all_replica_sets_and_sync_revision(
            x, d, rs_list, create=True
        )
        all_rss = [*old_rss, new_rs]
    if new_rs is not None:
        await scale_replica_set_and_record_event(x, new_rs, du.replicas(d), d)
    if du.deployment_complete(d, d.status or DeploymentStatus()):
        await cleanup_deployment(x, old_rss, d)
    return await sync_rollout_status(x, all_rss, new_rs, d)
