"""A FakeClient, hand-synced informer caches and a StatefulSet controller (STYLE 13).

`sync()` plays the informers: it brings each cache to the fake's objects and fires the
handlers. Leaving `sync()` out between two reconciles is a stale cache. `kubelet(...)` plays
the kubelet: it writes a pod's status (Running and Ready, or another phase).
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec.structs import replace

from controllers.common.times import format_time
from controllers.statefulset import StatefulSetController
from cp.api.apps import (
    PersistentVolumeClaimTemplate,
    StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
    StatefulSetStatus,
    StatefulSetUpdateStrategy,
)
from cp.api.core import PersistentVolumeClaim, PersistentVolumeClaimSpec
from cp.api.core_pod import (
    Container,
    Pod,
    PodCondition,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    ResourceRequirements,
)
from cp.api.defaults import apply_defaults
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta
from cp.client import Action, FakeClient
from cp.informer import SharedInformerFactory, meta_of
from cp.runtime import Activity, Request, Result, SeededIds, VirtualClock
from tests.controllers.common.helpers import NOW
from tests.controllers.fakes import NoApi, sync_caches

KINDS = ("StatefulSet", "Pod", "ControllerRevision", "PersistentVolumeClaim")
WEB = {"app": "web"}


class Recorder:
    """An `EventSink` keeping (type, reason, message) in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))


def stateful_set(
    replicas: int = 2,
    *,
    image: str = "nginx:1",
    policy: str = "OrderedReady",
    strategy: StatefulSetUpdateStrategy | None = None,
    claims: bool = True,
    retention: tuple[str, str] = ("Retain", "Retain"),
    status: StatefulSetStatus | None = None,
    min_ready: int = 0,
) -> StatefulSet:
    """StatefulSet `default/web` (uid `sts-uid`), defaulted as the apiserver stores it;
    `retention` is (whenScaled, whenDeleted)."""
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels=WEB),
        spec=PodSpec(containers=(Container(name="c", image=image),)),
    )
    claim = PersistentVolumeClaimTemplate(
        metadata=ObjectMeta(name="data", labels={"tier": "db"}),
        spec=PersistentVolumeClaimSpec(
            access_modes=("ReadWriteOnce",),
            resources=ResourceRequirements(requests={"storage": "1Gi"}),
        ),
    )
    sts = StatefulSet(
        metadata=ObjectMeta(
            name="web",
            namespace="default",
            uid="sts-uid",
            generation=1,
            creation_timestamp=format_time(NOW),
        ),
        spec=StatefulSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=WEB),
            template=template,
            service_name="web-svc",
            min_ready_seconds=min_ready,
            pod_management_policy=policy,
            update_strategy=strategy,
            volume_claim_templates=(claim,) if claims else (),
            persistent_volume_claim_retention_policy=StatefulSetPersistentVolumeClaimRetentionPolicy(
                when_scaled=retention[0], when_deleted=retention[1]
            ),
        ),
        status=status,
    )
    return apply_defaults(sts)


class Harness:
    """The controller over a FakeClient; caches mirror the fake on `sync()`."""

    def __init__(self, *objects: ApiStruct) -> None:
        self.activity = Activity()
        self.clock = VirtualClock(self.activity, start=NOW)
        self.client = FakeClient(*objects, clock_now=self.clock.now)
        self.factory = SharedInformerFactory(NoApi(), self.activity)
        self.recorder = Recorder()
        self.ssc = StatefulSetController(
            self.client,
            self.factory,
            clock=self.clock,
            activity=self.activity,
            ids=SeededIds(0),
            recorder=self.recorder,
        )
        self.sync()

    def sync(self, kinds: Sequence[str] = KINDS) -> None:
        """Bring the caches of `kinds` to the fake's objects, firing the handlers."""
        sync_caches(self.factory, self.client, kinds)

    async def reconcile(self, *, sync: bool = True) -> tuple[list[Action], Result]:
        """Sync the caches (unless told not to), run one reconcile of `default/web`: its
        writes and result."""
        if sync:
            self.sync()
        self.client.clear_actions()
        self.recorder.events.clear()
        result = await self.ssc.reconcile(Request("default", "web"))
        return self.client.writes(), result

    def objects(self, kind: type[ApiStruct]) -> dict[str, ApiStruct]:
        return {meta_of(obj).name: obj for obj in self.client.objects() if isinstance(obj, kind)}

    def pods(self) -> dict[str, Pod]:
        return {o.metadata.name: o for o in self.client.objects() if isinstance(o, Pod)}

    def claims(self) -> dict[str, PersistentVolumeClaim]:
        objs = self.client.objects()
        return {o.metadata.name: o for o in objs if isinstance(o, PersistentVolumeClaim)}

    def sts(self) -> StatefulSet:
        (sts,) = [o for o in self.client.objects() if isinstance(o, StatefulSet)]
        return sts

    def status(self) -> StatefulSetStatus:
        status = self.sts().status
        assert status is not None
        return status

    async def kubelet(self, name: str, phase: str = "Running", *, ready: bool = True) -> None:
        """Write pod `name`'s status: `phase`, Ready since now when `ready`."""
        pod = self.pods()[name]
        conditions = (
            (PodCondition(type="Ready", status="True", last_transition_time=format_time(NOW)),)
            if ready
            else ()
        )
        status = PodStatus(phase=phase, conditions=conditions)
        await self.client.update_status(replace(pod, status=status))

    async def set_image(self, image: str) -> None:
        sts = self.sts()
        container = replace(sts.spec.template.spec.containers[0], image=image)
        spec = replace(sts.spec.template.spec, containers=(container,))
        template = replace(sts.spec.template, spec=spec)
        await self.client.update(replace(sts, spec=replace(sts.spec, template=template)))


def verbs(actions: Sequence[Action]) -> list[tuple[str, str, str]]:
    return [(a.verb, a.kind, a.name) for a in actions]
