"""Property: never two claims bound to one volume, whatever the interleaving of syncs, stale
caches and two binders racing over one API (hypothesis)."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controllers.volume import claim_request, volume_request
from controllers.volume.util import requested_bytes, volume_bytes
from cp.api.core import PersistentVolume, PersistentVolumeClaim
from cp.api.errors import ApiError
from cp.api.meta import ApiStruct
from cp.runtime import Request
from tests.controllers.volume.harness import Harness, claim, volume

SIZES = ("1Gi", "2Gi", "3Gi")

scenario = st.tuples(
    st.lists(st.sampled_from(SIZES), min_size=1, max_size=5),  # claims
    st.lists(st.sampled_from(SIZES), min_size=1, max_size=4),  # volumes
    st.lists(
        st.tuples(
            st.sampled_from(("reconcile", "sync", "delete")),
            st.integers(0, 1),  # which binder
            st.integers(0, 8),  # which key / claim
        ),
        max_size=40,
    ),
)


def check(h: Harness) -> None:
    """At most one Bound claim per volume, and a volume's claimRef uid is one claim's."""
    claims = [o for o in h.client.objects() if isinstance(o, PersistentVolumeClaim)]
    bound = Counter(
        c.spec.volume_name for c in claims if c.status is not None and c.status.phase == "Bound"
    )
    assert all(n == 1 for n in bound.values()), bound
    uids = {c.metadata.uid: c for c in claims}
    for v in h.client.objects():
        if isinstance(v, PersistentVolume) and v.spec.claim_ref and v.spec.claim_ref.uid:
            owner = uids.get(v.spec.claim_ref.uid)
            if owner is not None and owner.spec.volume_name:
                assert owner.spec.volume_name == v.metadata.name


@pytest.mark.anyio
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
async def test_never_two_claims_bound_to_one_volume(
    data: tuple[list[str], list[str], list[tuple[str, int, int]]],
) -> None:
    claim_sizes, volume_sizes, steps = data
    objects: list[ApiStruct] = [
        claim(f"c{i}", size, cls="manual") for i, size in enumerate(claim_sizes)
    ]
    objects += [volume(f"v{i}", size, cls="manual") for i, size in enumerate(volume_sizes)]
    first = Harness(*objects)
    second = Harness(client=first.client)
    binders = (first, second)
    keys: list[Request] = [claim_request("default", f"c{i}") for i in range(len(claim_sizes))]
    keys += [volume_request(f"v{i}") for i in range(len(volume_sizes))]
    for action, which, at in steps:
        h = binders[which]
        if action == "sync":
            h.sync()
        elif action == "delete":
            name = f"c{at % len(claim_sizes)}"
            with contextlib.suppress(ApiError):
                await h.client.delete("PersistentVolumeClaim", name, "default")
        else:
            # A stale cache loses a compare-and-swap (Conflict): the key is retried later.
            with contextlib.suppress(ApiError):
                await h.binder.reconcile(keys[at % len(keys)])
        check(first)
    for h in binders:  # settle each binder in turn, then the first again
        await h.drain()
    await first.drain()
    check(first)
    # Settled: no claim is left Pending while a free volume could serve it.
    objects_now = first.client.objects()
    free = [
        volume_bytes(o)
        for o in objects_now
        if isinstance(o, PersistentVolume) and o.spec.claim_ref is None
    ]
    for c in objects_now:
        if isinstance(c, PersistentVolumeClaim) and not c.spec.volume_name:
            assert all(size < requested_bytes(c) for size in free), (c.metadata.name, free)
    STATS["settled"] += 1


STATS: Counter[str] = Counter()


def test_the_property_ran() -> None:
    """Guard: the async hypothesis test above really ran its examples (collected first)."""
    assert STATS["settled"] >= 10


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
