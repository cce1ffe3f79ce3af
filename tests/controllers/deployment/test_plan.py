"""The pure arithmetic against upstream's test tables (`deployment_util_test.go`,
`rolling_test.go`), transcribed with their expected numbers."""

from __future__ import annotations

import pytest

from controllers.deployment import plan
from cp.api.errors_values import IntOrStringError


@pytest.mark.parametrize(
    ("max_surge", "max_unavailable", "desired", "surge", "unavailable"),
    [  # TestResolveFenceposts
        ("0%", "0%", 0, 0, 1),
        ("39%", "39%", 10, 4, 3),
        (None, "39%", 10, 0, 3),
        ("39%", None, 10, 4, 0),
        (None, None, 10, 0, 1),
        # the defaults table of the semantics reference (25%/25%)
        ("25%", "25%", 1, 1, 0),
        ("25%", "25%", 4, 1, 1),
        ("25%", "25%", 5, 2, 1),
        ("25%", "25%", 10, 3, 2),
        (3, 2, 10, 3, 2),
    ],
)
def test_resolve_fenceposts(
    max_surge: str | None, max_unavailable: str | None, desired: int, surge: int, unavailable: int
) -> None:
    assert plan.resolve_fenceposts(max_surge, max_unavailable, desired) == (surge, unavailable)


@pytest.mark.parametrize(("max_surge", "max_unavailable"), [("oops", "39%"), ("55%", "urg")])
def test_resolve_fenceposts_rejects_malformed_values(max_surge: str, max_unavailable: str) -> None:
    with pytest.raises(IntOrStringError):
        plan.resolve_fenceposts(max_surge, max_unavailable, 10)


@pytest.mark.parametrize(
    ("dep", "new_rs", "max_surge", "expected"),
    [  # TestNewRSNewReplicas (RollingUpdate rows; another RS holds 5)
        (1, 5, 1, 5),  # can not scale up - to newRSReplicas
        (6, 2, 10, 6),  # scale up - to depReplicas
    ],
)
def test_new_rs_new_replicas(dep: int, new_rs: int, max_surge: int, expected: int) -> None:
    total = 5 + new_rs
    got = plan.new_rs_new_replicas(
        desired=dep, max_surge=max_surge, current_total=total, new_spec=new_rs
    )
    assert got == expected


@pytest.mark.parametrize(
    ("dep", "max_surge", "old", "new", "expected"),
    [  # TestDeploymentController_reconcileNewReplicaSet (scale-up rows; maxUnavailable 0)
        (10, 0, 10, 0, 0),
        (10, 2, 10, 0, 2),
        (10, 2, 5, 0, 7),
        (10, 2, 10, 2, 2),
    ],
)
def test_reconcile_new_replica_set_table(
    dep: int, max_surge: int, old: int, new: int, expected: int
) -> None:
    got = plan.new_rs_new_replicas(
        desired=dep, max_surge=max_surge, current_total=old + new, new_spec=new
    )
    assert got == expected


@pytest.mark.parametrize(
    ("old_replicas", "ready", "max_cleanup", "expected"),
    [  # TestDeploymentController_cleanupUnhealthyReplicas
        (10, 8, 1, 1),
        (10, 8, 3, 2),
        (10, 8, 0, 0),
        (10, 10, 3, 0),
    ],
)
def test_cleanup_unhealthy(old_replicas: int, ready: int, max_cleanup: int, expected: int) -> None:
    sizes, total = plan.cleanup_unhealthy([plan.RSPlan(old_replicas, ready)], max_cleanup)
    assert total == expected
    assert sizes == [old_replicas - expected]


def test_cleanup_unhealthy_visits_oldest_first_and_stops_at_the_cap() -> None:
    old = [plan.RSPlan(3, 1), plan.RSPlan(0, 0), plan.RSPlan(4, 4), plan.RSPlan(5, 0)]
    assert plan.cleanup_unhealthy(old, 4) == ([1, 0, 4, 3], 4)


