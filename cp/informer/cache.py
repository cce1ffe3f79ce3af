"""The informer cache: frozen objects by `namespace/name`, with indexes, and typed listers.

Objects are the frozen Structs the API server decoded: stored as they are, shared by every
reader, never copied and never mutated (change one with `msgspec.structs.replace` and write it
back through the client). Indexes hold keys, not objects, and are kept per write, so a lookup
costs O(its result), not O(cache):

    by namespace             list(namespace="default")
    by label key=value       list(selector=Selector.parse("app=web"))  (any exact-match term)
    by owner uid             by_owner(uid): every object with that uid in ownerReferences
    by controller owner uid  by_controller(uid): only the `controller: true` reference

Results come sorted by key, so a controller sees the same order on every run.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Generic, TypeVar, cast

from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.selectors import Selector

__all__ = ["Indexer", "InformerError", "Lister", "key_of", "meta_of", "object_key"]

T = TypeVar("T", bound=ApiStruct)

_EMPTY: frozenset[str] = frozenset()


class InformerError(Exception):
    """Root of the informer's errors: an object without metadata, a misused factory."""


def meta_of(obj: ApiStruct) -> ObjectMeta:
    """`obj.metadata`; `InformerError` for a struct that has none."""
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, ObjectMeta):
        raise InformerError(f"{type(obj).__name__} has no ObjectMeta")
    return meta


def key_of(namespace: str, name: str) -> str:
    """client-go's `MetaNamespaceKeyFunc`: `namespace/name`, or `name` when cluster-scoped."""
    return f"{namespace}/{name}" if namespace else name


def object_key(obj: ApiStruct) -> str:
    meta = meta_of(obj)
    return key_of(meta.namespace, meta.name)


def _index_add(index: dict[str, set[str]], value: str, key: str) -> None:
    bucket = index.get(value)
    if bucket is None:
        index[value] = {key}
    else:
        bucket.add(key)


def _index_remove(index: dict[str, set[str]], value: str, key: str) -> None:
    bucket = index.get(value)
    if bucket is not None:
        bucket.discard(key)
        if not bucket:
            del index[value]


def _owner_uids(meta: ObjectMeta) -> set[str]:
    return {ref.uid for ref in meta.owner_references}


def _controller_uid(meta: ObjectMeta) -> str | None:
    for ref in meta.owner_references:
        if ref.controller:
            return ref.uid
    return None


def _label_terms(meta: ObjectMeta) -> set[str]:
    return {f"{k}={v}" for k, v in meta.labels.items()}


