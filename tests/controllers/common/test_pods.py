"""Pod predicates and the deletion ranking (upstream `TestSortingActivePodsWithRanks`,
`TestIsPodAvailable`), plus a property: the order is total and deterministic."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.common.pods import (
    DELETION_COST_ANNOTATION,
    available_at,
    deletion_cost,
    deletion_key,
    filter_active_pods,
    first_for_deletion,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    max_container_restarts,
    node_ranks,
    pod_ready_since,
    sort_for_deletion,
)
from cp.api.core_pod import Pod
from tests.controllers.common.helpers import NOW, make_pod

MONTH = NOW - 30 * 86400
H2, H5, H8 = NOW - 2 * 3600, NOW - 5 * 3600, NOW - 8 * 3600

UNSCHEDULED = make_pod("unscheduled", node="", phase="Pending")
PENDING = make_pod("pending", phase="Pending")
UNKNOWN = make_pod("unknown-phase", phase="Unknown")
NOT_READY = make_pod("not-ready")
READY_NO_TIME = make_pod("ready-no-last-transition-time", ready=True)
READY_NOW = make_pod("ready-now", ready=True, ready_since=NOW, created=NOW)
READY_THEN = make_pod("ready-then", ready=True, ready_since=MONTH, created=MONTH)
HIGH_RESTARTS = make_pod(
    "ready-high-restarts", ready=True, restarts=9001, ready_since=NOW, created=NOW
)
CREATED_THEN = make_pod("ready-now-created-then", ready=True, ready_since=NOW, created=MONTH)
LOW_COST = make_pod(
    "low-deletion-cost",
    ready=True,
    ready_since=NOW,
    created=MONTH,
    annotations={DELETION_COST_ANNOTATION: "10"},
)
HIGH_COST = make_pod(
    "high-deletion-cost",
    ready=True,
    ready_since=NOW,
    created=MONTH,
    annotations={DELETION_COST_ANNOTATION: "100"},
)
UNSCHEDULED_5H = make_pod("unscheduled-5-hours", node="", phase="Pending", created=H5)
UNSCHEDULED_8H = make_pod("unscheduled-10-hours", node="", phase="Pending", created=H8)
READY_2H = make_pod("ready-2-hours", node="", ready=True, ready_since=H2, created=MONTH)
READY_5H = make_pod("ready-5-hours", node="", ready=True, ready_since=H5, created=MONTH)
READY_8H = make_pod("ready-10-hours", node="", ready=True, ready_since=H8, created=MONTH)

# (lesser, its rank, greater, its rank): upstream's inequality table (cost and log scale on).
INEQUALITIES = [
    (UNSCHEDULED, 1, PENDING, 2),
    (UNSCHEDULED, 2, PENDING, 1),
    (PENDING, 1, UNKNOWN, 2),
    (UNKNOWN, 1, NOT_READY, 2),
    (NOT_READY, 1, READY_NO_TIME, 1),
    (READY_NO_TIME, 1, READY_NOW, 1),
    (READY_NOW, 2, READY_NO_TIME, 1),
    (READY_NOW, 1, READY_THEN, 1),
    (READY_NOW, 2, READY_THEN, 1),
    (HIGH_RESTARTS, 1, READY_NOW, 1),
    (READY_NOW, 2, HIGH_RESTARTS, 1),
    (READY_NOW, 1, CREATED_THEN, 1),
    (CREATED_THEN, 2, READY_NOW, 1),
    (LOW_COST, 2, HIGH_COST, 1),
    (READY_2H, 1, READY_5H, 1),
]


@pytest.mark.parametrize(("lesser", "lrank", "greater", "grank"), INEQUALITIES)
def test_upstream_inequalities(lesser: Pod, lrank: int, greater: Pod, grank: int) -> None:
    assert deletion_key(lesser, lrank, NOW) < deletion_key(greater, grank, NOW)


@pytest.mark.parametrize(
    ("first", "second"),
    [(UNSCHEDULED_5H, UNSCHEDULED_8H), (READY_5H, READY_8H)],
)
def test_upstream_equalities_differ_only_by_the_tie_break(first: Pod, second: Pod) -> None:
    """Upstream finds these equal (same log2 bucket, same uid); here uid and name decide."""
    assert deletion_key(first, 1, NOW)[:-2] == deletion_key(second, 1, NOW)[:-2]


def test_sort_for_deletion_orders_the_table() -> None:
    pods = [READY_THEN, READY_NOW, NOT_READY, UNSCHEDULED, PENDING, UNKNOWN, READY_NO_TIME]
    shuffled = pods[:]
    random.Random(4).shuffle(shuffled)
    ordered = sort_for_deletion(shuffled, [1] * len(shuffled), NOW)
    names = [p.metadata.name for p in ordered]
    assert names == [
        "unscheduled",
        "pending",
        "unknown-phase",
        "not-ready",
        "ready-no-last-transition-time",
        "ready-now",
        "ready-then",
    ]


def test_node_ranks_count_active_related_pods_per_node() -> None:
    a = make_pod("a", node="n1")
    b = make_pod("b", node="n2")
    related = [a, b, make_pod("c", node="n1"), make_pod("d", node="n1", deleting=True)]
    assert node_ranks([a, b], related) == [2, 1]
    assert node_ranks([make_pod("u", node="")], related) == [0]


def test_sort_for_deletion_needs_one_rank_per_pod() -> None:
    with pytest.raises(ValueError, match="2 pods but 1 ranks"):
        sort_for_deletion([READY_NOW, READY_THEN], [1], NOW)


def test_readiness_and_availability() -> None:
    assert not is_pod_ready(NOT_READY)
    assert is_pod_ready(READY_NOW)
    assert pod_ready_since(READY_THEN) == MONTH
    assert pod_ready_since(READY_NO_TIME) is None
    assert pod_ready_since(NOT_READY) is None
    ready_at_90 = make_pod("p", ready=True, ready_since=NOW - 10)
    assert is_pod_available(ready_at_90, 0, NOW)
    assert is_pod_available(ready_at_90, 10, NOW)  # exactly minReadySeconds: available
    assert not is_pod_available(ready_at_90, 11, NOW)
    assert available_at(ready_at_90, 11) == NOW + 1
    assert not is_pod_available(NOT_READY, 0, NOW)
    assert is_pod_available(READY_NO_TIME, 0, NOW)
    assert not is_pod_available(READY_NO_TIME, 5, NOW)  # unknown ready time never qualifies


def test_activity() -> None:
    done = make_pod("done", phase="Succeeded")
    failed = make_pod("failed", phase="Failed")
    deleting = make_pod("deleting", deleting=True)
    assert is_pod_active(PENDING)
    assert is_pod_active(READY_NOW)
    assert not any(is_pod_active(p) for p in (done, failed, deleting))
    assert filter_active_pods([done, PENDING, deleting, READY_NOW]) == [PENDING, READY_NOW]


def test_cost_and_restarts() -> None:
    assert deletion_cost(LOW_COST) == 10
    assert deletion_cost(READY_NOW) == 0
    for bad in ("x", "1.5", str(2**31)):
        assert deletion_cost(make_pod("p", annotations={DELETION_COST_ANNOTATION: bad})) == 0
    assert deletion_cost(make_pod("p", annotations={DELETION_COST_ANNOTATION: "-7"})) == -7
    assert max_container_restarts(HIGH_RESTARTS) == 9001
    assert max_container_restarts(NOT_READY) == 0


_pods = st.builds(
    lambda i, node, phase, ready, since, created, restarts, cost: make_pod(
        f"p{i}",
        uid=f"uid-{i}",
        node=node,
        phase=phase,
        ready=ready,
        ready_since=None if since is None else NOW - since,
        created=None if created is None else NOW - created,
        restarts=restarts,
        annotations={DELETION_COST_ANNOTATION: str(cost)},
    ),
    st.integers(0, 10**6),
    st.sampled_from(["", "n1", "n2"]),
    st.sampled_from(["Pending", "Running", "Unknown"]),
    st.booleans(),
    st.one_of(st.none(), st.integers(-5, 10**7)),
    st.one_of(st.none(), st.integers(-5, 10**7)),
    st.integers(0, 3),
    st.integers(-2, 2),
)


@settings(max_examples=200, deadline=None)
@given(
    pods=st.lists(_pods, min_size=1, max_size=12, unique_by=lambda p: p.metadata.name),
    seed=st.integers(0, 2**32),
)
def test_ranking_is_a_total_deterministic_order(pods: list[Pod], seed: int) -> None:
    """Any permutation of the same pods sorts to the same list, and no two keys are equal."""
    ranks = {p.metadata.name: i % 3 for i, p in enumerate(pods)}
    shuffled = pods[:]
    random.Random(seed).shuffle(shuffled)

    def order(ps: list[Pod]) -> list[str]:
        ordered = sort_for_deletion(ps, [ranks[p.metadata.name] for p in ps], NOW)
        return [p.metadata.name for p in ordered]

    assert order(pods) == order(shuffled)
    keys = [deletion_key(p, ranks[p.metadata.name], NOW) for p in pods]
    assert len(set(keys)) == len(keys)
    unscheduled_first = [
        p.spec.node_name == ""
        for p in sort_for_deletion(pods, [ranks[p.metadata.name] for p in pods], NOW)
    ]
    assert unscheduled_first == sorted(unscheduled_first, reverse=True)


@settings(max_examples=200, deadline=None)
@given(
    pods=st.lists(_pods, max_size=14),
    count=st.integers(0, 16),
    seed=st.integers(0, 2**32),
)
def test_first_for_deletion_is_the_head_of_the_sorted_list(
    pods: list[Pod], count: int, seed: int
) -> None:
    """Duplicates (same name and uid) included: the same pods, in the same order."""
    rng = random.Random(seed)
    ranks = [rng.randrange(3) for _ in pods]
    head = first_for_deletion(pods, ranks, NOW, count)
    expected = sort_for_deletion(pods, ranks, NOW)[:count]
    assert [id(p) for p in head] == [id(p) for p in expected]
    with pytest.raises(ValueError, match="ranks"):
        first_for_deletion(pods, [*ranks, 0], NOW, count)
