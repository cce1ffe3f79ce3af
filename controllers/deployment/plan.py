"""The pure arithmetic of the Deployment controller: plain values in, plain values out.

Follows `pkg/controller/deployment/util/deployment_util.go` (`ResolveFenceposts`,
`NewRSNewReplicas`, `GetReplicaSetProportion`, `getReplicaSetFraction`) and
`pkg/controller/deployment/rolling.go` (`reconcileOldReplicaSets`, `cleanupUnhealthyReplicas`,
`scaleDownOldReplicaSetsForRollingUpdate`), with the client calls taken out: each function
returns the new `spec.replicas` values and the caller writes them.

Worked example (rolling.go's own walk-through): 10 replicas, maxSurge 3, maxUnavailable 2, an
old RS at 10 (all available) and a new RS at 0.

    resolve_fenceposts(3, 2, 10)                      == (3, 2)
    new_rs_new_replicas(desired=10, max_surge=3, current_total=10, new_spec=0)  == 3
    # the new RS goes to 3 (13 pods at most); none of them is available yet:
    max_scaled_down(all_spec=13, min_available=8, new_spec=3, new_available=0) == 2
    # the old RS may lose 2 (it has 10 available, 8 must stay): it goes to 8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cp.api.intstr import IntOrString, scaled_value

__all__ = [
    "RSPlan",
    "cleanup_unhealthy",
    "max_scaled_down",
    "new_rs_new_replicas",
    "proportion",
    "replica_set_fraction",
    "resolve_fenceposts",
    "round_half_away",
    "scale_down_old",
]


def resolve_fenceposts(
    max_surge: IntOrString | None, max_unavailable: IntOrString | None, desired: int
) -> tuple[int, int]:
    """Upstream `ResolveFenceposts`: (surge rounded up, unavailable rounded down); None counts
    as 0 and when both are 0 unavailable is 1 (surge may be impossible, e.g. under quota).
    A malformed value raises `cp.api.intstr.IntOrStringError`."""
    surge = scaled_value(max_surge if max_surge is not None else 0, desired, round_up=True)
    unavailable = scaled_value(
        max_unavailable if max_unavailable is not None else 0, desired, round_up=False
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def new_rs_new_replicas(*, desired: int, max_surge: int, current_total: int, new_spec: int) -> int:
    """Upstream `NewRSNewReplicas` for RollingUpdate: the new RS's next size.

    `current_total` is the sum of `spec.replicas` over every RS (the new one included) and
    `max_surge` the resolved surge. Never above `desired`, never more than
    `desired + max_surge` pods in total (e.g. desired 10, surge 2, total 15, new 5 -> 7)."""
    max_total = desired + max_surge
    if current_total >= max_total:
        return new_spec
    scale_up = min(max_total - current_total, desired - new_spec)
    return new_spec + scale_up


def max_scaled_down(*, all_spec: int, min_available: int, new_spec: int, new_available: int) -> int:
    """Upstream `reconcileOldReplicaSets`: how many old replicas may go in this step.

    `all_spec - min_available - (new_spec - new_available)`: a new RS's unavailable replicas
    block scaling down, so a broken new RS cannot drain the old ones (may be <= 0)."""
    return all_spec - min_available - (new_spec - new_available)


@dataclass(frozen=True, slots=True)
class RSPlan:
    """One ReplicaSet as the plans see it: `spec.replicas` and `status.availableReplicas`."""

    spec: int
    available: int


def cleanup_unhealthy(old: Sequence[RSPlan], max_cleanup: int) -> tuple[list[int], int]:
    """Upstream `cleanupUnhealthyReplicas`: (new spec of each old RS, total removed).

    `old` is oldest first. Each RS loses up to its unavailable replicas (spec - available),
    capped at `max_cleanup` in total; an RS with spec 0 or fully available is skipped."""
    sizes = [rs.spec for rs in old]
    total = 0
    for i, rs in enumerate(old):
        if total >= max_cleanup:
            break
        if rs.spec == 0 or rs.spec == rs.available:
            continue
        remove = min(max_cleanup - total, rs.spec - rs.available)
        sizes[i] = rs.spec - remove
        total += remove
    return sizes, total


def scale_down_old(old: Sequence[RSPlan], *, total_available: int, min_available: int) -> list[int]:
    """Upstream `scaleDownOldReplicaSetsForRollingUpdate`: the new spec of each old RS.

    `old` is oldest first; `total_available` is the available replicas of every RS (old and
    new). Removes up to `total_available - min_available` replicas, oldest RS first."""
    sizes = [rs.spec for rs in old]
    if total_available <= min_available:
        return sizes
    budget = total_available - min_available
    taken = 0
    for i, rs in enumerate(old):
        if taken >= budget:
            break
        if rs.spec == 0:
            continue
        take = min(rs.spec, budget - taken)
        sizes[i] = rs.spec - take
        taken += take
    return sizes


def round_half_away(value: float) -> int:
    """Go's `math.Round` (halves away from zero), as `integer.RoundToInt32` uses."""
    rounded = int(abs(value) + 0.5)
    return rounded if value >= 0 else -rounded


def replica_set_fraction(
    *, rs_spec: int, desired: int, max_surge: int, annotated_max: int | None, status_replicas: int
) -> int:
    """Upstream `getReplicaSetFraction`: how many replicas this RS gains (or loses) when the
    Deployment goes to `desired`. `annotated_max` is its `max-replicas` annotation (None when
    missing or invalid); without it (or at 0) the Deployment's `status.replicas` stands in, and
    with that 0 too the RS is left alone. Scaling to 0 takes the whole RS."""
    if desired == 0:
        return -rs_spec
    new_max = desired + max_surge
    old_max = annotated_max if annotated_max else status_replicas
    if old_max == 0:
        return 0
    return round_half_away(rs_spec * new_max / old_max) - rs_spec


def proportion(*, rs_spec: int, fraction: int, to_add: int, added: int) -> int:
    """Upstream `GetReplicaSetProportion`: the RS's share, clamped to what is left to add."""
    if rs_spec == 0 or to_add == 0 or to_add == added:
        return 0
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)
