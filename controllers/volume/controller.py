"""The PersistentVolume binder and the emulator's dynamic provisioner.

Upstream `pkg/controller/volume/persistentvolume/pv_controller.go` (`syncClaim`,
`syncUnboundClaim`, `syncBoundClaim`, `syncVolume`, `reclaimVolume`, `provisionClaim`,
`provisionClaimOperationExternal`, `assignDefaultStorageClass`,
`emitEventForUnboundDelayBindingClaim`) and `pv_controller_base.go` (the informer handlers);
the provisioning side follows sig-storage-lib-external-provisioner (`provisionClaimOperation`).

    binder = PersistentVolumeController(client, informers, clock=clock, activity=activity,
                                        ids=ids, served_provisioners=("nfs-client",))
    manager.add(binder.controller)  # name "persistentvolume-binder"

Keys: one queue, the kind in the name as the garbage collector's: claims are
`Request(namespace, "PersistentVolumeClaim/<name>")`, volumes `Request("",
"PersistentVolume/<name>")`. One worker by default (upstream runs one per queue): two claims
never race for one volume inside the controller, and the claimRef write is a compare-and-swap
against anyone else.

Claim sync (no `bind-completed` annotation yet):

1. class nil and a default StorageClass exists: set `spec.storageClassName` to it
   (`assignDefaultStorageClass`, upstream's retroactive default) and stop; the update
   re-enqueues the claim. If the API refuses the change (Invalid), the claim is treated as
   being of the default class from then on without writing it.
2. `volumeName` empty: `VolumeIndex.find_best_match`; found -> bind. Not found: a
   WaitForFirstConsumer class without `selected-node` -> if a pod using the claim is on a node,
   annotate `selected-node` with it (the scheduler's job upstream), else the event
   `WaitForFirstConsumer` / `WaitForPodScheduled`; a class -> provision; no class -> event
   `FailedBinding`. Phase Pending.
3. `volumeName` set (pre-bound by the user): missing -> Pending; unclaimed -> check and bind
   (`VolumeMismatch` when it does not fit); bound to this claim -> finish; else `FailedBinding`.

Bound claim sync: volume gone -> `Lost` (`ClaimLost`); volume unclaimed or ours -> bind (no
write when settled); volume claimed by another -> `Lost` (`ClaimMisbound`).

Provisioning: class missing -> Warning `ProvisioningFailed` `storageclass.storage.k8s.io "<name>"
not found`. Otherwise the claim gets the `storage-provisioner` annotations and the Normal event
`ExternalProvisioning`; if the provisioner is served (`cpemu.io/hostpath`, or one of
`served_provisioners`) the emulated provisioner then creates `pvc-<uid>` pre-bound to the claim
(`util.provisioned_volume`) with the events `Provisioning` and `ProvisioningSucceeded` from a
recorder whose component is the provisioner's name; the new volume's event binds the pair.

Volume sync: no claimRef, or a claimRef without uid -> Available; the claim gone (checked live
when the cache misses it) or re-created with another uid -> Released, then reclaim: Delete ->
the PV is deleted (uid precondition); Retain (and Recycle) -> stays Released. Claim not bound
yet -> enqueue it. Claim bound here -> Bound. Claim bound elsewhere: a provisioned Delete volume
is Released and deleted, a controller-bound one unbound, a user-pre-bound one loses the uid.

Handlers enqueue with `cause=` the triggering object's resourceVersion: a claim on any change;
on its deletion, every volume naming it. A volume on any change, plus the claim it names; a
volume becoming available enqueues the unbound claims of its class. A StorageClass added or
changed enqueues the unbound claims naming it (and those without a class when it is a default).
A pod reaching a node enqueues its unbound claims (selected-node). No periodic resync: every
wake-up is an event, so a settled plane has no timers.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from msgspec.structs import replace

from controllers.common import revision_of
from controllers.volume.index import VolumeIndex, is_available
from controllers.volume.provision import EventSink, Provisioner
from controllers.volume.util import (
    ANN_BIND_COMPLETED,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    HOSTPATH_PROVISIONER,
    check_volume_satisfy_claim,
    claim_class,
    claim_key,
    is_default_class,
    is_delay_binding,
    is_volume_bound_to_claim,
    pick_default_class,
    pod_claim_names,
    volume_class,
)
from controllers.volume.writes import VolumeWrites
from cp.api.core import PersistentVolume, PersistentVolumeClaim
from cp.api.core_pod import Pod
from cp.api.errors import Invalid, NotFound
from cp.api.meta import ApiStruct
from cp.api.storage import StorageClass
from cp.client import Client
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, Lister, SharedInformerFactory
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds, TerminalError
from cp.workqueue import WorkQueue

__all__ = [
    "EVENT_SOURCE",
    "PV_BINDER_NAME",
    "EventSink",
    "PersistentVolumeController",
    "claim_request",
    "volume_request",
]

#: The controller's name: its writes are recorded as `controller/persistentvolume-binder`.
PV_BINDER_NAME: Final = "persistentvolume-binder"
#: The component of its events (upstream's recorder source).
EVENT_SOURCE: Final = "persistentvolume-controller"

_CLAIM: Final = "PersistentVolumeClaim/"
_VOLUME: Final = "PersistentVolume/"


def claim_request(namespace: str, name: str) -> Request:
    """The work-queue key of a claim."""
    return Request(namespace, _CLAIM + name)


def volume_request(name: str) -> Request:
    """The work-queue key of a volume."""
    return Request("", _VOLUME + name)


class PersistentVolumeController:
    """The `Reconciler` of claims and volumes, its informer handlers and its `Controller`.

    `served_provisioners`: provisioner names the emulator provisions for, besides
    `cpemu.io/hostpath`. `recorder` replaces every event sink (tests); by default the binder
    records as `persistentvolume-controller` and each served provisioner under its own name.
    """

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = 1,
        served_provisioners: Collection[str] = (),
        recorder: EventSink | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._test_recorder = recorder
        self._recorder: EventSink = recorder or EventRecorder(client, EVENT_SOURCE, clock=clock)
        self._provisioner_recorders: dict[str, EventSink] = {}
        self.index = VolumeIndex()
        self._writes = VolumeWrites(client, self.index, clock)
        self._provisioner = Provisioner(
            client,
            self.index,
            self._writes,
            self._recorder,
            self._provisioner_sink,
            frozenset((HOSTPATH_PROVISIONER, *served_provisioners)),
        )
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=PV_BINDER_NAME)
        self._controller = Controller(
            PV_BINDER_NAME, self, queue, clock=clock, ids=ids, workers=workers
        )
        self._class_write_refused = False
        # Unbound claims (no bind-completed yet) by spec.storageClassName (None: nil).
        self._waiting: dict[str | None, set[tuple[str, str]]] = {}
        self._waiting_on: dict[tuple[str, str], str | None] = {}
        # Pods using each claim (`ns/name` -> pod names), for WaitForFirstConsumer.
        self._pods_by_claim: dict[str, set[str]] = {}
        self._claims_of_pod: dict[tuple[str, str], tuple[str, ...]] = {}
        pv_informer = informers.informer_for("PersistentVolume")
        pvc_informer = informers.informer_for("PersistentVolumeClaim")
        sc_informer = informers.informer_for("StorageClass")
        pod_informer = informers.informer_for("Pod")
        self._claims: Lister[PersistentVolumeClaim] = pvc_informer.lister(PersistentVolumeClaim)
        self._classes: Lister[StorageClass] = sc_informer.lister(StorageClass)
        self._pods: Lister[Pod] = pod_informer.lister(Pod)
        pv_informer.add_handler(
            Handlers(on_add=self._add_pv, on_update=self._update_pv, on_delete=self._delete_pv)
        )
        pvc_informer.add_handler(
            Handlers(on_add=self._add_pvc, on_update=self._update_pvc, on_delete=self._delete_pvc)
        )
        sc_informer.add_handler(Handlers(on_add=self._add_sc, on_update=self._update_sc))
        pod_informer.add_handler(
            Handlers(on_add=self._add_pod, on_update=self._update_pod, on_delete=self._delete_pod)
        )

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    @property
    def served_provisioners(self) -> frozenset[str]:
        return self._provisioner.served

    # -- handlers -----------------------------------------------------------------------------

    def _enqueue_claim(self, namespace: str, name: str, cause: int) -> None:
        self._controller.enqueue(claim_request(namespace, name), cause=cause)

    def _enqueue_waiting(self, class_name: str | None, cause: int) -> None:
        for namespace, name in sorted(self._waiting.get(class_name, ())):
            self._enqueue_claim(namespace, name, cause)

    def _add_pv(self, obj: ApiStruct) -> None:
        if isinstance(obj, PersistentVolume):
            self._pv_changed(None, obj)

    def _update_pv(self, old: ApiStruct, new: ApiStruct) -> None:
        if isinstance(new, PersistentVolume):
            self._pv_changed(old if isinstance(old, PersistentVolume) else None, new)

    def _pv_changed(self, old: PersistentVolume | None, volume: PersistentVolume) -> None:
        self.index.observe(volume)
        cause = revision_of(volume.metadata)
        self._controller.enqueue(volume_request(volume.metadata.name), cause=cause)
        ref = volume.spec.claim_ref
        if ref is not None:
            self._enqueue_claim(ref.namespace, ref.name, cause)
        if is_available(volume) and (old is None or not is_available(old)):
            self._enqueue_waiting(volume_class(volume), cause)

    def _delete_pv(self, deleted: Deleted) -> None:
        volume = deleted.obj
        if not isinstance(volume, PersistentVolume):
            return
        self.index.forget(volume.metadata.name)
        ref = volume.spec.claim_ref
        if ref is not None:
            self._enqueue_claim(ref.namespace, ref.name, revision_of(volume.metadata))

    def _track_claim(self, claim: PersistentVolumeClaim, *, gone: bool = False) -> None:
        key = (claim.metadata.namespace, claim.metadata.name)
        if key in self._waiting_on:
            before = self._waiting_on.pop(key)
            names = self._waiting[before]
            names.discard(key)
            if not names:
                del self._waiting[before]
        if not gone and ANN_BIND_COMPLETED not in claim.metadata.annotations:
            self._waiting_on[key] = claim.spec.storage_class_name
            self._waiting.setdefault(claim.spec.storage_class_name, set()).add(key)

    def _add_pvc(self, obj: ApiStruct) -> None:
        if isinstance(obj, PersistentVolumeClaim):
            self._track_claim(obj)
            meta = obj.metadata
            self._enqueue_claim(meta.namespace, meta.name, revision_of(meta))

    def _update_pvc(self, old: ApiStruct, new: ApiStruct) -> None:
        if isinstance(new, PersistentVolumeClaim):
            self._add_pvc(new)

    def _delete_pvc(self, deleted: Deleted) -> None:
        claim = deleted.obj
        if not isinstance(claim, PersistentVolumeClaim):
            return
        self._track_claim(claim, gone=True)
        meta = claim.metadata
        self._writes.forget_claim(meta.namespace, meta.name)
        cause = revision_of(meta)
        names = set(self.index.referencing(claim_key(meta.namespace, meta.name)))
        if claim.spec.volume_name:
            names.add(claim.spec.volume_name)
        for name in sorted(names):
            self._controller.enqueue(volume_request(name), cause=cause)

    def _add_sc(self, obj: ApiStruct) -> None:
        if isinstance(obj, StorageClass):
            cause = revision_of(obj.metadata)
            self._enqueue_waiting(obj.metadata.name, cause)
            if is_default_class(obj):
                self._enqueue_waiting(None, cause)

    def _update_sc(self, old: ApiStruct, new: ApiStruct) -> None:
        self._add_sc(new)

    def _add_pod(self, obj: ApiStruct) -> None:
        if isinstance(obj, Pod):
            self._pod_changed(None, obj)

    def _update_pod(self, old: ApiStruct, new: ApiStruct) -> None:
        if isinstance(new, Pod):
            self._pod_changed(old if isinstance(old, Pod) else None, new)

    def _pod_changed(self, old: Pod | None, pod: Pod) -> None:
        meta = pod.metadata
        pod_key = (meta.namespace, meta.name)
        claims = pod_claim_names(pod)
        previous = self._claims_of_pod.get(pod_key, ())
        if claims != previous:
            self._forget_pod(pod_key)
            if claims:
                self._claims_of_pod[pod_key] = claims
                for name in claims:
                    self._pods_by_claim.setdefault(claim_key(meta.namespace, name), set()).add(
                        meta.name
                    )
        was_placed = old is not None and bool(old.spec.node_name)
        if claims and bool(pod.spec.node_name) and not was_placed:
            for name in claims:
                if (meta.namespace, name) in self._waiting_on:
                    self._enqueue_claim(meta.namespace, name, revision_of(meta))

    def _forget_pod(self, pod_key: tuple[str, str]) -> None:
        namespace, pod_name = pod_key
        for name in self._claims_of_pod.pop(pod_key, ()):
            key = claim_key(namespace, name)
            pods = self._pods_by_claim.get(key)
            if pods is not None:
                pods.discard(pod_name)
                if not pods:
                    del self._pods_by_claim[key]

    def _delete_pod(self, deleted: Deleted) -> None:
        if isinstance(deleted.obj, Pod):
            meta = deleted.obj.metadata
            self._forget_pod((meta.namespace, meta.name))

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        """Sync the claim or volume `req` names (see the module doc)."""
        if req.name.startswith(_CLAIM):
            claim = self._claims.get(req.namespace, req.name.removeprefix(_CLAIM))
            if claim is not None:
                claim = self._writes.newest_claim(claim)
                if ANN_BIND_COMPLETED in claim.metadata.annotations:
                    await self._sync_bound_claim(claim)
                else:
                    await self._sync_unbound_claim(claim)
            return Result()
        if req.name.startswith(_VOLUME) and not req.namespace:
            volume = self.index.get(req.name.removeprefix(_VOLUME))
            if volume is not None:
                await self._sync_volume(volume)
            return Result()
        raise TerminalError(f"not a persistentvolume-binder key: {req}")

    # -- claims -------------------------------------------------------------------------------

    def _default_class(self) -> StorageClass | None:
        return pick_default_class(self._classes.list())

    def _effective(self, claim: PersistentVolumeClaim) -> PersistentVolumeClaim:
        """The claim as matched: a nil class read as the default's once the API refused the
        write (see step 1 of the module doc)."""
        if claim.spec.storage_class_name is not None or not self._class_write_refused:
            return claim
        default = self._default_class()
        if default is None:
            return claim
        return replace(claim, spec=replace(claim.spec, storage_class_name=default.metadata.name))

    async def _assign_default_class(self, claim: PersistentVolumeClaim) -> bool:
        """`assignDefaultStorageClass`; True when the claim was written (sync ends here)."""
        if claim.spec.storage_class_name is not None or self._class_write_refused:
            return False
        default = self._default_class()
        if default is None:
            return False
        spec = replace(claim.spec, storage_class_name=default.metadata.name)
        try:
            self._writes.remember_claim(await self._client.update(replace(claim, spec=spec)))
        except Invalid:
            self._class_write_refused = True
            return False
        return True

    async def _sync_unbound_claim(self, claim: PersistentVolumeClaim) -> None:
        if claim.spec.volume_name:
            await self._sync_pre_bound_claim(claim)
            return
        if await self._assign_default_class(claim):
            return
        matched = self._effective(claim)
        class_name = claim_class(matched)
        sc = self._classes.get("", class_name) if class_name else None
        waits = is_delay_binding(sc) and ANN_SELECTED_NODE not in claim.metadata.annotations
        volume = self.index.find_best_match(matched, delay_binding=waits)
        if volume is not None:
            await self._writes.bind(volume, claim)
            return
        if waits:
            claim = await self._wait_for_consumer(claim)
        elif class_name:
            claim = await self._provisioner.provision(claim, matched, class_name, sc)
        else:
            message = "no persistent volumes available for this claim and no storage class is set"
            await self._recorder.event(claim, "Normal", "FailedBinding", message)
        await self._writes.set_claim_phase(claim, "Pending")

    async def _wait_for_consumer(self, claim: PersistentVolumeClaim) -> PersistentVolumeClaim:
        """Delay binding: annotate `selected-node` from a placed pod using the claim (upstream:
        the scheduler's PreBind; the update re-enqueues the claim, which then provisions), or
        `emitEventForUnboundDelayBindingClaim`. Returns the claim as last written."""
        meta = claim.metadata
        names = sorted(self._pods_by_claim.get(claim_key(meta.namespace, meta.name), ()))
        unscheduled = []
        for name in names:
            pod = self._pods.get(meta.namespace, name)
            if pod is None or pod.metadata.deletion_timestamp is not None:
                continue
            if pod.spec.node_name:
                return await self._writes.annotate_claim(
                    claim, {ANN_SELECTED_NODE: pod.spec.node_name}
                )
            unscheduled.append(name)
        reason, message = (
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        )
        if len(unscheduled) == 1:
            reason, message = (
                "WaitForPodScheduled",
                f"waiting for pod {unscheduled[0]} to be scheduled",
            )
        elif unscheduled:
            reason = "WaitForPodScheduled"
            message = f"waiting for pods {','.join(unscheduled)} to be scheduled"
        await self._recorder.event(claim, "Normal", reason, message)
        return claim

    async def _sync_pre_bound_claim(self, claim: PersistentVolumeClaim) -> None:
        """syncUnboundClaim with `volumeName` set by the user."""
        volume = self.index.get(claim.spec.volume_name)
        if volume is None:
            await self._writes.set_claim_phase(claim, "Pending")
            return
        if volume.spec.claim_ref is None:
            why = check_volume_satisfy_claim(volume, self._effective(claim))
            if why is None:
                await self._writes.bind(volume, claim)
                return
            message = f'Cannot bind to requested volume "{volume.metadata.name}": {why}'
            await self._recorder.event(claim, "Warning", "VolumeMismatch", message)
            await self._writes.set_claim_phase(claim, "Pending")
            return
        if is_volume_bound_to_claim(volume, claim):
            await self._writes.bind(volume, claim)
            return
        message = f'volume "{volume.metadata.name}" already bound to a different claim.'
        await self._recorder.event(claim, "Warning", "FailedBinding", message)
        await self._writes.set_claim_phase(claim, "Pending")

    async def _sync_bound_claim(self, claim: PersistentVolumeClaim) -> None:
        """syncBoundClaim."""
        if not claim.spec.volume_name:
            message = (
                "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"
            )
            await self._lost(claim, "ClaimLost", message)
            return
        volume = self.index.get(claim.spec.volume_name)
        if volume is None:
            message = "Bound claim has lost its PersistentVolume. Data on the volume is lost!"
            await self._lost(claim, "ClaimLost", message)
            return
        ref = volume.spec.claim_ref
        if ref is None or ref.uid == claim.metadata.uid:
            await self._writes.bind(volume, claim)
            return
        message = "Two claims are bound to the same volume, this one is bound incorrectly"
        await self._lost(claim, "ClaimMisbound", message)

    async def _lost(self, claim: PersistentVolumeClaim, reason: str, message: str) -> None:
        """`updateClaimStatusWithEvent(Lost)`: the event only when the phase changes."""
        if claim.status is not None and claim.status.phase == "Lost":
            return
        await self._writes.set_claim_phase(claim, "Lost")
        await self._recorder.event(claim, "Warning", reason, message)

    def _provisioner_sink(self, provisioner: str) -> EventSink:
        if self._test_recorder is not None:
            return self._test_recorder
        sink = self._provisioner_recorders.get(provisioner)
        if sink is None:
            sink = EventRecorder(self._client, provisioner, clock=self._clock)
            self._provisioner_recorders[provisioner] = sink
        return sink

    # -- volumes ------------------------------------------------------------------------------

    async def _claim_of(self, volume: PersistentVolume) -> PersistentVolumeClaim | None:
        """The claim the volume's claimRef names with its uid: from the cache, confirmed with a
        live GET when the cache misses it or holds another uid (upstream does the same before
        releasing a volume). A volume already Released or Failed is not checked again: its
        claim is gone for good (uids never come back)."""
        ref = volume.spec.claim_ref
        assert ref is not None
        claim = self._claims.get(ref.namespace, ref.name)
        if claim is not None and claim.metadata.uid == ref.uid:
            return self._writes.newest_claim(claim)
        phase = volume.status.phase if volume.status is not None else ""
        if phase in ("Released", "Failed"):
            return None
        try:
            live = await self._client.get("PersistentVolumeClaim", ref.name, ref.namespace)
        except NotFound:
            return None
        if isinstance(live, PersistentVolumeClaim) and live.metadata.uid == ref.uid:
            return live
        return None

    async def _sync_volume(self, volume: PersistentVolume) -> None:
        """syncVolume (see the module doc)."""
        ref = volume.spec.claim_ref
        if ref is None or not ref.uid:
            await self._writes.set_volume_phase(volume, "Available")
            return
        claim = await self._claim_of(volume)
        if claim is None:
            phase = volume.status.phase if volume.status is not None else ""
            if phase not in ("Released", "Failed"):
                volume = await self._writes.set_volume_phase(volume, "Released")
            await self._reclaim(volume)
            return
        if not claim.spec.volume_name:
            meta = claim.metadata
            self._enqueue_claim(meta.namespace, meta.name, revision_of(volume.metadata))
            return
        if claim.spec.volume_name == volume.metadata.name:
            await self._writes.set_volume_phase(volume, "Bound")
            return
        # The claim is bound to another volume.
        annotations = volume.metadata.annotations
        policy = volume.spec.persistent_volume_reclaim_policy
        if ANN_DYNAMICALLY_PROVISIONED in annotations and policy == "Delete":
            volume = await self._writes.set_volume_phase(volume, "Released")
            await self._reclaim(volume)
        else:  # bound by the controller: unbind; pre-bound by a user: drop the uid
            await self._writes.unbind_volume(volume)

    async def _reclaim(self, volume: PersistentVolume) -> None:
        """`reclaimVolume`: Delete -> the PV object is deleted (the emulated asset with it);
        Retain and Recycle (deprecated) -> left Released."""
        if volume.spec.persistent_volume_reclaim_policy != "Delete":
            return
        if volume.metadata.deletion_timestamp is not None:
            return
        meta = volume.metadata
        try:
            await self._client.delete("PersistentVolume", meta.name, uid=meta.uid)
        except NotFound:
            return
