"""The API Structs, the kinds table and the byte codecs of `cp.api`."""

from __future__ import annotations

import importlib
import inspect

import msgspec
import pytest

import cp.api
from cp.api import (
    CODEC,
    KINDS,
    ApiStruct,
    ConfigMap,
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStatus,
    ControllerRevision,
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    LabelSelector,
    ListMeta,
    ManifestError,
    ObjectList,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodIP,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    ReplicaSetStatus,
    Service,
    ServicePort,
    ServiceSpec,
    StatefulSet,
    UnknownKindError,
    decode,
    encode,
)


def _deployment() -> Deployment:
    return Deployment(
        metadata=ObjectMeta(
            name="web",
            namespace="default",
            uid="u-1",
            resource_version="7",
            generation=2,
            labels={"app": "web"},
            owner_references=(
                OwnerReference(api_version="v1", kind="X", name="x", uid="u-0", controller=True),
            ),
        ),
        spec=DeploymentSpec(
            replicas=0,
            selector=LabelSelector(match_labels={"app": "web"}),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels={"app": "web"}),
                spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
            ),
        ),
        status=DeploymentStatus(observed_generation=2, replicas=3, collision_count=0),
    )


def _api_structs() -> list[type[ApiStruct]]:
    return [
        value
        for name in cp.api.__all__
        if inspect.isclass(value := getattr(cp.api, name)) and issubclass(value, ApiStruct)
    ]


# -- Struct configuration -------------------------------------------------------------------


@pytest.mark.parametrize("cls", _api_structs(), ids=lambda cls: cls.__name__)
def test_every_struct_is_frozen_strict_camel_and_untracked(cls: type[ApiStruct]) -> None:
    config = cls.__struct_config__
    assert config.frozen
    assert config.forbid_unknown_fields
    assert config.omit_defaults
    assert not config.gc
    for field in msgspec.structs.fields(cls):
        assert "_" not in field.encode_name or field.encode_name == "continue"


def test_all_is_unique_and_resolves() -> None:
    names = list(cp.api.__all__)
    assert len(names) == len(set(names))
    assert all(hasattr(cp.api, name) for name in names)


def test_objects_are_frozen() -> None:
    deployment = _deployment()
    with pytest.raises(AttributeError):
        deployment.metadata = ObjectMeta()  # type: ignore[misc]
    with pytest.raises(TypeError):
        ObjectMeta("web")  # type: ignore[call-arg]
    changed = msgspec.structs.replace(deployment, metadata=ObjectMeta(name="other"))
    assert changed.metadata.name == "other"
    assert deployment.metadata.name == "web"


# -- Kubernetes' JSON -----------------------------------------------------------------------


def test_to_builtins_is_kubernetes_json() -> None:
    assert msgspec.to_builtins(_deployment()) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u-1",
            "resourceVersion": "7",
            "generation": 2,
            "labels": {"app": "web"},
            "ownerReferences": (
                {"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u-0", "controller": True},
            ),
        },
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": ({"name": "c", "image": "nginx"},)},
            },
        },
        "status": {"observedGeneration": 2, "replicas": 3, "collisionCount": 0},
    }


def test_api_version_and_kind_are_always_written() -> None:
    pod = Pod(spec=PodSpec(containers=()))
    assert msgspec.to_builtins(pod) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"containers": ()},
    }
    assert pod.kind == "Pod"
    assert pod.api_version == "v1"


def test_acronym_fields_use_kubernetes_spelling() -> None:
    status = PodStatus(
        host_ip="10.0.0.1",
        pod_ip="10.244.1.5",
        pod_ips=(PodIP(ip="10.244.1.5"),),
        container_statuses=(
            ContainerStatus(
                name="c",
                ready=False,
                restart_count=0,
                image="nginx",
                image_id="",
                container_id="containerd://1",
                state=ContainerState(
                    running=ContainerStateRunning(started_at="2024-01-01T00:00:00Z")
                ),
            ),
        ),
    )
    assert msgspec.to_builtins(status) == {
        "hostIP": "10.0.0.1",
        "podIP": "10.244.1.5",
        "podIPs": ({"ip": "10.244.1.5"},),
        "containerStatuses": (
            {
                "name": "c",
                "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}},
                "ready": False,
                "restartCount": 0,
                "image": "nginx",
                "imageID": "",
                "containerID": "containerd://1",
            },
        ),
    }
    spec = ServiceSpec(cluster_ip="None", cluster_ips=("None",), ports=(ServicePort(port=80),))
    assert msgspec.to_builtins(spec) == {
        "ports": ({"port": 80},),
        "clusterIP": "None",
        "clusterIPs": ("None",),
    }


def test_required_status_counters_are_written_when_zero() -> None:
    assert msgspec.to_builtins(ReplicaSetStatus(replicas=0)) == {"replicas": 0}


