"""The ReplicaSet controller (upstream `pkg/controller/replicaset`).

    rsc = ReplicaSetController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(rsc.controller)          # name "replicaset", actor "controller/replicaset"

- `controller.py`: handlers, expectations, `reconcile` (`syncReplicaSet`), claiming pods;
- `manage.py`: `manage_replicas` (slow-start creates, ranked deletes, burst 500);
- `status.py`: `calculate_status` (pure) and the status write;
- `owned.py`: per ReplicaSet, the counts of the pods it controls, kept by the pod handlers, so
  a sync costs O(1) instead of O(its pods) (the hot path);
- `podfacts.py`: what a sync reads of each pod (`facts_of`, `summarize`, a per-version cache).
"""

from controllers.replicaset.controller import EVENT_SOURCE, RS_NAME, ReplicaSetController
from controllers.replicaset.manage import (
    BURST_REPLICAS,
    SLOW_START_INITIAL_BATCH_SIZE,
    EventSink,
    ManageDeps,
    get_pods_to_delete,
    manage_replicas,
    pod_from_template,
    slow_start_batch,
)
from controllers.replicaset.status import (
    REPLICA_FAILURE,
    calculate_status,
    next_available_in,
    update_replica_set_status,
)

__all__ = [
    "BURST_REPLICAS",
    "EVENT_SOURCE",
    "REPLICA_FAILURE",
    "RS_NAME",
    "SLOW_START_INITIAL_BATCH_SIZE",
    "EventSink",
    "ManageDeps",
    "ReplicaSetController",
    "calculate_status",
    "get_pods_to_delete",
    "manage_replicas",
    "next_available_in",
    "pod_from_template",
    "slow_start_batch",
    "update_replica_set_status",
]
