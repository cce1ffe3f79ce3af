"""The Endpoints controller (upstream `pkg/controller/endpoint`).

    epc = EndpointsController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(epc.controller)          # name "endpoints", actor "controller/endpoints"

- `controller.py`: handlers, the Service index, `reconcile` (`syncService`);
- `subsets.py`: the pure part (which pods, which addresses and ports, `RepackSubsets`, capacity);
- `triggertime.py`: the `endpoints.kubernetes.io/last-change-trigger-time` tracker.
"""

from controllers.endpoints.controller import (
    DEFAULT_WORKERS,
    EP_NAME,
    EVENT_SOURCE,
    HEADLESS_LABEL,
    LAST_CHANGE_TRIGGER_TIME,
    OVER_CAPACITY,
    EndpointsController,
    EventSink,
)
from controllers.endpoints.subsets import (
    MAX_CAPACITY,
    build_subsets,
    find_port,
    repack_subsets,
    should_pod_be_in_endpoints,
    should_set_hostname,
    truncate,
)
from controllers.endpoints.triggertime import TriggerTimeTracker

__all__ = [
    "DEFAULT_WORKERS",
    "EP_NAME",
    "EVENT_SOURCE",
    "HEADLESS_LABEL",
    "LAST_CHANGE_TRIGGER_TIME",
    "MAX_CAPACITY",
    "OVER_CAPACITY",
    "EndpointsController",
    "EventSink",
    "TriggerTimeTracker",
    "build_subsets",
    "find_port",
    "repack_subsets",
    "should_pod_be_in_endpoints",
    "should_set_hostname",
    "truncate",
]
