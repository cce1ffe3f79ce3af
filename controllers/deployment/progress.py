"""Rollout progress: the Progressing and ReplicaFailure conditions, and the deadline requeue.

Follows `pkg/controller/deployment/progress.go` (`syncRolloutStatus`, `getReplicaFailures`,
`requeueStuckDeployment`). `sync_rollout_status` returns the delay after which the Deployment
must be looked at again (or None): the controller arms a cancellable timer for it.

Worked example of the requeue: Progressing was last updated at 00:00:00, the deadline is 600 s
and it is now 00:03:00, so the check is due in 00:00:00 + 600 - 00:03:00 = 420 s; upstream adds
a second against clock skew: requeue after 421 s. Under a second left, upstream requeues
rate-limited ("check now"): `requeue_after` returns 0.0 and the controller applies the
per-key exponential backoff (5 ms, 10 ms, ... 1000 s).
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec.structs import replace

from controllers.deployment import util as du
from controllers.deployment.sync import Deps, calculate_status, write_status
from cp.api.apps import Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet

__all__ = ["progress_condition", "replica_failures", "requeue_after", "sync_rollout_status"]


def replica_failures(
    all_rss: Sequence[ReplicaSet | None], new_rs: ReplicaSet | None
) -> list[DeploymentCondition]:
    """Upstream `getReplicaFailures`: the new RS's ReplicaFailure conditions, else any RS's."""

    def of(rs: ReplicaSet) -> list[DeploymentCondition]:
        conds = rs.status.conditions if rs.status is not None else ()
        return [
            DeploymentCondition(
                type=c.type,
                status=c.status,
                last_update_time=c.last_transition_time,
                last_transition_time=c.last_transition_time,
                reason=c.reason,
                message=c.message,
            )
            for c in conds
            if c.type == du.REPLICA_FAILURE
        ]

    if new_rs is not None and (found := of(new_rs)):
        return found
    return [c for rs in all_rss if rs is not None for c in of(rs)]


def progress_condition(
    d: Deployment, new_status: DeploymentStatus, new_rs: ReplicaSet | None, now: float
) -> DeploymentStatus:
    """The Progressing part of `syncRolloutStatus` (pure): complete, progressing or timed out,
    with upstream's messages (`ReplicaSet "x" has successfully progressed.` ...)."""
    if not du.has_progress_deadline(d):
        return du.remove_condition(new_status, du.PROGRESSING)
    old = d.status or DeploymentStatus()
    current = du.get_condition(old, du.PROGRESSING)
    complete = (
        new_status.replicas == new_status.updated_replicas
        and current is not None
        and current.reason == du.NEW_RS_AVAILABLE_REASON
    )
    if complete:
        return new_status
    subject = (
        f'ReplicaSet "{new_rs.metadata.name}"' if new_rs else f'Deployment "{d.metadata.name}"'
    )
    if du.deployment_complete(d, new_status):
        msg = f"{subject} has successfully progressed."
        cond = du.new_condition(du.PROGRESSING, "True", du.NEW_RS_AVAILABLE_REASON, msg, now)
        return du.set_condition(new_status, cond)
    if du.deployment_progressing(d, new_status):
        msg = f"{subject} is progressing."
        cond = du.new_condition(du.PROGRESSING, "True", du.RS_UPDATED_REASON, msg, now)
        if current is not None:
            if current.status == "True":
                cond = replace(cond, last_transition_time=current.last_transition_time)
            new_status = du.remove_condition(new_status, du.PROGRESSING)
        return du.set_condition(new_status, cond)
    if du.deployment_timed_out(d, new_status, now):
        msg = f"{subject} has timed out progressing."
        cond = du.new_condition(du.PROGRESSING, "False", du.TIMED_OUT_REASON, msg, now)
        return du.set_condition(new_status, cond)
    return new_status


def requeue_after(d: Deployment, new_status: DeploymentStatus, now: float) -> float | None:
    """Upstream `requeueStuckDeployment`: seconds until the deadline check (0.0: check now,
    rate-limited), or None."""
    current = du.get_condition(d.status or DeploymentStatus(), du.PROGRESSING)
    if not du.has_progress_deadline(d) or current is None:
        return None
    if du.deployment_complete(d, new_status) or current.reason == du.TIMED_OUT_REASON:
        return None
    deadline = d.spec.progress_deadline_seconds or 0
    after = du.parse_rfc3339(current.last_update_time) + deadline - now
    if after < 1.0:
        return 0.0  # upstream: enqueueRateLimited, "a progress check now" (see the controller)
    return after + 1.0


async def sync_rollout_status(
    x: Deps, all_rss: Sequence[ReplicaSet | None], new_rs: ReplicaSet | None, d: Deployment
) -> float | None:
    """Upstream `syncRolloutStatus`: write the status with Available, Progressing and
    ReplicaFailure updated; when nothing changed, return the deadline requeue delay."""
    now = x.clock.now()
    new_status = calculate_status(all_rss, new_rs, d, now)
    new_status = progress_condition(d, new_status, new_rs, now)
    failures = replica_failures(all_rss, new_rs)
    if failures:
        new_status = du.set_condition(new_status, failures[0])
    else:
        new_status = du.remove_condition(new_status, du.REPLICA_FAILURE)
    if new_status == (d.status or DeploymentStatus()):
        return requeue_after(d, new_status, now)
    await write_status(x, replace(d, status=new_status))
    return None
