"""The scheduler: binds pending pods to Ready, schedulable nodes (least loaded first).

    scheduler = Scheduler(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(scheduler.controller)      # actor "controller/scheduler"

- `scheduler` — the controller: binding (one `Client.bind` write), `PodScheduled`,
  `Scheduled` / `FailedScheduling` events, the unschedulable set.
- `cache` — pods counted per node and the least-loaded fitting node in O(log nodes).
- `filters` — the pure filters, score and fit-error message.
"""

from controllers.scheduler.filters import (
    NO_NODES_AVAILABLE,
    REASON_NODE_SELECTOR,
    REASON_TOO_MANY_PODS,
    REASON_UNSCHEDULABLE,
    filter_node,
    fit_error,
    is_node_ready,
    pick_node,
    pod_capacity,
    tolerates,
)
from controllers.scheduler.scheduler import (
    DEFAULT_SCHEDULER_NAME,
    POD_INITIAL_BACKOFF,
    POD_MAX_BACKOFF,
    SCHEDULER_NAME,
    Scheduler,
    pod_backoff,
    with_condition,
)

__all__ = [
    "DEFAULT_SCHEDULER_NAME",
    "NO_NODES_AVAILABLE",
    "POD_INITIAL_BACKOFF",
    "POD_MAX_BACKOFF",
    "REASON_NODE_SELECTOR",
    "REASON_TOO_MANY_PODS",
    "REASON_UNSCHEDULABLE",
    "SCHEDULER_NAME",
    "Scheduler",
    "filter_node",
    "fit_error",
    "is_node_ready",
    "pick_node",
    "pod_backoff",
    "pod_capacity",
    "tolerates",
    "with_condition",
]
