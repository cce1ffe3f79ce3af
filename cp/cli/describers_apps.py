"""`kubectl describe` for the apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet.

Follows kubectl 1.32 `staging/src/k8s.io/kubectl/pkg/describe/describe.go`:
`describeDeployment` (+ `printReplicaSetsByLabels`, and the new/old ReplicaSets as
`kubectl/pkg/util/deployment.GetAllReplicaSetsInChunks` finds them), `describeReplicaSet`,
`describeStatefulSet` (+ `describeVolumeClaimTemplates`), `describeDaemonSet`, and
`getPodStatusForController` for their `Pods Status` lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from cp.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.api.core_pod import Pod
from cp.api.meta import LabelSelector, ObjectMeta
from cp.api.selectors import Selector, SelectorError
from cp.cli.describers import (
    PrefixWriter,
    Related,
    annotations_multiline,
    controlled_by,
    controller_of,
    describe_events,
    go_list,
    labels_multiline,
    rfc1123z,
)
from cp.cli.describers_pod import describe_pod_template
from cp.cli.printers_common import (
    format_label_selector,
    format_labels,
    quantity,
    selector_string,
)

__all__ = [
    "describe_daemon_set",
    "describe_deployment",
    "describe_replica_set",
    "describe_stateful_set",
    "pods_status",
]


def _owned(meta: ObjectMeta, owner: ObjectMeta) -> bool:
    ref = controller_of(meta)
    return ref is not None and ref.uid == owner.uid


def _selector(selector: LabelSelector | None) -> Selector | None:
    try:
        return Selector.from_label_selector(selector)
    except SelectorError:
        return None


def pods_status(owner: ObjectMeta, selector: LabelSelector | None, pods: Sequence[Pod]) -> str:
    """`getPodStatusForController`: the owner's pods (matching its selector and controlled
    by it) counted by phase, as `2 Running / 1 Waiting / 0 Succeeded / 0 Failed`."""
    match = _selector(selector)
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for pod in pods:
        if match is None or not match.matches(pod.metadata.labels):
            continue
        if not _owned(pod.metadata, owner):
            continue
        phase = pod.status.phase if pod.status else ""
        if phase in counts:
            counts[phase] += 1
    return (
        f"{counts['Running']} Running / {counts['Pending']} Waiting / "
        f"{counts['Succeeded']} Succeeded / {counts['Failed']} Failed"
    )


def _conditions(w: PrefixWriter, conditions: Sequence[tuple[str, str, str]]) -> None:
    """The `Type Status Reason` table of Deployment and ReplicaSet conditions."""
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for kind, status, reason in conditions:
            w.write(1, f"{kind} \t{status}\t{reason}\n")


def _intstr(value: int | str | None) -> str:
    """`(*intstr.IntOrString).String()`: `<nil>` for an unset pointer."""
    return "<nil>" if value is None else str(value)


def _replica_sets(rss: Sequence[ReplicaSet]) -> str:
    """`printReplicaSetsByLabels`: `name (3/3 replicas created), ...` or `<none>`."""
    parts = [
        f"{rs.metadata.name} ({rs.status.replicas if rs.status else 0}/"
        f"{rs.spec.replicas if rs.spec.replicas is not None else 0} replicas created)"
        for rs in rss
    ]
    return ", ".join(parts) or "<none>"


def describe_deployment(d: Deployment, related: Related) -> str:
    """`describeDeployment`; NewReplicaSet is the oldest owned RS whose template equals the
    Deployment's (ignoring pod-template-hash), OldReplicaSets all the other owned ones."""
    # the controller's package loads only when a Deployment is described
    from controllers.deployment.util import find_new_replica_set, sorted_by_creation

    meta, spec = d.metadata, d.spec
    status = d.status
    owned = sorted_by_creation(rs for rs in related.replica_sets if _owned(rs.metadata, meta))
    new_rs = find_new_replica_set(d, owned)
    old = [rs for rs in owned if new_rs is None or rs.metadata.uid != new_rs.metadata.uid]
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.creation_timestamp)}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    w.write(0, f"Selector:\t{selector_string(spec.selector)}\n")
    replicas = spec.replicas if spec.replicas is not None else 0
    updated = status.updated_replicas if status else 0
    total = status.replicas if status else 0
    available = status.available_replicas if status else 0
    unavailable = status.unavailable_replicas if status else 0
    w.write(
        0,
        f"Replicas:\t{replicas} desired | {updated} updated | {total} total | "
        f"{available} available | {unavailable} unavailable\n",
    )
    strategy = spec.strategy
    w.write(0, f"StrategyType:\t{strategy.type if strategy else ''}\n")
    w.write(0, f"MinReadySeconds:\t{spec.min_ready_seconds}\n")
    if strategy is not None and strategy.rolling_update is not None:
        rolling = strategy.rolling_update
        w.write(
            0,
            f"RollingUpdateStrategy:\t{_intstr(rolling.max_unavailable)} max unavailable, "
            f"{_intstr(rolling.max_surge)} max surge\n",
        )
    describe_pod_template(w, spec.template)
    _conditions(w, [(c.type, c.status, c.reason) for c in (status.conditions if status else ())])
    if old or new_rs is not None:
        w.write(0, f"OldReplicaSets:\t{_replica_sets(old)}\n")
        w.write(0, f"NewReplicaSet:\t{_replica_sets([new_rs] if new_rs else [])}\n")
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def describe_replica_set(rs: ReplicaSet, related: Related) -> str:
    """`describeReplicaSet`."""
    meta, spec = rs.metadata, rs.spec
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"Selector:\t{format_label_selector(spec.selector)}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    controlled_by(w, meta)
    current = rs.status.replicas if rs.status else 0
    desired = spec.replicas if spec.replicas is not None else 0
    w.write(0, f"Replicas:\t{current} current / {desired} desired\n")
    w.write(0, f"Pods Status:\t{pods_status(meta, spec.selector, related.pods)}\n")
    describe_pod_template(w, spec.template)
    conditions = rs.status.conditions if rs.status else ()
    _conditions(w, [(c.type, c.status, c.reason) for c in conditions])
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def _claim_templates(w: PrefixWriter, sts: StatefulSet) -> None:
    """`describeVolumeClaimTemplates`."""
    templates = sts.spec.volume_claim_templates
    if not templates:
        w.write(0, "Volume Claims:\t<none>\n")
        return
    w.write(0, "Volume Claims:\n")
    for claim in templates:
        w.write(1, f"Name:\t{claim.metadata.name}\n")
        storage_class = claim.metadata.annotations.get(
            "volume.beta.kubernetes.io/storage-class", claim.spec.storage_class_name or ""
        )
        w.write(1, f"StorageClass:\t{storage_class}\n")
        labels_multiline(w, "Labels", claim.metadata.labels, initial_indent="  ")
        labels_multiline(w, "Annotations", claim.metadata.annotations, initial_indent="  ")
        requests = claim.spec.resources.requests if claim.spec.resources else {}
        capacity = quantity(requests["storage"]) if "storage" in requests else "<default>"
        w.write(1, f"Capacity:\t{capacity}\n")
        w.write(1, f"Access Modes:\t{go_list(claim.spec.access_modes)}\n")


