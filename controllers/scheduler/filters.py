"""Pure scheduling decisions: which nodes fit a pod, which one to pick, and why none does.

Follows the default plugins of `pkg/scheduler/framework/plugins` in their filter order, each
node failing at its first unmet plugin (`RunFilterPlugins`):

1. NodeUnschedulable: `spec.unschedulable` -> `node(s) were unschedulable` (unless the pod
   tolerates `node.kubernetes.io/unschedulable:NoSchedule`).
2. TaintToleration: a NoSchedule/NoExecute taint the pod does not tolerate ->
   `node(s) had untolerated taint {key: value}`. A node whose Ready condition is not True
   counts as tainted `node.kubernetes.io/not-ready:NoSchedule`, as the node lifecycle
   controller would taint it.
3. NodeAffinity (nodeSelector only) -> `node(s) didn't match Pod's node affinity/selector`.
4. NodeResourcesFit, pod count only: a node already running `status.allocatable.pods` pods ->
   `Too many pods` (cpu and memory requests are not counted).

Score: the least-loaded node (fewest non-terminated pods bound to it), ties broken by node
name, so the choice never depends on iteration order. Upstream scores with
NodeResourcesBalancedAllocation/LeastAllocated on requests and breaks ties at random; for
request-less pods on identical nodes, "fewest pods" is what that spreading converges to.

The error message is upstream's `FitError.Error()`: `0/3 nodes are available: 1 node(s) were
unschedulable, 2 node(s) didn't match Pod's node affinity/selector.` (reasons counted, sorted as
strings); with no node at all, `no nodes available to schedule pods`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Final

from controllers.common.nodes import is_node_ready, tolerates
from cp.api.core import Node, Taint
from cp.api.core_pod import Pod

__all__ = [
    "NO_NODES_AVAILABLE",
    "REASON_NODE_SELECTOR",
    "REASON_TOO_MANY_PODS",
    "REASON_UNSCHEDULABLE",
    "filter_node",
    "fit_error",
    "is_node_ready",
    "pick_node",
    "pod_capacity",
    "tolerates",
]

NO_NODES_AVAILABLE: Final = "no nodes available to schedule pods"
REASON_UNSCHEDULABLE: Final = "node(s) were unschedulable"
REASON_NODE_SELECTOR: Final = "node(s) didn't match Pod's node affinity/selector"
REASON_TOO_MANY_PODS: Final = "Too many pods"
_UNSCHEDULABLE_TAINT: Final = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")
_NOT_READY_TAINT: Final = Taint(key="node.kubernetes.io/not-ready", effect="NoSchedule")


def _taint_reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


def pod_capacity(node: Node) -> int | None:
    """`status.allocatable.pods` as an int; None when absent or not a plain integer."""
    text = node.status.allocatable.get("pods", "") if node.status is not None else ""
    return int(text) if text.isdigit() else None


def filter_node(pod: Pod, node: Node, load: int = 0) -> str | None:
    """None when `pod` fits `node` (which runs `load` pods), else the reason of the first
    filter it fails."""
    spec = node.spec
    tolerations = pod.spec.tolerations
    if spec is not None and spec.unschedulable and not tolerates(tolerations, _UNSCHEDULABLE_TAINT):
        return REASON_UNSCHEDULABLE
    taints = spec.taints if spec is not None else ()
    if not is_node_ready(node):
        taints = (*taints, _NOT_READY_TAINT)
    for taint in taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return _taint_reason(taint)
    labels = node.metadata.labels
    for key, value in pod.spec.node_selector.items():
        if labels.get(key) != value:
            return REASON_NODE_SELECTOR
    capacity = pod_capacity(node)
    if capacity is not None and load + 1 > capacity:
        return REASON_TOO_MANY_PODS
    return None


def fit_error(num_nodes: int, reasons: Mapping[str, int]) -> str:
    """Upstream `FitError.Error()` without the preemption postscript."""
    if num_nodes == 0:
        return NO_NODES_AVAILABLE
    counted = sorted(f"{count} {reason}" for reason, count in reasons.items())
    message = f"0/{num_nodes} nodes are available"
    return f"{message}: {', '.join(counted)}." if counted else f"{message}."


def pick_node(
    pod: Pod, nodes: Iterable[Node], load: Mapping[str, int]
) -> tuple[Node | None, Counter[str]]:
    """(the least-loaded fitting node or None, how many nodes failed for each reason)."""
    best: Node | None = None
    best_key: tuple[int, str] | None = None
    reasons: Counter[str] = Counter()
    for node in nodes:
        count = load.get(node.metadata.name, 0)
        reason = filter_node(pod, node, count)
        if reason is not None:
            reasons[reason] += 1
            continue
        key = (count, node.metadata.name)
        if best_key is None or key < best_key:
            best, best_key = node, key
    return best, reasons
