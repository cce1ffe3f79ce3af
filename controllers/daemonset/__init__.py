"""The DaemonSet controller (upstream `pkg/controller/daemon`).

    dsc = DaemonSetController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(dsc.controller)          # name "daemonset", actor "controller/daemonset"

- `controller.py`: handlers, expectations, `reconcile` (`syncDaemonSet`), claims;
- `sync.py`: `manage` / `podsShouldBeOnNode`, `rollingUpdate`, `syncNodes`, the status;
- `history.py`: ControllerRevisions (`constructHistory`, `cleanupHistory`);
- `util.py`: `NodeShouldRunDaemonPod`, the daemon pod template and tolerations, `IsPodUpdated`.
"""

from controllers.daemonset.controller import DS_NAME, EVENT_SOURCE, DaemonSetController
from controllers.daemonset.history import construct_history, hash_revision, revision_data
from controllers.daemonset.sync import calculate_status, manage, rolling_update, sync_nodes
from controllers.daemonset.util import (
    HASH_LABEL,
    TEMPLATE_GENERATION_LABEL,
    daemon_tolerations,
    node_should_run_daemon_pod,
    pod_for_node,
)

__all__ = [
    "DS_NAME",
    "EVENT_SOURCE",
    "HASH_LABEL",
    "TEMPLATE_GENERATION_LABEL",
    "DaemonSetController",
    "calculate_status",
    "construct_history",
    "daemon_tolerations",
    "hash_revision",
    "manage",
    "node_should_run_daemon_pod",
    "pod_for_node",
    "revision_data",
    "rolling_update",
    "sync_nodes",
]
