"""cp.client: InProcessClient over an ApiServer, causality contextvars, and FakeClient."""

from __future__ import annotations

import subprocess
import sys

import anyio
import pytest
from msgspec.structs import replace

import store
from cp.api import (
    AlreadyExists,
    ApiStruct,
    BadRequest,
    ConfigMap,
    Conflict,
    Container,
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    EnvVar,
    LabelSelector,
    NotFound,
    ObjectMeta,
    Pod,
    PodSpec,
    PodTemplateSpec,
)
from cp.apiserver import ApiServer
from cp.client import (
    Action,
    Client,
    FakeClient,
    ListResult,
    acting_as,
    current_actor,
    current_cause,
)
from cp.client.inprocess import InProcessClient
from tests.client.conftest import CREATED, NOW, counter_ids

pytestmark = pytest.mark.anyio


def meta_of(obj: ApiStruct) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return meta


def as_dep(obj: ApiStruct) -> Deployment:
    assert isinstance(obj, Deployment)
    return obj


def config_map(name: str = "cfg", **labels: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, labels=labels), data={"k": "v"})


def deployment(name: str = "web", image: str = "nginx:1.25", replicas: int = 2) -> Deployment:
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": name}),
        spec=PodSpec(
            containers=(
                Container(name="app", image=image, env=(EnvVar(name="MODE", value="prod"),)),
                Container(name="sidecar", image="envoy:1.0"),
            )
        ),
    )
    spec = DeploymentSpec(
        replicas=replicas, selector=LabelSelector(match_labels={"app": name}), template=template
    )
    return Deployment(metadata=ObjectMeta(name=name, labels={"tier": "web"}), spec=spec)


async def events(log: store.EventLog) -> list[store.Event]:
    return [event async for event in log.events()]


# -- causality ------------------------------------------------------------------------------


def test_acting_as_sets_and_restores_the_writer() -> None:
    assert (current_actor(), current_cause()) == ("user", 0)
    with acting_as("controller/deployment", cause=7):
        assert (current_actor(), current_cause()) == ("controller/deployment", 7)
        with acting_as("kubelet/node-1", 9):
            assert (current_actor(), current_cause()) == ("kubelet/node-1", 9)
        assert (current_actor(), current_cause()) == ("controller/deployment", 7)
    assert (current_actor(), current_cause()) == ("user", 0)


@pytest.mark.parametrize(("actor", "cause"), [("", 0), ("x", -1), ("x", True)])
def test_acting_as_refuses_bad_identities(actor: str, cause: int) -> None:
    with pytest.raises(ValueError), acting_as(actor, cause):
        pass  # pragma: no cover


async def test_acting_as_is_inherited_by_started_tasks() -> None:
    seen: list[tuple[str, int]] = []

    async def write() -> None:
        seen.append((current_actor(), current_cause()))

    with acting_as("controller/replicaset", 3):
        async with anyio.create_task_group() as tg:
            tg.start_soon(write)
    assert seen == [("controller/replicaset", 3)]


# -- InProcessClient ------------------------------------------------------------------------


async def test_in_process_client_is_a_client(client: InProcessClient) -> None:
    typed: Client = client
    assert typed is client


async def test_create_get_list(client: InProcessClient) -> None:
    created = await client.create(config_map("a", app="x"))
    await client.create(config_map("b", app="y"))
    assert created.metadata.resource_version == "1"
    assert created.metadata.creation_timestamp == CREATED
    got = await client.get("ConfigMap", "a", namespace="default")
    assert got == created
    listed = await client.list("ConfigMap")
    assert isinstance(listed, ListResult)
    assert [meta_of(o).name for o in listed] == ["a", "b"]
    assert listed.resource_version == "2"
    assert len(listed) == 2
    selected = await client.list("ConfigMap", "default", label_selector="app=y")
    assert [meta_of(o).name for o in selected.items] == ["b"]
    by_field = await client.list("ConfigMap", field_selector="metadata.name=a")
    assert [meta_of(o).name for o in by_field.items] == ["a"]
    past = await client.list("ConfigMap", at=1)
    assert [meta_of(o).name for o in past.items] == ["a"]
    assert past.resource_version == "1"


