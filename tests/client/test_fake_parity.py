"""FakeClient keeps the server's rules: the same operations on a FakeClient and on an
InProcessClient over an ApiServer end the same way (errors, defaulted objects, finalizers,
deletion marks, existence, generation)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from msgspec.structs import replace

import store
from cp.api import (
    ApiStruct,
    ConfigMap,
    Container,
    Deployment,
    DeploymentSpec,
    Invalid,
    LabelSelector,
    NotFound,
    ObjectMeta,
    Pod,
    PodSpec,
    PodTemplateSpec,
)
from cp.apiserver import ApiServer
from cp.apiserver.server import FOREGROUND_FINALIZER, ORPHAN_FINALIZER
from cp.client import Action, Client, FakeClient
from cp.client.fake import FINALIZER_FOREGROUND, FINALIZER_ORPHAN
from cp.client.inprocess import InProcessClient
from tests.client.conftest import NOW, counter_ids

pytestmark = pytest.mark.anyio

Step = Callable[[Client], Awaitable[object]]


def deployment(name: str = "web", app: str = "web", image: str = "nginx:1.25") -> Deployment:
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": app}),
        spec=PodSpec(containers=(Container(name="app", image=image),)),
    )
    spec = DeploymentSpec(selector=LabelSelector(match_labels={"app": app}), template=template)
    return Deployment(metadata=ObjectMeta(name=name), spec=spec)


def config_map(finalizers: tuple[str, ...] = ()) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name="cfg", finalizers=finalizers), data={"k": "v"})


def summary(obj: object) -> object:
    """The fields that must agree: not uids, names generated, timestamps or resourceVersions."""
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    fields: dict[str, object] = {
        "kind": type(obj).__name__,
        "name": meta.name,
        "finalizers": meta.finalizers,
        "deleting": meta.deletion_timestamp is not None,
        "grace": meta.deletion_grace_period_seconds,
        "generation": meta.generation,
    }
    if isinstance(obj, Deployment):
        spec = obj.spec
        fields["spec"] = (
            spec.replicas,
            spec.strategy,
            spec.revision_history_limit,
            spec.progress_deadline_seconds,
            spec.selector,
            spec.template.spec.restart_policy,
            spec.template.spec.dns_policy,
            spec.template.spec.containers[0].image,
        )
    if isinstance(obj, Pod):
        status = obj.status
        fields["pod"] = (
            obj.spec.node_name,
            dict(meta.annotations),
            status.phase if status else None,
            status.conditions if status else (),
        )
    return fields


async def outcome(step: Step, client: Client) -> object:
    try:
        result = await step(client)
    except Exception as exc:  # the outcome is the error: its type and message
        return ("error", type(exc).__name__, str(exc))
    return ("ok", summary(result))


async def state(client: Client, kind: str, name: str) -> object:
    try:
        return ("exists", summary(await client.get(kind, name)))
    except NotFound:
        return ("gone",)


async def run(client: Client, steps: list[Step], kind: str, name: str) -> list[object]:
    seen: list[object] = []
    for step in steps:
        seen.append(await outcome(step, client))
        seen.append(await state(client, kind, name))
    return seen


def create(obj: ApiStruct) -> Step:
    async def step(client: Client) -> object:
        return await client.create(obj)

    return step


def update(change: Callable[[ApiStruct], ApiStruct], kind: str, name: str) -> Step:
    async def step(client: Client) -> object:
        return await client.update(change(await client.get(kind, name)))

    return step


def delete(kind: str, name: str, propagation: str = "Background") -> Step:
    async def step(client: Client) -> object:
        return await client.delete(kind, name, propagation=propagation)

    return step


def patch_finalizers(kind: str, name: str, finalizers: list[str]) -> Step:
    async def step(client: Client) -> object:
        return await client.patch(kind, name, {"metadata": {"finalizers": finalizers}}, "merge")

    return step


def bind(name: str, node: str, **annotations: str) -> Step:
    async def step(client: Client) -> object:
        return await client.bind(name, node, annotations=annotations)

    return step


def a_pod(finalizers: tuple[str, ...] = ()) -> Pod:
    meta = ObjectMeta(name="p", annotations={"a": "1"}, finalizers=finalizers)
    return Pod(metadata=meta, spec=PodSpec(containers=(Container(name="c", image="nginx"),)))


def with_finalizers(*finalizers: str) -> Callable[[ApiStruct], ApiStruct]:
    def change(obj: ApiStruct) -> ApiStruct:
        meta = getattr(obj, "metadata", None)
        assert isinstance(meta, ObjectMeta)
        return replace(obj, metadata=replace(meta, finalizers=finalizers))

    return change


def with_selector(app: str) -> Callable[[ApiStruct], ApiStruct]:
    def change(obj: ApiStruct) -> ApiStruct:
        assert isinstance(obj, Deployment)
        template = replace(obj.spec.template, metadata=ObjectMeta(labels={"app": app}))
        selector = LabelSelector(match_labels={"app": app})
        return replace(obj, spec=replace(obj.spec, selector=selector, template=template))

    return change


def with_image(image: str) -> Callable[[ApiStruct], ApiStruct]:
    def change(obj: ApiStruct) -> ApiStruct:
        assert isinstance(obj, Deployment)
        container = replace(obj.spec.template.spec.containers[0], image=image)
        pod = replace(obj.spec.template.spec, containers=(container,))
        template = replace(obj.spec.template, spec=pod)
        return replace(obj, spec=replace(obj.spec, template=template))

    return change


INVALID = Deployment(
    metadata=ObjectMeta(name="Bad_Name"),
    spec=DeploymentSpec(
        selector=LabelSelector(match_labels={"app": "web"}),
        template=PodTemplateSpec(
            metadata=ObjectMeta(labels={"app": "other"}),
            spec=PodSpec(containers=(Container(name="app", image=""),)),
        ),
    ),
)

CASES: dict[str, tuple[list[Step], str, str]] = {
    "create a valid deployment (defaulted)": ([create(deployment())], "Deployment", "web"),
    "create an invalid deployment": ([create(INVALID)], "Deployment", "Bad_Name"),
    "update changing the selector": (
        [create(deployment()), update(with_selector("api"), "Deployment", "web")],
        "Deployment",
        "web",
    ),
    "update changing the image (generation)": (
        [create(deployment()), update(with_image("nginx:1.26"), "Deployment", "web")],
        "Deployment",
        "web",
    ),
    "delete background without finalizers": (
        [create(deployment()), delete("Deployment", "web")],
        "Deployment",
        "web",
    ),
    "delete foreground": (
        [
            create(deployment()),
            delete("Deployment", "web", "Foreground"),
            delete("Deployment", "web", "Foreground"),
        ],
        "Deployment",
        "web",
    ),
    "delete orphan": (
        [create(config_map()), delete("ConfigMap", "cfg", "Orphan")],
        "ConfigMap",
        "cfg",
    ),
    "switch foreground to orphan, then background deletes": (
        [
            create(config_map()),
            delete("ConfigMap", "cfg", "Foreground"),
            delete("ConfigMap", "cfg", "Orphan"),
            delete("ConfigMap", "cfg", "Background"),
        ],
        "ConfigMap",
        "cfg",
    ),
    "background keeps other finalizers": (
        [create(config_map(("example.com/keep",))), delete("ConfigMap", "cfg")],
        "ConfigMap",
        "cfg",
    ),
    "unknown propagation": (
        [create(config_map()), delete("ConfigMap", "cfg", "Cascade")],
        "ConfigMap",
        "cfg",
    ),
    "removing the last finalizer by update deletes": (
        [
            create(config_map(("example.com/keep",))),
            delete("ConfigMap", "cfg", "Orphan"),
            update(with_finalizers("example.com/keep"), "ConfigMap", "cfg"),
            update(with_finalizers("example.com/keep", "example.com/new"), "ConfigMap", "cfg"),
            update(with_finalizers(), "ConfigMap", "cfg"),
        ],
        "ConfigMap",
        "cfg",
    ),
    "removing the last finalizer by patch deletes": (
        [
            create(deployment()),
            delete("Deployment", "web", "Foreground"),
            patch_finalizers("Deployment", "web", []),
        ],
        "Deployment",
        "web",
    ),
    "bind a pod, then again": (
        [create(a_pod()), bind("p", "node-1", b="2"), bind("p", "node-2")],
        "Pod",
        "p",
    ),
    "bind a missing pod, or to no node": (
        [bind("p", "node-1"), create(a_pod()), bind("p", "")],
        "Pod",
        "p",
    ),
    "bind a pod being deleted": (
        [create(a_pod(("example.com/keep",))), delete("Pod", "p"), bind("p", "node-1")],
        "Pod",
        "p",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_fake_and_server_agree(case: str) -> None:
    steps, kind, name = CASES[case]
    async with store.open_log("memory://") as log:
        real = InProcessClient(ApiServer(log, clock_now=lambda: NOW, ids=counter_ids()))
        expected = await run(real, steps, kind, name)
    fake = FakeClient(clock_now=lambda: NOW)
    assert await run(fake, steps, kind, name) == expected


async def test_the_cases_cover_errors_defaults_and_deletion() -> None:
    """Guard against a table that agrees only because nothing happens."""
    async with store.open_log("memory://") as log:
        real = InProcessClient(ApiServer(log, clock_now=lambda: NOW, ids=counter_ids()))
        invalid = await run(real, [create(INVALID)], "Deployment", "Bad_Name")
        immutable = await run(real, CASES["update changing the selector"][0], "Deployment", "web")
        foreground = await run(real, CASES["delete foreground"][0], "Deployment", "web")
    assert invalid[0][:2] == ("error", "Invalid")  # type: ignore[index]
    assert "field is immutable" in str(immutable[2])
    assert "RollingUpdate" in str(immutable[1])  # defaulted strategy
    assert foreground[3] == (
        "exists",
        {**foreground[3][1], "finalizers": ("foregroundDeletion",), "deleting": True},  # type: ignore[index]
    )


async def test_a_refused_write_is_recorded_but_writes_nothing() -> None:
    fake = FakeClient(clock_now=lambda: NOW)
    with pytest.raises(Invalid) as refused:
        await fake.create(INVALID)
    assert refused.value.reason == "Invalid"
    assert fake.writes() == [Action("create", "Deployment", "default", "Bad_Name", INVALID)]
    assert fake.objects() == ()
    assert fake.revision == 0


async def test_the_created_object_comes_back_defaulted() -> None:
    fake = FakeClient(clock_now=lambda: NOW)
    created = await fake.create(deployment())
    assert created.spec.replicas == 1
    assert created.spec.revision_history_limit == 10
    assert fake.objects() == (created,)


def test_finalizer_names_are_the_servers() -> None:
    assert (FINALIZER_FOREGROUND, FINALIZER_ORPHAN) == (FOREGROUND_FINALIZER, ORPHAN_FINALIZER)


async def test_the_binding_cases_bind_and_refuse() -> None:
    """Guard against binding cases that agree only because nothing happens."""
    async with store.open_log("memory://") as log:
        real = InProcessClient(ApiServer(log, clock_now=lambda: NOW, ids=counter_ids()))
        seen = await run(real, CASES["bind a pod, then again"][0], "Pod", "p")
    assert seen[2][0] == "ok"  # type: ignore[index]
    assert seen[2][1]["pod"][:2] == ("node-1", {"a": "1", "b": "2"})  # type: ignore[index]
    assert seen[4][:2] == ("error", "Conflict")  # type: ignore[index]
    assert seen[5] == seen[3]  # the refused binding wrote nothing
