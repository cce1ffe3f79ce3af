"""The scheduler's cache: pods counted per node, and the least-loaded fitting node in O(log n).

    cache = LoadCache()
    cache.count(req, "node-1")                     # bound (or assumed) there; "" uncounts
    cache.pick(pod, nodes)                         # `filters.pick_node`'s choice, or None
    cache.reasons(pod, nodes)                      # then: (nodes, reasons) for the fit error

Upstream keeps per-node state in its scheduler cache (`pkg/scheduler/internal/cache`, assumed
pods included) and filters every node on each attempt. Here the part of the filters that does
not depend on the load (NodeUnschedulable, TaintToleration with the not-ready taint,
NodeAffinity) depends on the pod only through its tolerations and nodeSelector: its
*signature*. The pods of one template share it, so the nodes passing those filters are found
once per signature (O(nodes), again only after `invalidate`: a node came, went or changed) and
kept in a heap of (load, node name). A pick pops the stale entries (a load that is no longer
the node's) and the full nodes (NodeResourcesFit `Too many pods`; a full node is pushed again
when its load changes), so the top is exactly `pick_node`'s choice: the fitting node with the
fewest pods, ties by name. A load change pushes one entry per cached signature holding the
node; heaps that grow stale past a bound are rebuilt.

When no node fits, `pick` returns None and `reasons` gives `pick_node`'s failure counts without
filtering again: each node outside the signature's fitting set fails a load-independent filter,
its reason found when the set was built; each node inside it is full (`Too many pods`), since
a fitting node leaves the heap only when full and comes back when its load changes.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Final

from controllers.scheduler.filters import REASON_TOO_MANY_PODS, filter_node, pod_capacity
from cp.api.core import Node
from cp.api.core_pod import Pod, Toleration
from cp.runtime import Request

__all__ = ["LoadCache", "Signature", "signature"]

#: What the load-independent filters see of a pod: its tolerations and its nodeSelector.
Signature = tuple[tuple[Toleration, ...], tuple[tuple[str, str], ...]]

#: Signatures kept at once (the least recently used one goes): a load change costs one push per
#: cached signature holding the node.
MAX_SIGNATURES: Final = 16


def signature(pod: Pod) -> Signature:
    spec = pod.spec
    selector = spec.node_selector
    return (spec.tolerations, tuple(sorted(selector.items())) if selector else ())


class _Fit:
    """The nodes passing the load-independent filters for one signature, and their heap."""

    __slots__ = ("capacity", "heap", "names", "nodes", "reasons")

    def __init__(
        self,
        capacity: dict[str, int | None],
        reasons: Counter[str],
        nodes: int,
        load: dict[str, int],
    ) -> None:
        self.capacity = capacity  # fitting node -> status.allocatable.pods (None: no limit)
        self.reasons = reasons  # how many of the other nodes failed for each reason
        self.nodes = nodes  # all the nodes
        self.heap: list[tuple[int, str]] = []
        self.names = frozenset(capacity)
        self.rebuild(load)

    def rebuild(self, load: dict[str, int]) -> None:
        self.heap = [(load.get(name, 0), name) for name in self.names]
        heapq.heapify(self.heap)


class LoadCache:
    """Non-terminated pods bound (or assumed) per node, and `pick` over them (module doc)."""

    __slots__ = ("_bound", "_fits", "load")

    def __init__(self) -> None:
        self._bound: dict[Request, str] = {}
        self.load: dict[str, int] = {}  # node name -> pods counted on it
        self._fits: dict[Signature, _Fit] = {}  # in use order, the last used last

    def node_of(self, req: Request) -> str:
        """The node `req` is counted on ("" for none)."""
        return self._bound.get(req, "")

    def count(self, req: Request, node: str) -> str:
        """Count `req` on `node` ("" for none), uncounting it where it was; returns the node it
        leaves ("" when none, or when nothing changes)."""
        before = self._bound.get(req, "")
        if before == node:
            return ""
        if before:
            del self._bound[req]
            self._set_load(before, self.load[before] - 1)
        if node:
            self._bound[req] = node
            self._set_load(node, self.load.get(node, 0) + 1)
        return before

    def _set_load(self, node: str, load: int) -> None:
        self.load[node] = load
        for fit in self._fits.values():
            if node in fit.names:
                heap = fit.heap
                heapq.heappush(heap, (load, node))
                if len(heap) > 4 * len(fit.names) + 64:  # mostly stale entries
                    fit.rebuild(self.load)

    def invalidate(self) -> None:
        """Nodes came, went or changed: every signature's fitting nodes are found again."""
        self._fits.clear()

    def pick(self, pod: Pod, nodes: Callable[[], Iterable[Node]]) -> str | None:
        """The name of the node `filters.pick_node` would choose for `pod` among `nodes()`
        (called only when the pod's signature is not cached), or None when none fits."""
        heap, load, capacity = (fit := self._fit_of(pod, nodes)).heap, self.load, fit.capacity
        while heap:
            count, name = heap[0]
            if load.get(name, 0) != count:  # stale: the node's load changed since
                heapq.heappop(heap)
                continue
            limit = capacity[name]
            if limit is not None and count + 1 > limit:  # full until its load changes
                heapq.heappop(heap)
                continue
            return name
        return None

    def reasons(self, pod: Pod, nodes: Callable[[], Iterable[Node]]) -> tuple[int, Counter[str]]:
        """After `pick` found no node for `pod`: (the number of nodes, how many failed for each
        reason), as `pick_node` counts them."""
        fit = self._fit_of(pod, nodes)
        reasons = Counter(fit.reasons)
        if fit.names:
            reasons[REASON_TOO_MANY_PODS] += len(fit.names)
        return fit.nodes, reasons

    def _fit_of(self, pod: Pod, nodes: Callable[[], Iterable[Node]]) -> _Fit:
        key = signature(pod)
        fit = self._fits.pop(key, None)
        if fit is None:
            while len(self._fits) >= MAX_SIGNATURES:
                del self._fits[next(iter(self._fits))]
            fit = self._fit(pod, nodes())
        self._fits[key] = fit  # the most recently used last
        return fit

    def _fit(self, pod: Pod, nodes: Iterable[Node]) -> _Fit:
        capacity: dict[str, int | None] = {}
        reasons: Counter[str] = Counter()
        count = 0
        for node in nodes:
            count += 1
            reason = filter_node(pod, node, 0)
            # `Too many pods` is the last filter: with it, every load-independent one passed.
            if reason is None or reason == REASON_TOO_MANY_PODS:
                capacity[node.metadata.name] = pod_capacity(node)
            else:
                reasons[reason] += 1
        return _Fit(capacity, reasons, count, self.load)
