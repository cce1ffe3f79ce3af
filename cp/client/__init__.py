"""The client seam: how controllers, the kubelet simulator and the embedding API read and write.

    from cp.client import Client, acting_as

    async def reconcile(client: Client, key: str, revision: int) -> None:
        with acting_as("controller/deployment", cause=revision):
            dep = await client.get("Deployment", name, namespace=namespace)
            await client.patch("Deployment", name, {"spec": {"replicas": 3}}, namespace=namespace)

- `Client` (`cp.client.protocol`): contract 2's get/list/create/update/update_status/patch/
  delete/watch; `list` returns a `ListResult(items, resource_version)`.
- `acting_as`, `ACTOR`, `CAUSE` (`cp.client.causality`): the actor and cause every write records.
- `EventRecorder` (`cp.client.events`): core/v1 Events with client-go's spam filter,
  aggregation and deduplication.
- `FakeClient`, `Action` (`cp.client.fake`): in-memory client recording calls, for unit tests.
- `InProcessClient` lives in `cp.client.inprocess` and is imported from there by the composition
  roots: it needs `cp.apiserver` (hence `store`), which nothing importing `cp.client` (controllers)
  may pull in.
"""

from cp.client.causality import (
    ACTOR,
    CAUSE,
    DEFAULT_ACTOR,
    acting_as,
    current_actor,
    current_cause,
)
from cp.client.events import EventRecorder
from cp.client.fake import READ_VERBS, Action, FakeClient, FakeWatch, FakeWatchEvent
from cp.client.protocol import (
    PATCH_TYPES,
    Client,
    ListResult,
    PatchBody,
    PatchType,
    WatchEventLike,
    WatchStream,
    apply_patch,
    parse_patch_body,
)

__all__ = [
    "ACTOR",
    "CAUSE",
    "DEFAULT_ACTOR",
    "PATCH_TYPES",
    "READ_VERBS",
    "Action",
    "Client",
    "EventRecorder",
    "FakeClient",
    "FakeWatch",
    "FakeWatchEvent",
    "ListResult",
    "PatchBody",
    "PatchType",
    "WatchEventLike",
    "WatchStream",
    "acting_as",
    "apply_patch",
    "current_actor",
    "current_cause",
    "parse_patch_body",
]
