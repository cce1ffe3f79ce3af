"""`VolumeIndex`: the binder's own view of the PersistentVolumes, indexed for matching.

Upstream `pkg/controller/volume/persistentvolume/index.go` (`persistentVolumeOrderedIndex`,
`findByClaim`, `findBestMatchForClaim`) over `FindMatchingVolume`
(`component-helpers/storage/volume/pv_helpers.go`).

Two indexes, kept as volumes are observed:

- the *available* volumes (phase Available, no claimRef, not being deleted), per storage class
  name, then per access-mode set, each list sorted by (capacity in bytes, name);
- the volumes whose claimRef names a claim (`namespace/name`, any uid): pre-bound and bound
  volumes, looked up when that claim syncs or is deleted.

`observe` keeps the newest state of each volume by resourceVersion: the informer's copy and the
controller's own writes (upstream's `storeVolumeUpdate`) both go through it, so a volume the
controller just claimed leaves the available lists before the watch event arrives, and a late
watch event never brings an older state back. That, with the compare-and-swap of the claimRef
write, is what keeps two claims from binding one volume.

A match costs O(mode sets of the class + volumes skipped for volumeMode or selector), not a
scan of every volume.
"""

from __future__ import annotations

import bisect

from controllers.common import revision_of
from controllers.volume.util import (
    claim_class,
    claim_key,
    is_volume_bound_to_claim,
    requested_bytes,
    volume_bytes,
    volume_class,
    volume_mode_mismatch,
)
from cp.api.core import PersistentVolume, PersistentVolumeClaim
from cp.api.errors_values import SelectorError
from cp.api.selectors import Selector

__all__ = ["VolumeIndex", "is_available"]

_Slot = tuple[str, tuple[str, ...], int]  # (class, access-mode set, bytes)


def is_available(volume: PersistentVolume) -> bool:
    """Matchable by any claim of its class: phase Available, no claimRef, not being deleted."""
    status = volume.status
    return (
        status is not None
        and status.phase == "Available"
        and volume.spec.claim_ref is None
        and volume.metadata.deletion_timestamp is None
    )


class VolumeIndex:
    """The newest known state of every volume, plus the two indexes of the module doc."""

    def __init__(self) -> None:
        self._volumes: dict[str, PersistentVolume] = {}
        self._available: dict[str, dict[tuple[str, ...], list[tuple[int, str]]]] = {}
        self._slot: dict[str, _Slot] = {}
        self._by_claim: dict[str, set[str]] = {}
        self._ref: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._volumes)

    def get(self, name: str) -> PersistentVolume | None:
        """The newest known state of the volume `name`."""
        return self._volumes.get(name)

    def referencing(self, key: str) -> list[str]:
        """Names of the volumes whose claimRef names the claim `key` (`ns/name`), sorted."""
        return sorted(self._by_claim.get(key, ()))

    def available_count(self, class_name: str) -> int:
        """How many volumes of `class_name` are available (for tests and metrics)."""
        return sum(len(v) for v in self._available.get(class_name, {}).values())

    # -- maintenance --------------------------------------------------------------------------

    def observe(self, volume: PersistentVolume) -> bool:
        """Record `volume` unless a newer state (higher resourceVersion) is already known;
        returns whether it was recorded."""
        name = volume.metadata.name
        known = self._volumes.get(name)
        if known is not None:
            newer = revision_of(known.metadata) > revision_of(volume.metadata)
            if known.metadata.uid == volume.metadata.uid and newer:
                return False
            self._unindex(name)
        self._volumes[name] = volume
        if is_available(volume):
            modes = tuple(sorted(set(volume.spec.access_modes)))
            slot = (volume_class(volume), modes, volume_bytes(volume))
            lists = self._available.setdefault(slot[0], {})
            bisect.insort(lists.setdefault(modes, []), (slot[2], name))
            self._slot[name] = slot
        ref = volume.spec.claim_ref
        if ref is not None:
            key = claim_key(ref.namespace, ref.name)
            self._by_claim.setdefault(key, set()).add(name)
            self._ref[name] = key
        return True

    def forget(self, name: str) -> None:
        """Drop the volume `name` (deleted)."""
        if name in self._volumes:
            self._unindex(name)
            del self._volumes[name]

    def _unindex(self, name: str) -> None:
        slot = self._slot.pop(name, None)
        if slot is not None:
            class_name, modes, size = slot
            lists = self._available[class_name]
            entries = lists[modes]
            at = bisect.bisect_left(entries, (size, name))
            if at < len(entries) and entries[at] == (size, name):
                del entries[at]
            if not entries:
                del lists[modes]
                if not lists:
                    del self._available[class_name]
        key = self._ref.pop(name, None)
        if key is not None:
            names = self._by_claim[key]
            names.discard(name)
            if not names:
                del self._by_claim[key]

    # -- matching -----------------------------------------------------------------------------

    def find_best_match(
        self, claim: PersistentVolumeClaim, *, delay_binding: bool = False
    ) -> PersistentVolume | None:
        """`findBestMatchForClaim(claim, delayBinding)`.

        A volume pre-bound to this claim (claimRef with its uid or none) that is large enough,
        has the claim's volumeMode and access modes and is not being deleted wins at once, in
        delay-binding mode too. Otherwise, unless `delay_binding`: among the available volumes
        of the claim's class whose access-mode set contains every requested mode, the mode sets
        tried from the fewest modes up (the first set with a match wins), the smallest volume
        that is large enough, has the claim's volumeMode and matches `spec.selector` (ties by
        name). An invalid selector matches nothing."""
        request = requested_bytes(claim)
        wanted = set(claim.spec.access_modes)
        pre_bound = self._pre_bound(claim, request, wanted)
        if pre_bound is not None or delay_binding:
            return pre_bound
        lists = self._available.get(claim_class(claim))
        if not lists:
            return None
        selector: Selector | None = None
        if claim.spec.selector is not None:
            try:
                selector = Selector.from_label_selector(claim.spec.selector)
            except SelectorError:
                return None
        for modes in sorted((m for m in lists if wanted.issubset(m)), key=lambda m: (len(m), m)):
            entries = lists[modes]
            for _, name in entries[bisect.bisect_left(entries, (request, "")) :]:
                volume = self._volumes[name]
                if volume_mode_mismatch(claim, volume):
                    continue
                if selector is not None and not selector.matches(volume.metadata.labels):
                    continue
                return volume
        return None

    def _pre_bound(
        self, claim: PersistentVolumeClaim, request: int, wanted: set[str]
    ) -> PersistentVolume | None:
        names = self._by_claim.get(claim_key(claim.metadata.namespace, claim.metadata.name))
        if not names:
            return None
        found: list[tuple[int, int, str, PersistentVolume]] = []
        for name in names:
            volume = self._volumes[name]
            if (
                is_volume_bound_to_claim(volume, claim)
                and volume_bytes(volume) >= request
                and wanted.issubset(volume.spec.access_modes)
                and not volume_mode_mismatch(claim, volume)
                and volume.metadata.deletion_timestamp is None
            ):
                found.append(
                    (len(set(volume.spec.access_modes)), volume_bytes(volume), name, volume)
                )
        if not found:
            return None
        return min(found, key=lambda item: item[:3])[3]