async def test_update_update_status_delete(client: InProcessClient) -> None:
    created = await client.create(deployment())
    scaled = await client.update(replace(created, spec=replace(created.spec, replicas=5)))
    assert scaled.spec.replicas == 5
    assert scaled.metadata.generation == 2
    with pytest.raises(Conflict):
        await client.update(created)  # stale resourceVersion
    status = DeploymentStatus(replicas=5, observed_generation=2)
    with_status = await client.update_status(replace(scaled, status=status))
    assert with_status.status == status
    assert as_dep(await client.get("Deployment", "web")).status == status
    gone = await client.delete("Deployment", "web", namespace="default")
    assert meta_of(gone).name == "web"
    with pytest.raises(NotFound):
        await client.get("Deployment", "web")
    with pytest.raises(NotFound):
        await client.delete("Deployment", "web")


async def test_errors_are_the_servers(client: InProcessClient) -> None:
    await client.create(config_map())
    with pytest.raises(AlreadyExists):
        await client.create(config_map())
    with pytest.raises(NotFound):
        await client.get("ConfigMap", "missing")
    with pytest.raises(NotFound):
        await client.list("NoSuchKind")


async def test_writes_record_actor_and_cause(client: InProcessClient, log: store.EventLog) -> None:
    await client.create(config_map("a"))
    with acting_as("controller/deployment", cause=1):
        await client.create(deployment())
        await client.patch("Deployment", "web", {"spec": {"replicas": 3}})
    with acting_as("kubelet/node-1", cause=3):
        current = as_dep(await client.get("Deployment", "web"))
        await client.update_status(replace(current, status=DeploymentStatus(replicas=3)))
    with acting_as("controller/garbage-collector", cause=4):
        await client.delete("ConfigMap", "a")
    assert [(e.revision, e.type, e.actor, e.cause) for e in await events(log)] == [
        (1, "PUT", "user", 0),
        (2, "PUT", "controller/deployment", 1),
        (3, "PUT", "controller/deployment", 1),
        (4, "PUT", "kubelet/node-1", 3),
        (5, "DELETE", "controller/garbage-collector", 4),
    ]


async def test_bind_is_one_write_recording_actor_and_cause(
    client: InProcessClient, log: store.EventLog
) -> None:
    created = await client.create(
        Pod(
            metadata=ObjectMeta(name="web"),
            spec=PodSpec(containers=(Container(name="app", image="nginx"),)),
        )
    )
    with acting_as("controller/scheduler", cause=1):
        bound = await client.bind("web", "node-1", uid=created.metadata.uid)
    assert bound.spec.node_name == "node-1"
    assert bound.metadata.resource_version == "2"
    assert [(e.revision, e.type, e.actor, e.cause) for e in await events(log)] == [
        (1, "PUT", "user", 0),
        (2, "PUT", "controller/scheduler", 1),
    ]
    assert await client.get("Pod", "web") == bound


async def test_watch_sees_writes_after_the_list(client: InProcessClient) -> None:
    await client.create(config_map("a"))
    listed = await client.list("ConfigMap")
    async with client.watch("ConfigMap", resource_version=listed.resource_version) as stream:
        await client.create(config_map("b"))
        await client.delete("ConfigMap", "a")
        seen = []
        async for event in stream:
            seen.append((event.type, meta_of(event.object).name))
            if len(seen) == 2:
                break
    assert seen == [("ADDED", "b"), ("DELETED", "a")]


# -- patch ----------------------------------------------------------------------------------


async def test_strategic_patch_of_an_image_keeps_the_other_fields(
    client: InProcessClient,
) -> None:
    created = await client.create(deployment())
    body = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}
    patched = as_dep(await client.patch("Deployment", "web", body, namespace="default"))
    app, sidecar = patched.spec.template.spec.containers
    assert (app.name, app.image, app.env) == (
        "app",
        "nginx:2",
        (EnvVar(name="MODE", value="prod"),),
    )
    assert (sidecar.name, sidecar.image) == ("sidecar", "envoy:1.0")
    assert patched.spec.replicas == 2
    assert patched.metadata.labels == {"tier": "web"}
    assert patched.metadata.uid == created.metadata.uid
    assert patched.metadata.generation == 2
    assert patched.metadata.resource_version == "2"
    assert await client.get("Deployment", "web") == patched


