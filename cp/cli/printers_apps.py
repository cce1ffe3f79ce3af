"""kubectl's tables for the `apps/v1` kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet,
ControllerRevision.

Transcribed from `pkg/printers/internalversion/printers.go` (kubernetes 1.32): `printDeployment`,
`printReplicaSet`, `printStatefulSet`, `printDaemonSet`, `printControllerRevision`. An unset
`spec.replicas` counts as 1, the apiserver's default.
"""

from __future__ import annotations

from cp.api.apps import ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.cli.printers_common import (
    Column,
    KindPrinter,
    age,
    format_label_selector,
    format_labels,
    group_kind,
    layout_containers,
    selector_string,
)

__all__ = ["APPS_PRINTERS"]

_NAME = Column("Name", is_name=True)
_AGE = Column("Age")
_WIDE_TEMPLATE = (Column("Containers", wide=True), Column("Images", wide=True))


def _replicas(replicas: int | None) -> int:
    return 1 if replicas is None else replicas


def _deployment(obj: Deployment, now: float) -> tuple[str, ...]:
    status = obj.status
    ready = status.ready_replicas if status else 0
    updated = status.updated_replicas if status else 0
    available = status.available_replicas if status else 0
    names, images = layout_containers(obj.spec.template.spec.containers)
    return (
        obj.metadata.name,
        f"{ready}/{_replicas(obj.spec.replicas)}",
        str(updated),
        str(available),
        age(obj.metadata.creation_timestamp, now),
        names,
        images,
        selector_string(obj.spec.selector),
    )


def _replica_set(obj: ReplicaSet, now: float) -> tuple[str, ...]:
    status = obj.status
    names, images = layout_containers(obj.spec.template.spec.containers)
    return (
        obj.metadata.name,
        str(_replicas(obj.spec.replicas)),
        str(status.replicas if status else 0),
        str(status.ready_replicas if status else 0),
        age(obj.metadata.creation_timestamp, now),
        names,
        images,
        format_label_selector(obj.spec.selector),
    )


def _stateful_set(obj: StatefulSet, now: float) -> tuple[str, ...]:
    ready = obj.status.ready_replicas if obj.status else 0
    names, images = layout_containers(obj.spec.template.spec.containers)
    return (
        obj.metadata.name,
        f"{ready}/{_replicas(obj.spec.replicas)}",
        age(obj.metadata.creation_timestamp, now),
        names,
        images,
    )


def _daemon_set(obj: DaemonSet, now: float) -> tuple[str, ...]:
    status = obj.status
    counts = (
        (
            status.desired_number_scheduled,
            status.current_number_scheduled,
            status.number_ready,
            status.updated_number_scheduled,
            status.number_available,
        )
        if status
        else (0, 0, 0, 0, 0)
    )
    names, images = layout_containers(obj.spec.template.spec.containers)
    return (
        obj.metadata.name,
        *(str(count) for count in counts),
        format_labels(obj.spec.template.spec.node_selector),
        age(obj.metadata.creation_timestamp, now),
        names,
        images,
        format_label_selector(obj.spec.selector),
    )


def _controller_revision(obj: ControllerRevision, now: float) -> tuple[str, ...]:
    controller = "<none>"
    for ref in obj.metadata.owner_references:
        if ref.controller:
            controller = f"{group_kind(ref.api_version, ref.kind)}/{ref.name}"
            break
    return (
        obj.metadata.name,
        controller,
        str(obj.revision),
        age(obj.metadata.creation_timestamp, now),
    )


APPS_PRINTERS: dict[str, KindPrinter] = {
    "Deployment": KindPrinter(
        (
            _NAME,
            Column("Ready"),
            Column("Up-to-date"),
            Column("Available"),
            _AGE,
            *_WIDE_TEMPLATE,
            Column("Selector", wide=True),
        ),
        _deployment,
    ),
    "ReplicaSet": KindPrinter(
        (
            _NAME,
            Column("Desired"),
            Column("Current"),
            Column("Ready"),
            _AGE,
            *_WIDE_TEMPLATE,
            Column("Selector", wide=True),
        ),
        _replica_set,
    ),
    "StatefulSet": KindPrinter((_NAME, Column("Ready"), _AGE, *_WIDE_TEMPLATE), _stateful_set),
    "DaemonSet": KindPrinter(
        (
            _NAME,
            Column("Desired"),
            Column("Current"),
            Column("Ready"),
            Column("Up-to-date"),
            Column("Available"),
            Column("Node Selector"),
            _AGE,
            *_WIDE_TEMPLATE,
            Column("Selector", wide=True),
        ),
        _daemon_set,
    ),
    "ControllerRevision": KindPrinter(
        (_NAME, Column("Controller"), Column("Revision"), _AGE), _controller_revision
    ),
}
