"""Invariants of Deployments, StatefulSets, Services and volumes, checked by replaying an event
log revision by revision.

    violations = await check_log(plane.log)      # [] when every rule held at every revision
    await assert_invariants(plane.log)           # the same, raising AssertionError (pytest)

The checker depends on nothing but the log (fixed contract 1) and Kubernetes' JSON shape of the
stored objects (keys as the API server writes them: `/registry/deployments/<ns>/<name>`,
`/registry/replicasets/...`, `/registry/pods/...`, `/registry/statefulsets/...`,
`/registry/persistentvolumeclaims/...`, `/registry/persistentvolumes/<name>`,
`/registry/services/...`). It keeps the state of every Deployment,
ReplicaSet and Pod as of the revision being replayed, incrementally: pods are counted per owning
ReplicaSet uid and ReplicaSets per owning Deployment uid (the `controller: true` ownerReference),
so one event costs O(1) whatever the cluster's size. Values are decoded into small views (only
the fields the rules read), not the full `cp.api` Structs: ~100k events replay in seconds.

`Checker` is the same thing one event at a time (`feed(event)`), for a live watch.

Rules (each reported as a `Violation` naming the revision, the object and the numbers):

`max-surge` / `min-ready` -- a Deployment whose `spec.strategy.type` is RollingUpdate (missing
    type = RollingUpdate, the API default), not being deleted. `maxSurge`/`maxUnavailable` are
    resolved as upstream (`ResolveFenceposts`, `MaxUnavailable`): percentages of `spec.replicas`,
    surge rounded up, unavailable rounded down, both 0 -> unavailable 1, unavailable clamped to
    `replicas` (and 0 when `replicas` is 0); a missing value is the API default `25%`.
    S = Σ `spec.replicas` of the ReplicaSets it controls (live objects whose controller
    ownerReference has the Deployment's uid), R = its Ready pods (pods controlled by those
    ReplicaSets, condition Ready=True, no `deletionTimestamp`). At each revision r that changes
    S or R, with S', R' their values at r-1:
        max-surge  iff  S > max(replicas + maxSurge, S')
        min-ready  iff  R < min(replicas - maxUnavailable, R')
    i.e. a bound is never crossed, and while a value is already beyond its bound it must not
    move further away (no increase above the surge bound, no decrease below the ready floor).
    Why this handles the user's spec changes: a write of the Deployment changes neither S nor R,
    so the revision at which the spec (and with it the bounds) changes is never judged (the
    "skip revisions where the spec changes" rule falls out); from then on the new bounds apply
    with the "no worse while out of bounds" clause, so scaling 10 -> 5 (S = 10 > 5 + surge) is
    fine while the controller brings S down, and scaling 3 -> 10 (R = 3 < 8) is fine while R
    grows, but any step the wrong way is reported. Writes by an exempt actor (default: `user`,
    e.g. `kubectl delete pod`) are not judged either: a disruption the user causes is not the
    controllers' doing; the next revisions are judged against the state it left.
    Pass `exempt_actors=("user", "kubelet/")` when a simulation profile makes pods fail
    (readiness lost by the kubelet is an involuntary disruption).
`recreate-overlap` -- a Recreate Deployment (not being deleted): pods "running" (phase Running
    or Unknown, terminating or not, as upstream's Recreate counts them) in two or more of its
    ReplicaSets at once. Judged like the above: a violation iff at r at least two of its
    ReplicaSets have running pods, and at r-1 fewer than two had, or the number of running pods
    grew (an overlap inherited from a strategy switch may only drain). Exempt actors as above.
`revision-decrease` -- the `deployment.kubernetes.io/revision` annotation of a Deployment (per
    uid) is never lower than the highest value written earlier by a non-exempt actor (writes by
    exempt actors are neither judged nor raise the mark; unparseable values are skipped).
`multiple-controllers` -- a Pod or ReplicaSet written with more than one ownerReference with
    `controller: true` (reported at the revision where it starts, not at every later write).
`missing-controller` -- a Pod or ReplicaSet created by a controller (actor `controller/...`)
    without any controller ownerReference.
`ordered-ready` -- a StatefulSet whose `spec.podManagementPolicy` is missing or OrderedReady, not
    being deleted: at the revision where a controller (actor `controller/...`, not exempt) creates
    a pod `<set>-<i>` controlled by it (controller ownerReference with the set's uid), every
    ordinal `start..i-1` (`start` = `spec.ordinals.start`, default 0) must have a live pod of the
    set that is Running and Ready (phase Running, condition Ready=True, no `deletionTimestamp`:
    upstream's `isRunningAndReady`, a terminating pod counting as not ready). The set's
    Running-and-Ready ordinals are kept per set uid, updated on each pod write; the check costs
    O(i) and runs only at such creations.
`retained-claim-deleted` -- a PVC created (by any actor) with a name `<template>-<set>-<n>`, while
    a StatefulSet `<set>` of its namespace with a volumeClaimTemplate `<template>` exists (or
    existed: the last one of that name), is that set's claim. If the set's
    `persistentVolumeClaimRetentionPolicy` is Retain/Retain (`whenScaled` and `whenDeleted` both
    not "Delete": missing or unknown values are Retain, as upstream), the claim must never be
    deleted by a controller (actor `controller/...`, not exempt): judged at the first deletion step
    (the write that sets its `deletionTimestamp`, or its DELETE when it had none). The set's policy
    is looked up by uid at that revision and remembered after the set is deleted (whenDeleted
    Retain keeps the claims of a deleted set). A claim deleted by the user is not judged (the final
    DELETE after its finalizers are removed is not a first step).
`duplicate-cluster-ip` -- two live Services with the same ClusterIP (`spec.clusterIP` and every
    `spec.clusterIPs`, ignoring "None" and ""); reported at the write that gives a Service an IP
    another live Service already holds (whoever the actor: the API server allocates them).
`pv-double-bound` -- a PV bound to two claims: (a) a PVC written with phase Bound and
    `spec.volumeName` V while another live PVC is Bound with `volumeName` V (reported when the
    claim becomes Bound to V, not at every later write); (b) a PV whose `spec.claimRef` is
    changed from claim A to another claim B (namespace/name, or uid when both have one) while A
    is live, Bound and its `volumeName` is that PV. Not subject to exempt actors.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

import store
from cp.api.intstr import IntOrStringError
from tests.scenarios.invariant_views import (
    _DECODE_DEPLOYMENT,
    _DECODE_DEPLOYMENT_SPEC,
    _DECODE_POD,
    _DECODE_REPLICASET,
    _Meta,
    _PodView,
    _RollingUpdate,
    _Strategy,
)

__all__ = [
    "DUPLICATE_CLUSTER_IP",
    "MAX_SURGE",
    "MIN_READY",
    "MISSING_CONTROLLER",
    "MULTIPLE_CONTROLLERS",
    "ORDERED_READY",
    "PV_DOUBLE_BOUND",
    "RECREATE_OVERLAP",
    "RETAINED_CLAIM_DELETED",
    "REVISION_ANNOTATION",
    "REVISION_DECREASE",
    "RULES",
    "Checker",
    "Violation",
    "assert_invariants",
    "check_log",
    "resolve_fenceposts",
]

from tests.scenarios.invariant_state import (
    _CLAIMS,
    _DEPLOYMENTS,
    _PODS,
    _REPLICASETS,
    _RUNNING_PHASES,
    _SEED_PREFIXES,
    _SERVICES,
    _STATEFULSETS,
    _VOLUMES,
    DUPLICATE_CLUSTER_IP,
    MAX_SURGE,
    MIN_READY,
    MISSING_CONTROLLER,
    MULTIPLE_CONTROLLERS,
    ORDERED_READY,
    PV_DOUBLE_BOUND,
    RECREATE_OVERLAP,
    RETAINED_CLAIM_DELETED,
    REVISION_ANNOTATION,
    REVISION_DECREASE,
    RULES,
    Violation,
    _controller_uids,
    _Deployment,
    _Owned,
    _Pod,
    _PodCounts,
    _ready,
    _ReplicaSet,
    _Snapshot,
    _split_key,
    resolve_fenceposts,
)
from tests.scenarios.invariant_stateful import StatefulRules


class Checker(StatefulRules):
    """Replays events one at a time and reports the rules they break (see the module doc)."""

    def __init__(self, *, exempt_actors: Iterable[str] = ("user",)) -> None:
        super().__init__()
        exempt = tuple(exempt_actors)
        self._exempt_exact = frozenset(a for a in exempt if not a.endswith("/"))
        self._exempt_prefixes = tuple(a for a in exempt if a.endswith("/"))
        self._deployments: dict[str, _Deployment] = {}  # key -> state
        self._deployment_by_uid: dict[str, _Deployment] = {}
        self._owned: dict[str, _Owned] = {}  # Deployment uid -> aggregates
        self._replicasets: dict[str, _ReplicaSet] = {}  # key -> state
        self._replicaset_by_uid: dict[str, _ReplicaSet] = {}
        self._pod_counts: dict[str, _PodCounts] = {}  # ReplicaSet uid -> counts
        self._pods: dict[str, _Pod] = {}  # key -> state
        self.revision = 0
        self.events = 0

    # -- public ---------------------------------------------------------------------------------

    def exempt(self, actor: str) -> bool:
        return actor in self._exempt_exact or actor.startswith(self._exempt_prefixes)

    def seed(self, key: str, value: bytes, revision: int) -> None:
        """Load one object as of `revision` without judging it (a compacted log's start)."""
        self._apply(key, value, revision, "", judge=False)

    def feed(self, event: store.Event) -> list[Violation]:
        """Apply one event and return the violations at its revision."""
        self.events += 1
        self.revision = event.revision
        return self._apply(event.key, event.value, event.revision, event.actor, judge=True)

    # -- dispatch -------------------------------------------------------------------------------

    def _apply(
        self, key: str, value: bytes | None, revision: int, actor: str, *, judge: bool
    ) -> list[Violation]:
        try:
            if key.startswith(_PODS):
                view = None if value is None else _DECODE_POD(value)  # decoded once for both
                found = self._pod(key, view, revision, actor, judge)
                found.extend(self._set_pod(key, view, revision, actor, judge))
                return found
            if key.startswith(_STATEFULSETS):
                self._statefulset(key, value)
                return []
            if key.startswith(_CLAIMS):
                return self._claim(key, value, revision, actor, judge)
            if key.startswith(_VOLUMES):
                return self._volume(key, value, revision, actor, judge)
            if key.startswith(_SERVICES):
                return self._service(key, value, revision, actor, judge)
            if key.startswith(_REPLICASETS):
                return self._replicaset(key, value, revision, actor, judge)
            if key.startswith(_DEPLOYMENTS):
                return self._deployment(key, value, revision, actor, judge)
        except msgspec.DecodeError as exc:
            raise ValueError(f"revision {revision}: {key}: undecodable value: {exc}") from None
        return []

    def _owned_of(self, uid: str) -> _Owned:
        owned = self._owned.get(uid)
        if owned is None:
            owned = self._owned[uid] = _Owned()
        return owned

    def _snapshot(self, uid: str) -> _Snapshot:
        owned = self._owned.get(uid)
        if owned is None:
            return (0, 0, 0, 0)
        return (owned.rs_spec, owned.ready, len(owned.running), owned.running_total)

    # -- pods -----------------------------------------------------------------------------------

    def _pod_delta(self, rs_uid: str, ready: int, running: int) -> None:
        counts = self._pod_counts.get(rs_uid)
        if counts is None:
            counts = self._pod_counts[rs_uid] = _PodCounts()
        counts.ready += ready
        counts.running += running
        rs = self._replicaset_by_uid.get(rs_uid)
        if rs is None or not rs.owner:
            return
        owned = self._owned_of(rs.owner)
        owned.ready += ready
        if running:
            owned.running_total += running
            if counts.running > 0:
                owned.running[rs_uid] = counts.running
            else:
                owned.running.pop(rs_uid, None)

    def _pod(
        self, key: str, view: _PodView | None, revision: int, actor: str, judge: bool
    ) -> list[Violation]:
        old = self._pods.get(key)
        new: _Pod | None = None
        if view is not None:
            owner, controllers = _controller_uids(view.metadata)
            running = view.status is not None and view.status.phase in _RUNNING_PHASES
            new = _Pod(owner, _ready(view), running, controllers)
        affected: list[str] = []
        for pod in (old, new):
            if pod is not None and pod.owner:
                rs = self._replicaset_by_uid.get(pod.owner)
                if rs is not None and rs.owner and rs.owner not in affected:
                    affected.append(rs.owner)
        before = [self._snapshot(uid) for uid in affected] if judge else []
        if old is not None and old.owner and (old.ready or old.running):
            self._pod_delta(old.owner, -old.ready, -old.running)
        if new is not None:
            if new.owner and (new.ready or new.running):
                self._pod_delta(new.owner, new.ready, new.running)
            self._pods[key] = new
        else:
            self._pods.pop(key, None)
        if not judge:
            return []
        violations: list[Violation] = []
        if new is not None and view is not None:
            self._check_controllers(
                violations, "Pod", key, _PODS, revision, actor, old is None, old, new.controllers
            )
        for uid, snapshot in zip(affected, before, strict=True):
            self._check_deployment(violations, uid, snapshot, revision, actor)
        return violations

    # -- replica sets ---------------------------------------------------------------------------

    def _contribute(self, rs: _ReplicaSet, sign: int) -> None:
        """Add (`sign` 1) or remove (-1) a ReplicaSet's share of its Deployment's aggregates."""
        if not rs.owner:
            return
        owned = self._owned_of(rs.owner)
        owned.rs_spec += sign * rs.replicas
        counts = self._pod_counts.get(rs.uid)
        if counts is None:
            return
        owned.ready += sign * counts.ready
        if counts.running:
            owned.running_total += sign * counts.running
            if sign > 0:
                owned.running[rs.uid] = counts.running
            else:
                owned.running.pop(rs.uid, None)

    def _replicaset(
        self, key: str, value: bytes | None, revision: int, actor: str, judge: bool
    ) -> list[Violation]:
        old = self._replicasets.get(key)
        new: _ReplicaSet | None = None
        if value is not None:
            view = _DECODE_REPLICASET(value)
            owner, controllers = _controller_uids(view.metadata)
            replicas = 1 if view.spec.replicas is None else view.spec.replicas
            new = _ReplicaSet(view.metadata.uid, owner, replicas, controllers)
        affected = [rs.owner for rs in (old, new) if rs is not None and rs.owner]
        if len(affected) == 2 and affected[0] == affected[1]:
            affected.pop()
        before = [self._snapshot(uid) for uid in affected] if judge else []
        if old is not None:
            self._contribute(old, -1)
            if self._replicaset_by_uid.get(old.uid) is old:
                del self._replicaset_by_uid[old.uid]
        if new is not None:
            self._replicasets[key] = new
            self._replicaset_by_uid[new.uid] = new
            self._contribute(new, 1)
        else:
            self._replicasets.pop(key, None)
        if not judge:
            return []
        violations: list[Violation] = []
        if new is not None:
            self._check_controllers(
                violations,
                "ReplicaSet",
                key,
                _REPLICASETS,
                revision,
                actor,
                old is None,
                old,
                new.controllers,
            )
        for uid, snapshot in zip(affected, before, strict=True):
            self._check_deployment(violations, uid, snapshot, revision, actor)
        return violations

    # -- deployments ----------------------------------------------------------------------------

    def _deployment(
        self, key: str, value: bytes | None, revision: int, actor: str, judge: bool
    ) -> list[Violation]:
        old = self._deployments.get(key)
        if value is None:
            if old is not None:
                del self._deployments[key]
                if self._deployment_by_uid.get(old.uid) is old:
                    del self._deployment_by_uid[old.uid]
            return []
        view = _DECODE_DEPLOYMENT(value)
        meta = view.metadata
        spec = bytes(view.spec)
        deleting = meta.deletion_timestamp is not None
        if old is not None and old.uid == meta.uid and old.spec == spec:
            new = old
            new.deleting = deleting
        else:
            new = self._parse_deployment(key, meta, spec, deleting)
            if old is not None and self._deployment_by_uid.get(old.uid) is old:
                del self._deployment_by_uid[old.uid]
        self._deployments[key] = new
        self._deployment_by_uid[new.uid] = new
        # The spec (and with it the bounds) may change here, but S, R and the running pods do
        # not: nothing of max-surge, min-ready or recreate-overlap can break at this revision.
        violations: list[Violation] = []
        annotation = meta.annotations.get(REVISION_ANNOTATION)
        if annotation is not None and not (judge and self.exempt(actor)):
            try:
                number = int(annotation)
            except ValueError:
                return violations
            owned = self._owned_of(new.uid)
            if judge and number < owned.revision_mark:
                violations.append(
                    Violation(
                        revision,
                        REVISION_DECREASE,
                        "Deployment",
                        new.namespace,
                        new.name,
                        actor,
                        f"{REVISION_ANNOTATION} went down to {number} from {owned.revision_mark}",
                        {"revision": number, "previous": owned.revision_mark},
                    )
                )
            owned.revision_mark = max(owned.revision_mark, number)
        return violations

    def _parse_deployment(self, key: str, meta: _Meta, spec: bytes, deleting: bool) -> _Deployment:
        namespace, name = _split_key(key, _DEPLOYMENTS)
        parsed = _DECODE_DEPLOYMENT_SPEC(spec)
        replicas = 1 if parsed.replicas is None else parsed.replicas
        strategy = parsed.strategy or _Strategy()
        kind = strategy.type or "RollingUpdate"
        surge = unavailable = 0
        bounded = True
        if kind == "RollingUpdate":
            rolling = strategy.rolling_update or _RollingUpdate()
            try:
                surge, unavailable = resolve_fenceposts(
                    replicas, rolling.max_surge, rolling.max_unavailable
                )
            except IntOrStringError:
                bounded = False
        return _Deployment(
            meta.uid,
            meta.namespace or namespace,
            meta.name or name,
            spec,
            kind,
            replicas,
            surge,
            unavailable,
            bounded,
            deleting,
        )

    # -- statefulsets: ordered-ready, retained-claim-deleted ------------------------------------

    def _check_deployment(
        self, out: list[Violation], uid: str, before: _Snapshot, revision: int, actor: str
    ) -> None:
        d = self._deployment_by_uid.get(uid)
        if d is None or d.deleting or self.exempt(actor):
            return
        s0, r0, n0, t0 = before
        s1, r1, n1, t1 = self._snapshot(uid)
        if d.strategy == "RollingUpdate" and d.bounded:
            limit = d.replicas + d.max_surge
            floor = d.replicas - d.max_unavailable
            numbers = {
                "replicas": d.replicas,
                "max_surge": d.max_surge,
                "max_unavailable": d.max_unavailable,
            }
            if s1 > max(limit, s0):
                out.append(
                    Violation(
                        revision,
                        MAX_SURGE,
                        "Deployment",
                        d.namespace,
                        d.name,
                        actor,
                        f"its ReplicaSets' spec.replicas sum to {s1} (was {s0}), above "
                        f"replicas {d.replicas} + maxSurge {d.max_surge} = {limit}",
                        {**numbers, "rs_spec_replicas": s1, "previous": s0, "limit": limit},
                    )
                )
            if r1 < min(floor, r0):
                out.append(
                    Violation(
                        revision,
                        MIN_READY,
                        "Deployment",
                        d.namespace,
                        d.name,
                        actor,
                        f"{r1} Ready pods (was {r0}), below replicas {d.replicas} - "
                        f"maxUnavailable {d.max_unavailable} = {floor}",
                        {**numbers, "ready_pods": r1, "previous": r0, "floor": floor},
                    )
                )
        elif d.strategy == "Recreate" and n1 >= 2 and (n0 < 2 or t1 > t0):
            owned = self._owned[uid]
            by_rs = ", ".join(
                f"{self._rs_name(rs_uid)}: {count}"
                for rs_uid, count in sorted(owned.running.items())
            )
            out.append(
                Violation(
                    revision,
                    RECREATE_OVERLAP,
                    "Deployment",
                    d.namespace,
                    d.name,
                    actor,
                    f"pods running in {n1} ReplicaSets at once ({by_rs}); {t1} running pods "
                    f"(was {t0} in {n0} ReplicaSets)",
                    {
                        "replicasets_running": n1,
                        "running_pods": t1,
                        "previous_replicasets_running": n0,
                        "previous_running_pods": t0,
                    },
                )
            )

    def _rs_name(self, uid: str) -> str:
        for key, rs in self._replicasets.items():
            if rs.uid == uid:
                return key.rsplit("/", 1)[-1]
        return uid

    def _check_controllers(
        self,
        out: list[Violation],
        kind: str,
        key: str,
        prefix: str,
        revision: int,
        actor: str,
        created: bool,
        old: _Pod | _ReplicaSet | None,
        controllers: int,
    ) -> None:
        if controllers > 1 and (old is None or old.controllers <= 1):
            namespace, name = _split_key(key, prefix)
            out.append(
                Violation(
                    revision,
                    MULTIPLE_CONTROLLERS,
                    kind,
                    namespace,
                    name,
                    actor,
                    f"{controllers} ownerReferences with controller: true (at most 1 allowed)",
                    {"controller_refs": controllers},
                )
            )
        elif created and controllers == 0 and actor.startswith("controller/"):
            namespace, name = _split_key(key, prefix)
            out.append(
                Violation(
                    revision,
                    MISSING_CONTROLLER,
                    kind,
                    namespace,
                    name,
                    actor,
                    "created by a controller without a controller ownerReference",
                    {"controller_refs": 0},
                )
            )


async def check_log(
    log: store.EventLog, *, exempt_actors: Iterable[str] = ("user",)
) -> list[Violation]:
    """Replay the whole log (from its compacted revision, whose state is loaded unjudged) and
    return every violation, in revision order."""
    checker = Checker(exempt_actors=exempt_actors)
    start = log.compacted_revision
    if start > 0:
        for prefix in _SEED_PREFIXES:
            snapshot = await log.range(prefix, at=start)
            for item in snapshot.items:
                checker.seed(item.key, item.value, start)
    violations: list[Violation] = []
    feed = checker.feed
    async for event in log.events(after=start, prefix="/registry/"):
        found = feed(event)
        if found:
            violations.extend(found)
    return violations


async def assert_invariants(
    log: store.EventLog, *, exempt_actors: Iterable[str] = ("user",), show: int = 20
) -> None:
    """`check_log`, raising AssertionError that lists the first `show` violations."""
    violations = await check_log(log, exempt_actors=exempt_actors)
    if violations:
        lines = [str(v) for v in violations[:show]]
        more = len(violations) - show
        if more > 0:
            lines.append(f"... and {more} more")
        raise AssertionError(f"{len(violations)} invariant violations:\n" + "\n".join(lines))
