"""The binder's writes: binding a volume and a claim, phases, unbinding, annotations.

Upstream `pv_controller.go`: `bind`, `bindVolumeToClaim`, `bindClaimToVolume`,
`updateVolumePhase`, `updateClaimStatus`, `unbindVolume`, `setClaimProvisioner`.

Every spec write is an `update` carrying the resourceVersion read (a compare-and-swap: a stale
copy fails with Conflict and the key is retried with backoff); status writes use
`update_status`. Each method writes only what differs, so syncing a settled pair writes
nothing. Every written volume goes back into the `VolumeIndex` at once, and every written
claim into an overlay (`newest_claim`) until the informer's cache catches up with it, so a sync
right after a write never works from the claim it just replaced.
"""

from __future__ import annotations

from collections.abc import Mapping

from msgspec.structs import replace

from controllers.common import revision_of
from controllers.volume.index import VolumeIndex
from controllers.volume.util import (
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    claim_reference,
    is_volume_bound_to_claim,
)
from cp.api.core import (
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimStatus,
    PersistentVolumeStatus,
)
from cp.api.times import rfc3339
from cp.client import Client
from cp.runtime import Clock

__all__ = ["VolumeWrites"]


class VolumeWrites:
    """The write half of the binder, over one client, the index and the clock."""

    def __init__(self, client: Client, index: VolumeIndex, clock: Clock) -> None:
        self._client = client
        self._index = index
        self._clock = clock
        self._claims: dict[tuple[str, str], PersistentVolumeClaim] = {}

    def remember_claim(self, obj: object) -> PersistentVolumeClaim:
        """Keep `obj`, a claim as stored by a write, as the newest known (see the module doc)."""
        assert isinstance(obj, PersistentVolumeClaim)
        self._claims[(obj.metadata.namespace, obj.metadata.name)] = obj
        return obj

    def newest_claim(self, cached: PersistentVolumeClaim) -> PersistentVolumeClaim:
        """`cached`, or the claim this controller last wrote under that name when it is newer
        (same uid, higher resourceVersion). Drops the written copy once the cache has caught
        up."""
        key = (cached.metadata.namespace, cached.metadata.name)
        written = self._claims.get(key)
        if written is None:
            return cached
        newer = revision_of(written.metadata) > revision_of(cached.metadata)
        if written.metadata.uid == cached.metadata.uid and newer:
            return written
        del self._claims[key]
        return cached

    def forget_claim(self, namespace: str, name: str) -> None:
        """Drop the written copy of a deleted claim."""
        self._claims.pop((namespace, name), None)

    def _stored_volume(self, obj: object) -> PersistentVolume:
        assert isinstance(obj, PersistentVolume)
        self._index.observe(obj)
        return obj

    # -- volumes ------------------------------------------------------------------------------

    async def set_volume_phase(
        self, volume: PersistentVolume, phase: str, message: str = ""
    ) -> PersistentVolume:
        """`updateVolumePhase`: status.phase (and message, lastPhaseTransitionTime) when the
        phase or message differs."""
        status = volume.status or PersistentVolumeStatus()
        if status.phase == phase and status.message == message:
            return volume
        stamp = rfc3339(self._clock.now()) if status.phase != phase else None
        new_status = replace(
            status,
            phase=phase,
            message=message,
            last_phase_transition_time=stamp or status.last_phase_transition_time,
        )
        return self._stored_volume(
            await self._client.update_status(replace(volume, status=new_status))
        )

    async def bind_volume_to_claim(
        self, volume: PersistentVolume, claim: PersistentVolumeClaim
    ) -> PersistentVolume:
        """`bindVolumeToClaim`: claimRef = the claim (with uid), `bound-by-controller` on the PV
        when the controller (not a user) points it; written only if it changes."""
        ref = volume.spec.claim_ref
        annotations: Mapping[str, str] = volume.metadata.annotations
        by_controller = not is_volume_bound_to_claim(volume, claim)
        needs_ref = ref is None or ref.uid != claim.metadata.uid or ref.name != claim.metadata.name
        if by_controller and ANN_BOUND_BY_CONTROLLER not in annotations:
            annotations = {**annotations, ANN_BOUND_BY_CONTROLLER: "yes"}
        if not needs_ref and annotations is volume.metadata.annotations:
            return volume
        new_ref = claim_reference(claim) if needs_ref else ref
        updated = replace(
            volume,
            metadata=replace(volume.metadata, annotations=annotations),
            spec=replace(volume.spec, claim_ref=new_ref),
        )
        return self._stored_volume(await self._client.update(updated))

    async def unbind_volume(self, volume: PersistentVolume) -> PersistentVolume:
        """`unbindVolume`: a volume the controller bound loses its claimRef and
        `bound-by-controller`; one a user pre-bound keeps its claimRef without the uid. Then
        phase Available."""
        annotations = dict(volume.metadata.annotations)
        ref = volume.spec.claim_ref
        if ANN_BOUND_BY_CONTROLLER in annotations:
            del annotations[ANN_BOUND_BY_CONTROLLER]
            ref = None
        elif ref is not None:
            ref = replace(ref, uid="", resource_version="")
        updated = replace(
            volume,
            metadata=replace(volume.metadata, annotations=annotations),
            spec=replace(volume.spec, claim_ref=ref),
        )
        stored = self._stored_volume(await self._client.update(updated))
        return await self.set_volume_phase(stored, "Available")

    # -- claims -------------------------------------------------------------------------------

    async def bind_claim_to_volume(
        self, claim: PersistentVolumeClaim, volume: PersistentVolume
    ) -> PersistentVolumeClaim:
        """`bindClaimToVolume`: volumeName, `bind-completed: yes`, and `bound-by-controller`
        when the controller chose the volume; written only if it changes."""
        annotations = dict(claim.metadata.annotations)
        name = volume.metadata.name
        if claim.spec.volume_name != name:
            annotations[ANN_BOUND_BY_CONTROLLER] = "yes"
        annotations[ANN_BIND_COMPLETED] = "yes"
        if claim.spec.volume_name == name and annotations == claim.metadata.annotations:
            return claim
        updated = replace(
            claim,
            metadata=replace(claim.metadata, annotations=annotations),
            spec=replace(claim.spec, volume_name=name),
        )
        return self.remember_claim(await self._client.update(updated))

    async def set_claim_phase(
        self,
        claim: PersistentVolumeClaim,
        phase: str,
        volume: PersistentVolume | None = None,
    ) -> PersistentVolumeClaim:
        """`updateClaimStatus`: the phase; with `volume`, accessModes and capacity copied from
        it (Bound); written only if it changes."""
        status = claim.status or PersistentVolumeClaimStatus()
        new_status = replace(status, phase=phase)
        if volume is not None:
            new_status = replace(
                new_status,
                access_modes=volume.spec.access_modes,
                capacity=dict(volume.spec.capacity),
            )
        if new_status == status:
            return claim
        return self.remember_claim(
            await self._client.update_status(replace(claim, status=new_status))
        )

    async def annotate_claim(
        self, claim: PersistentVolumeClaim, extra: Mapping[str, str]
    ) -> PersistentVolumeClaim:
        """Merge `extra` into the claim's annotations (an update), unless already there."""
        annotations = claim.metadata.annotations
        if all(annotations.get(k) == v for k, v in extra.items()):
            return claim
        updated = replace(
            claim, metadata=replace(claim.metadata, annotations={**annotations, **extra})
        )
        return self.remember_claim(await self._client.update(updated))

    async def bind(
        self, volume: PersistentVolume, claim: PersistentVolumeClaim
    ) -> tuple[PersistentVolume, PersistentVolumeClaim]:
        """`bind`: the volume side (claimRef, phase Bound), then the claim side (volumeName and
        annotations, phase Bound with the volume's modes and capacity). A failure midway leaves
        a state the next sync of either object finishes."""
        volume = await self.bind_volume_to_claim(volume, claim)
        volume = await self.set_volume_phase(volume, "Bound")
        claim = await self.bind_claim_to_volume(claim, volume)
        claim = await self.set_claim_phase(claim, "Bound", volume)
        return volume, claim
