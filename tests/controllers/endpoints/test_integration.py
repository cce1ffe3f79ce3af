"""The Endpoints controller in a `ControlPlane` (scheduler, kubelet, ReplicaSet and Deployment
controllers running) on the virtual clock, with the seed's manifests: addresses appear when pods
become Ready (notReadyAddresses before), a named targetPort, the headless Service with
hostname/subdomain, a selector matching nothing, and the Service's deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from controllers.endpoints import EP_NAME, HEADLESS_LABEL, EndpointsController
from cp.api.core import Endpoints, Event, Service
from cp.api.core_pod import Pod
from cp.api.errors import NotFound
from cp.plane import ControlPlane

pytestmark = pytest.mark.anyio

MANIFESTS = Path(__file__).parents[2] / "api" / "manifests"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running_plane() -> AsyncIterator[ControlPlane]:
    """A plane running the Endpoints controller (added here until the plane ships it)."""
    async with ControlPlane.open(nodes=2, seed=3) as plane:
        if EP_NAME not in {c.name for c in plane.manager.controllers}:
            epc = EndpointsController(
                plane.client,
                plane.informers,
                clock=plane.clock,
                activity=plane.activity,
                ids=plane.ids,
            )
            plane.add_controller(epc.controller)
        yield plane


async def endpoints(plane: ControlPlane, name: str) -> Endpoints:
    ep = await plane.client.get("Endpoints", name, namespace="default")
    assert isinstance(ep, Endpoints)
    return ep


async def pods(plane: ControlPlane) -> dict[str, Pod]:
    items = (await plane.client.list("Pod", "default")).items
    return {p.metadata.name: p for p in items if isinstance(p, Pod)}


def slow_pod(name: str, *, labels: str = "app: myapp-sts", extra: str = "") -> str:
    """A bare pod whose readiness probe passes 30 s after it starts."""
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    {labels}
spec:
  {extra}
  containers:
  - name: web
    image: ghcr.io/c1t1d0s7/go-myweb:alpine
    ports:
    - name: web
      containerPort: 8080
    readinessProbe:
      httpGet:
        path: /
        port: 8080
      initialDelaySeconds: 30
      periodSeconds: 10
---
"""


async def test_headless_service_not_ready_then_ready_with_hostnames() -> None:
    async with running_plane() as plane:
        await plane.apply((MANIFESTS / "myapp-svc-headless.yaml").read_text())
        await plane.apply(
            slow_pod("myapp-sts-0", extra="hostname: myapp-sts-0\n  subdomain: myapp-svc-headless")
            + slow_pod(
                "myapp-sts-1", extra="hostname: myapp-sts-1\n  subdomain: myapp-svc-headless"
            )
        )
        await plane.settle(max_seconds=10)  # running, with IPs, not ready yet
        ep = await endpoints(plane, "myapp-svc-headless")
        assert ep.metadata.labels == {"app": "myapp-svc-headless", HEADLESS_LABEL: ""}
        assert len(ep.subsets) == 1
        subset = ep.subsets[0]
        assert subset.addresses == ()
        assert [a.hostname for a in subset.not_ready_addresses] == ["myapp-sts-0", "myapp-sts-1"]
        assert [(p.name, p.port) for p in subset.ports] == [("http", 80)]
        report = await plane.settle()
        assert report.converged
        ep = await endpoints(plane, "myapp-svc-headless")
        live = await pods(plane)
        subset = ep.subsets[0]
        assert subset.not_ready_addresses == ()
        got = {
            (a.ip, a.hostname, a.node_name, a.target_ref.name if a.target_ref else "")
            for a in subset.addresses
        }
        want = {
            (p.status.pod_ip, name, p.spec.node_name, name)
            for name, p in live.items()
            if p.status is not None and p.spec is not None
        }
        assert got == want
        assert all(ip for ip, *_ in got)


async def test_deployment_behind_a_named_target_port_and_service_deletion() -> None:
    service = """
apiVersion: v1
kind: Service
metadata:
  name: myapp-svc
  labels:
    app: myapp-svc
spec:
  ports:
  - name: http
    port: 80
    targetPort: web
  selector:
    app: myapp-deploy
"""
    deployment = (MANIFESTS / "myapp-deploy-v1.yaml").read_text()
    deployment = deployment.replace(
        "- containerPort: 8080", "- name: web\n          containerPort: 8080"
    )
    async with running_plane() as plane:
        await plane.apply(service)
        await plane.apply(deployment)
        assert (await plane.settle()).converged
        ep = await endpoints(plane, "myapp-svc")
        live = await pods(plane)
        assert len(live) == 3
        assert len(ep.subsets) == 1
        assert sorted(a.ip for a in ep.subsets[0].addresses) == sorted(
            p.status.pod_ip for p in live.values() if p.status is not None
        )
        assert [(p.name, p.port, p.protocol) for p in ep.subsets[0].ports] == [
            ("http", 8080, "TCP")
        ]
        svc = await plane.client.get("Service", "myapp-svc", namespace="default")
        assert isinstance(svc, Service)
        headless = svc.spec.cluster_ip in ("", "None")  # "" until the server allocates
        assert (HEADLESS_LABEL in ep.metadata.labels) == headless
        events = (await plane.client.list("Event", "default")).items
        assert [e for e in events if isinstance(e, Event) and e.reason.endswith("Endpoint")] == []
        await plane.client.delete("Service", "myapp-svc", namespace="default")
        await plane.settle()
        with pytest.raises(NotFound):
            await endpoints(plane, "myapp-svc")


async def test_selector_matching_nothing_has_empty_endpoints() -> None:
    async with running_plane() as plane:
        await plane.apply((MANIFESTS / "mydb-svc-read.yaml").read_text())
        await plane.apply(slow_pod("mydb-0", labels="app: mydb\n    app.kubernetes.io/name: mydb"))
        assert (await plane.settle()).converged
        ep = await endpoints(plane, "mydb-read")
        assert ep.subsets == ()
        assert ep.metadata.labels["app.kubernetes.io/name"] == "mydb"
