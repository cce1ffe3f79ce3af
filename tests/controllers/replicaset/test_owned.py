"""The per-ReplicaSet aggregates the pod handlers keep equal a from-scratch recount.

Random sequences of pod adds, updates (labels, controllerRef, phase, readiness, deletion) and
deletes are applied to an `Indexer` and the `OwnedPodsIndex` as the informer would (cache write,
then handler); at every step each aggregate's counts, strays and kept pods are compared with
`summarize` over the facts of `by_controller(uid)`, and a snapshot taken earlier still gives
the counts of the pods as they were when it was taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from controllers.replicaset.owned import OwnedPods, OwnedPodsIndex
from controllers.replicaset.podfacts import Counts, facts_of, summarize
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod
from cp.api.meta import LabelSelector, OwnerReference
from cp.api.selectors import Selector
from cp.informer import Indexer, Lister, key_of
from tests.controllers.common.helpers import NOW, make_pod
from tests.controllers.replicaset.harness import RS_REF, replica_set

OTHER_REF = replace(RS_REF, name="other", uid="other-uid")
FOREIGN_REF = replace(RS_REF, kind="StatefulSet", name="db", uid="db-uid")
NAMES = [f"p{i}" for i in range(6)]
LABELS = [{}, {"app": "web"}, {"app": "web", "tier": "front"}, {"app": "other"}]
OWNERS: list[tuple[OwnerReference, ...]] = [
    (),
    (RS_REF,),
    (OTHER_REF,),
    (FOREIGN_REF,),
    (replace(RS_REF, controller=False),),
]


def _rs(uid: str, min_ready: int, template: int, selector: int) -> ReplicaSet:
    rs = replica_set(3, min_ready=min_ready, uid=uid, name="web" if uid == RS_REF.uid else "other")
    labels = [{"app": "web", "tier": "front"}, {"app": "web"}][template]
    match = [{"app": "web"}, {"app": "other"}][selector]
    template_meta = replace(rs.spec.template.metadata, labels=labels)
    spec = replace(
        rs.spec,
        selector=LabelSelector(match_labels=match),
        template=replace(rs.spec.template, metadata=template_meta),
    )
    return replace(rs, spec=spec)


@dataclass(frozen=True)
class Put:
    name: str
    labels: int
    owners: int
    phase: str
    ready: bool
    since: int | None
    deleting: bool


@dataclass(frozen=True)
class Drop:
    name: str


@dataclass(frozen=True)
class Sync:
    """`ensure` one ReplicaSet with this basis, then check it."""

    uid: str
    min_ready: int
    template: int
    selector: int


_puts = st.builds(
    Put,
    st.sampled_from(NAMES),
    st.integers(0, len(LABELS) - 1),
    st.integers(0, len(OWNERS) - 1),
    st.sampled_from(["Pending", "Running", "Succeeded", "Failed"]),
    st.booleans(),
    st.one_of(st.none(), st.integers(-5, 40)),
    st.booleans(),
)
_syncs = st.builds(
    Sync,
    st.sampled_from([RS_REF.uid, OTHER_REF.uid]),
    st.sampled_from([0, 0, 10]),
    st.sampled_from([0, 0, 1]),
    st.sampled_from([0, 0, 0, 1]),
)
_ops = st.lists(
    st.one_of(_puts, _puts, st.builds(Drop, st.sampled_from(NAMES)), _syncs), max_size=40
)


def _expected(pods: Lister[Pod], rs: ReplicaSet, selector: Selector, now: float) -> Counts:
    counted = [
        fact
        for pod in pods.by_controller(rs.metadata.uid)
        if (fact := facts_of(pod, selector, rs.spec.template.metadata.labels, rs.metadata)).active
        and fact.matches
    ]
    return summarize(counted, rs.spec.min_ready_seconds, now)


def _check(owned: OwnedPods, pods: Lister[Pod], rs: ReplicaSet, selector: Selector) -> None:
    for now in (NOW - 20, NOW, NOW + 7, NOW + 100):
        assert owned.snapshot(now).counts((), now) == _expected(pods, rs, selector, now)
    listed = pods.by_controller(rs.metadata.uid)
    labels = rs.spec.template.metadata.labels
    facts = [(p, facts_of(p, selector, labels, rs.metadata)) for p in listed]
    assert owned.kept_pods() == [p for p, f in facts if f.active and f.matches]
    assert owned.strays() == [p for p, f in facts if f.active and not f.matches]
    assert len(owned) == len(listed)


@settings(max_examples=300, deadline=None)
@given(ops=_ops)
def test_aggregates_equal_a_recount(ops: list[Put | Drop | Sync]) -> None:
    indexer = Indexer()
    pods: Lister[Pod] = Lister(indexer, Pod)
    index = OwnedPodsIndex(pods)
    version = 0
    synced: dict[str, ReplicaSet] = {}
    for op in ops:
        if isinstance(op, Put):
            version += 1
            pod = make_pod(
                op.name,
                labels=LABELS[op.labels],
                owners=OWNERS[op.owners],
                phase=op.phase,
                ready=op.ready,
                ready_since=None if op.since is None else NOW - op.since,
                deleting=op.deleting,
                resource_version=str(version),
            )
            indexer.upsert(pod)
            index.observe(pod)
            index.observe(pod)  # a resync of the same version changes nothing
        elif isinstance(op, Drop):
            key = key_of("default", op.name)
            if indexer.delete(key) is not None:
                index.forget(key)
        else:
            rs = _rs(op.uid, op.min_ready, op.template, op.selector)
            selector = Selector.from_label_selector(rs.spec.selector)
            before = index.get(op.uid)
            owned = index.ensure(rs, selector)
            assert (owned is before) == (before is not None and before.fits(rs))
            synced[op.uid] = rs
        for uid, rs in synced.items():
            owned_now = index.get(uid)
            assert owned_now is not None
            _check(owned_now, pods, rs, Selector.from_label_selector(rs.spec.selector))
            fresh = OwnedPodsIndex(pods).ensure(rs, owned_now.selector)
            assert (fresh.replicas, fresh.fully_labeled, fresh.ready) == (
                owned_now.replicas,
                owned_now.fully_labeled,
                owned_now.ready,
            )
    for uid in list(synced):
        index.drop(uid)
        assert index.get(uid) is None
    assert len(index) == 0


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(_puts, max_size=12),
    after=st.lists(st.one_of(_puts, st.builds(Drop, st.sampled_from(NAMES))), max_size=12),
    min_ready=st.sampled_from([0, 10]),
    later=st.integers(0, 60),
)
def test_a_snapshot_keeps_the_counts_of_its_instant(
    before: list[Put], after: list[Put | Drop], min_ready: int, later: int
) -> None:
    """Taken at the claim, evaluated after manageReplicas: the pods as they were, at `now`."""
    indexer = Indexer()
    pods: Lister[Pod] = Lister(indexer, Pod)
    index = OwnedPodsIndex(pods)
    rs = _rs(RS_REF.uid, min_ready, 0, 0)
    selector = Selector.from_label_selector(rs.spec.selector)
    owned = index.ensure(rs, selector)
    version = 0

    def apply(op: Put | Drop) -> None:
        nonlocal version
        version += 1
        if isinstance(op, Put):
            pod = make_pod(
                op.name,
                labels=LABELS[op.labels],
                owners=OWNERS[op.owners],
                phase=op.phase,
                ready=op.ready,
                ready_since=None if op.since is None else NOW - op.since,
                deleting=op.deleting,
                resource_version=str(version),
            )
            indexer.upsert(pod)
            index.observe(pod)
        else:
            key = key_of("default", op.name)
            if indexer.delete(key) is not None:
                index.forget(key)

    for op in before:
        apply(op)
    snapshot = owned.snapshot(NOW)
    expected = _expected(pods, rs, selector, NOW + later)
    for op in after:
        apply(op)
    assert snapshot.counts((), NOW + later) == expected
    assert owned.snapshot(NOW + later).counts((), NOW + later) == _expected(
        pods, rs, selector, NOW + later
    )


def test_extra_claimed_facts_add_to_a_snapshot() -> None:
    """The pods adopted during the sync are counted with the snapshot's, as `summarize`."""
    indexer = Indexer()
    pods: Lister[Pod] = Lister(indexer, Pod)
    index = OwnedPodsIndex(pods)
    rs = _rs(RS_REF.uid, 10, 0, 0)
    selector = Selector.from_label_selector(rs.spec.selector)
    owned = index.ensure(rs, selector)
    waiting = make_pod("a", labels=LABELS[2], owners=(RS_REF,), ready=True, ready_since=NOW - 4)
    indexer.upsert(waiting)
    index.observe(waiting)
    adopted = make_pod("b", labels=LABELS[1], ready=True, ready_since=NOW - 8)
    facts = facts_of(adopted, selector, rs.spec.template.metadata.labels, rs.metadata)
    counts = owned.snapshot(NOW).counts([facts], NOW)
    assert counts == Counts(
        replicas=2, fully_labeled=1, ready=2, available=0, next_available=NOW + 2
    )
    assert counts == summarize(
        [facts_of(waiting, selector, rs.spec.template.metadata.labels, rs.metadata), facts],
        10,
        NOW,
    )
    # now before the snapshot's instant counts as the instant (the clock is monotonic)
    assert owned.snapshot(NOW).counts((), NOW - 5) == owned.snapshot(NOW).counts((), NOW)
