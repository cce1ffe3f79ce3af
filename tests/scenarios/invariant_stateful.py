"""The StatefulSet, claim, volume and Service rules of the invariant checker
(`ordered-ready`, `retained-claim-deleted`, `duplicate-cluster-ip`, `pv-double-bound`; see
`tests/scenarios/invariants.py`), as a mixin of its `Checker`: the handlers for those kinds."""

from __future__ import annotations

from tests.scenarios.invariant_state import (
    _CLAIMS,
    _PODS,
    _SERVICES,
    _STATEFULSETS,
    _VOLUMES,
    DUPLICATE_CLUSTER_IP,
    ORDERED_READY,
    PV_DOUBLE_BOUND,
    RETAINED_CLAIM_DELETED,
    Violation,
    _Claim,
    _cluster_ips,
    _controller_uids,
    _ordinal,
    _ready,
    _same_claim,
    _split_key,
    _StatefulSet,
    _StsPod,
)
from tests.scenarios.invariant_views import (
    _DECODE_CLAIM,
    _DECODE_SERVICE,
    _DECODE_STATEFULSET,
    _DECODE_VOLUME,
    _ClaimRef,
    _PodView,
    _RetentionPolicy,
)


class StatefulRules:
    """Handlers of StatefulSets, their pods, claims, volumes and Services (a `Checker` mixin
    owning the state of those kinds)."""

    def __init__(self) -> None:
        self._sets: dict[str, _StatefulSet] = {}  # key -> state
        self._set_by_uid: dict[str, _StatefulSet] = {}  # kept after deletion (retention)
        self._claim_prefixes: dict[tuple[str, str], str] = {}  # (ns, "<tpl>-<set>-") -> uid
        self._set_pods: dict[str, _StsPod] = {}  # pod key -> state (pods of known sets)
        self._claims: dict[str, _Claim] = {}  # key -> state
        self._bound: dict[str, set[str]] = {}  # PV name -> keys of claims Bound to it
        self._volume_refs: dict[str, _ClaimRef] = {}  # PV key -> spec.claimRef
        self._service_ips: dict[str, frozenset[str]] = {}  # Service key -> its ClusterIPs
        self._ip_owners: dict[str, set[str]] = {}  # ClusterIP -> keys of Services holding it

    def exempt(self, actor: str) -> bool:
        """Whether `actor`'s writes are not judged (the `Checker` decides)."""
        raise NotImplementedError

    def _statefulset(self, key: str, value: bytes | None) -> None:
        old = self._sets.get(key)
        if value is None:
            if old is not None:
                del self._sets[key]
            return  # by uid and its claim prefixes: kept (its retained claims outlive it)
        view = _DECODE_STATEFULSET(value)
        meta = view.metadata
        spec = view.spec
        namespace, name = _split_key(key, _STATEFULSETS)
        namespace, name = meta.namespace or namespace, meta.name or name
        policy = spec.persistent_volume_claim_retention_policy or _RetentionPolicy()
        prefixes = tuple(f"{t.metadata.name}-{name}-" for t in spec.volume_claim_templates)
        ready: set[int] = set()
        if old is not None and old.uid == meta.uid:
            ready = old.ready
        new = _StatefulSet(
            uid=meta.uid,
            namespace=namespace,
            name=name,
            ordered=spec.pod_management_policy in (None, "", "OrderedReady"),
            start=spec.ordinals.start if spec.ordinals is not None else 0,
            retain=policy.when_deleted != "Delete" and policy.when_scaled != "Delete",
            deleting=meta.deletion_timestamp is not None,
            prefixes=prefixes,
            ready=ready,
        )
        self._sets[key] = new
        self._set_by_uid[new.uid] = new
        for prefix in prefixes:
            self._claim_prefixes[(namespace, prefix)] = new.uid

    def _set_pod(
        self, key: str, view: _PodView | None, revision: int, actor: str, judge: bool
    ) -> list[Violation]:
        old = self._set_pods.get(key)
        new: _StsPod | None = None
        sts: _StatefulSet | None = None
        if view is not None:
            owner, _count = _controller_uids(view.metadata)
            sts = self._set_by_uid.get(owner) if owner else None
            if sts is not None:
                _ns, name = _split_key(key, _PODS)
                ordinal = _ordinal(view.metadata.name or name, sts.name)
                if ordinal is not None:
                    running = view.status is not None and view.status.phase == "Running"
                    new = _StsPod(owner, ordinal, running and _ready(view))
        if old is not None and old.ready:
            owner_set = self._set_by_uid.get(old.owner)
            if owner_set is not None:
                owner_set.ready.discard(old.ordinal)
        if new is None:
            self._set_pods.pop(key, None)
            return []
        self._set_pods[key] = new
        if new.ready and sts is not None:
            sts.ready.add(new.ordinal)
        if (
            not judge
            or old is not None
            or sts is None
            or not sts.ordered
            or sts.deleting
            or not actor.startswith("controller/")
            or self.exempt(actor)
        ):
            return []
        missing = [i for i in range(sts.start, new.ordinal) if i not in sts.ready]
        if not missing:
            return []
        _ns, pod_name = _split_key(key, _PODS)
        return [
            Violation(
                revision,
                ORDERED_READY,
                "StatefulSet",
                sts.namespace,
                sts.name,
                actor,
                f"pod {pod_name} (ordinal {new.ordinal}) created while ordinal(s) "
                f"{', '.join(map(str, missing))} not Running and Ready",
                {"ordinal": new.ordinal, "not_ready": missing[0], "not_ready_count": len(missing)},
            )
        ]

    # -- claims and volumes: retained-claim-deleted, pv-double-bound ----------------------------

    def _claim_owner(self, namespace: str, name: str) -> str:
        head, sep, tail = name.rpartition("-")
        if not sep or not tail.isdigit():
            return ""
        return self._claim_prefixes.get((namespace, head + "-"), "")

    def _claim(
        self, key: str, value: bytes | None, revision: int, actor: str, judge: bool
    ) -> list[Violation]:
        old = self._claims.get(key)
        new: _Claim | None = None
        if value is not None:
            view = _DECODE_CLAIM(value)
            namespace, name = _split_key(key, _CLAIMS)
            namespace, name = view.metadata.namespace or namespace, view.metadata.name or name
            if old is not None and old.uid == view.metadata.uid:
                owner = old.owner
            else:
                owner = self._claim_owner(namespace, name)
            new = _Claim(
                namespace,
                name,
                view.metadata.uid,
                view.spec.volume_name,
                view.status is not None and view.status.phase == "Bound",
                view.metadata.deletion_timestamp is not None,
                owner,
            )
        was_bound = old is not None and old.bound and bool(old.volume)
        if was_bound and old is not None:
            holders = self._bound.get(old.volume)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._bound[old.volume]
        violations: list[Violation] = []
        if new is not None:
            self._claims[key] = new
            if new.bound and new.volume:
                holders = self._bound.setdefault(new.volume, set())
                others = sorted(holders - {key})
                holders.add(key)
                newly = not (was_bound and old is not None and old.volume == new.volume)
                if judge and others and newly:
                    violations.append(
                        Violation(
                            revision,
                            PV_DOUBLE_BOUND,
                            "PersistentVolume",
                            "",
                            new.volume,
                            actor,
                            f"claim {new.namespace}/{new.name} Bound to it while "
                            f"{', '.join(k[len(_CLAIMS) :] for k in others)} also is",
                            {"claims": len(others) + 1},
                        )
                    )
        else:
            self._claims.pop(key, None)
        first_delete = (old is not None and not old.deleting) and (new is None or new.deleting)
        by_controller = actor.startswith("controller/") and not self.exempt(actor)
        if judge and first_delete and old is not None and old.owner and by_controller:
            sts = self._set_by_uid.get(old.owner)
            if sts is not None and sts.retain:
                violations.append(
                    Violation(
                        revision,
                        RETAINED_CLAIM_DELETED,
                        "PersistentVolumeClaim",
                        old.namespace,
                        old.name,
                        actor,
                        f"claim of StatefulSet {sts.namespace}/{sts.name}, whose "
                        "persistentVolumeClaimRetentionPolicy is Retain/Retain, deleted",
                        {},
                    )
                )
        return violations

    def _volume(
        self, key: str, value: bytes | None, revision: int, actor: str, judge: bool
    ) -> list[Violation]:
        old = self._volume_refs.get(key)
        if value is None:
            self._volume_refs.pop(key, None)
            return []
        view = _DECODE_VOLUME(value)
        new = view.spec.claim_ref
        if new is None:
            self._volume_refs.pop(key, None)
        else:
            self._volume_refs[key] = new
        if not judge or old is None or new is None or _same_claim(old, new):
            return []
        pv = view.metadata.name or key[len(_VOLUMES) :]  # cluster-scoped: <prefix><name>
        first = self._claims.get(f"{_CLAIMS}{old.namespace}/{old.name}")
        if (
            first is None
            or not first.bound
            or first.volume != pv
            or (old.uid and first.uid and old.uid != first.uid)
        ):
            return []
        return [
            Violation(
                revision,
                PV_DOUBLE_BOUND,
                "PersistentVolume",
                "",
                pv,
                actor,
                f"claimRef changed from {old.namespace}/{old.name} to {new.namespace}/{new.name} "
                f"while {old.namespace}/{old.name} is still Bound to it",
                {"claims": 2},
            )
        ]

    # -- services: duplicate-cluster-ip ----------------------------------------------------------

    def _service(
        self, key: str, value: bytes | None, revision: int, actor: str, judge: bool
    ) -> list[Violation]:
        old = self._service_ips.get(key, frozenset())
        new = frozenset() if value is None else _cluster_ips(_DECODE_SERVICE(value))
        for ip in old - new:
            holders = self._ip_owners.get(ip)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._ip_owners[ip]
        if new:
            self._service_ips[key] = new
        else:
            self._service_ips.pop(key, None)
        violations: list[Violation] = []
        for ip in sorted(new - old):
            holders = self._ip_owners.setdefault(ip, set())
            if judge and holders:
                namespace, name = _split_key(key, _SERVICES)
                violations.append(
                    Violation(
                        revision,
                        DUPLICATE_CLUSTER_IP,
                        "Service",
                        namespace,
                        name,
                        actor,
                        f"ClusterIP {ip} already held by "
                        f"{', '.join(k[len(_SERVICES) :] for k in sorted(holders))}",
                        {"services": len(holders) + 1},
                    )
                )
            holders.add(key)
        return violations

    # -- rules ----------------------------------------------------------------------------------
