"""Dynamic provisioning: upstream's `provisionClaim` for an external provisioner, then, when
the emulator serves that provisioner, what sig-storage-lib-external-provisioner's
`provisionClaimOperation` does (create the PV pre-bound to the claim).

Upstream `pv_controller.go` (`provisionClaim`, `provisionClaimOperationExternal`,
`setClaimProvisioner`); `sigs.k8s.io/sig-storage-lib-external-provisioner/controller`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from controllers.volume.index import VolumeIndex
from controllers.volume.util import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_STORAGE_PROVISIONER,
    external_provisioning_message,
    provisioned_volume,
    provisioned_volume_name,
)
from controllers.volume.writes import VolumeWrites
from cp.api.core import PersistentVolume, PersistentVolumeClaim
from cp.api.errors import AlreadyExists
from cp.api.meta import ApiStruct
from cp.api.storage import StorageClass
from cp.client import Client

__all__ = ["EventSink", "Provisioner"]


class EventSink(Protocol):
    """Where events go (an `EventRecorder`)."""

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> None: ...


class Provisioner:
    """Provisions claims for the binder. `served`: the provisioner names the emulator creates
    volumes for; `sink_for(provisioner)`: the event sink of that provisioner (its events'
    component is its name, as an external provisioner's)."""

    def __init__(
        self,
        client: Client,
        index: VolumeIndex,
        writes: VolumeWrites,
        binder_events: EventSink,
        sink_for: Callable[[str], EventSink],
        served: frozenset[str],
    ) -> None:
        self._client = client
        self._index = index
        self._writes = writes
        self._events = binder_events
        self._sink_for = sink_for
        self.served = served

    async def provision(
        self,
        claim: PersistentVolumeClaim,
        matched: PersistentVolumeClaim,
        class_name: str,
        sc: StorageClass | None,
    ) -> PersistentVolumeClaim:
        """Provision `claim` (`matched`: the claim as matched, its class filled in).

        Class missing: Warning `ProvisioningFailed` `storageclass.storage.k8s.io "<name>" not
        found`, nothing written. Otherwise the claim gets both `storage-provisioner`
        annotations (one update, if missing) and the Normal event `ExternalProvisioning`; a
        served provisioner then creates `pvc-<uid>` (unless known already) between the
        events `Provisioning` and `ProvisioningSucceeded`. Returns the claim as last written.
        """
        if sc is None:
            message = f'storageclass.storage.k8s.io "{class_name}" not found'
            await self._events.event(claim, "Warning", "ProvisioningFailed", message)
            return claim
        provisioner = sc.provisioner
        claim = await self._writes.annotate_claim(
            claim,
            {ANN_STORAGE_PROVISIONER: provisioner, ANN_BETA_STORAGE_PROVISIONER: provisioner},
        )
        message = external_provisioning_message(provisioner)
        await self._events.event(claim, "Normal", "ExternalProvisioning", message)
        if provisioner not in self.served:
            return claim
        if self._index.get(provisioned_volume_name(claim)) is not None:
            return claim  # provisioned already; the volume's events bind the pair
        sink = self._sink_for(provisioner)
        meta = claim.metadata
        message = (
            f'External provisioner is provisioning volume for claim "{meta.namespace}/{meta.name}"'
        )
        await sink.event(claim, "Normal", "Provisioning", message)
        try:
            created = await self._client.create(provisioned_volume(matched, sc, provisioner))
        except AlreadyExists:
            return claim
        assert isinstance(created, PersistentVolume)
        self._index.observe(created)
        message = f"Successfully provisioned volume {created.metadata.name}"
        await sink.event(claim, "Normal", "ProvisioningSucceeded", message)
        return claim