async def test_strategic_patch_accepts_json_text(client: InProcessClient) -> None:
    await client.create(deployment())
    patched = as_dep(await client.patch("Deployment", "web", '{"spec":{"replicas":4}}'))
    assert patched.spec.replicas == 4
    assert len(patched.spec.template.spec.containers) == 2


async def test_merge_patch_replaces_lists_and_null_deletes(client: InProcessClient) -> None:
    await client.create(deployment())
    body = {
        "metadata": {"labels": {"tier": None, "team": "a"}},
        "spec": {"template": {"spec": {"containers": [{"name": "only", "image": "busybox"}]}}},
    }
    patched = as_dep(await client.patch("Deployment", "web", body, patch_type="merge"))
    assert patched.metadata.labels == {"team": "a"}
    assert [c.name for c in patched.spec.template.spec.containers] == ["only"]


async def test_json_patch(client: InProcessClient) -> None:
    await client.create(deployment())
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/replicas", "value": 6},
        {"op": "add", "path": "/metadata/labels/team", "value": "b"},
    ]
    patched = as_dep(await client.patch("Deployment", "web", ops, patch_type="json"))
    assert patched.spec.replicas == 6
    assert patched.metadata.labels == {"tier": "web", "team": "b"}
    with pytest.raises(BadRequest):
        await client.patch(
            "Deployment", "web", [{"op": "test", "path": "/spec/replicas", "value": 1}], "json"
        )


async def test_patch_of_a_missing_object_is_not_found(client: InProcessClient) -> None:
    with pytest.raises(NotFound):
        await client.patch("Deployment", "missing", {"spec": {"replicas": 1}})
    with pytest.raises(NotFound):
        await client.patch("NoSuchKind", "x", {})


async def test_patch_with_an_unknown_field_is_a_bad_request_naming_it(
    client: InProcessClient,
) -> None:
    await client.create(deployment())
    with pytest.raises(BadRequest, match=r"spec\.replicaz"):
        await client.patch("Deployment", "web", {"spec": {"replicaz": 3}}, patch_type="merge")
    with pytest.raises(BadRequest):
        await client.patch("Deployment", "web", {"spec": {"replicas": "three"}})
    with pytest.raises(BadRequest):
        await client.patch("Deployment", "web", {"metadata": {"name": "other"}})
    with pytest.raises(BadRequest):
        await client.patch("Deployment", "web", "{not json")
    with pytest.raises(BadRequest):
        await client.patch("Deployment", "web", [], patch_type="merge")


async def test_patch_with_a_stale_resource_version_conflicts(client: InProcessClient) -> None:
    await client.create(deployment())
    await client.patch("Deployment", "web", {"spec": {"replicas": 3}})
    stale = {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 4}}
    with pytest.raises(Conflict):
        await client.patch("Deployment", "web", stale)
    fresh = {"metadata": {"resourceVersion": "2"}, "spec": {"replicas": 4}}
    assert as_dep(await client.patch("Deployment", "web", fresh)).spec.replicas == 4


class RacingServer(ApiServer):
    """An ApiServer whose first get is followed by another writer's update (a lost race)."""

    raced = False

    async def get(
        self, kind: str, name: str, namespace: str | None = None, *, at: int | None = None
    ) -> ApiStruct:
        current = await super().get(kind, name, namespace, at=at)
        if not self.raced:
            self.raced = True
            labelled = replace(meta_of(current), labels={"x": "y"}, resource_version="")
            await self.update(replace(as_dep(current), metadata=labelled), actor="other")
        return current


async def test_patch_retries_when_a_write_races_it(log: store.EventLog) -> None:
    server = RacingServer(log, clock_now=lambda: NOW, ids=counter_ids())
    client = InProcessClient(server)
    await client.create(deployment())
    patched = as_dep(await client.patch("Deployment", "web", {"spec": {"replicas": 9}}))
    assert server.raced
    assert patched.spec.replicas == 9
    assert patched.metadata.labels == {"x": "y"}
    assert [e.actor for e in await events(log)] == ["user", "other", "user"]


# -- FakeClient -----------------------------------------------------------------------------


async def test_fake_client_is_a_client() -> None:
    typed: Client = FakeClient()
    assert isinstance(typed, FakeClient)


