"""The DNS controller in a `ControlPlane` (scheduler, kubelet, ReplicaSet, Deployment and
Endpoints controllers running) on the virtual clock, with the seed's Services and pods made by
hand with `hostname`/`subdomain` (as the StatefulSet controller would make them): the headless
Service resolves to every ready pod IP, a selected pod's `hostname.subdomain` resolves, a pod
the Service does not select gets no name (the seed's `myapp-sts-vol` mistake), the typo
`mtdb-0.mydb` is NXDOMAIN, a past revision still answers what it answered then, and the
records go with the Service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from controllers.dns import DNS_NAME, DNSController, Resolver, host_lines
from cp.api.core_pod import Pod
from cp.api.dns import DNSRecordSet
from cp.api.errors import NotFound
from cp.plane import ControlPlane

pytestmark = pytest.mark.anyio

MANIFESTS = Path(__file__).parents[2] / "api" / "manifests"
HL = "myapp-svc-headless.default.svc.cluster.local"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running_plane() -> AsyncIterator[ControlPlane]:
    """A plane running the DNS controller (added here until the plane ships it)."""
    async with ControlPlane.open(nodes=2, seed=5) as plane:
        if DNS_NAME not in {c.name for c in plane.manager.controllers}:
            dnc = DNSController(
                plane.client,
                plane.informers,
                clock=plane.clock,
                activity=plane.activity,
                ids=plane.ids,
            )
            plane.add_controller(dnc.controller)
        yield plane


def stateful_pod(name: str, app: str, subdomain: str = "myapp-svc-headless") -> str:
    """A pod named and placed as a StatefulSet's; ready 20 s after it starts."""
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: {app}
spec:
  hostname: {name}
  subdomain: {subdomain}
  containers:
  - name: web
    image: ghcr.io/c1t1d0s7/go-myweb:alpine
    ports:
    - containerPort: 80
    readinessProbe:
      httpGet:
        path: /
        port: 80
      initialDelaySeconds: 20
      periodSeconds: 10
---
"""


async def pod_ips(plane: ControlPlane) -> dict[str, str]:
    items = (await plane.client.list("Pod", "default")).items
    return {
        p.metadata.name: p.status.pod_ip
        for p in items
        if isinstance(p, Pod) and p.status is not None
    }


async def test_seed_names_resolve_as_in_a_cluster() -> None:
    async with running_plane() as plane:
        read_yaml = (MANIFESTS / "mydb-svc-read.yaml").read_text()
        read_yaml = read_yaml.replace("spec:\n", "spec:\n  clusterIP: 10.96.100.100\n")
        await plane.apply(
            "\n---\n".join(
                (
                    (MANIFESTS / "myapp-svc-headless.yaml").read_text(),
                    (MANIFESTS / "mydb-svc-write.yaml").read_text(),
                    read_yaml,
                )
            )
        )
        await plane.apply(
            stateful_pod("myapp-sts-0", "myapp-sts")
            + stateful_pod("myapp-sts-1", "myapp-sts")
            + stateful_pod("myapp-sts-vol-0", "myapp-sts-vol")
        )
        await plane.settle(max_seconds=10)  # running with IPs, not ready yet
        before = plane.log.revision
        resolver = Resolver.from_informers(plane.informers)
        assert resolver.resolve("myapp-svc-headless").nxdomain  # no ready endpoint yet
        assert host_lines(resolver, "mydb-read") == (
            "mydb-read.default.svc.cluster.local has address 10.96.100.100",
        )  # a ClusterIP answers even with no endpoints (its selector matches nothing)

        report = await plane.settle()
        assert report.converged
        ips = await pod_ips(plane)
        answer = resolver.resolve("myapp-svc-headless")
        assert sorted(answer.addresses) == sorted((ips["myapp-sts-0"], ips["myapp-sts-1"]))
        assert ips["myapp-sts-vol-0"] not in answer.addresses
        assert host_lines(resolver, "myapp-sts-0.myapp-svc-headless") == (
            f"myapp-sts-0.{HL} has address {ips['myapp-sts-0']}",
        )
        assert resolver.resolve("myapp-sts-vol-0.myapp-svc-headless").nxdomain
        assert host_lines(resolver, "mtdb-0.mydb") == ("Host mtdb-0.mydb not found: 3(NXDOMAIN)",)
        assert sorted(host_lines(resolver, "_http._tcp.myapp-svc-headless", "SRV")) == [
            f"_http._tcp.{HL} has SRV record 0 50 80 myapp-sts-0.{HL}.",
            f"_http._tcp.{HL} has SRV record 0 50 80 myapp-sts-1.{HL}.",
        ]
        reverse = ".".join(reversed(ips["myapp-sts-0"].split(".")))
        assert host_lines(resolver, ips["myapp-sts-0"]) == (
            f"{reverse}.in-addr.arpa domain name pointer myapp-sts-0.{HL}.",
        )
        pod_name = ips["myapp-sts-vol-0"].replace(".", "-")
        assert resolver.resolve(f"{pod_name}.default.pod").addresses == (ips["myapp-sts-vol-0"],)

        # Replay: the record sets read at the earlier revision answer what they did then.
        past, _ = await plane.server.list("DNSRecordSet", at=before)
        assert Resolver.from_objects(past).resolve("myapp-svc-headless").nxdomain
        now, _ = await plane.server.list("DNSRecordSet")
        assert Resolver.from_objects(now).resolve("myapp-sts-1.myapp-svc-headless").addresses == (
            ips["myapp-sts-1"],
        )
        actors = {
            event.actor async for event in plane.log.events(prefix="/registry/dnsrecordsets/")
        }
        assert actors == {f"controller/{DNS_NAME}"}

        await plane.client.delete("Service", "myapp-svc-headless", namespace="default")
        await plane.settle()
        with pytest.raises(NotFound):
            await plane.client.get("DNSRecordSet", "myapp-svc-headless", namespace="default")
        assert resolver.resolve("myapp-sts-0.myapp-svc-headless").nxdomain
        remaining = (await plane.client.list("DNSRecordSet")).items
        assert sorted(r.metadata.name for r in remaining if isinstance(r, DNSRecordSet)) == [
            "kubernetes",  # the API server's own Service, in every cluster
            "mydb",
            "mydb-read",
        ]
