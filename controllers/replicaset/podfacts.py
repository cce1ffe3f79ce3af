"""What one sync needs to know of each pod (upstream `calculateStatus` and `claimPods`'
predicates, `pkg/controller/replicaset/replica_set_utils.go`), and their sum.

The informer's objects are immutable and a pod's resourceVersion changes with every write, so
the facts derived from a pod (active? matches the selector? carries every template label?
ready, and since when?) hold until the pod or the ReplicaSet's spec changes. The controller
derives them once per pod event (`facts_of`, from the pod handlers through `owned.py`, which
keeps their sums per ReplicaSet); `summarize` is the from-scratch sum it must equal.

    facts = facts_of(pod, selector, rs.spec.template.metadata.labels, rs.metadata)
    counts = summarize(facts_of_active_pods, rs.spec.min_ready_seconds, now)
    cache = PodFactsCache()                    # for callers walking pods: per pod version
    facts = cache.facts(pod, rs, selector)     # recomputed only for a new pod rv / RS generation
    cache.forget(pod.metadata.uid)

Contract: a cached fact is reused only while (pod uid, pod resourceVersion, RS uid, RS
generation) are unchanged; the RS generation changes with every spec change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controllers.common.pods import is_pod_active, pod_ready_condition
from controllers.common.times import parse_time
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod
from cp.api.meta import ObjectMeta
from cp.api.selectors import Selector

__all__ = ["Counts", "PodFacts", "PodFactsCache", "facts_of", "summarize"]


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
        fresh = facts_of(pod, selector, rs.spec.template.metadata.labels, rs_meta)
        self._facts[meta.uid] = fresh
        return fresh

    def forget(self, uid: str) -> None:
        self._facts.pop(uid, None)


#: Ready times already parsed (pods turn Ready in bursts sharing whole-second timestamps);
#: cleared when full, so a long run stays bounded. A pure function's memo: no behaviour.
_READY_TIMES: dict[str, float | None] = {}
_READY_TIMES_MAX = 4096


def _parse_ready_time(text: str | None) -> float | None:
    if not text:
        return None
    if text in _READY_TIMES:
        return _READY_TIMES[text]
    if len(_READY_TIMES) >= _READY_TIMES_MAX:
        _READY_TIMES.clear()
    value = _READY_TIMES[text] = parse_time(text)
    return value


def facts_of(
    pod: Pod, selector: Selector, template_labels: Mapping[str, str], rs_meta: ObjectMeta
) -> PodFacts:
    """The facts of `pod` for the ReplicaSet `rs_meta` describes (its uid and generation are
    recorded), whose parsed selector is `selector` and template labels `template_labels`:
    `calculate_status`' predicates, evaluated once."""
    meta = pod.metadata
    condition = pod_ready_condition(pod)
    ready = condition is not None and condition.status == "True"
    return PodFacts(
        resource_version=meta.resource_version,
        rs_uid=rs_meta.uid,
        rs_generation=rs_meta.generation,
        active=is_pod_active(pod),
        matches=selector.matches(meta.labels),
        fully_labeled=template_labels.items() <= meta.labels.items(),
        ready=ready,
        ready_since=_parse_ready_time(condition.last_transition_time)
        if ready and condition
        else None,
    )


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
