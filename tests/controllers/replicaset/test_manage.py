"""manageReplicas pieces: slow start (upstream `TestSlowStartBatch`), victims
(`TestGetPodsToDelete`), pods from the template, and a property on the create count."""

from __future__ import annotations

import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.replicaset import get_pods_to_delete, pod_from_template, slow_start_batch
from cp.api.core_pod import Pod
from tests.controllers.common.helpers import NOW, make_pod
from tests.controllers.replicaset.harness import RS_REF, TEMPLATE, Harness, replica_set, verbs

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeError(Exception):
    pass


@pytest.mark.parametrize(
    ("count", "limit", "successes", "failed", "calls"),
    [
        (10, 0, 0, True, 1),  # all fail: the first batch of 1 stops it
        (10, 10, 10, False, 10),  # all succeed: 1 + 2 + 4 + 3
        (10, 5, 5, True, 7),  # 1 + 2 + 4 (2 of them fail) = 7 calls
    ],
)
async def test_slow_start_batch(
    count: int, limit: int, successes: int, failed: bool, calls: int
) -> None:
    made = 0

    async def fn() -> None:
        nonlocal made
        made += 1
        if made > limit:
            raise FakeError

    got, error = await slow_start_batch(count, 1, fn)
    assert (got, error is not None, made) == (successes, failed, calls)
    assert error is None or isinstance(error, FakeError)


@pytest.mark.parametrize(
    ("count", "waves"), [(1, [1]), (3, [1, 2]), (10, [1, 2, 4, 3]), (16, [1, 2, 4, 8, 1])]
)
async def test_slow_start_batches_run_concurrently(count: int, waves: list[int]) -> None:
    """Batches of 1, 2, 4 ... (capped by what remains); the calls of one batch overlap."""
    in_flight = 0
    seen: list[int] = []

    async def fn() -> None:
        nonlocal in_flight
        if in_flight == 0:
            seen.append(0)
        in_flight += 1
        seen[-1] = max(seen[-1], in_flight)
        await anyio.lowlevel.checkpoint()
        in_flight -= 1

    assert await slow_start_batch(count, 1, fn) == (count, None)
    assert seen == waves


def pod(name: str, **kw: object) -> Pod:
    return make_pod(name, labels={"app": "web"}, owners=(RS_REF,), **kw)  # type: ignore[arg-type]


def test_get_pods_to_delete_all_without_sorting() -> None:
    pods = [pod("b", ready=True), pod("a")]
    assert get_pods_to_delete(pods, pods, 2, NOW) == pods
    assert get_pods_to_delete(pods, pods, 5, NOW) == pods


def test_get_pods_to_delete_ranks_and_picks() -> None:
    """Upstream `TestGetPodsToDelete`: unscheduled, then pending, then not ready, then the
    pods doubled up on a node with related pods."""
    unscheduled = pod("unscheduled", node="", phase="Pending")
    pending = pod("pending", phase="Pending", node="n1")
    not_ready = pod("not-ready", node="n1")
    ready_n1 = pod("ready-n1", node="n1", ready=True, ready_since=NOW - 100)
    ready_n2 = pod("ready-n2", node="n2", ready=True, ready_since=NOW - 100)
    active = [ready_n2, ready_n1, not_ready, pending, unscheduled]
    assert get_pods_to_delete(active, active, 3, NOW) == [unscheduled, pending, not_ready]
    # two ready pods: the one on the node crowded with related pods goes first
    related = [ready_n1, ready_n2, pod("sibling-on-n2", node="n2")]
    assert get_pods_to_delete([ready_n1, ready_n2], related, 1, NOW) == [ready_n2]


def test_pod_from_template() -> None:
    rs = replica_set()
    new = pod_from_template(rs)
    assert new.metadata.generate_name == "web-"
    assert new.metadata.name == ""
    assert new.metadata.namespace == "default"
    assert new.metadata.labels == TEMPLATE.metadata.labels
    assert new.metadata.annotations == {"note": "x"}
    assert new.metadata.owner_references == (RS_REF,)
    assert new.spec is TEMPLATE.spec  # shared, never copied


@settings(max_examples=40, deadline=None)
@given(
    replicas=st.integers(0, 12),
    existing=st.integers(0, 12),
    deleting=st.integers(0, 3),
    burst=st.integers(1, 6),
)
async def test_never_more_writes_than_the_diff(
    replicas: int, existing: int, deleting: int, burst: int
) -> None:
    """One sync creates exactly min(missing, burst) pods or deletes min(extra, burst); pods
    being deleted do not count."""
    pods = [pod(f"p{i}", node="") for i in range(existing)]
    pods += [pod(f"t{i}", deleting=True) for i in range(deleting)]
    h = Harness(replica_set(replicas), *pods, burst_replicas=burst)
    writes, _ = await h.reconcile()
    creates = [w for w in writes if w.verb == "create"]
    deletes = [w for w in writes if w.verb == "delete"]
    assert len(creates) == min(max(replicas - existing, 0), burst)
    assert len(deletes) == min(max(existing - replicas, 0), burst)
    assert all(not w.name.startswith("t") for w in deletes)
    assert verbs(writes)[-1][0] in {"update_status", "create", "delete"}