def test_controller_revision_data_is_raw_json() -> None:
    data = {"spec": {"template": {"$patch": "replace", "spec": {"containers": [{"name": "c"}]}}}}
    revision = ControllerRevision(metadata=ObjectMeta(name="web-1"), data=data, revision=1)
    assert decode(ControllerRevision, encode(revision)) == revision
    assert msgspec.json.decode(encode(revision))["data"] == data


# -- kinds table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("deploy", "Deployment"),
        ("Deployments", "Deployment"),
        ("DEPLOYMENT", "Deployment"),
        ("deployments.apps", "Deployment"),
        ("deployments.v1.apps", "Deployment"),
        ("rs", "ReplicaSet"),
        ("po", "Pod"),
        ("pods", "Pod"),
        ("sts", "StatefulSet"),
        ("ds", "DaemonSet"),
        ("svc", "Service"),
        ("ep", "Endpoints"),
        ("endpoints", "Endpoints"),
        ("pv", "PersistentVolume"),
        ("pvc", "PersistentVolumeClaim"),
        ("persistentvolumeclaim", "PersistentVolumeClaim"),
        ("sc", "StorageClass"),
        ("storageclasses.storage.k8s.io", "StorageClass"),
        ("cm", "ConfigMap"),
        ("no", "Node"),
        ("ns", "Namespace"),
        ("ev", "Event"),
        ("controllerrevision", "ControllerRevision"),
        ("ControllerRevisions", "ControllerRevision"),
    ],
)
def test_lookup_by_any_kubectl_name(name: str, kind: str) -> None:
    info = KINDS.lookup(name)
    assert info is not None
    assert info.kind == kind


@pytest.mark.parametrize("name", ["deployment.v2.apps", "pods.apps", "deploymnet", "", "List"])
def test_lookup_of_unknown_names_is_none(name: str) -> None:
    assert KINDS.lookup(name) is None


def test_kinds_table_facts() -> None:
    assert len(KINDS) == 16
    facts = {
        info.kind: (info.api_version, info.plural, info.namespaced, info.short_names)
        for info in KINDS
    }
    assert facts["Deployment"] == ("apps/v1", "deployments", True, ("deploy",))
    assert facts["StorageClass"] == ("storage.k8s.io/v1", "storageclasses", False, ("sc",))
    assert facts["PersistentVolume"] == ("v1", "persistentvolumes", False, ("pv",))
    assert facts["Namespace"][2] is False
    assert facts["Node"][2] is False
    assert facts["ControllerRevision"][3] == ()
    assert KINDS.for_api_version("apps/v1", "StatefulSet") is KINDS.lookup("sts")
    assert KINDS.for_api_version("v1", "Deployment") is None
    assert KINDS.for_api_version("apps/v1", "deployment") is None


def test_every_kind_struct_defaults_its_api_version_and_kind() -> None:
    for info in KINDS:
        fields = {field.name: field for field in msgspec.structs.fields(info.cls)}
        assert fields["api_version"].default_factory() == info.api_version
        assert fields["kind"].default_factory() == info.kind


# -- bytes ----------------------------------------------------------------------------------


def test_encode_decode_round_trip() -> None:
    deployment = _deployment()
    data = encode(deployment)
    assert isinstance(data, bytes)
    assert decode(Deployment, data) == deployment
    assert decode("deploy", data) == deployment
    assert CODEC.decode("Deployment", data) == deployment
    assert msgspec.json.decode(data) == msgspec.json.decode(msgspec.json.encode(deployment))


def test_msgpack_round_trip() -> None:
    deployment = _deployment()
    assert CODEC.decode_msgpack(Deployment, CODEC.encode_msgpack(deployment)) == deployment


def test_decode_errors_are_typed() -> None:
    with pytest.raises(UnknownKindError, match='resource type "widget"'):
        decode("widget", b"{}")
    with pytest.raises(ManifestError, match="invalid JSON"):
        decode(Deployment, b"{")
    with pytest.raises(ManifestError, match=r"<bytes>: StatefulSet: spec: missing required field"):
        decode(StatefulSet, b"{}")
    with pytest.raises(ManifestError, match=r"spec.ports\[0\].port: expected int, got str"):
        decode(Service, b'{"spec": {"ports": [{"port": "80"}]}}')


@pytest.mark.parametrize(
    "module",
    ["meta", "core_pod", "core", "apps", "storage", "dns", "kinds", "codec"],
)
def test_package_exports_every_public_name_of_its_modules(module: str) -> None:
    mod = importlib.import_module(f"cp.api.{module}")
    public = {
        name
        for name, value in vars(mod).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == mod.__name__
    }
    assert public, "nothing public found: the check itself is broken"
    assert public <= set(mod.__all__)
    assert set(mod.__all__) <= set(cp.api.__all__)


def test_object_list_is_a_v1_list() -> None:
    listing = ObjectList(
        metadata=ListMeta(resource_version="42"),
        items=(ConfigMap(metadata=ObjectMeta(name="a")),),
    )
    assert msgspec.json.decode(encode(listing)) == {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": "42"},
        "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}],
    }
    assert msgspec.to_builtins(ObjectList(items=()))["items"] == ()
