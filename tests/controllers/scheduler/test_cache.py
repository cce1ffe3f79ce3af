"""The scheduler's load cache: its pick and its failure reasons are `pick_node`'s, whatever the
loads, nodes and pods."""

from __future__ import annotations

import random

from msgspec.structs import replace

from controllers.scheduler import pick_node
from controllers.scheduler.cache import MAX_SIGNATURES, LoadCache, signature
from cp.api.core import Node, Taint
from cp.api.core_pod import Pod, Toleration
from cp.runtime import Request
from tests.controllers.kubelet.harness import make_node, make_pod


def with_capacity(node: Node, pods: str) -> Node:
    assert node.status is not None
    return replace(node, status=replace(node.status, allocatable={"pods": pods}))


def random_node(rng: random.Random, i: int) -> Node:
    taint = Taint(key="dedicated", value="db", effect="NoSchedule")
    taints = (taint,) if rng.random() < 0.2 else ()
    node = make_node(
        i,
        ready=rng.random() > 0.1,
        labels={"disk": "ssd"} if rng.random() < 0.4 else {},
        unschedulable=rng.random() < 0.1,
        taints=taints,
    )
    return with_capacity(node, rng.choice(["2", "3", "5", "0", "many"]))


def random_pod(rng: random.Random, i: int) -> Pod:
    pod = make_pod(f"p-{i}", node_selector={"disk": "ssd"} if rng.random() < 0.3 else None)
    if rng.random() < 0.3:
        tolerate = Toleration(key="dedicated", operator="Equal", value="db", effect="NoSchedule")
        pod = replace(pod, spec=replace(pod.spec, tolerations=(tolerate,)))
    return pod


def expected(pod: Pod, nodes: list[Node], cache: LoadCache) -> str | None:
    node, reasons = pick_node(pod, sorted(nodes, key=lambda n: n.metadata.name), cache.load)
    if node is None:  # the fit error's counts are pick_node's too
        assert cache.reasons(pod, lambda: nodes) == (len(nodes), reasons)
        return None
    return node.metadata.name


def test_pick_is_pick_node_through_binds_removals_and_node_changes() -> None:
    rng = random.Random(7)
    nodes = [random_node(rng, i) for i in range(1, 13)]
    cache = LoadCache()
    bound: list[Request] = []
    for step in range(3000):
        pod = random_pod(rng, step)
        choice = cache.pick(pod, lambda: nodes)
        assert choice == expected(pod, nodes, cache), step
        roll = rng.random()
        if choice is not None and roll < 0.6:
            req = Request("default", pod.metadata.name)
            cache.count(req, choice)
            bound.append(req)
        elif bound and roll < 0.9:
            left = cache.count(bound.pop(rng.randrange(len(bound))), "")
            assert left
        elif roll < 0.92:  # a node changes, comes or goes
            at = rng.randrange(len(nodes))
            nodes[at] = random_node(rng, int(nodes[at].metadata.name.removeprefix("node-")))
            cache.invalidate()
    assert sum(cache.load.values()) == len(bound)


def test_loads_spread_by_name_and_full_nodes_come_back() -> None:
    nodes = [with_capacity(make_node(i), "1") for i in (2, 1)]
    cache = LoadCache()
    pod = make_pod("web")
    assert cache.pick(pod, lambda: nodes) == "node-1"
    cache.count(Request("default", "a"), "node-1")
    assert cache.pick(pod, lambda: nodes) == "node-2"
    cache.count(Request("default", "b"), "node-2")
    assert cache.pick(pod, lambda: nodes) is None  # both full
    assert cache.count(Request("default", "a"), "") == "node-1"
    assert cache.pick(pod, lambda: nodes) == "node-1"
    assert cache.count(Request("default", "b"), "node-2") == ""  # unchanged


def test_nodes_are_listed_once_per_signature_until_invalidated() -> None:
    nodes = [make_node(1), make_node(2, labels={"disk": "ssd"})]
    listed = 0

    def listing() -> list[Node]:
        nonlocal listed
        listed += 1
        return nodes

    cache = LoadCache()
    for i in range(5):
        assert cache.pick(make_pod(f"web-{i}"), listing) == "node-1"
        assert cache.pick(make_pod(f"db-{i}", node_selector={"disk": "ssd"}), listing) == "node-2"
    assert listed == 2
    cache.invalidate()
    cache.pick(make_pod("web"), listing)
    assert listed == 3


def test_signatures_are_bounded_and_stale_entries_compacted() -> None:
    nodes = [make_node(i, labels={f"k{j}": "v" for j in range(40)}) for i in (1, 2)]
    cache = LoadCache()
    for j in range(40):
        assert cache.pick(make_pod("p", node_selector={f"k{j}": "v"}), lambda: nodes) == "node-1"
    assert len(cache._fits) == MAX_SIGNATURES
    assert signature(make_pod("p", node_selector={"a": "1", "b": "2"})) == signature(
        make_pod("q", node_selector={"b": "2", "a": "1"})
    )
    req = Request("default", "churn")
    for _ in range(1000):
        cache.count(req, "node-1")
        cache.count(req, "")
    assert all(len(fit.heap) <= 4 * len(fit.names) + 64 for fit in cache._fits.values())
    assert cache.pick(make_pod("p", node_selector={"k39": "v"}), lambda: nodes) == "node-1"
