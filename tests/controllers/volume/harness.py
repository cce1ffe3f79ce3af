"""A FakeClient, hand-synced informer caches and the PersistentVolume binder (STYLE 13).

`sync()` plays the informers: it brings each cache to the fake's objects and fires the
handlers as a reflector would. Leaving it out between two reconciles is a stale cache.
`drain()` plays the work queue: it reconciles every queued key until nothing is queued.
"""

from __future__ import annotations

from collections.abc import Sequence

from controllers.volume import PersistentVolumeController, claim_request, volume_request
from cp.api.core import (
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    PersistentVolumeSpec,
    PersistentVolumeStatus,
)
from cp.api.core_pod import (
    Container,
    PersistentVolumeClaimVolumeSource,
    Pod,
    PodSpec,
    ResourceRequirements,
    Volume,
)
from cp.api.defaults import apply_defaults
from cp.api.errors import ApiError
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta
from cp.api.storage import StorageClass
from cp.client import Action, FakeClient
from cp.informer import SharedInformerFactory, meta_of
from cp.runtime import Activity, Request, SeededIds, VirtualClock
from tests.controllers.common.helpers import NOW
from tests.controllers.fakes import NoApi, sync_caches

KINDS = ("PersistentVolume", "PersistentVolumeClaim", "StorageClass", "Pod")
RWO = ("ReadWriteOnce",)


class Recorder:
    """An `EventSink` keeping (object name, type, reason, message) in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> None:
        self.events.append((meta_of(obj).name, type, reason, message))

    def reasons(self) -> list[str]:
        return [reason for _, _, reason, _ in self.events]


def storage_class(
    name: str = "standard",
    *,
    provisioner: str = "cpemu.io/hostpath",
    default: bool = False,
    mode: str | None = None,
    reclaim: str | None = None,
) -> StorageClass:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return StorageClass(
        metadata=ObjectMeta(name=name, annotations=annotations),
        provisioner=provisioner,
        reclaim_policy=reclaim,
        volume_binding_mode=mode,
    )


def claim(
    name: str = "data",
    size: str = "1Gi",
    *,
    cls: str | None = "standard",
    modes: tuple[str, ...] = RWO,
    volume_name: str = "",
    selector: LabelSelector | None = None,
) -> PersistentVolumeClaim:
    return apply_defaults(
        PersistentVolumeClaim(
            metadata=ObjectMeta(name=name, namespace="default", uid=f"uid-{name}"),
            spec=PersistentVolumeClaimSpec(
                access_modes=modes,
                resources=ResourceRequirements(requests={"storage": size}),
                storage_class_name=cls,
                volume_name=volume_name,
                selector=selector,
            ),
        )
    )


def volume(
    name: str,
    size: str,
    *,
    cls: str = "standard",
    modes: tuple[str, ...] = RWO,
    reclaim: str = "Retain",
    labels: dict[str, str] | None = None,
    phase: str = "Available",
) -> PersistentVolume:
    return apply_defaults(
        PersistentVolume(
            metadata=ObjectMeta(name=name, uid=f"uid-pv-{name}", labels=labels or {}),
            spec=PersistentVolumeSpec(
                capacity={"storage": size},
                access_modes=modes,
                storage_class_name=cls,
                persistent_volume_reclaim_policy=reclaim,
            ),
            status=PersistentVolumeStatus(phase=phase),
        )
    )


def pod(name: str, claim_name: str, node: str = "") -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", uid=f"uid-pod-{name}"),
        spec=PodSpec(
            containers=(Container(name="c", image="nginx"),),
            volumes=(
                Volume(
                    name="data",
                    persistent_volume_claim=PersistentVolumeClaimVolumeSource(
                        claim_name=claim_name
                    ),
                ),
            ),
            node_name=node,
        ),
    )


class Harness:
    """The binder over a FakeClient; caches mirror the fake on `sync()`."""

    def __init__(
        self, *objects: ApiStruct, served: Sequence[str] = (), client: FakeClient | None = None
    ) -> None:
        """`client`: share another harness's fake (a second binder with its own caches)."""
        self.activity = Activity()
        self.clock = VirtualClock(self.activity, start=NOW)
        self.client = client or FakeClient(*objects, clock_now=self.clock.now)
        self.factory = SharedInformerFactory(NoApi(), self.activity)
        self.recorder = Recorder()
        self.binder = PersistentVolumeController(
            self.client,
            self.factory,
            clock=self.clock,
            activity=self.activity,
            ids=SeededIds(0),
            served_provisioners=served,
            recorder=self.recorder,
        )
        self.sync()

    def sync(self, kinds: Sequence[str] = KINDS) -> None:
        """Bring the caches of `kinds` to the fake's objects, firing the handlers."""
        sync_caches(self.factory, self.client, kinds)

    async def reconcile(self, req: Request) -> list[Action]:
        """One reconcile of `req`: its writes (caches not synced)."""
        self.client.clear_actions()
        await self.binder.reconcile(req)
        return self.client.writes()

    async def claim_sync(self, name: str = "data") -> list[Action]:
        return await self.reconcile(claim_request("default", name))

    async def volume_sync(self, name: str) -> list[Action]:
        return await self.reconcile(volume_request(name))

    async def queued(self) -> list[Request]:
        """Pop every key queued now (the handlers' enqueues), in order."""
        queue = self.binder.controller.queue
        keys: list[Request] = []
        while len(queue) > 0:
            req = await queue.get()
            queue.done(req)
            keys.append(req)
        return keys

    async def drain(self, rounds: int = 20) -> None:
        """Sync and reconcile queued keys until none is queued (bounded)."""
        for _ in range(rounds):
            self.sync()
            keys = await self.queued()
            if not keys:
                return
            for req in keys:
                try:
                    await self.binder.reconcile(req)
                except ApiError:  # stale: retried, as the work queue's backoff would
                    self.binder.controller.queue.add(req)
        raise AssertionError("the binder did not settle")

    def get(self, kind: str, name: str) -> ApiStruct:
        for obj in self.client.objects():
            meta = meta_of(obj)
            if type(obj).__name__ == kind and meta.name == name:
                return obj
        raise AssertionError(f"no {kind} {name}")

    def pvc(self, name: str = "data") -> PersistentVolumeClaim:
        obj = self.get("PersistentVolumeClaim", name)
        assert isinstance(obj, PersistentVolumeClaim)
        return obj

    def pv(self, name: str) -> PersistentVolume:
        obj = self.get("PersistentVolume", name)
        assert isinstance(obj, PersistentVolume)
        return obj

    def volumes(self) -> list[PersistentVolume]:
        return [obj for obj in self.client.objects() if isinstance(obj, PersistentVolume)]
