"""The seed walkthrough's Deployment steps (section 1), end to end on the virtual clock.

Each scenario drives a `ControlPlane` (all shipped controllers) as a user would, settles, and
checks what a real cluster shows: ReplicaSets and their replica counts step by step, revisions,
change-cause, rollback renumbering, conditions; then replays the whole log through the invariant
checker (`tests/scenarios/invariants.py`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from msgspec.structs import replace

from controllers.deployment import (
    DeadlineExceeded,
    RevisionNotFound,
    history,
    rollout_status,
    undo,
)
from cp import ControlPlane
from cp.api.apps import Deployment, ReplicaSet
from cp.api.codec import CODEC
from cp.api.core_pod import Pod
from tests.scenarios.invariants import assert_invariants

pytestmark = pytest.mark.anyio

MANIFESTS = Path(__file__).parent.parent / "api" / "manifests"
V1 = (MANIFESTS / "myapp-deploy-v1.yaml").read_text()
V3 = (MANIFESTS / "myapp-deploy-v3.yaml").read_text()
IMAGE_V1 = "ghcr.io/c1t1d0s7/go-myweb:v1.0"
IMAGE_V2 = "ghcr.io/c1t1d0s7/go-myweb:v2.0"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def plane() -> AsyncIterator[ControlPlane]:
    async with ControlPlane.open(nodes=3, seed=7) as plane:
        yield plane
        await assert_invariants(plane.log)


async def deployment(plane: ControlPlane, name: str = "myapp-deploy") -> Deployment:
    obj = await plane.client.get("Deployment", name, namespace="default")
    assert isinstance(obj, Deployment)
    return obj


async def replica_sets(plane: ControlPlane) -> dict[str, ReplicaSet]:
    items = (await plane.client.list("ReplicaSet", namespace="default")).items
    return {rs.metadata.name: rs for rs in items if isinstance(rs, ReplicaSet)}


async def pods(plane: ControlPlane) -> list[Pod]:
    items = (await plane.client.list("Pod", namespace="default")).items
    return [p for p in items if isinstance(p, Pod)]


async def set_image(
    plane: ControlPlane, image: str, name: str = "myapp-deploy", container: str = "myapp"
) -> None:
    """`kubectl set image deployment/NAME CONTAINER=IMAGE` (a strategic merge patch by name)."""
    body = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
    await plane.client.patch("Deployment", name, body, namespace="default")


async def replica_history(plane: ControlPlane) -> dict[str, list[int]]:
    """Each ReplicaSet's successive distinct `spec.replicas`, from the log."""
    seen: dict[str, list[int]] = {}
    async for event in plane.log.events(prefix="/registry/replicasets/default/"):
        if event.value is None:
            continue
        rs = CODEC.decode(ReplicaSet, event.value)
        counts = seen.setdefault(rs.metadata.name, [])
        replicas = rs.spec.replicas if rs.spec.replicas is not None else 1
        if not counts or counts[-1] != replicas:
            counts.append(replicas)
    return seen


def image_of(rs: ReplicaSet) -> str:
    (container,) = rs.spec.template.spec.containers
    return container.image


async def test_create_v1_gives_three_available_pods(plane: ControlPlane) -> None:
    await plane.apply(V1)
    report = await plane.settle(max_seconds=600)
    assert report.converged

    dep = await deployment(plane)
    (rs,) = (await replica_sets(plane)).values()
    running = await pods(plane)
    assert rs.metadata.name == f"myapp-deploy-{rs.metadata.labels['pod-template-hash']}"
    assert rs.metadata.annotations[REVISION] == "1"
    assert dep.metadata.annotations[REVISION] == "1"
    assert len(running) == 3
    assert {p.metadata.owner_references[0].uid for p in running} == {rs.metadata.uid}
    assert all(p.status is not None and p.status.phase == "Running" for p in running)
    assert len({p.spec.node_name for p in running}) == 3  # least loaded: one per node
    status = dep.status
    assert status is not None
    assert (
        status.replicas,
        status.updated_replicas,
        status.ready_replicas,
        status.available_replicas,
        status.unavailable_replicas,
        status.observed_generation,
    ) == (3, 3, 3, 3, 0, 1)
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }
    # Available only after minReadySeconds (20 s) past Ready
    assert report.seconds >= 20
    message, done = rollout_status(dep)
    assert done
    assert message == 'deployment "myapp-deploy" successfully rolled out\n'