async def test_fake_records_ordered_writes() -> None:
    fake = FakeClient(deployment())
    preloaded = as_dep(await fake.get("Deployment", "web"))
    assert preloaded.metadata.resource_version == "1"
    assert preloaded.metadata.namespace == "default"
    cm = config_map("c")
    with acting_as("controller/deployment", cause=1):
        created = await fake.create(cm)
        await fake.list("ConfigMap")
        await fake.patch("Deployment", "web", {"spec": {"replicas": 5}})
        await fake.delete("ConfigMap", "c")
    assert created.metadata.resource_version == "2"
    assert fake.writes() == [
        Action("create", "ConfigMap", "default", "c", cm),
        Action("patch", "Deployment", "default", "web", {"spec": {"replicas": 5}}),
        Action("delete", "ConfigMap", "default", "c"),
    ]
    assert [(a.verb, a.actor, a.cause) for a in fake.actions] == [
        ("get", "user", 0),
        ("create", "controller/deployment", 1),
        ("list", "controller/deployment", 1),
        ("patch", "controller/deployment", 1),
        ("delete", "controller/deployment", 1),
    ]
    dep = as_dep(await fake.get("Deployment", "web"))
    assert dep.spec.replicas == 5
    assert dep.metadata.generation == preloaded.metadata.generation + 1
    assert dep.metadata.resource_version == "3"
    assert [meta_of(o).name for o in fake.objects()] == ["web"]


async def test_fake_raises_the_servers_errors() -> None:
    fake = FakeClient(config_map("a"))
    with pytest.raises(AlreadyExists):
        await fake.create(config_map("a"))
    with pytest.raises(NotFound):
        await fake.get("ConfigMap", "missing")
    with pytest.raises(NotFound):
        await fake.delete("ConfigMap", "missing")
    with pytest.raises(NotFound):
        await fake.patch("ConfigMap", "missing", {"data": {"k": "w"}})
    with pytest.raises(NotFound):
        await fake.update(config_map("missing"))
    current = await fake.get("ConfigMap", "a")
    await fake.update(replace(current, data={"k": "2"}))
    with pytest.raises(Conflict):
        await fake.update(replace(current, data={"k": "3"}))
    with pytest.raises(BadRequest):
        await fake.patch("ConfigMap", "a", {"data": {"k": 1}, "bogus": True}, patch_type="merge")
    assert [a.verb for a in fake.writes()] == [
        "create",
        "delete",
        "patch",
        "update",
        "update",
        "update",
        "patch",
    ]


async def test_fake_matches_the_server_on_update_status_and_finalizers() -> None:
    fake = FakeClient(deployment())
    dep = as_dep(await fake.get("Deployment", "web"))
    ignored = await fake.update(replace(dep, status=DeploymentStatus(replicas=9)))
    assert ignored.status is None
    with_status = await fake.update_status(replace(ignored, status=DeploymentStatus(replicas=2)))
    assert with_status.status == DeploymentStatus(replicas=2)
    held = replace(with_status, metadata=replace(with_status.metadata, finalizers=("x/y",)))
    held = await fake.update(held)
    marked = await fake.delete("Deployment", "web")
    assert meta_of(marked).deletion_timestamp is not None
    released = replace(as_dep(marked), metadata=replace(meta_of(marked), finalizers=()))
    await fake.update(released)
    with pytest.raises(NotFound):
        await fake.get("Deployment", "web")


async def test_fake_list_filters_and_watch_replays() -> None:
    fake = FakeClient(config_map("a", app="x"), config_map("b", app="y"))
    assert [meta_of(o).name for o in await fake.list("ConfigMap", label_selector="app=y")] == ["b"]
    async with fake.watch("ConfigMap", resource_version="0") as stream:
        await fake.create(config_map("c"))
        await fake.delete("ConfigMap", "a")
        seen = []
        async for event in stream:
            seen.append(
                (event.type, meta_of(event.object).name, meta_of(event.object).resource_version)
            )
            if len(seen) == 2:
                break
    assert seen == [("ADDED", "c", "3"), ("DELETED", "a", "4")]
    async with fake.watch("ConfigMap", resource_version="3") as replay:
        async for event in replay:
            assert (event.type, meta_of(event.object).name) == ("DELETED", "a")
            break


def test_client_package_does_not_pull_in_the_store() -> None:
    code = (
        "import sys, cp.client, cp.client.fake; "
        "bad = [m for m in sys.modules "
        "if m == 'store' or m.startswith(('store.', 'cp.apiserver'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
