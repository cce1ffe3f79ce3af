"""`scale` (TestScale) and `cleanup_deployment` (TestDeploymentController_cleanupDeployment)
against upstream's tables, through a FakeClient."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from msgspec.structs import replace

from controllers.deployment import util as du
from controllers.deployment.sync import Deps, cleanup_deployment, scale
from cp.api.apps import Deployment, ReplicaSet
from cp.client import FakeClient
from cp.runtime import Activity, VirtualClock

from .harness import Events
from .helpers import deployment, name_of, replica_set

pytestmark = pytest.mark.anyio

NEW, OLD, OLDER = "2016-05-20T02:00:00Z", "2016-05-20T01:00:00Z", "2016-05-20T00:00:00Z"
Sizes = dict[str, int]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _rs(name: str, size: int, created: str, annotated_desired: int, surge: int) -> ReplicaSet:
    return replica_set(
        name,
        size,
        created=created,
        annotations={
            du.DESIRED_REPLICAS_ANNOTATION: str(annotated_desired),
            du.MAX_REPLICAS_ANNOTATION: str(annotated_desired + surge),
        },
    )


def _dep(replicas: int, surge: int = 0, unavailable: int = 0) -> Deployment:
    return deployment(replicas, max_surge=surge, max_unavailable=unavailable)


# name, new d (replicas, surge, unavailable), old d (replicas, surge), new RS, old RSs, expected
SCALE_TABLE = [
    (
        "normal scaling event: 10 -> 12",
        (12, 0, 0),
        (10, 0),
        ("foo-v1", 10, NEW),
        [],
        {"foo-v1": 12},
    ),
    ("normal scaling event: 10 -> 5", (5, 0, 0), (10, 0), ("foo-v1", 10, NEW), [], {"foo-v1": 5}),
    (
        "proportional scaling: 5 -> 10",
        (10, 0, 0),
        (5, 0),
        ("foo-v2", 2, NEW),
        [("foo-v1", 3, OLD)],
        {"foo-v2": 4, "foo-v1": 6},
    ),
    (
        "proportional scaling: 5 -> 3",
        (3, 0, 0),
        (5, 0),
        ("foo-v2", 2, NEW),
        [("foo-v1", 3, OLD)],
        {"foo-v2": 1, "foo-v1": 2},
    ),
    (
        "proportional scaling: 9 -> 4",
        (4, 0, 0),
        (9, 0),
        ("foo-v2", 8, NEW),
        [("foo-v1", 1, OLD)],
        {"foo-v2": 4, "foo-v1": 0},
    ),
    (
        "proportional scaling: 7 -> 10",
        (10, 0, 0),
        (7, 0),
        ("foo-v3", 2, NEW),
        [("foo-v2", 3, OLD), ("foo-v1", 2, OLDER)],
        {"foo-v3": 3, "foo-v2": 4, "foo-v1": 3},
    ),
    (
        "proportional scaling: 13 -> 8",
        (8, 0, 0),
        (13, 0),
        ("foo-v3", 2, NEW),
        [("foo-v2", 8, OLD), ("foo-v1", 3, OLDER)],
        {"foo-v3": 1, "foo-v2": 5, "foo-v1": 2},
    ),
    (
        "leftover distribution: 3 -> 4",
        (4, 0, 0),
        (3, 0),
        ("foo-v3", 1, NEW),
        [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
        {"foo-v3": 2, "foo-v2": 1, "foo-v1": 1},
    ),
    (
        "leftover distribution: 3 -> 2",
        (2, 0, 0),
        (3, 0),
        ("foo-v3", 1, NEW),
        [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
        {"foo-v3": 1, "foo-v2": 1, "foo-v1": 0},
    ),
    (
        "proportional scaling (no new rs): 4 -> 5",
        (5, 0, 0),
        (4, 0),
        None,
        [("foo-v2", 2, OLD), ("foo-v1", 2, OLDER)],
        {"foo-v2": 3, "foo-v1": 2},
    ),
    (
        "proportional scaling: 6 -> 0",
        (0, 0, 0),
        (6, 0),
        ("foo-v3", 3, NEW),
        [("foo-v2", 2, OLD), ("foo-v1", 1, OLDER)],
        {"foo-v3": 0, "foo-v2": 0, "foo-v1": 0},
    ),
    (
        "proportional scaling: 0 -> 6",
        (6, 0, 0),
        (6, 0),
        ("foo-v3", 0, NEW),
        [("foo-v2", 0, OLD), ("foo-v1", 0, OLDER)],
        {"foo-v3": 6, "foo-v2": 0, "foo-v1": 0},
    ),
    (
        "deployment with surge pods",
        (20, 2, 0),
        (10, 2),
        ("foo-v2", 6, NEW),
        [("foo-v1", 6, OLD)],
        {"foo-v2": 11, "foo-v1": 11},
    ),
    (
        "change both surge and size",
        (50, 6, 0),
        (10, 3),
        ("foo-v2", 5, NEW),
        [("foo-v1", 8, OLD)],
        {"foo-v2": 22, "foo-v1": 34},
    ),
    (
        "change both size and template",
        (14, 0, 0),
        (10, 0),
        None,
        [("foo-v2", 7, NEW), ("foo-v1", 3, OLD)],
        {"foo-v2": 10, "foo-v1": 4},
    ),
]


async def _run_scale(
    d: Deployment, new: ReplicaSet | None, old: list[ReplicaSet]
) -> tuple[Sizes, Events]:
    client = FakeClient(*([new] if new else []), *old)
    events = Events()
    x = Deps(client=client, recorder=events, clock=VirtualClock(Activity()))
    stored = {name_of(rs): rs for rs in client.objects() if isinstance(rs, ReplicaSet)}
    new_rs = stored[name_of(new)] if new else None
    await scale(x, d, new_rs, [stored[name_of(rs)] for rs in old])
    sizes = {
        name_of(rs): du.rs_replicas(rs) for rs in client.objects() if isinstance(rs, ReplicaSet)
    }
    return sizes, events


@pytest.mark.parametrize(
    ("name", "dep", "old_dep", "new", "old", "expected"),
    SCALE_TABLE,
    ids=[row[0] for row in SCALE_TABLE],
)
async def test_scale(
    name: str,
    dep: tuple[int, int, int],
    old_dep: tuple[int, int],
    new: tuple[str, int, str] | None,
    old: list[tuple[str, int, str]],
    expected: Mapping[str, int],
) -> None:
    desired, surge = old_dep
    new_rs = _rs(*new, desired, surge) if new else None
    old_rss = [_rs(*row, desired, surge) for row in old]
    sizes, _ = await _run_scale(_dep(*dep), new_rs, old_rss)
    assert sizes == expected


async def test_scale_failed_rs_update_row() -> None:
    # "failed rs update": foo-v2's desired-replicas says 3 (its earlier update failed).
    d = _dep(5)
    new = _rs("foo-v3", 2, NEW, 5, 0)
    old = [_rs("foo-v2", 1, OLD, 3, 0), _rs("foo-v1", 1, OLDER, 5, 0)]
    sizes, _ = await _run_scale(d, new, old)
    assert sizes == {"foo-v3": 2, "foo-v2": 2, "foo-v1": 1}


async def test_saturated_but_broken_new_replica_set_does_not_affect_old_pods() -> None:
    d = _dep(2, 1, 1)
    new = _rs("foo-v2", 2, NEW, 2, 1)  # no available replicas: not saturated
    old = [_rs("foo-v1", 1, OLD, 2, 1)]
    sizes, events = await _run_scale(d, new, old)
    assert sizes == {"foo-v2": 2, "foo-v1": 1}
    assert events.seen == []


async def test_a_saturated_new_replica_set_drains_the_old_ones() -> None:
    d = _dep(2, 1, 1)
    new = replace(_rs("foo-v2", 2, NEW, 2, 1), status=replica_set("x", 2, available=2).status)
    old = [_rs("foo-v1", 1, OLD, 2, 1)]
    sizes, events = await _run_scale(d, new, old)
    assert sizes == {"foo-v2": 2, "foo-v1": 0}
    assert events.seen == [
        ("Normal", "ScalingReplicaSet", "Scaled down replica set foo-v1 from 1 to 0")
    ]


@pytest.mark.parametrize(
    ("old", "limit", "deletions"),
    [  # TestDeploymentController_cleanupDeployment: (name, spec, status replicas)
        ([("foo-1", 0, 0), ("foo-2", 0, 0), ("foo-3", 0, 0)], 1, 2),
        ([("foo-1", 0, 0), ("foo-2", 0, 1), ("foo-3", 1, 0), ("foo-4", 1, 1)], 0, 1),
        ([("foo-1", 0, 0), ("foo-2", 0, 0)], 0, 2),
        ([("foo-1", 1, 1), ("foo-2", 1, 1)], 0, 0),
        ([("foo-1", 0, 0), ("foo-2", 0, 0), ("foo-3", 0, 0)], 2**31 - 1, 0),
    ],
)
async def test_cleanup_deployment(
    old: list[tuple[str, int, int]], limit: int, deletions: int
) -> None:
    rss = [replica_set(name, spec, status_replicas=status) for name, spec, status in old]
    client = FakeClient(*rss)
    x = Deps(client=client, recorder=Events(), clock=VirtualClock(Activity()))
    stored = [rs for rs in client.objects() if isinstance(rs, ReplicaSet)]
    await cleanup_deployment(x, stored, deployment(1, history_limit=limit))
    assert len([a for a in client.writes() if a.verb == "delete"]) == deletions


async def test_cleanup_skips_replica_sets_already_being_deleted() -> None:
    rs = replica_set("foo-1", 0, status_replicas=0)
    rs = replace(rs, metadata=replace(rs.metadata, deletion_timestamp="2024-01-01T00:00:00Z"))
    client = FakeClient(rs)
    x = Deps(client=client, recorder=Events(), clock=VirtualClock(Activity()))
    await cleanup_deployment(x, [rs], deployment(1, history_limit=0))
    assert client.writes() == []