async def test_rolling_update_v1_to_v2_steps_as_upstream(plane: ControlPlane) -> None:
    await plane.apply(V1)
    await plane.settle(max_seconds=600)
    await set_image(plane, IMAGE_V2)
    assert (await plane.settle(max_seconds=600)).converged

    sets = await replica_sets(plane)
    by_image = {image_of(rs): rs for rs in sets.values()}
    old, new = by_image[IMAGE_V1], by_image[IMAGE_V2]
    counts = await replica_history(plane)
    # maxSurge 1, maxUnavailable 1, replicas 3 (rolling.go): the new RS is created at 1 and
    # the old one scaled to 2 (4 pods at most, 2 available at least); the new one goes to 2 at
    # once. Its two pods were created in the same instant, so they become available together
    # (20 s after Ready): available = 2 old + 2 new, so the old RS drops by 2 to 0, and the
    # new one goes to 3. (The seed's 3 -> 2 -> 1 -> 0 is the simplification it says it is.)
    assert counts[old.metadata.name] == [3, 2, 0]
    assert counts[new.metadata.name] == [1, 2, 3]
    assert new.metadata.annotations[REVISION] == "2"
    assert (await deployment(plane)).metadata.annotations[REVISION] == "2"
    assert len(await pods(plane)) == 3
    assert all(
        p.metadata.labels["pod-template-hash"] in new.metadata.name for p in await pods(plane)
    )


async def test_history_change_cause_and_undo_renumber(plane: ControlPlane) -> None:
    await plane.apply(V1)
    await plane.settle(max_seconds=600)
    await set_image(plane, IMAGE_V2)
    await plane.settle(max_seconds=600)
    await plane.apply(V3)
    assert (await plane.settle(max_seconds=600)).converged

    entries = await history(plane.client, "myapp-deploy", "default")
    assert sorted(entries) == [1, 2, 3]
    assert entries[3][1] == "My Golang Web App Version 3"
    assert entries[1][1] == ""
    v2_name = entries[2][0].metadata.name

    _, message = await undo(plane.client, "myapp-deploy", "default", to_revision=2)
    assert message == "deployment.apps/myapp-deploy rolled back"
    assert (await plane.settle(max_seconds=600)).converged

    entries = await history(plane.client, "myapp-deploy", "default")
    assert sorted(entries) == [1, 3, 4]
    reused = entries[4][0]
    assert reused.metadata.name == v2_name  # the v2 ReplicaSet is reused, not recreated
    assert reused.metadata.annotations["deployment.kubernetes.io/revision-history"] == "2"
    assert image_of(reused) == IMAGE_V2
    assert (reused.spec.replicas, (await deployment(plane)).metadata.annotations[REVISION]) == (
        3,
        "4",
    )
    with pytest.raises(RevisionNotFound, match="unable to find specified revision 9 in history"):
        await undo(plane.client, "myapp-deploy", "default", to_revision=9)


RECREATE = re.sub(r"(?ms)^    type: RollingUpdate.*?maxSurge: 1[^\n]*$", "    type: Recreate", V1)


async def test_recreate_removes_every_old_pod_before_a_new_one(plane: ControlPlane) -> None:
    assert "Recreate" in RECREATE
    await plane.apply(RECREATE)
    await plane.settle(max_seconds=600)
    await set_image(plane, IMAGE_V2)
    assert (await plane.settle(max_seconds=600)).converged

    sets = await replica_sets(plane)
    by_image = {image_of(rs): rs for rs in sets.values()}
    counts = await replica_history(plane)
    assert counts[by_image[IMAGE_V1].metadata.name] == [3, 0]
    assert counts[by_image[IMAGE_V2].metadata.name] == [0, 3] or counts[
        by_image[IMAGE_V2].metadata.name
    ] == [3]
    # No pod of the new ReplicaSet was created while an old pod still existed.
    new_hash = by_image[IMAGE_V2].metadata.labels["pod-template-hash"]
    old_hash = by_image[IMAGE_V1].metadata.labels["pod-template-hash"]
    live: set[str] = set()
    async for event in plane.log.events(prefix="/registry/pods/default/"):
        name = event.key.rsplit("/", 1)[1]
        if event.type == "DELETE":
            live.discard(name)
            continue
        live.add(name)
        if event.prev_value is None and new_hash in name:
            assert not any(old_hash in other for other in live), f"{name} created beside old pods"


