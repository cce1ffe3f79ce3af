"""The per-pod-version facts cache agrees with the pure status computation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from controllers.replicaset import calculate_status, next_available_in
from controllers.replicaset.podfacts import PodFactsCache, summarize
from cp.api.core_pod import Pod
from cp.api.selectors import Selector
from tests.controllers.common.helpers import NOW, make_pod
from tests.controllers.replicaset.harness import RS_REF, WEB, replica_set

SELECTOR = Selector.from_set(WEB)


def test_facts_are_reused_until_the_pod_or_the_spec_changes() -> None:
    cache = PodFactsCache()
    rs = replica_set(1)
    pod = make_pod("a", labels=WEB, owners=(RS_REF,), resource_version="5")
    first = cache.facts(pod, rs, SELECTOR)
    assert cache.facts(pod, rs, SELECTOR) is first
    assert (first.active, first.matches, first.fully_labeled, first.ready) == (
        True,
        True,
        False,  # the template also has tier=front
        False,
    )
    ready = make_pod("a", labels=WEB, ready=True, ready_since=NOW, resource_version="6")
    second = cache.facts(ready, rs, SELECTOR)
    assert second is not first
    assert (second.ready, second.ready_since) == (True, NOW)
    bumped = replace(rs, metadata=replace(rs.metadata, generation=2))
    assert cache.facts(ready, bumped, SELECTOR) is not second
    assert len(cache) == 1
    cache.forget(ready.metadata.uid)
    assert len(cache) == 0


_pods = st.builds(
    lambda i, ready, since, full, phase: make_pod(
        f"p{i}",
        labels={"app": "web", "tier": "front"} if full else WEB,
        owners=(RS_REF,),
        ready=ready,
        ready_since=None if since is None else NOW - since,
        phase=phase,
        resource_version=str(i),
    ),
    st.integers(0, 10**6),
    st.booleans(),
    st.one_of(st.none(), st.integers(-3, 40)),
    st.booleans(),
    st.sampled_from(["Pending", "Running"]),
)


@settings(max_examples=150, deadline=None)
@given(
    pods=st.lists(_pods, max_size=15, unique_by=lambda p: p.metadata.name),
    min_ready=st.integers(0, 30),
)
def test_summary_matches_calculate_status(pods: list[Pod], min_ready: int) -> None:
    rs = replica_set(3, min_ready=min_ready)
    cache = PodFactsCache()
    counts = summarize((cache.facts(p, rs, SELECTOR) for p in pods), min_ready, NOW)
    status = calculate_status(rs, pods, None, NOW)
    assert (counts.replicas, counts.fully_labeled, counts.ready, counts.available) == (
        status.replicas,
        status.fully_labeled_replicas,
        status.ready_replicas,
        status.available_replicas,
    )
    wait = next_available_in(rs, pods, NOW)
    assert (counts.next_available is None) == (wait is None)
    if counts.next_available is not None:
        assert counts.next_available - NOW == wait