@pytest.mark.parametrize(
    ("dep", "max_unavailable", "ready", "old", "expected"),
    [  # TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate (maxSurge 0)
        (10, 0, 10, 10, 9),
        (10, 2, 10, 10, 8),
        (10, 2, 8, 10, 10),
        (10, 2, 10, 0, 0),
        (10, 2, 1, 10, 10),
    ],
)
def test_scale_down_old(
    dep: int, max_unavailable: int, ready: int, old: int, expected: int
) -> None:
    _, unavailable = plan.resolve_fenceposts(0, max_unavailable, dep)
    sizes = plan.scale_down_old(
        [plan.RSPlan(old, ready)], total_available=ready, min_available=dep - unavailable
    )
    assert sizes == [expected]


@pytest.mark.parametrize(
    ("dep", "max_unavailable", "old", "new", "ready_old", "ready_new", "expected_old"),
    [  # TestDeploymentController_reconcileOldReplicaSets (maxSurge 0); None: no scaling
        (10, 0, 10, 0, 10, 0, 9),
        (10, 2, 10, 0, 10, 0, 8),
        (10, 2, 10, 0, 8, 0, 8),  # unhealthy old replicas cleaned up
        (10, 2, 10, 0, 9, 0, 8),  # 1 unhealthy cleaned up, 1 ready scaled down
        (10, 2, 8, 2, 8, 0, None),  # new RS unavailable pods block scaling down
    ],
)
def test_reconcile_old_replica_sets_table(
    dep: int,
    max_unavailable: int,
    old: int,
    new: int,
    ready_old: int,
    ready_new: int,
    expected_old: int | None,
) -> None:
    _, unavailable = plan.resolve_fenceposts(0, max_unavailable, dep)
    min_available = dep - min(unavailable, dep)
    limit = plan.max_scaled_down(
        all_spec=old + new, min_available=min_available, new_spec=new, new_available=ready_new
    )
    if expected_old is None:
        assert limit <= 0
        return
    sizes, _ = plan.cleanup_unhealthy([plan.RSPlan(old, ready_old)], limit)
    sizes = plan.scale_down_old(
        [plan.RSPlan(sizes[0], ready_old)],
        total_available=ready_old + ready_new,
        min_available=min_available,
    )
    assert sizes == [expected_old]


@pytest.mark.parametrize(
    ("desired", "status_replicas", "max_surge", "rs", "annotated", "expected"),
    [  # TestGetReplicaSetFraction
        (0, 0, 0, 10, None, -10),  # empty deployment always scales to 0
        (10, 0, 0, 5, None, 0),  # missing max-replicas, unsynced: no scaling
        (10, 0, 0, 5, 0, 0),  # max-replicas 0 (third party): no scaling
        (120, 100, 0, 50, None, 10),  # missing annotation: status.replicas stands in
        (120, 100, 0, 50, 0, 10),
        (120, 0, 0, 50, 100, 10),  # scale up by 1/5
        (120, 0, 10, 50, 110, 9),  # with maxSurge: about 1/5
        (10, 0, 0, 6, 12, -1),  # scale down by 1/6
        (100, 0, 10, 50, 130, -8),  # with maxSurge: about 1/6
    ],
)
def test_replica_set_fraction(
    desired: int,
    status_replicas: int,
    max_surge: int,
    rs: int,
    annotated: int | None,
    expected: int,
) -> None:
    got = plan.replica_set_fraction(
        rs_spec=rs,
        desired=desired,
        max_surge=max_surge,
        annotated_max=annotated,
        status_replicas=status_replicas,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("rs_spec", "fraction", "to_add", "added", "expected"),
    [
        (0, 5, 5, 0, 0),  # an empty RS never grows proportionally
        (4, 5, 0, 0, 0),
        (4, 5, 3, 3, 0),  # nothing left to add
        (4, 5, 3, 1, 2),  # scaling up: at most what is left
        (4, -5, -3, -1, -2),  # scaling down: at most what is left to remove
        (4, -1, -3, 0, -1),
    ],
)
def test_proportion(rs_spec: int, fraction: int, to_add: int, added: int, expected: int) -> None:
    got = plan.proportion(rs_spec=rs_spec, fraction=fraction, to_add=to_add, added=added)
    assert got == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(2.5, 3), (-2.5, -3), (2.4, 2), (-0.4, 0), (0.5, 1)]
)
def test_round_half_away_from_zero(value: float, expected: int) -> None:
    assert plan.round_half_away(value) == expected
