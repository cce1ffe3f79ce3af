"""What the controllers' recorded-action harnesses share (STYLE 13): informers that are never
started, caches brought to the fake client's objects by hand.

    factory = SharedInformerFactory(NoApi(), Activity())
    sync_caches(factory, client, ("ReplicaSet", "Pod"))   # fires the handlers, as a watch would
"""

from __future__ import annotations

from collections.abc import Sequence

from cp.api.meta import ApiStruct
from cp.client import FakeClient
from cp.informer import Deleted, SharedInformerFactory, WatchContext, meta_of, object_key

__all__ = ["NoApi", "sync_caches"]


class NoApi:
    """A `ListWatcher` never called: the tests fill the caches themselves."""

    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]:
        raise AssertionError("the unit tests do not start the informers")

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> WatchContext:
        raise AssertionError("the unit tests do not start the informers")


def sync_caches(factory: SharedInformerFactory, client: FakeClient, kinds: Sequence[str]) -> None:
    """Bring the caches of `kinds` to the fake's objects, firing the handlers: deletes first,
    then adds and updates in key order (an update only when the resourceVersion moved)."""
    for kind in kinds:
        informer = factory.informer_for(kind)
        indexer = informer.indexer
        live = {object_key(obj): obj for obj in client.objects() if type(obj).__name__ == kind}
        for key in indexer.sorted_keys():
            if key not in live:
                gone = indexer.delete(key)
                assert gone is not None
                informer.on_delete(Deleted(gone))
        for _key, obj in sorted(live.items()):
            old = indexer.upsert(obj)
            if old is None:
                informer.on_add(obj)
            elif meta_of(old).resource_version != meta_of(obj).resource_version:
                informer.on_update(old, obj)
