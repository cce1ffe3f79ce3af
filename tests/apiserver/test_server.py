"""ApiServer: Kubernetes storage semantics over the memory event log."""

from __future__ import annotations

import anyio
import msgspec
import pytest
from msgspec.structs import replace

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
    Expired,
    Invalid,
    LabelSelector,
    Namespace,
    NotFound,
    NotSupported,
    ObjectMeta,
    PodSpec,
    PodTemplateSpec,
)
from cp.apiserver import ApiServer, WatchEvent
from tests.apiserver.conftest import CREATED

pytestmark = pytest.mark.anyio


def meta_of(obj: ApiStruct) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return meta


def as_cm(obj: ApiStruct) -> ConfigMap:
    assert isinstance(obj, ConfigMap)
    return obj


def config_map(name: str = "cfg", namespace: str = "", **labels: str) -> ConfigMap:
    return ConfigMap(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels), data={"k": "v"}
    )


def deployment(name: str = "web", image: str = "nginx:1.25", replicas: int = 1) -> Deployment:
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": name}),
        spec=PodSpec(containers=(Container(name="app", image=image),)),
    )
    spec = DeploymentSpec(
        replicas=replicas,
        selector=LabelSelector(match_labels={"app": name}),
        template=template,
    )
    return Deployment(metadata=ObjectMeta(name=name, namespace="default"), spec=spec)


# -- create / get / list / update / delete ---------------------------------------------------


async def test_create_sets_server_fields(server: ApiServer) -> None:
    created = await server.create(config_map())
    meta = created.metadata
    assert (meta.name, meta.namespace) == ("cfg", "default")
    assert meta.uid == "00000000-0000-0000-0000-000000000001"
    assert meta.creation_timestamp == CREATED
    assert meta.generation == 1
    assert meta.resource_version == "1"
    assert created.data == {"k": "v"}


async def test_stored_bytes_have_no_resource_version(server: ApiServer) -> None:
    await server.create(config_map())
    kv = await server.log.get("/registry/configmaps/default/cfg")
    assert kv is not None
    assert b"resourceVersion" not in kv.value
    assert msgspec.json.decode(kv.value)["metadata"]["uid"].endswith("1")


async def test_round_trip_with_exact_resource_versions(server: ApiServer) -> None:
    await server.create(config_map("a"))
    created = await server.create(config_map("b"))
    assert created.metadata.resource_version == "2"
    got = await server.get("ConfigMap", "b", "default")
    assert got == created
    updated = await server.update(replace(created, data={"k": "w"}))
    assert updated.metadata.resource_version == "3"
    assert meta_of(await server.get("configmaps", "b")).resource_version == "3"
    items, revision = await server.list("ConfigMap", "default")
    assert [meta_of(o).name for o in items] == ["a", "b"]
    assert [meta_of(o).resource_version for o in items] == ["1", "3"]
    assert revision == 3
    deleted = await server.delete("ConfigMap", "b", "default")
    assert meta_of(deleted).resource_version == "4"
    with pytest.raises(NotFound):
        await server.get("ConfigMap", "b", "default")
    assert (await server.list("cm"))[1] == 4


async def test_update_that_changes_nothing_writes_nothing(server: ApiServer) -> None:
    created = await server.create(config_map())
    again = await server.update(created)
    assert again == created
    assert server.log.revision == 1


async def test_cluster_scoped_keys_and_namespace_rules(server: ApiServer) -> None:
    ns = await server.create(Namespace(metadata=ObjectMeta(name="team")))
    assert ns.metadata.namespace == ""
    assert await server.log.get("/registry/namespaces/team") is not None
    with pytest.raises(Invalid) as caught:
        await server.create(Namespace(metadata=ObjectMeta(name="x", namespace="default")))
    assert str(caught.value) == (
        'Namespace "x" is invalid: metadata.namespace: Forbidden: not allowed on this type'
    )