STUCK_PROFILE = """
rules:
  - image: "*:v2.0"
    neverReady: true
"""


async def test_a_rollout_that_never_becomes_ready_exceeds_its_deadline() -> None:
    async with ControlPlane.open(nodes=3, seed=1, profile=STUCK_PROFILE) as plane:
        await plane.apply(V1)
        await plane.settle(max_seconds=600)
        await set_image(plane, IMAGE_V2)
        await plane.settle(max_seconds=1200)

        dep = await deployment(plane)
        assert dep.status is not None
        progressing = {c.type: c for c in dep.status.conditions}["Progressing"]
        assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
        assert progressing.message.endswith("has timed out progressing.")
        # the rollout stopped where maxUnavailable holds it: 2 old available pods remain
        assert dep.status.available_replicas == 2
        with pytest.raises(DeadlineExceeded, match="exceeded its progress deadline"):
            rollout_status(dep)  # kubectl rollout status fails the same way
        await assert_invariants(plane.log)


PULL_ERROR_PROFILE = """
rules:
  - image: "nginx:sometag"
    pullError: true
"""

PROPORTIONAL = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx-deployment, namespace: default}
spec:
  replicas: 10
  selector: {matchLabels: {app: nginx}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: "nginx:1.14.2"}]
"""


async def test_scaling_during_a_rollout_is_proportional() -> None:
    """kubernetes.io "Deployments", proportional scaling: 10 replicas, maxSurge 3,
    maxUnavailable 2, a rollout to an image that cannot be pulled, then scale to 15: the old
    ReplicaSet goes 8 -> 11 and the new one 5 -> 7."""
    async with ControlPlane.open(nodes=3, seed=2, profile=PULL_ERROR_PROFILE) as plane:
        await plane.apply(PROPORTIONAL)
        await plane.settle(max_seconds=600)
        await set_image(plane, "nginx:sometag", name="nginx-deployment", container="nginx")
        await plane.settle(max_seconds=60)
        sets = {image_of(rs): rs for rs in (await replica_sets(plane)).values()}
        assert (sets["nginx:1.14.2"].spec.replicas, sets["nginx:sometag"].spec.replicas) == (8, 5)

        dep = await deployment(plane, "nginx-deployment")
        await plane.client.update(replace(dep, spec=replace(dep.spec, replicas=15)))
        await plane.settle(max_seconds=60)
        sets = {image_of(rs): rs for rs in (await replica_sets(plane)).values()}
        assert (sets["nginx:1.14.2"].spec.replicas, sets["nginx:sometag"].spec.replicas) == (11, 7)
        await assert_invariants(plane.log, exempt_actors=("user", "kubelet/"))


def _many(count: int, image: str) -> str:
    return "\n---\n".join(
        f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d{i}, namespace: default}}
spec:
  replicas: 10
  selector: {{matchLabels: {{app: d{i}}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 1, maxUnavailable: 1}}}}
  template:
    metadata: {{labels: {{app: d{i}}}}}
    spec: {{containers: [{{name: c, image: "{image}"}}]}}
"""
        for i in range(count)
    )


async def test_many_deployments_rolled_at_once_keep_their_bounds() -> None:
    """30 Deployments rolled in one apply: ReplicaSet status lags spec while old pods
    terminate, which upstream's cleanupUnhealthyReplicas refuses to act on (it errs rather
    than scale an old ReplicaSet up); the invariant checker catches any surge past the bound."""
    async with ControlPlane.open(nodes=5, seed=3) as plane:
        await plane.apply(_many(30, "nginx:1"))
        assert (await plane.settle(max_seconds=600)).converged
        await plane.apply(_many(30, "nginx:2"))
        assert (await plane.settle(max_seconds=600)).converged
        sets = (await replica_sets(plane)).values()
        assert sum(1 for rs in sets if image_of(rs) == "nginx:2" and rs.spec.replicas == 10) == 30
        assert len(await pods(plane)) == 300
        await assert_invariants(plane.log)