def describe_stateful_set(sts: StatefulSet, related: Related) -> str:
    """`describeStatefulSet`."""
    meta, spec = sts.metadata, sts.spec
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.creation_timestamp)}\n")
    w.write(0, f"Selector:\t{selector_string(spec.selector)}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    desired = spec.replicas if spec.replicas is not None else 0
    w.write(0, f"Replicas:\t{desired} desired | {sts.status.replicas if sts.status else 0} total\n")
    strategy = spec.update_strategy
    w.write(0, f"Update Strategy:\t{strategy.type if strategy else ''}\n")
    rolling = strategy.rolling_update if strategy else None
    if rolling is not None and rolling.partition is not None:
        w.write(1, f"Partition:\t{rolling.partition}\n")
        if rolling.max_unavailable is not None:
            w.write(1, f"MaxUnavailable:\t{rolling.max_unavailable}\n")
    w.write(0, f"Pods Status:\t{pods_status(meta, spec.selector, related.pods)}\n")
    describe_pod_template(w, spec.template)
    _claim_templates(w, sts)
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def describe_daemon_set(ds: DaemonSet, related: Related) -> str:
    """`describeDaemonSet` (its counters are written without a tab, as upstream does)."""
    meta, spec = ds.metadata, ds.spec
    status = ds.status
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"Selector:\t{selector_string(spec.selector)}\n")
    w.write(0, f"Node-Selector:\t{format_labels(spec.template.spec.node_selector)}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    for title, value in (
        ("Desired Number of Nodes Scheduled", status.desired_number_scheduled if status else 0),
        ("Current Number of Nodes Scheduled", status.current_number_scheduled if status else 0),
        (
            "Number of Nodes Scheduled with Up-to-date Pods",
            status.updated_number_scheduled if status else 0,
        ),
        (
            "Number of Nodes Scheduled with Available Pods",
            status.number_available if status else 0,
        ),
        ("Number of Nodes Misscheduled", status.number_misscheduled if status else 0),
    ):
        w.write(0, f"{title}: {value}\n")
    w.write(0, f"Pods Status:\t{pods_status(meta, spec.selector, related.pods)}\n")
    describe_pod_template(w, spec.template)
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()
