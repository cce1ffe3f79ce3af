"""The plane runs the garbage collector: deleting an owner removes what it owns."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec.structs import replace

from cp import ControlPlane
from cp.api.apps import Deployment, ReplicaSet, ReplicaSetSpec
from cp.api.core import ConfigMap
from cp.api.errors import NotFound
from cp.api.meta import ObjectMeta, OwnerReference

pytestmark = pytest.mark.anyio

V1 = (Path(__file__).parent.parent / "api" / "manifests" / "myapp-deploy-v1.yaml").read_text()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _replica_set(owner: Deployment, name: str) -> ReplicaSet:
    """A ReplicaSet as the Deployment controller would make it, owned by `owner`."""
    assert owner.spec is not None
    assert owner.metadata.uid
    ref = OwnerReference(
        api_version="apps/v1",
        kind="Deployment",
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )
    labels = owner.spec.template.metadata.labels if owner.spec.template.metadata else {}
    return ReplicaSet(
        metadata=ObjectMeta(name=name, namespace="default", labels=labels, owner_references=(ref,)),
        spec=ReplicaSetSpec(replicas=1, selector=owner.spec.selector, template=owner.spec.template),
    )


@pytest.mark.parametrize("propagation", ["Background", "Foreground"])
async def test_deleting_a_deployment_collects_its_replica_set(propagation: str) -> None:
    async with ControlPlane.open(nodes=0) as plane:
        (deployment,) = await plane.apply(V1)
        assert isinstance(deployment, Deployment)
        await plane.client.create(_replica_set(deployment, "myapp-deploy-abc"))
        await plane.client.create(_replica_set(deployment, "myapp-deploy-def"))
        report = await plane.settle()
        # the two made here (the Deployment controller adopts them: same template)
        sets = (await plane.client.list("ReplicaSet", namespace="default")).items
        assert {rs.metadata.name for rs in sets if isinstance(rs, ReplicaSet)} >= {
            "myapp-deploy-abc",
            "myapp-deploy-def",
        }

        await plane.client.delete(
            "Deployment", "myapp-deploy", namespace="default", propagation=propagation
        )
        report = await plane.settle()

        assert report.converged
        assert (await plane.client.list("ReplicaSet", namespace="default")).items == ()
        assert (await plane.client.list("Pod", namespace="default")).items == ()
        with pytest.raises(NotFound):
            await plane.client.get("Deployment", "myapp-deploy", namespace="default")
        actors = {
            e.actor
            async for e in plane.log.events()
            if e.key.startswith("/registry/replicasets/") and e.type == "DELETE"
        }
        assert actors == {"controller/garbage-collector"}


CONFIG_MAP_OWNED_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: default
  ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: owner, uid: "{uid}"}}]
spec: {{containers: [{{name: c, image: nginx}}]}}
"""


async def test_the_collector_covers_every_kind_the_server_serves() -> None:
    """An owner of any kind (here a ConfigMap) has its dependents collected, and an Orphan
    delete of such a kind completes (the server adds the finalizer for every kind)."""
    async with ControlPlane.open(nodes=0) as plane:
        (owner,) = await plane.apply(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner, namespace: default}\n"
        )
        await plane.apply(CONFIG_MAP_OWNED_POD.format(uid=owner.metadata.uid))
        await plane.settle()
        await plane.client.delete("ConfigMap", "owner", namespace="default")
        assert (await plane.settle()).converged
        assert (await plane.client.list("Pod", namespace="default")).items == ()

        await plane.apply(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o2, namespace: default}\n"
        )
        await plane.client.delete("ConfigMap", "o2", namespace="default", propagation="Orphan")
        await plane.settle()
        with pytest.raises(NotFound):
            await plane.client.get("ConfigMap", "o2", namespace="default")


async def test_a_foreground_delete_of_an_ownership_cycle_finishes() -> None:
    """A owns B and B owns A, both blocking: upstream's cycle guard unblocks B's references to
    its waiting owner, so both go instead of waiting on each other for ever."""
    async with ControlPlane.open(nodes=0) as plane:
        a = await plane.client.create(ConfigMap(metadata=ObjectMeta(name="a", namespace="default")))

        def ref_to(obj: ConfigMap) -> OwnerReference:
            return OwnerReference(
                api_version="v1",
                kind="ConfigMap",
                name=obj.metadata.name,
                uid=obj.metadata.uid,
                block_owner_deletion=True,
            )

        b = await plane.client.create(
            ConfigMap(
                metadata=ObjectMeta(name="b", namespace="default", owner_references=(ref_to(a),))
            )
        )
        await plane.client.update(
            replace(a, metadata=replace(a.metadata, owner_references=(ref_to(b),)))
        )
        assert (await plane.settle()).converged
        assert len((await plane.client.list("ConfigMap", namespace="default")).items) == 2

        await plane.client.delete("ConfigMap", "a", namespace="default", propagation="Foreground")
        report = await plane.settle(max_seconds=600)

        assert report.converged
        assert (await plane.client.list("ConfigMap", namespace="default")).items == ()
