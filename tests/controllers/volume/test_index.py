"""`VolumeIndex` against a brute-force model of `findBestMatchForClaim` (hypothesis), and the
newest-state rule of `observe`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from controllers.volume import VolumeIndex
from controllers.volume.index import is_available
from controllers.volume.util import volume_bytes
from cp.api.core import PersistentVolume, PersistentVolumeClaim
from cp.api.meta import LabelSelector, ObjectReference
from tests.controllers.volume.harness import claim, volume

MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany")
SIZES = ("500Mi", "1Gi", "2Gi", "1G", "5Gi")


def brute_force(volumes: list[PersistentVolume], c: PersistentVolumeClaim) -> str | None:
    """The reference: mode sets by fewest modes, the first set with a fit, smallest fit."""
    request = 1 << 30
    wanted = set(c.spec.access_modes)
    selector = c.spec.selector.match_labels if c.spec.selector else None
    groups: dict[tuple[str, ...], list[PersistentVolume]] = {}
    for v in volumes:
        groups.setdefault(tuple(sorted(set(v.spec.access_modes))), []).append(v)
    for modes in sorted((m for m in groups if wanted.issubset(m)), key=lambda m: (len(m), m)):
        fits = [
            v
            for v in groups[modes]
            if is_available(v)
            and v.spec.storage_class_name == "standard"
            and volume_bytes(v) >= request
            and (
                selector is None or all(v.metadata.labels.get(k) == x for k, x in selector.items())
            )
        ]
        if fits:
            return min(fits, key=lambda v: (volume_bytes(v), v.metadata.name)).metadata.name
    return None


volume_specs = st.lists(
    st.tuples(
        st.sampled_from(SIZES),
        st.sets(st.sampled_from(MODES), min_size=1),
        st.sampled_from(("standard", "other")),
        st.sampled_from(("Available", "Pending", "Released")),
        st.booleans(),  # labelled tier=fast
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(volume_specs, st.sets(st.sampled_from(MODES), min_size=1), st.booleans(), st.data())
def test_find_best_match_equals_the_model(
    specs: list[tuple[str, set[str], str, str, bool]],
    wanted: set[str],
    select: bool,
    data: st.DataObject,
) -> None:
    index = VolumeIndex()
    volumes = []
    for i, (size, modes, cls, phase, fast) in enumerate(specs):
        labels = {"tier": "fast"} if fast else {}
        v = volume(f"pv-{i}", size, cls=cls, modes=tuple(sorted(modes)), labels=labels, phase=phase)
        v = replace(v, metadata=replace(v.metadata, resource_version="1"))
        volumes.append(v)
        index.observe(v)
    # Some volumes are deleted again.
    for name in data.draw(st.sets(st.sampled_from([v.metadata.name for v in volumes] or ["x"]))):
        index.forget(name)
        volumes = [v for v in volumes if v.metadata.name != name]
    selector = LabelSelector(match_labels={"tier": "fast"}) if select else None
    c = claim(size="1Gi", modes=tuple(sorted(wanted)), selector=selector)
    found = index.find_best_match(c)
    assert (found.metadata.name if found else None) == brute_force(volumes, c)
    assert index.find_best_match(c, delay_binding=True) is None


def test_observe_keeps_the_newest_state() -> None:
    index = VolumeIndex()
    v = volume("a", "1Gi")
    new = replace(v, metadata=replace(v.metadata, resource_version="7"))
    ref = ObjectReference(kind="PersistentVolumeClaim", namespace="default", name="data")
    claimed = replace(new, spec=replace(new.spec, claim_ref=ref))
    assert index.observe(claimed)
    assert not index.observe(replace(v, metadata=replace(v.metadata, resource_version="3")))
    assert index.get("a") is claimed
    assert index.available_count("standard") == 0
    assert index.referencing("default/data") == ["a"]
    # A pre-bound volume (claimRef without uid) matches its claim, even when delaying.
    assert index.find_best_match(claim(), delay_binding=True) is claimed
    index.forget("a")
    assert index.referencing("default/data") == []
    assert len(index) == 0
