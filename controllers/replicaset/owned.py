"""The pods each ReplicaSet controls, as running aggregates kept by the pod informer handlers.

Upstream `syncReplicaSet` (`pkg/controller/replicaset/replica_set.go`) lists the pods, claims
them (`claimPods`) and recounts the status (`calculateStatus` in `replica_set_utils.go`) on
every sync: O(pods of the ReplicaSet) per sync, and a ReplicaSet is synced after (nearly)
every event of its pods, so bringing up n pods costs O(n^2). Here the pod handlers maintain,
per ReplicaSet uid, what a sync reads, in O(log n) per pod event, and a sync reads it in O(1):

    index = OwnedPodsIndex(pods_lister)
    index.observe(pod)                       # pod ADD / UPDATE (any pod; cheap when unowned)
    index.forget(pod_key)                    # pod DELETE
    owned = index.ensure(rs, selector)       # rebuilt from by_controller(uid) if rs's basis changed
    snap = owned.snapshot(clock.now())       # replicas, fullyLabeled, ready, availability times
    owned.strays()                           # active controlled pods not matching: to release
    owned.kept_pods()                        # the active matching ones, by key: O(pods), on demand
    counts = snap.counts(claimed_facts, now) # == summarize(facts of kept + claimed, minReady, now)
    index.drop(rs_uid)                       # the ReplicaSet is gone

Contracts:

- an aggregate describes exactly the cached pods whose controllerRef uid is the ReplicaSet's
  (`Indexer.by_controller(uid)`), each through its `PodFacts` for the aggregate's *basis*: the
  selector, the template labels and minReadySeconds it was built for. `ensure` rebuilds it
  (O(its pods)) when it is missing or the ReplicaSet's basis differs; between two syncs the
  handlers keep it equal to a from-scratch recount (the informer calls them synchronously
  after each cache write, so a sync always sees the cache and the aggregate agree);
- counted pods are the active ones matching the selector (what `claimPods` keeps without a
  write): `replicas`, `fully_labeled`, `ready`, and for minReadySeconds > 0 the sorted times
  `readySince + minReadySeconds` of the ready ones with a known ready time;
- a snapshot freezes the counts at one instant (the claim) and is evaluated at a later `now`
  (after manageReplicas, as upstream computes the status from the claimed pods): the available
  count at `now` is those already available at the snapshot plus the pending times `<= now`,
  O(log pending). The clock is monotonic (`now` before the snapshot counts as the snapshot).
- events of a pod version already applied (same non-empty resourceVersion: a resync) are no-ops.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sortedcontainers import SortedList

from controllers.common.refmanager import controller_ref_of
from controllers.replicaset.podfacts import Counts, PodFacts, facts_of
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod
from cp.api.meta import LabelSelector, ObjectMeta
from cp.api.selectors import Selector
from cp.informer import Lister, key_of

__all__ = ["OwnedPods", "OwnedPodsIndex", "OwnedSnapshot"]


def _pod_key(meta: ObjectMeta) -> str:
    return key_of(meta.namespace, meta.name)


@dataclass(frozen=True, slots=True)
class OwnedSnapshot:
    """The counted pods of one aggregate at `taken_at` (see the module doc)."""

    taken_at: float
    min_ready_seconds: int
    replicas: int
    fully_labeled: int
    ready: int
    #: counted pods available at `taken_at` (minReadySeconds > 0 only)
    available_before: int
    #: the sorted availability times after `taken_at` (minReadySeconds > 0 only)
    pending: tuple[float, ...]

    def counts(self, extra: Iterable[PodFacts], now: float) -> Counts:
        """`summarize(facts of the snapshot's pods + extra, minReadySeconds, now)`, exactly:
        the same integers and the same soonest availability time after `now`."""
        now = max(now, self.taken_at)
        replicas, fully, ready = self.replicas, self.fully_labeled, self.ready
        min_ready = self.min_ready_seconds
        soonest = math.inf
        if min_ready > 0:
            passed = bisect_right(self.pending, now)
            available = self.available_before + passed
            if passed < len(self.pending):
                soonest = self.pending[passed]
        else:
            available = ready
        for fact in extra:
            replicas += 1
            if fact.fully_labeled:
                fully += 1
            if not fact.ready:
                continue
            ready += 1
            if min_ready <= 0:
                available += 1
            elif fact.ready_since is not None:
                when = fact.ready_since + min_ready
                if when <= now:
                    available += 1
                elif when < soonest:
                    soonest = when
        return Counts(replicas, fully, ready, available, None if soonest == math.inf else soonest)


class OwnedPods:
    """The aggregate of one ReplicaSet uid for one basis (see the module doc)."""

    __slots__ = (
        "_entries",
        "_pods",
        "_rs_meta",
        "_strays",
        "_times",
        "fully_labeled",
        "min_ready_seconds",
        "ready",
        "replicas",
        "selector",
        "selector_spec",
        "template_labels",
    )

    def __init__(self, rs: ReplicaSet, selector: Selector, pods: Lister[Pod]) -> None:
        self._rs_meta = rs.metadata
        self._pods = pods
        self.selector_spec: LabelSelector = rs.spec.selector
        self.selector = selector
        self.template_labels: Mapping[str, str] = rs.spec.template.metadata.labels
        self.min_ready_seconds = rs.spec.min_ready_seconds
        self._entries: dict[str, PodFacts] = {}
        self._strays: dict[str, Pod] = {}
        self._times: SortedList[float] = SortedList()
        self.replicas = self.fully_labeled = self.ready = 0

    @property
    def uid(self) -> str:
        return self._rs_meta.uid

    def __len__(self) -> int:
        """Every controlled pod, counted or not."""
        return len(self._entries)

    def fits(self, rs: ReplicaSet) -> bool:
        """`rs` has this aggregate's basis (selector, template labels, minReadySeconds)."""
        spec = rs.spec
        return (
            rs.metadata.uid == self._rs_meta.uid
            and spec.min_ready_seconds == self.min_ready_seconds
            and (spec.selector is self.selector_spec or spec.selector == self.selector_spec)
            and spec.template.metadata.labels == self.template_labels
        )

    def _available_at(self, fact: PodFacts) -> float | None:
        if self.min_ready_seconds <= 0 or not fact.ready or fact.ready_since is None:
            return None
        return fact.ready_since + self.min_ready_seconds

    def put(self, key: str, pod: Pod) -> None:
        """Apply the current version of a controlled pod (new or changed)."""
        old = self._entries.get(key)
        if old is not None:
            version = pod.metadata.resource_version
            if version and old.resource_version == version:
                return
            self._retract(key, old)
        fact = facts_of(pod, self.selector, self.template_labels, self._rs_meta)
        self._entries[key] = fact
        if not fact.active:
            return
        if not fact.matches:
            self._strays[key] = pod
            return
        self.replicas += 1
        if fact.fully_labeled:
            self.fully_labeled += 1
        if fact.ready:
            self.ready += 1
            when = self._available_at(fact)
            if when is not None:
                self._times.add(when)

    def discard(self, key: str) -> None:
        """The pod is gone, or no longer controlled by this ReplicaSet."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._retract(key, old)

    def _retract(self, key: str, fact: PodFacts) -> None:
        if not fact.active:
            return
        if not fact.matches:
            del self._strays[key]
            return
        self.replicas -= 1
        if fact.fully_labeled:
            self.fully_labeled -= 1
        if fact.ready:
            self.ready -= 1
            when = self._available_at(fact)
            if when is not None:
                self._times.remove(when)

    def pod_keys(self) -> list[str]:
        """The keys of every controlled pod (counted or not), sorted."""
        return sorted(self._entries)

    def counted(self, key: str) -> bool:
        """The pod `key` is active and matches the selector."""
        fact = self._entries.get(key)
        return fact is not None and fact.active and fact.matches

    def strays(self) -> list[Pod]:
        """The active controlled pods that no longer match the selector, by key."""
        strays = self._strays
        return [strays[key] for key in sorted(strays)] if strays else []

    def kept_pods(self) -> list[Pod]:
        """The counted pods, by key (what `claimPods` keeps without a write): O(pods)."""
        counted = self.counted
        return [
            pod
            for pod in self._pods.by_controller(self._rs_meta.uid)
            if counted(_pod_key(pod.metadata))
        ]

    def snapshot(self, now: float) -> OwnedSnapshot:
        """The counts at `now` (O(log n + pods still waiting out minReadySeconds))."""
        times = self._times
        passed = times.bisect_right(now) if self.min_ready_seconds > 0 else 0
        pending = tuple(times.islice(passed)) if passed < len(times) else ()
        return OwnedSnapshot(
            taken_at=now,
            min_ready_seconds=self.min_ready_seconds,
            replicas=self.replicas,
            fully_labeled=self.fully_labeled,
            ready=self.ready,
            available_before=passed,
            pending=pending,
        )


class OwnedPodsIndex:
    """The aggregates of the ReplicaSets synced so far, by uid (see the module doc)."""

    __slots__ = ("_aggregates", "_owner_of", "_pods")

    def __init__(self, pods: Lister[Pod]) -> None:
        self._pods = pods
        self._aggregates: dict[str, OwnedPods] = {}
        # pod key -> the uid of the aggregate holding it (only pods held by one)
        self._owner_of: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._aggregates)

    def get(self, uid: str) -> OwnedPods | None:
        return self._aggregates.get(uid)

    def ensure(self, rs: ReplicaSet, selector: Selector) -> OwnedPods:
        """The aggregate of `rs`, rebuilt from the cache when missing or of another basis;
        `selector` is the parsed `rs.spec.selector`."""
        uid = rs.metadata.uid
        owned = self._aggregates.get(uid)
        if owned is not None and owned.fits(rs):
            return owned
        self.drop(uid)
        owned = self._aggregates[uid] = OwnedPods(rs, selector, self._pods)
        owner_of = self._owner_of
        for pod in self._pods.by_controller(uid):
            key = _pod_key(pod.metadata)
            previous = owner_of.get(key)
            if previous is not None and previous != uid:  # pragma: no cover - the cache's
                self._release(key, previous)  # controller index and the handlers agree
            owned.put(key, pod)
            owner_of[key] = uid
        return owned

    def drop(self, uid: str) -> None:
        """Forget the aggregate of `uid` (its ReplicaSet is gone or changed its basis)."""
        owned = self._aggregates.pop(uid, None)
        if owned is None:
            return
        owner_of = self._owner_of
        for key in owned.pod_keys():
            if owner_of.get(key) == uid:
                del owner_of[key]

    def observe(self, pod: Pod) -> None:
        """A pod was added or updated in the cache: move it to the aggregate of its
        controller (if that ReplicaSet has one) and update the counts."""
        meta = pod.metadata
        key = _pod_key(meta)
        ref = controller_ref_of(meta)
        uid = None if ref is None else ref.uid
        previous = self._owner_of.get(key)
        if previous is not None and previous != uid:
            self._release(key, previous)
        if uid is None:
            return
        owned = self._aggregates.get(uid)
        if owned is not None:
            owned.put(key, pod)
            self._owner_of[key] = uid

    def forget(self, key: str) -> None:
        """The pod `key` left the cache."""
        previous = self._owner_of.get(key)
        if previous is not None:
            self._release(key, previous)

    def _release(self, key: str, uid: str) -> None:
        del self._owner_of[key]
        owned = self._aggregates.get(uid)
        if owned is not None:
            owned.discard(key)
