"""The binder in a running `ControlPlane` on the virtual clock (no real sleeps): dynamic
provisioning, the seed's StatefulSet claims, static binding, reclaim, WaitForFirstConsumer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
from msgspec.structs import replace

from controllers.volume import (
    ANN_SELECTED_NODE,
    PV_BINDER_NAME,
    default_storage_class,
)
from cp.api.core import Event, PersistentVolume, PersistentVolumeClaim
from cp.plane import ControlPlane
from tests.controllers.volume.harness import claim, pod, storage_class, volume

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running(served: Sequence[str] = ()) -> AsyncIterator[ControlPlane]:
    """The plane runs the binder; `served` provisioners come from the simulation profile, and
    the plane made the default class `standard`."""
    profile = "storage: {provisioners: [" + ", ".join(served) + "]}\n"
    async with ControlPlane.open(nodes=2, profile=profile) as plane:
        assert PV_BINDER_NAME in {c.name for c in plane.manager.controllers}
        standard = await plane.client.get("StorageClass", "standard")
        assert standard == replace(default_storage_class(), metadata=standard.metadata)
        yield plane


def unsaved(obj: PersistentVolumeClaim) -> PersistentVolumeClaim:
    return replace(obj, metadata=replace(obj.metadata, uid=""), status=None)


async def claims(plane: ControlPlane) -> dict[str, PersistentVolumeClaim]:
    items = (await plane.client.list("PersistentVolumeClaim", "default")).items
    return {c.metadata.name: c for c in items if isinstance(c, PersistentVolumeClaim)}


async def volumes(plane: ControlPlane) -> dict[str, PersistentVolume]:
    items = (await plane.client.list("PersistentVolume")).items
    return {v.metadata.name: v for v in items if isinstance(v, PersistentVolume)}


async def events(plane: ControlPlane) -> list[tuple[str, str, str]]:
    items = (await plane.client.list("Event", "default")).items
    return [
        (e.involved_object.name, e.reason, e.source.component if e.source else "")
        for e in items
        if isinstance(e, Event) and e.involved_object.kind == "PersistentVolumeClaim"
    ]


async def test_default_class_provisions_and_delete_reclaims() -> None:
    async with running() as plane:
        await plane.client.create(unsaved(claim("data", cls=None)))
        report = await plane.settle()
        assert report.converged
        bound = (await claims(plane))["data"]
        assert bound.status is not None
        assert bound.status.phase == "Bound"
        pvs = await volumes(plane)
        assert list(pvs) == [bound.spec.volume_name]
        pv = pvs[bound.spec.volume_name]
        assert pv.status is not None
        assert (pv.status.phase, pv.spec.storage_class_name) == ("Bound", "standard")
        assert ("data", "ExternalProvisioning", "persistentvolume-controller") in await events(
            plane
        )
        await plane.client.delete("PersistentVolumeClaim", "data", "default")
        assert (await plane.settle()).converged
        assert await volumes(plane) == {}


async def test_seed_statefulset_claims_on_a_served_nfs_client() -> None:
    async with running(served=("nfs-client",)) as plane:
        await plane.client.create(storage_class("nfs-client", provisioner="nfs-client"))
        for i in range(4):
            await plane.client.create(
                unsaved(claim(f"myapp-data-myapp-sts-vol-{i}", cls="nfs-client"))
            )
        assert (await plane.settle()).converged
        found = await claims(plane)
        assert all(c.status is not None and c.status.phase == "Bound" for c in found.values())
        pvs = await volumes(plane)
        assert sorted(pvs) == sorted(c.spec.volume_name for c in found.values())
        assert {v.spec.capacity["storage"] for v in pvs.values()} == {"1Gi"}


async def test_unserved_provisioner_and_missing_class_stay_pending() -> None:
    async with running() as plane:
        await plane.client.create(storage_class("nfs-client", provisioner="nfs-client"))
        await plane.client.create(unsaved(claim("ext", cls="nfs-client")))
        await plane.client.create(unsaved(claim("nope", cls="missing")))
        assert (await plane.settle()).converged
        found = await claims(plane)
        assert [found[n].status.phase for n in ("ext", "nope")] == ["Pending", "Pending"]  # type: ignore[union-attr]
        reasons = {(name, reason) for name, reason, _ in await events(plane)}
        assert ("ext", "ExternalProvisioning") in reasons
        assert ("nope", "ProvisioningFailed") in reasons
        assert await volumes(plane) == {}


async def test_static_binding_and_retain() -> None:
    async with running() as plane:
        for name, size in (("big", "10Gi"), ("fits", "2Gi"), ("tiny", "100Mi")):
            await plane.client.create(volume(name, size, cls="manual", phase=""))
        await plane.client.create(unsaved(claim("data", "1500Mi", cls="manual")))
        assert (await plane.settle()).converged
        assert (await claims(plane))["data"].spec.volume_name == "fits"
        await plane.client.delete("PersistentVolumeClaim", "data", "default")
        assert (await plane.settle()).converged
        pvs = await volumes(plane)
        assert {n: v.status.phase for n, v in pvs.items()} == {  # type: ignore[union-attr]
            "big": "Available",
            "fits": "Released",
            "tiny": "Available",
        }


async def test_wait_for_first_consumer_with_a_pod() -> None:
    async with running() as plane:
        await plane.client.create(storage_class("local", mode="WaitForFirstConsumer"))
        await plane.client.create(unsaved(claim("data", cls="local")))
        assert (await plane.settle()).converged
        assert (await claims(plane))["data"].status.phase == "Pending"  # type: ignore[union-attr]
        web = pod("web-0", "data")
        await plane.client.create(replace(web, metadata=replace(web.metadata, uid="")))
        assert (await plane.settle(max_seconds=600)).converged
        bound = (await claims(plane))["data"]
        assert bound.status is not None
        assert bound.status.phase == "Bound"
        placed = await plane.client.get("Pod", "web-0", "default")
        assert bound.metadata.annotations[ANN_SELECTED_NODE] == placed.spec.node_name  # type: ignore[attr-defined]
