"""What one sync needs to know of each pod, cached per pod resourceVersion.

The informer's objects are immutable and a pod's resourceVersion changes with every write, so
the facts a sync derives from a pod (active? matches the selector? carries every template
label? ready, and since when?) hold until the pod or the ReplicaSet's spec changes. A
10,000-pod ReplicaSet is synced after each pod event; with the facts cached, a sync costs a
dictionary lookup per pod instead of re-reading labels, conditions and timestamps.

    cache = PodFactsCache()
    facts = cache.facts(pod, rs, selector)     # recomputed only for a new pod rv / RS generation
    cache.forget(pod.metadata.uid)            # from the pod informer's delete handler
    counts = summarize(facts_of_active_pods, rs.spec.min_ready_seconds, now)

Contract: a fact is reused only while (pod uid, pod resourceVersion, RS uid, RS generation) are
unchanged; the RS generation changes with every spec change (selector, template labels).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from controllers.common.pods import is_pod_active, pod_ready_condition
from controllers.common.times import parse_time
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod
from cp.api.selectors import Selector

__all__ = ["Counts", "PodFacts", "PodFactsCache", "summarize"]


@dataclass(frozen=True, slots=True)
class PodFacts:
    """The facts of one pod version, for one ReplicaSet generation."""

    resource_version: str
    rs_uid: str
    rs_generation: int
    active: bool
    matches: bool
    fully_labeled: bool
    ready: bool
    ready_since: float | None


@dataclass(frozen=True, slots=True)
class Counts:
    """`calculate_status`' counts, and when the next pod becomes available (None: none)."""

    replicas: int
    fully_labeled: int
    ready: int
    available: int
    next_available: float | None


class PodFactsCache:
    """Facts by pod uid; entries are replaced when stale and dropped by `forget`."""

    __slots__ = ("_facts",)

    def __init__(self) -> None:
        self._facts: dict[str, PodFacts] = {}

    def __len__(self) -> int:
        return len(self._facts)

    def facts(self, pod: Pod, rs: ReplicaSet, selector: Selector) -> PodFacts:
        meta = pod.metadata
        cached = self._facts.get(meta.uid)
        rs_meta = rs.metadata
        if (
            cached is not None
            and cached.resource_version == meta.resource_version
            and cached.rs_generation == rs_meta.generation
            and cached.rs_uid == rs_meta.uid
        ):
            return cached
        condition = pod_ready_condition(pod)
        ready = condition is not None and condition.status == "True"
        fresh = PodFacts(
            resource_version=meta.resource_version,
            rs_uid=rs_meta.uid,
            rs_generation=rs_meta.generation,
            active=is_pod_active(pod),
            matches=selector.matches(meta.labels),
            fully_labeled=rs.spec.template.metadata.labels.items() <= meta.labels.items(),
            ready=ready,
            ready_since=parse_time(condition.last_transition_time) if ready and condition else None,
        )
        self._facts[meta.uid] = fresh
        return fresh

    def forget(self, uid: str) -> None:
        self._facts.pop(uid, None)


def summarize(facts: Iterable[PodFacts], min_ready_seconds: int, now: float) -> Counts:
    """The status counts of the (active, claimed) pods `facts` describe at `now`, as
    `calculate_status`, plus the soonest time a ready pod becomes available after `now`."""
    replicas = fully = ready = available = 0
    soonest = math.inf
    for fact in facts:
        replicas += 1
        if fact.fully_labeled:
            fully += 1
        if not fact.ready:
            continue
        ready += 1
        if min_ready_seconds <= 0:
            available += 1
        elif fact.ready_since is not None:
            when = fact.ready_since + min_ready_seconds
            if when <= now:
                available += 1
            elif when < soonest:
                soonest = when
    return Counts(replicas, fully, ready, available, None if soonest == math.inf else soonest)
