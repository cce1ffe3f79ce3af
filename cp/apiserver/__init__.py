"""The API server layer: Kubernetes storage semantics over the event log (`store`).

    server = ApiServer(log, clock_now=clock.now, ids=ids)
    dep = await server.create(Deployment(...), actor="user")
    items, revision = await server.list("Deployment", "default", label_selector="app=web")
    async with server.watch("Deployment", resource_version=str(revision)) as events:
        async for event in events: ...

Only this package imports `store`; every error it raises is a `cp.api.errors.ApiError`.
"""

from cp.apiserver.server import PROPAGATION_POLICIES, ApiServer
from cp.apiserver.watch import ApiWatch, WatchEvent, WatchEventType

__all__ = ["PROPAGATION_POLICIES", "ApiServer", "ApiWatch", "WatchEvent", "WatchEventType"]
