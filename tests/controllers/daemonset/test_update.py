"""RollingUpdate (with and without surge) and OnDelete over a FakeClient."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.daemonset import HASH_LABEL
from cp.api.apps import ControllerRevision
from cp.api.core_pod import Container, Pod
from tests.controllers.daemonset.harness import Harness, daemon_set, node

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _nodes(count: int = 3) -> list[object]:
    return [node(f"node-{i}") for i in range(1, count + 1)]


async def _running(**kwargs: object) -> Harness:
    """Three nodes, the DaemonSet's pods created and Ready, the status settled."""
    h = Harness(daemon_set(**kwargs), *_nodes())  # type: ignore[arg-type]
    await h.settle()
    h.set_ready()
    h.sync()
    await h.settle()
    return h


def _new_template(h: Harness, image: str, generation: int = 2) -> None:
    ds = h.ds()
    spec = replace(ds.spec.template.spec, containers=(Container(name="c", image=image),))
    template = replace(ds.spec.template, spec=spec)
    meta = replace(ds.metadata, generation=generation)
    h.update_ds(replace(ds, metadata=meta, spec=replace(ds.spec, template=template)))
    h.sync()


def _hash_of_image(h: Harness, image: str) -> str:
    for obj in h.client.objects():
        if isinstance(obj, ControllerRevision):
            data = obj.data or {}
            containers = data["spec"]["template"]["spec"]["containers"]
            if containers[0]["image"] == image:
                return obj.metadata.labels[HASH_LABEL]
    raise AssertionError(f"no revision with {image}")


def _image(pod: Pod) -> str:
    return pod.spec.containers[0].image


async def _roll(h: Harness, image: str, *, surge: bool) -> list[tuple[str, str]]:
    """Drive the rollout: each round one sync, then the kubelet finishes deletions and makes
    new pods Ready. Returns (create | delete, node) in order; checks the availability bound."""
    pods_by_name = {p.metadata.name: p for p in h.pods()}
    log: list[tuple[str, str]] = []
    for _ in range(40):
        actions = await h.step()
        for a in actions:
            if a.kind != "Pod" or a.verb not in ("create", "delete"):
                continue
            if a.verb == "create":
                created = next(p for p in h.pods() if p.metadata.name not in pods_by_name)
                pods_by_name[created.metadata.name] = created
                log.append(("create", created.spec.node_name))
            else:
                log.append(("delete", pods_by_name[a.name].spec.node_name))
        serving = {
            p.spec.node_name for p in h.live_pods() if p.status is not None and p.status.conditions
        }
        missing = 3 - len(serving)
        assert missing <= (0 if surge else 1), (missing, log)
        await h.finish_deletions()
        h.set_ready()
        h.sync()
        live = h.live_pods()
        if not actions and len(live) == 3 and all(_image(p) == image for p in live):
            return log
    raise AssertionError(f"the rollout did not finish: {log}")


async def test_rolling_update_replaces_node_by_node_within_max_unavailable() -> None:
    h = await _running()
    _new_template(h, "agent:2")
    log = await _roll(h, "agent:2", surge=False)
    assert log == [
        ("delete", "node-1"),
        ("create", "node-1"),
        ("delete", "node-2"),
        ("create", "node-2"),
        ("delete", "node-3"),
        ("create", "node-3"),
    ]
    new_hash = _hash_of_image(h, "agent:2")
    assert all(p.metadata.labels[HASH_LABEL] == new_hash for p in h.pods())
    assert all(p.metadata.labels["pod-template-generation"] == "2" for p in h.pods())
    status = h.status()
    assert (status.updated_number_scheduled, status.number_available) == (3, 3)
    assert status.observed_generation == 2
    revisions = sorted(
        (o.revision, _hash_of_image(h, "agent:1") == o.metadata.labels[HASH_LABEL])
        for o in h.client.objects()
        if isinstance(o, ControllerRevision)
    )
    assert revisions == [(1, True), (2, False)]


async def test_max_unavailable_two_deletes_two_at_once() -> None:
    h = await _running(max_unavailable=2)
    _new_template(h, "agent:2")
    actions = await h.step()
    deleted = [a for a in actions if a.kind == "Pod" and a.verb == "delete"]
    assert len(deleted) == 2


async def test_rolling_update_with_surge_keeps_every_node_served() -> None:
    h = await _running(max_unavailable=0, max_surge=1)
    _new_template(h, "agent:2")
    log = await _roll(h, "agent:2", surge=True)
    # each node gets its new pod before its old one goes
    for name in ("node-1", "node-2", "node-3"):
        events = [verb for verb, n in log if n == name]
        assert events == ["create", "delete"], log


async def test_on_delete_replaces_only_deleted_pods() -> None:
    h = await _running(strategy="OnDelete")
    _new_template(h, "agent:2")
    actions = await h.step()
    assert [a.kind for a in actions if a.verb != "update_status"] == ["ControllerRevision"]
    status = h.status()
    assert (status.updated_number_scheduled, status.observed_generation) == (0, 2)
    victim = next(p for p in h.pods() if p.spec.node_name == "node-2")
    await h.client.delete("Pod", victim.metadata.name, "default", grace_period_seconds=0)
    h.sync()
    await h.settle()
    images = {p.spec.node_name: _image(p) for p in h.pods()}
    assert images == {"node-1": "agent:1", "node-2": "agent:2", "node-3": "agent:1"}
    assert h.status().updated_number_scheduled == 1


async def test_rollback_renumbers_the_old_revision() -> None:
    h = await _running()
    old_hash = _hash_of_image(h, "agent:1")
    _new_template(h, "agent:2")
    await h.step()
    _new_template(h, "agent:1", generation=3)
    await h.step()
    numbers = {
        o.metadata.labels[HASH_LABEL]: o.revision
        for o in h.client.objects()
        if isinstance(o, ControllerRevision)
    }
    assert numbers[old_hash] == 3
    assert numbers[_hash_of_image(h, "agent:2")] == 2


async def test_history_is_trimmed_to_the_limit() -> None:
    h = await _running()
    ds = h.ds()
    h.update_ds(replace(ds, spec=replace(ds.spec, revision_history_limit=1)))
    h.sync()
    for generation, image in ((2, "agent:2"), (3, "agent:3"), (4, "agent:4")):
        _new_template(h, image, generation)
        await _roll(h, image, surge=False)
    revisions = sorted(o.revision for o in h.client.objects() if isinstance(o, ControllerRevision))
    assert revisions == [3, 4]
