"""`EventRecorder`: core/v1 Events as client-go's `tools/record` writes them.

    recorder = EventRecorder(client, "deployment-controller", clock=clock)
    await recorder.event(deployment, "Normal", "ScalingReplicaSet", "Scaled up replica set ...")

What reaches the log follows client-go's `EventCorrelator` (staging/src/k8s.io/client-go/tools/
record/events_cache.go), so a 10,000-pod scale-up writes a few dozen Events, not 10,000:

1. Spam filter (`EventSourceObjectSpamFilter`): one token bucket per source and involved object,
   burst 25, refilled at one token per 300 s of clock time; an event without a token is dropped.
2. Aggregation (`EventAggregator`): events with the same source, involved object, type and
   reason but different messages are counted over 600 s; from the 10th distinct message on they
   are recorded as one event with the message `(combined from similar events): <message>`.
3. Deduplication (`eventLogger`): an event equal to one already written (same source, object,
   type, reason and message) is written again as an update of that Event: `count` + 1 and a new
   `lastTimestamp`; otherwise a new Event named `<object name>.<hex clock nanoseconds>` is created
   in the object's namespace (`default` for cluster-scoped objects).

Recording never fails the caller: API errors are swallowed (upstream retries in the background
and then drops the event). Time comes only from the injected clock.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Protocol, TypeVar

from msgspec.structs import replace

from cp.api.core import Event, EventSource
from cp.api.errors import AlreadyExists, ApiError, Conflict, NotFound
from cp.api.meta import ApiStruct, ObjectMeta, ObjectReference
from cp.api.times import rfc3339
from cp.client.protocol import Client

__all__ = ["EventRecorder"]

#: `defaultSpamBurst` / `defaultSpamQPS` of events_cache.go.
SPAM_BURST: Final = 25
SPAM_QPS: Final = 1.0 / 300.0
#: `defaultAggregateMaxEvents` / `defaultAggregateIntervalInSeconds`.
AGGREGATE_MAX_EVENTS: Final = 10
AGGREGATE_INTERVAL: Final = 600.0
#: `maxLruCacheEntries`: the most keys each cache keeps.
_CACHE_SIZE: Final = 4096
_COMBINED: Final = "(combined from similar events): "
#: Names tried for one new Event before it is given up (see `_write`).
_NAME_ATTEMPTS: Final = 16

_K = TypeVar("_K")
_V = TypeVar("_V")


class _Now(Protocol):
    def now(self) -> float: ...


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, now: float) -> None:
        self.tokens = float(SPAM_BURST)
        self.stamp = now

    def take(self, now: float) -> bool:
        self.tokens = min(float(SPAM_BURST), self.tokens + (now - self.stamp) * SPAM_QPS)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class _Similar:
    __slots__ = ("first", "messages")

    def __init__(self, now: float) -> None:
        self.messages: set[str] = set()
        self.first = now


def _lru_get(cache: OrderedDict[_K, _V], key: _K) -> _V | None:
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _lru_put(cache: OrderedDict[_K, _V], key: _K, value: _V) -> None:
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _reference(obj: ApiStruct) -> ObjectReference:
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, ObjectMeta):
        raise TypeError(f"{type(obj).__name__} has no metadata")
    return ObjectReference(
        kind=str(getattr(obj, "kind", type(obj).__name__)),
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        api_version=str(getattr(obj, "api_version", "")),
        resource_version=meta.resource_version,
    )


class EventRecorder:
    """Records Events about objects for one component (`source.component`); see the module doc.

    One recorder per component; its caches are its own (upstream: one per broadcaster).
    """

    def __init__(self, client: Client, component: str, *, clock: _Now, host: str = "") -> None:
        self._client = client
        self._source = EventSource(component=component, host=host)
        self._clock = clock
        self._sequence = 0
        self._buckets: OrderedDict[tuple[str, ...], _Bucket] = OrderedDict()
        self._similar: OrderedDict[tuple[str, ...], _Similar] = OrderedDict()
        self._written: OrderedDict[tuple[str, ...], Event] = OrderedDict()

    @property
    def component(self) -> str:
        return self._source.component

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> None:
        """Record one event about `obj` (`type` Normal or Warning); never raises ApiError."""
        now = self._clock.now()
        ref = _reference(obj)
        source = (self._source.component, self._source.host)
        involved = (ref.kind, ref.namespace, ref.name, ref.uid, ref.api_version)
        spam_key = (*source, *involved)
        bucket = _lru_get(self._buckets, spam_key)
        if bucket is None:
            bucket = _Bucket(now)
            _lru_put(self._buckets, spam_key, bucket)
        if not bucket.take(now):
            return
        message, key = self._aggregate((*spam_key, type, reason), message, now)
        try:
            await self._write(key, ref, type, reason, message, now)
        except ApiError:
            return

    def _aggregate(
        self, key: tuple[str, ...], message: str, now: float
    ) -> tuple[str, tuple[str, ...]]:
        """(the message to record, the key it is deduplicated under): the event's own until
        the 10th distinct message in the interval, then the combined one, keyed without it."""
        similar = _lru_get(self._similar, key)
        if similar is None or now - similar.first > AGGREGATE_INTERVAL:
            similar = _Similar(now)
            _lru_put(self._similar, key, similar)
        similar.messages.add(message)
        if len(similar.messages) < AGGREGATE_MAX_EVENTS:
            return message, (*key, message)
        return _COMBINED + message, (*key, _COMBINED)

    async def _write(
        self,
        key: tuple[str, ...],
        ref: ObjectReference,
        type: str,
        reason: str,
        message: str,
        now: float,
    ) -> None:
        stamp = rfc3339(now)
        previous = _lru_get(self._written, key)
        if previous is not None:
            bumped = replace(
                previous, count=previous.count + 1, last_timestamp=stamp, message=message
            )
            try:
                stored = await self._client.update(bumped)
            except (Conflict, NotFound):
                previous = None
            else:
                assert isinstance(stored, Event)
                _lru_put(self._written, key, stored)
                return
        namespace = ref.namespace or "default"
        nanos = int(now * 1_000_000_000) + self._sequence
        # Upstream names events `<object>.<UnixNano hex>`; on the virtual clock two recorders
        # can write about one object in the same instant, so a taken name moves one tick on.
        for _ in range(_NAME_ATTEMPTS):
            self._sequence += 1
            nanos += 1
            event = Event(
                metadata=ObjectMeta(name=f"{ref.name}.{nanos:x}", namespace=namespace),
                involved_object=ref,
                reason=reason,
                message=message,
                source=self._source,
                first_timestamp=stamp,
                last_timestamp=stamp,
                count=1,
                type=type,
                reporting_component=self._source.component,
                reporting_instance=self._source.host,
            )
            try:
                created = await self._client.create(event)
            except AlreadyExists:
                continue
            _lru_put(self._written, key, created)
            return
