"""The StatefulSet controller (upstream `pkg/controller/statefulset`).

    sts = StatefulSetController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(sts.controller)          # name "statefulset", actor "controller/statefulset"

Modules: `identity` (pure: ordinals, names, pod identity and storage, claim ownership;
`stateful_set_utils.go`), `history` (ControllerRevisions: patch, hash, choose, truncate;
`controller_history.go` and `stateful_set_control.go`), `podcontrol` (the writes on pods and
claims and their events; `stateful_pod_control.go`), `control` (`updateStatefulSet`, status;
`stateful_set_control.go`, `stateful_set_status_updater.go`), `controller` (handlers, queue,
sync; `stateful_set.go`).
"""

from controllers.statefulset.controller import (
    EVENT_SOURCE,
    STS_NAME,
    StatefulSetController,
)

__all__ = ["EVENT_SOURCE", "STS_NAME", "StatefulSetController"]
