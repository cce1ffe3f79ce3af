"""A `ControlPlane` (scheduler, kubelet simulator, garbage collector) plus the StatefulSet
controller, on the memory store and the virtual clock, and readers of what happened."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from cp import ControlPlane
from cp.api.apps import ControllerRevision, StatefulSet
from cp.api.core import PersistentVolumeClaim
from cp.api.core_pod import Pod

MANIFESTS = Path(__file__).resolve().parents[2] / "api" / "manifests"
ACTOR = "controller/statefulset"

WEB = """
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  serviceName: web
  replicas: %(replicas)d
  podManagementPolicy: %(policy)s
  updateStrategy: %(strategy)s
  persistentVolumeClaimRetentionPolicy: %(retention)s
  minReadySeconds: %(min_ready)d
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1
  volumeClaimTemplates:
  - metadata:
      name: data
      labels: {tier: db}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def web(
    replicas: int = 2,
    *,
    policy: str = "OrderedReady",
    strategy: str = "{type: RollingUpdate}",
    retention: str = "{whenDeleted: Retain, whenScaled: Retain}",
    min_ready: int = 0,
) -> str:
    """The manifest of StatefulSet `web` (one claim template `data`)."""
    return WEB % {
        "replicas": replicas,
        "policy": policy,
        "strategy": strategy,
        "retention": retention,
        "min_ready": min_ready,
    }


@dataclass
class Plane:
    plane: ControlPlane

    @property
    def now(self) -> float:
        return self.plane.clock.now()

    async def apply(self, text: str) -> None:
        await self.plane.apply(text)

    async def settle(self) -> None:
        report = await self.plane.settle(max_seconds=600)
        assert report.converged

    async def patch(self, name: str, body: Mapping[str, Any]) -> None:
        await self.plane.client.patch("StatefulSet", name, body, "strategic", "default")

    async def sts(self, name: str = "web") -> StatefulSet:
        obj = await self.plane.client.get("StatefulSet", name, "default")
        assert isinstance(obj, StatefulSet)
        return obj

    async def pods(self) -> dict[str, Pod]:
        items = (await self.plane.client.list("Pod", "default")).items
        return {p.metadata.name: p for p in items if isinstance(p, Pod)}

    async def claims(self) -> dict[str, PersistentVolumeClaim]:
        items = (await self.plane.client.list("PersistentVolumeClaim", "default")).items
        return {c.metadata.name: c for c in items if isinstance(c, PersistentVolumeClaim)}

    async def revisions(self) -> dict[str, ControllerRevision]:
        items = (await self.plane.client.list("ControllerRevision", "default")).items
        return {r.metadata.name: r for r in items if isinstance(r, ControllerRevision)}

    async def pod_actions(self) -> list[tuple[str, str, float]]:
        """The controller's pod writes in log order: (create | delete, pod name, time); a
        delete is the write that set the deletionTimestamp (or removed an unbound pod)."""
        actions = []
        async for ev in self.plane.log.events(prefix="/registry/pods/"):
            if ev.actor != ACTOR:
                continue
            name = ev.key.rsplit("/", 1)[1]
            if ev.type == "DELETE":
                actions.append(("delete", name, ev.time))
                continue
            new = msgspec.json.decode(ev.value or b"{}")
            old = msgspec.json.decode(ev.prev_value) if ev.prev_value else None
            if old is None:
                actions.append(("create", name, ev.time))
            elif new["metadata"].get("deletionTimestamp") and not old["metadata"].get(
                "deletionTimestamp"
            ):
                actions.append(("delete", name, ev.time))
        return actions

    async def gone_at(self, name: str) -> list[float]:
        """When pod `name` was removed from the store, in order."""
        return [
            ev.time
            async for ev in self.plane.log.events(prefix=f"/registry/pods/default/{name}")
            if ev.type == "DELETE" and ev.key.endswith(f"/{name}")
        ]

    async def set_image(self, image: str, name: str = "web") -> None:
        """`kubectl set image sts/NAME c=IMAGE`."""
        containers = [{"name": "c", "image": image}]
        await self.patch(name, {"spec": {"template": {"spec": {"containers": containers}}}})

    async def event_messages(self) -> list[str]:
        items = (await self.plane.client.list("Event", "default")).items
        return [str(getattr(e, "message", "")) for e in items]


@asynccontextmanager
async def running(nodes: int = 2) -> AsyncIterator[Plane]:
    """The plane (it runs the StatefulSet controller among the shipped ones), serving the
    seed's `nfs-client` StorageClass besides the default `standard`."""
    profile = "storage: {provisioners: [nfs-client]}\n"
    async with ControlPlane.open(nodes=nodes, profile=profile) as plane:
        assert "statefulset" in {c.name for c in plane.manager.controllers}
        await plane.apply(NFS_CLIENT)
        yield Plane(plane)


NFS_CLIENT = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs-client}
provisioner: nfs-client
reclaimPolicy: Delete
"""
