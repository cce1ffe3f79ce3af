"""Informers: list+watch reflectors, indexed caches of frozen objects, shared per kind.

    factory = SharedInformerFactory(server, activity, head=lambda: server.log.revision)
    pods = factory.informer_for("Pod")
    pods.add_handler(Handlers(on_add=..., on_update=..., on_delete=...))
    async with factory:
        await factory.wait_for_sync()
        pods.lister(Pod).list("default", Selector.parse("app=web"))

Errors: `InformerError` (an object without metadata, a misused factory); `Expired` from the
API is handled (relist), anything else from the list/watch propagates out of the factory.
"""

from cp.informer.cache import Indexer, InformerError, Lister, key_of, meta_of, object_key
from cp.informer.reflector import (
    Deleted,
    EventHandler,
    ListWatcher,
    Reflector,
    WatchContext,
    WatchEventLike,
    WatchStream,
)
from cp.informer.shared import Handlers, SharedInformer, SharedInformerFactory

__all__ = [
    "Deleted",
    "EventHandler",
    "Handlers",
    "Indexer",
    "InformerError",
    "ListWatcher",
    "Lister",
    "Reflector",
    "SharedInformer",
    "SharedInformerFactory",
    "WatchContext",
    "WatchEventLike",
    "WatchStream",
    "key_of",
    "meta_of",
    "object_key",
]