class Indexer:
    """The store of one informer: objects by key plus the indexes above.

    Only the informer's reflector writes (`upsert`, `delete`); everything else reads.
    """

    __slots__ = ("_by_controller", "_by_label", "_by_namespace", "_by_owner", "_items")

    def __init__(self) -> None:
        self._items: dict[str, ApiStruct] = {}
        self._by_namespace: dict[str, set[str]] = {}
        self._by_owner: dict[str, set[str]] = {}
        self._by_controller: dict[str, set[str]] = {}
        self._by_label: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def sorted_keys(self) -> builtins.list[str]:
        """Every key, sorted (O(cache): for relists and tests, not for controllers)."""
        return sorted(self._items)

    def get_by_key(self, key: str) -> ApiStruct | None:
        return self._items.get(key)

    def get(self, namespace: str, name: str) -> ApiStruct | None:
        """The object `namespace/name` (namespace "" for cluster-scoped kinds), or None."""
        return self._items.get(key_of(namespace, name))

    # -- writes (the reflector's) -------------------------------------------------------------

    def upsert(self, obj: ApiStruct) -> ApiStruct | None:
        """Store `obj` under its key; returns the object it replaced, if any."""
        meta = meta_of(obj)
        key = key_of(meta.namespace, meta.name)
        old = self._items.get(key)
        self._items[key] = obj
        if old is None:
            _index_add(self._by_namespace, meta.namespace, key)
            if meta.owner_references:
                self._index_refs(key, set(), None, _owner_uids(meta), _controller_uid(meta))
            by_label = self._by_label
            for name, value in meta.labels.items():
                _index_add(by_label, f"{name}={value}", key)
            return None
        old_meta = meta_of(old)
        if old_meta.owner_references != meta.owner_references:
            self._index_refs(
                key,
                _owner_uids(old_meta),
                _controller_uid(old_meta),
                _owner_uids(meta),
                _controller_uid(meta),
            )
        if old_meta.labels != meta.labels:
            self._index_labels(key, _label_terms(old_meta), _label_terms(meta))
        return old

    def delete(self, key: str) -> ApiStruct | None:
        """Remove the object under `key`; returns it (None if there was none)."""
        old = self._items.pop(key, None)
        if old is None:
            return None
        meta = meta_of(old)
        _index_remove(self._by_namespace, meta.namespace, key)
        self._index_refs(key, _owner_uids(meta), _controller_uid(meta), set(), None)
        self._index_labels(key, _label_terms(meta), set())
        return old

    def _index_refs(
        self,
        key: str,
        old_owners: set[str],
        old_controller: str | None,
        new_owners: set[str],
        new_controller: str | None,
    ) -> None:
        for uid in old_owners - new_owners:
            _index_remove(self._by_owner, uid, key)
        for uid in new_owners - old_owners:
            _index_add(self._by_owner, uid, key)
        if old_controller != new_controller:
            if old_controller is not None:
                _index_remove(self._by_controller, old_controller, key)
            if new_controller is not None:
                _index_add(self._by_controller, new_controller, key)

    def _index_labels(self, key: str, old: set[str], new: set[str]) -> None:
        for term in old - new:
            _index_remove(self._by_label, term, key)
        for term in new - old:
            _index_add(self._by_label, term, key)

    # -- lookups ------------------------------------------------------------------------------

    def _resolve(self, keys: Iterable[str]) -> builtins.list[ApiStruct]:
        items = self._items
        return [items[key] for key in sorted(keys)]

    def list(
        self, namespace: str | None = None, selector: Selector | None = None
    ) -> builtins.list[ApiStruct]:
        """Objects of `namespace` (None or "": all) matching `selector` (None: all), by key.

        With an exact-match term in the selector (`k=v`, `k==v`, `k in (v)`), only the
        smallest such label bucket is scanned; otherwise the namespace bucket (or the cache).
        """
        if selector is not None and selector.is_nothing():
            return []
        candidates: set[str] | dict[str, ApiStruct] | frozenset[str] | None = None
        if selector is not None and not selector.is_empty():
            for requirement in selector.requirements:
                value = selector.requires_exact_match(requirement.key)
                if value is None:
                    continue
                bucket = self._by_label.get(f"{requirement.key}={value}", _EMPTY)
                if candidates is None or len(bucket) < len(candidates):
                    candidates = bucket
        else:
            selector = None
        if candidates is None:
            if namespace:
                candidates = self._by_namespace.get(namespace, _EMPTY)
                namespace = None  # the bucket is already of that namespace
            else:
                candidates = self._items
        items = self._items
        result: builtins.list[ApiStruct] = []
        for key in sorted(candidates):
            obj = items[key]
            if namespace or selector is not None:
                meta = meta_of(obj)
                if namespace and meta.namespace != namespace:
                    continue
                if selector is not None and not selector.matches(meta.labels):
                    continue
            result.append(obj)
        return result

    def by_owner(self, uid: str) -> builtins.list[ApiStruct]:
        """Objects with `uid` in any of their ownerReferences, by key."""
        return self._resolve(self._by_owner.get(uid, _EMPTY))

    def by_controller(self, uid: str) -> builtins.list[ApiStruct]:
        """Objects whose controller ownerReference (`controller: true`) has `uid`, by key."""
        return self._resolve(self._by_controller.get(uid, _EMPTY))


class Lister(Generic[T]):
    """A typed, read-only view of an informer's cache: `Lister[Pod]` returns `Pod`s.

    The objects are those the cache holds (no copies); the type is the caller's claim about
    the informer's kind, checked once per lookup only by `isinstance` on `get`.
    """

    __slots__ = ("_cls", "_indexer")

    def __init__(self, indexer: Indexer, cls: type[T]) -> None:
        self._indexer = indexer
        self._cls = cls

    @property
    def cls(self) -> type[T]:
        return self._cls

    def get(self, namespace: str, name: str) -> T | None:
        obj = self._indexer.get(namespace, name)
        if obj is None:
            return None
        if not isinstance(obj, self._cls):
            raise InformerError(f"cached {type(obj).__name__} is not a {self._cls.__name__}")
        return obj

    def list(
        self, namespace: str | None = None, selector: Selector | None = None
    ) -> builtins.list[T]:
        return cast("builtins.list[T]", self._indexer.list(namespace, selector))

    def by_owner(self, uid: str) -> builtins.list[T]:
        return cast("builtins.list[T]", self._indexer.by_owner(uid))

    def by_controller(self, uid: str) -> builtins.list[T]:
        return cast("builtins.list[T]", self._indexer.by_controller(uid))