async def test_create_requires_a_name(server: ApiServer) -> None:
    with pytest.raises(Invalid) as caught:
        await server.create(ConfigMap(metadata=ObjectMeta(namespace="default")))
    assert str(caught.value) == (
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    )


async def test_create_refuses_a_resource_version(server: ApiServer) -> None:
    with pytest.raises(BadRequest, match="resourceVersion should not be set"):
        await server.create(
            replace(config_map(), metadata=ObjectMeta(name="x", resource_version="3"))
        )


async def test_generate_name(server: ApiServer) -> None:
    meta = ObjectMeta(generate_name="web-", namespace="default")
    first = await server.create(ConfigMap(metadata=meta))
    second = await server.create(ConfigMap(metadata=meta))
    for obj in (first, second):
        assert obj.metadata.name.startswith("web-")
        assert len(obj.metadata.name) == len("web-") + 5
        assert set(obj.metadata.name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert first.metadata.name != second.metadata.name
    assert first.metadata.generate_name == "web-"


async def test_generate_name_is_reproducible() -> None:
    import store
    from tests.apiserver.conftest import NOW, counter_ids

    names = []
    for _ in range(2):
        async with store.open_log("memory://") as log:
            server = ApiServer(log, clock_now=lambda: NOW, ids=counter_ids())
            obj = await server.create(ConfigMap(metadata=ObjectMeta(generate_name="x-")))
            names.append(obj.metadata.name)
    assert names[0] == names[1]


async def test_generate_name_retries_on_collision(server: ApiServer) -> None:
    taken = await server.create(ConfigMap(metadata=ObjectMeta(generate_name="x-")))
    colliding = ApiServer(server.log, clock_now=lambda: 0.0, ids=lambda: taken.metadata.uid)
    # Same uid, same seed: the first candidate collides, the second attempt is taken instead.
    other = await colliding.create(ConfigMap(metadata=ObjectMeta(generate_name="x-")))
    assert other.metadata.name != taken.metadata.name


async def test_error_messages_as_kubernetes_words_them(server: ApiServer) -> None:
    created = await server.create(deployment())
    with pytest.raises(AlreadyExists) as exists:
        await server.create(deployment())
    assert str(exists.value) == 'deployments.apps "web" already exists'
    with pytest.raises(NotFound) as missing:
        await server.get("Deployment", "nope", "default")
    assert str(missing.value) == 'deployments.apps "nope" not found'
    with pytest.raises(NotFound) as missing_cm:
        await server.delete("ConfigMap", "nope")
    assert str(missing_cm.value) == 'configmaps "nope" not found'
    await server.update(replace(created, spec=replace(created.spec, replicas=3)))
    with pytest.raises(Conflict) as conflict:
        await server.update(created)
    assert str(conflict.value) == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    with pytest.raises(NotFound):
        await server.update(replace(config_map("ghost"), data={}))


async def test_racing_writers_exactly_one_wins(server: ApiServer) -> None:
    created = await server.create(deployment())
    outcomes: list[str] = []

    async def write(replicas: int) -> None:
        try:
            await server.update(replace(created, spec=replace(created.spec, replicas=replicas)))
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    async with anyio.create_task_group() as tg:
        tg.start_soon(write, 2)
        tg.start_soon(write, 3)
    assert sorted(outcomes) == ["conflict", "won"]
    assert server.log.revision == 2


async def test_unconditional_update_without_resource_version(server: ApiServer) -> None:
    created = await server.create(config_map())
    await server.update(replace(created, data={"k": "1"}))
    blind = replace(created, metadata=replace(created.metadata, resource_version=""))
    result = await server.update(replace(blind, data={"k": "2"}))
    assert result.metadata.resource_version == "3"


async def test_racing_unconditional_writers_both_win(server: ApiServer) -> None:
    created = await server.create(config_map())
    blind = replace(created, metadata=replace(created.metadata, resource_version=""))

    async def write(value: str) -> None:
        await server.update(replace(blind, data={"k": value}))

    async with anyio.create_task_group() as tg:
        tg.start_soon(write, "1")
        tg.start_soon(write, "2")
    assert server.log.revision == 3


async def test_generation_bumps_only_on_spec_change(server: ApiServer) -> None:
    created = await server.create(deployment())
    labelled = await server.update(
        replace(created, metadata=replace(created.metadata, labels={"team": "a"}))
    )
    assert labelled.metadata.generation == 1
    scaled = await server.update(replace(labelled, spec=replace(labelled.spec, replicas=5)))
    assert scaled.metadata.generation == 2
    forged = replace(scaled.metadata, uid="forged", generation=40, creation_timestamp="x")
    kept = await server.update(replace(scaled, metadata=forged))
    assert (kept.metadata.uid, kept.metadata.generation) == (created.metadata.uid, 2)
    assert kept.metadata.creation_timestamp == CREATED


async def test_update_status_and_update_keep_each_others_part(server: ApiServer) -> None:
    created = await server.create(deployment())
    status = DeploymentStatus(observed_generation=1, replicas=1)
    with_status = await server.update_status(
        replace(created, spec=replace(created.spec, replicas=9), status=status)
    )
    assert with_status.status == status
    assert with_status.spec.replicas == 1
    assert with_status.metadata.generation == 1
    updated = await server.update(
        replace(with_status, spec=replace(with_status.spec, replicas=2), status=None)
    )
    assert updated.spec.replicas == 2
    assert updated.status == status
    stored = await server.get("Deployment", "web", "default")
    assert stored == updated
    with pytest.raises(NotFound):
        await server.update_status(deployment("ghost"))
    with pytest.raises(NotSupported):
        await server.update_status(config_map())


async def test_finalizers_defer_deletion_until_removed(server: ApiServer) -> None:
    obj = config_map()
    obj = replace(obj, metadata=replace(obj.metadata, finalizers=("example.com/hold",)))
    created = await server.create(obj)
    marked = await server.delete("ConfigMap", "cfg", "default")
    assert meta_of(marked).deletion_timestamp == CREATED
    assert meta_of(marked).deletion_grace_period_seconds == 0
    assert meta_of(marked).resource_version == "2"
    assert meta_of(marked).generation == 2  # upstream BeforeDelete bumps it
    assert meta_of(await server.get("ConfigMap", "cfg")).deletion_timestamp == CREATED
    again = await server.delete("ConfigMap", "cfg", "default")
    assert again == marked
    assert created.metadata.deletion_timestamp is None
    released = await server.update(
        replace(marked, metadata=replace(meta_of(marked), finalizers=()))
    )
    assert meta_of(released).resource_version == "3"
    with pytest.raises(NotFound):
        await server.get("ConfigMap", "cfg")


async def test_delete_precondition_and_propagation(server: ApiServer) -> None:
    await server.create(config_map())
    with pytest.raises(Conflict, match=r"precondition \(7\) does not match .* record \(1\)"):
        await server.delete("ConfigMap", "cfg", precondition_rv="7")
    with pytest.raises(BadRequest):
        await server.delete("ConfigMap", "cfg", propagation="Cascade")
    with pytest.raises(Conflict):
        await server.delete("ConfigMap", "cfg", precondition_rv="0")
    with pytest.raises(BadRequest):
        await server.delete("ConfigMap", "cfg", precondition_rv="x")
    await server.delete("ConfigMap", "cfg", precondition_rv=1, propagation="Orphan")


async def test_list_with_label_and_field_selectors(server: ApiServer) -> None:
    await server.create(config_map("a", app="web", tier="a"))
    await server.create(config_map("b", app="web", tier="b"))
    await server.create(config_map("c", app="web", tier="c"))
    await server.create(config_map("d", app="db", tier="a"))
    await server.create(config_map("e", "other", app="web", tier="a"))
    items, _ = await server.list("ConfigMap", label_selector="app=web,tier in (a,b)")
    assert [(meta_of(o).namespace, meta_of(o).name) for o in items] == [
        ("default", "a"),
        ("default", "b"),
        ("other", "e"),
    ]
    items, _ = await server.list("ConfigMap", "default", label_selector="app=web,tier in (a,b)")
    assert [meta_of(o).name for o in items] == ["a", "b"]
    items, _ = await server.list("ConfigMap", field_selector="metadata.name=c")
    assert [meta_of(o).name for o in items] == ["c"]
    with pytest.raises(BadRequest):
        await server.list("ConfigMap", field_selector="spec.x=1")
    with pytest.raises(BadRequest):
        await server.list("ConfigMap", label_selector="app in (")


async def test_reads_at_an_old_revision(server: ApiServer) -> None:
    first = await server.create(config_map("a"))
    await server.create(config_map("b"))
    await server.update(replace(first, data={"k": "new"}))
    items, revision = await server.list("ConfigMap", at=1)
    assert revision == 1
    assert [(meta_of(o).name, as_cm(o).data["k"]) for o in items] == [("a", "v")]
    old = await server.get("ConfigMap", "a", at=2)
    assert (meta_of(old).resource_version, as_cm(old).data) == ("1", {"k": "v"})
    with pytest.raises(BadRequest, match="Too large resource version: 9, current: 3"):
        await server.list("ConfigMap", at=9)
    await server.log.compact(3)
    with pytest.raises(Expired, match=r"too old resource version: 1 \(3\)"):
        await server.get("ConfigMap", "a", at=1)


async def test_unknown_kind(server: ApiServer) -> None:
    with pytest.raises(NotFound, match='resource type "gizmo"'):
        await server.get("gizmo", "x")


# -- watch ------------------------------------------------------------------------------------


async def collect(server: ApiServer, count: int, resource_version: str) -> list[WatchEvent]:
    events: list[WatchEvent] = []
    with anyio.fail_after(5):
        async with server.watch("ConfigMap", "default", resource_version=resource_version) as ev:
            async for event in ev:
                events.append(event)
                if len(events) == count:
                    break
    return events


async def test_watch_in_order_from_a_resource_version(server: ApiServer) -> None:
    await server.create(config_map("before"))
    start = str(server.log.revision)
    created = await server.create(config_map())
    await server.create(config_map("elsewhere", "other"))
    updated = await server.update(replace(created, data={"k": "w"}))
    await server.delete("ConfigMap", "cfg")
    events = await collect(server, 3, start)
    assert [(e.type, meta_of(e.object).name) for e in events] == [
        ("ADDED", "cfg"),
        ("MODIFIED", "cfg"),
        ("DELETED", "cfg"),
    ]
    assert [meta_of(e.object).resource_version for e in events] == ["2", "4", "5"]
    assert events[0].object == created
    assert events[1].object == updated
    assert as_cm(events[2].object).data == {"k": "w"}


async def test_watch_from_head_sees_only_new_events(server: ApiServer) -> None:
    await server.create(config_map("old"))
    async with server.watch("ConfigMap") as events:
        await server.create(config_map("new"))
        with anyio.fail_after(5):
            event = await anext(aiter(events))
    assert (event.type, meta_of(event.object).name) == ("ADDED", "new")


async def test_watch_from_a_compacted_revision_raises_expired(server: ApiServer) -> None:
    created = await server.create(config_map())
    await server.update(replace(created, data={"k": "1"}))
    await server.create(config_map("b"))
    await server.log.compact(3)
    with pytest.raises(Expired, match=r"too old resource version: 1 \(3\)"):
        async with server.watch("ConfigMap", resource_version="1"):
            pass
    with pytest.raises(BadRequest):
        server.watch("ConfigMap", resource_version="abc")
