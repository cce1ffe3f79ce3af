"""The scheduler's pure decisions: filters, least-loaded pick, upstream's fit-error wording."""

from __future__ import annotations

from collections import Counter

from msgspec.structs import replace

from controllers.scheduler import (
    NO_NODES_AVAILABLE,
    REASON_NODE_SELECTOR,
    REASON_TOO_MANY_PODS,
    REASON_UNSCHEDULABLE,
    filter_node,
    fit_error,
    pick_node,
    pod_capacity,
    tolerates,
)
from cp.api.core import Taint
from cp.api.core_pod import Toleration
from tests.controllers.kubelet.harness import make_node, make_pod


def test_least_loaded_node_wins_and_ties_go_by_name() -> None:
    nodes = [make_node(i) for i in (3, 1, 2)]
    pod = make_pod("web")
    assert pick_node(pod, nodes, {})[0] == nodes[1]  # all empty: node-1
    node, reasons = pick_node(pod, nodes, {"node-1": 2, "node-2": 1, "node-3": 1})
    assert node is not None
    assert node.metadata.name == "node-2"
    assert reasons == Counter()


def test_node_selector_and_readiness_filter_nodes() -> None:
    nodes = [make_node(1, labels={"disk": "ssd"}), make_node(2), make_node(3, ready=False)]
    pod = make_pod("db", node_selector={"disk": "ssd"})
    node, reasons = pick_node(pod, nodes, {"node-1": 50})
    assert node is not None
    assert node.metadata.name == "node-1"
    assert reasons == Counter(
        {
            REASON_NODE_SELECTOR: 1,
            "node(s) had untolerated taint {node.kubernetes.io/not-ready: }": 1,
        }
    )


def test_unschedulable_and_tainted_nodes() -> None:
    cordoned = make_node(1, unschedulable=True)
    tainted = make_node(2, taints=(Taint(key="gpu", value="yes", effect="NoSchedule"),))
    soft = make_node(3, taints=(Taint(key="soft", effect="PreferNoSchedule"),))
    pod = make_pod("web")
    assert filter_node(pod, cordoned) == REASON_UNSCHEDULABLE
    assert filter_node(pod, tainted) == "node(s) had untolerated taint {gpu: yes}"
    assert filter_node(pod, soft) is None
    pod = make_pod("web")
    tolerations = (Toleration(key="gpu", operator="Exists"),)
    tolerant = replace(pod, spec=replace(pod.spec, tolerations=tolerations))
    assert filter_node(tolerant, tainted) is None


def test_toleration_matching() -> None:
    taint = Taint(key="k", value="v", effect="NoExecute")
    assert tolerates([Toleration(operator="Exists")], taint)
    assert tolerates([Toleration(key="k", value="v")], taint)
    assert not tolerates([Toleration(key="k", value="w")], taint)
    assert not tolerates([Toleration(key="k", value="v", effect="NoSchedule")], taint)
    assert not tolerates([Toleration(value="v")], taint)


def test_fit_error_reads_like_upstream() -> None:
    assert fit_error(3, {REASON_NODE_SELECTOR: 3}) == (
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    )
    assert fit_error(3, {REASON_NODE_SELECTOR: 2, REASON_UNSCHEDULABLE: 1}) == (
        "0/3 nodes are available: 1 node(s) were unschedulable, "
        "2 node(s) didn't match Pod's node affinity/selector."
    )
    assert fit_error(0, {}) == NO_NODES_AVAILABLE == "no nodes available to schedule pods"


def test_a_node_holds_at_most_its_allocatable_pods() -> None:
    node = make_node(1)
    assert node.status is not None
    node = replace(node, status=replace(node.status, allocatable={"pods": "110"}))
    assert pod_capacity(node) == 110
    assert filter_node(make_pod("web"), node, 109) is None
    assert filter_node(make_pod("web"), node, 110) == REASON_TOO_MANY_PODS
    assert pod_capacity(make_node(2)) is None  # no allocatable: no limit
