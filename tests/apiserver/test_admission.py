"""Admission (defaults, then validation) and delete propagation of `ApiServer`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from msgspec.structs import replace

import store
from cp.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.api.codec import load_manifests
from cp.api.core import ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimStatus
from cp.api.errors import BadRequest, Invalid, NotFound
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta
from cp.apiserver import ApiServer
from tests.apiserver.conftest import CREATED, NOW, counter_ids

pytestmark = pytest.mark.anyio

LATER = NOW + 60


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def server(clock: Clock) -> AsyncIterator[ApiServer]:
    async with store.open_log("memory://") as log:
        yield ApiServer(log, clock_now=clock, ids=counter_ids())


def load(text: str) -> ApiStruct:
    (obj,) = load_manifests(text)
    return obj


def meta_of(obj: ApiStruct) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return meta


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


_CONTAINERS = """\
- name: app
  image: nginx:1.25
"""


def _pod_template(labels: str = "app: web", containers: str = _CONTAINERS, extra: str = "") -> str:
    return (
        "template:\n"
        "  metadata:\n"
        "    labels:\n" + _indent(labels, 6) + "\n"
        "  spec:\n" + (_indent(extra, 4) + "\n" if extra else "") + "    containers:\n"
        "" + _indent(containers, 4) + "\n"
    )


def deployment(
    *,
    name: str = "web",
    spec: str = "replicas: 3\n",
    selector: str = "matchLabels:\n  app: web\n",
    labels: str = "app: web",
    containers: str = _CONTAINERS,
    pod_extra: str = "",
    metadata: str = "",
) -> str:
    body = spec + "selector:\n" + _indent(selector, 2) + "\n"
    body += _pod_template(labels, containers, pod_extra)
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: {name}\n" + (_indent(metadata, 2) + "\n" if metadata else "") + "spec:\n"
        "" + _indent(body, 2) + "\n"
    )


def replica_set(*, spec: str = "replicas: 1\n", labels: str = "app: web") -> str:
    body = spec + "selector:\n  matchLabels:\n    app: web\n" + _pod_template(labels)
    return "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: rs\nspec:\n" + _indent(
        body, 2
    )


def stateful_set(*, spec: str = "replicas: 1\n", claims: str = "") -> str:
    body = spec + "serviceName: db\nselector:\n  matchLabels:\n    app: db\n"
    body += _pod_template("app: db") + claims
    return "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n" + _indent(
        body, 2
    )


def daemon_set(*, spec: str = "") -> str:
    body = spec + "selector:\n  matchLabels:\n    app: agent\n" + _pod_template("app: agent")
    return "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n" + _indent(
        body, 2
    )


def pod(*, containers: str = _CONTAINERS, extra: str = "", name: str = "p") -> str:
    body = extra + "containers:\n" + _indent(containers, 2) + "\n"
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n" + _indent(body, 2)


def service(spec: str) -> str:
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n" + _indent(spec, 2)


def pvc(spec: str, name: str = "data") -> str:
    return (
        f"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n"
        + _indent(spec, 2)
    )


_PVC_SPEC = "accessModes: [ReadWriteOnce]\nresources:\n  requests:\n    storage: 1Gi\n"

#: (manifest, field paths every one of which the Invalid's causes must name, message fragment).
CASES: list[Any] = [
    pytest.param(
        deployment(spec="replicas: -1\n"),
        ["spec.replicas"],
        "must be greater than or equal to 0",
        id="deployment-negative-replicas",
    ),
    pytest.param(
        deployment(labels="app: other"),
        ["spec.template.metadata.labels"],
        "`selector` does not match template `labels`",
        id="deployment-selector-mismatch",
    ),
    pytest.param(
        deployment(selector="matchLabels: {}\n"),
        ["spec.selector"],
        "empty selector is invalid for deployment",
        id="deployment-empty-selector",
    ),
    pytest.param(
        deployment(name="Web_App"),
        ["metadata.name"],
        "RFC 1123",
        id="deployment-name-not-dns1123",
    ),
    pytest.param(
        deployment(name="a" * 254),
        ["metadata.name"],
        "must be no more than 253 characters",
        id="deployment-name-too-long",
    ),
    pytest.param(
        deployment(containers="- name: app\n"),
        ["spec.template.spec.containers[0].image"],
        "Required value",
        id="deployment-missing-image",
    ),
    pytest.param(
        deployment(containers=_CONTAINERS + "- name: app\n  image: busybox\n"),
        ["spec.template.spec.containers[1].name"],
        "Duplicate value",
        id="deployment-duplicate-container-names",
    ),
    pytest.param(
        deployment(containers="- name: App_1\n  image: nginx\n"),
        ["spec.template.spec.containers[0].name"],
        "RFC 1123",
        id="deployment-container-name-not-dns1123",
    ),
    pytest.param(
        deployment(spec="replicas: 1\nstrategy:\n  type: BlueGreen\n"),
        ["spec.strategy"],
        'Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen"',
        id="deployment-bad-strategy-type",
    ),
    pytest.param(
        deployment(
            spec="strategy:\n  type: RollingUpdate\n  rollingUpdate:\n"
            "    maxSurge: 0\n    maxUnavailable: 0\n"
        ),
        ["spec.strategy.rollingUpdate.maxUnavailable"],
        "may not be 0 when `maxSurge` is 0",
        id="deployment-max-surge-and-unavailable-zero",
    ),
    pytest.param(
        deployment(spec="strategy:\n  rollingUpdate:\n    maxUnavailable: 150%\n"),
        ["spec.strategy.rollingUpdate.maxUnavailable"],
        "must not be greater than 100%",
        id="deployment-max-unavailable-over-100-percent",
    ),
    pytest.param(
        deployment(spec="strategy:\n  rollingUpdate:\n    maxSurge: -1\n"),
        ["spec.strategy.rollingUpdate.maxSurge"],
        "must be greater than or equal to 0",
        id="deployment-negative-max-surge",
    ),
    pytest.param(
        deployment(spec="strategy:\n  rollingUpdate:\n    maxSurge: ten\n"),
        ["spec.strategy.rollingUpdate.maxSurge"],
        "a valid percent string",
        id="deployment-max-surge-not-percent",
    ),
    pytest.param(
        deployment(spec="strategy:\n  type: Recreate\n  rollingUpdate:\n    maxSurge: 1\n"),
        ["spec.strategy.rollingUpdate"],
        "may not be specified when strategy `type` is 'Recreate'",
        id="deployment-recreate-with-rolling-update",
    ),
    pytest.param(
        deployment(spec="revisionHistoryLimit: -2\n"),
        ["spec.revisionHistoryLimit"],
        "must be greater than or equal to 0",
        id="deployment-negative-revision-history-limit",
    ),
    pytest.param(
        deployment(spec="minReadySeconds: -5\n"),
        ["spec.minReadySeconds"],
        "must be greater than or equal to 0",
        id="deployment-negative-min-ready-seconds",
    ),
    pytest.param(
        deployment(spec="minReadySeconds: 700\nprogressDeadlineSeconds: 600\n"),
        ["spec.progressDeadlineSeconds"],
        "must be greater than minReadySeconds",
        id="deployment-progress-deadline-not-above-min-ready",
    ),
    pytest.param(
        deployment(containers="- name: app\n  image: nginx\n  ports:\n  - containerPort: 70000\n"),
        ["spec.template.spec.containers[0].ports[0].containerPort"],
        "between 1 and 65535",
        id="deployment-container-port-out-of-range",
    ),
    pytest.param(
        deployment(containers="- name: app\n  image: nginx\n  ports:\n  - containerPort: 0\n"),
        ["spec.template.spec.containers[0].ports[0].containerPort"],
        "Required value",
        id="deployment-container-port-zero",
    ),
    pytest.param(
        deployment(
            containers="- name: app\n  image: nginx\n  resources:\n    requests:\n      cpu: lots\n"
        ),
        ["spec.template.spec.containers[0].resources.requests[cpu]"],
        "quantities must match the regular expression",
        id="deployment-bad-cpu-quantity",
    ),
    pytest.param(
        deployment(
            containers="- name: app\n  image: nginx\n  resources:\n"
            "    requests:\n      memory: 2Gi\n    limits:\n      memory: 1Gi\n"
        ),
        ["spec.template.spec.containers[0].resources.requests"],
        "must be less than or equal to memory limit",
        id="deployment-request-above-limit",
    ),
    pytest.param(
        deployment(
            containers="- name: app\n  image: nginx\n  resources:\n    limits:\n      cpu: '-1'\n"
        ),
        [
            "spec.template.spec.containers[0].resources.limits[cpu]",
            "spec.template.spec.containers[0].resources.requests[cpu]",
        ],
        "must be greater than or equal to 0",
        id="deployment-negative-cpu-limit",
    ),
    pytest.param(
        deployment(
            containers="- name: app\n  image: nginx\n  imagePullPolicy: Sometimes\n",
        ),
        ["spec.template.spec.containers[0].imagePullPolicy"],
        "Unsupported value",
        id="deployment-bad-image-pull-policy",
    ),
    pytest.param(
        deployment(pod_extra="restartPolicy: Never\n"),
        ["spec.template.spec.restartPolicy"],
        "Unsupported value",
        id="deployment-restart-policy-never",
    ),
    pytest.param(
        deployment(metadata="labels:\n  'bad key!': x\n"),
        ["metadata.labels"],
        "name part must consist of alphanumeric characters",
        id="deployment-bad-label-key",
    ),
    pytest.param(
        deployment(metadata="labels:\n  app: 'has spaces'\n"),
        ["metadata.labels"],
        "a valid label must be an empty string or consist of alphanumeric",
        id="deployment-bad-label-value",
    ),
    pytest.param(
        deployment(
            selector="matchExpressions:\n- key: app\n  operator: Near\n  values: [web]\n",
        ),
        ["spec.selector.matchExpressions[0].operator", "spec.selector"],
        "not a valid selector operator",
        id="deployment-bad-selector-operator",
    ),
    pytest.param(
        deployment(spec="replicas: -1\nminReadySeconds: -1\n", containers="- name: app\n"),
        [
            "spec.replicas",
            "spec.minReadySeconds",
            "spec.template.spec.containers[0].image",
        ],
        "[",
        id="deployment-several-errors",
    ),
    pytest.param(
        replica_set(spec="replicas: -3\n"),
        ["spec.replicas"],
        "must be greater than or equal to 0",
        id="replicaset-negative-replicas",
    ),
    pytest.param(
        replica_set(labels="app: db"),
        ["spec.template.metadata.labels"],
        "`selector` does not match template `labels`",
        id="replicaset-selector-mismatch",
    ),
    pytest.param(
        stateful_set(spec="replicas: 1\npodManagementPolicy: Random\n"),
        ["spec.podManagementPolicy"],
        "must be 'OrderedReady' or 'Parallel'",
        id="statefulset-bad-pod-management-policy",
    ),
    pytest.param(
        stateful_set(spec="replicas: 1\nupdateStrategy:\n  type: Sometimes\n"),
        ["spec.updateStrategy"],
        "must be 'RollingUpdate' or 'OnDelete'",
        id="statefulset-bad-update-strategy",
    ),
    pytest.param(
        daemon_set(spec="updateStrategy:\n  type: Whenever\n"),
        ["spec.updateStrategy"],
        'supported values: "RollingUpdate", "OnDelete"',
        id="daemonset-bad-update-strategy",
    ),
    pytest.param(
        pod(containers="- name: a\n  image: x\n- name: a\n  image: y\n"),
        ["spec.containers[1].name"],
        "Duplicate value",
        id="pod-duplicate-container-names",
    ),
    pytest.param(
        pod(name="-pod-"),
        ["metadata.name"],
        "RFC 1123",
        id="pod-name-not-dns1123",
    ),
    pytest.param(
        pod(containers="- name: a\n  image: ' nginx'\n"),
        ["spec.containers[0].image"],
        "must not have leading or trailing whitespace",
        id="pod-image-with-whitespace",
    ),
    pytest.param(
        service("ports:\n- port: 0\n"),
        ["spec.ports[0].port", "spec.ports[0].targetPort"],
        "Invalid value: 0: must be between 1 and 65535, inclusive",
        id="service-port-zero",
    ),
    pytest.param(
        service("ports:\n- port: 80\n  targetPort: 99999\n"),
        ["spec.ports[0].targetPort"],
        "between 1 and 65535",
        id="service-target-port-out-of-range",
    ),
    pytest.param(
        service("type: Magic\nports:\n- port: 80\n"),
        ["spec.type"],
        "Unsupported value",
        id="service-bad-type",
    ),
    pytest.param(
        pvc("accessModes: [ReadWriteOnce]\nresources:\n  requests:\n    storage: lots\n"),
        ["spec.resources[storage]"],
        "quantities must match the regular expression",
        id="pvc-bad-storage-quantity",
    ),
    pytest.param(
        pvc("accessModes: [ReadWriteOnce]\n"),
        ["spec.resources[storage]"],
        "Required value",
        id="pvc-missing-storage-request",
    ),
    pytest.param(
        pvc(_PVC_SPEC.replace("ReadWriteOnce", "WriteMostly")),
        ["spec.accessModes"],
        "Unsupported value",
        id="pvc-bad-access-mode",
    ),
    pytest.param(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  'bad/key': x\n",
        ["data[bad/key]"],
        "a valid config key must consist of alphanumeric characters",
        id="configmap-bad-key",
    ),
    pytest.param(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Team.A\n",
        ["metadata.name"],
        "RFC 1123",
        id="namespace-name-not-dns1123-label",
    ),
]


@pytest.mark.parametrize(("manifest", "fields", "fragment"), CASES)
async def test_create_rejects_malformed_objects(
    server: ApiServer, manifest: str, fields: list[str], fragment: str
) -> None:
    obj = load(manifest)
    before = server.log.revision
    with pytest.raises(Invalid) as caught:
        await server.create(obj)
    error = caught.value
    causes = error.status()["details"]
    assert isinstance(causes, dict)
    cause_fields = [cause["field"] for cause in causes["causes"]]
    assert sorted(cause_fields) == sorted(fields), str(error)
    for field in fields:
        assert f"{field}: " in str(error)
    assert fragment in str(error)
    assert str(error).startswith(f"{type(obj).__name__}")
    assert server.log.revision == before
    kind = type(obj).__name__
    items, _ = await server.list(kind)
    assert items == ()


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


# -- defaults -----------------------------------------------------------------------------------


async def test_created_deployment_comes_back_and_is_stored_defaulted(server: ApiServer) -> None:
    manifest = deployment(
        spec="",
        containers="- name: app\n  image: nginx:1.25\n- name: side\n  image: busybox\n",
    )
    created = await server.create(load(manifest))
    assert isinstance(created, Deployment)
    spec = created.spec
    assert spec.replicas == 1
    assert spec.revision_history_limit == 10
    assert spec.progress_deadline_seconds == 600
    assert spec.strategy is not None
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update is not None
    assert spec.strategy.rolling_update.max_surge == "25%"
    assert spec.strategy.rolling_update.max_unavailable == "25%"
    pod_spec = spec.template.spec
    assert [c.image_pull_policy for c in pod_spec.containers] == ["IfNotPresent", "Always"]
    assert pod_spec.restart_policy == "Always"
    assert pod_spec.dns_policy == "ClusterFirst"
    assert pod_spec.termination_grace_period_seconds == 30
    assert meta_of(created).generation == 1
    assert meta_of(created).creation_timestamp == CREATED
    assert await server.get("Deployment", "web") == created


async def test_generated_names_are_admitted(server: ApiServer) -> None:
    manifest = pvc(_PVC_SPEC).replace("name: data", "generateName: data-")
    created = await server.create(load(manifest))
    assert meta_of(created).name.startswith("data-")
    assert isinstance(created, PersistentVolumeClaim)
    assert created.spec.volume_mode == "Filesystem"
    bad = load(manifest.replace("generateName: data-", "generateName: Data_"))
    with pytest.raises(Invalid, match=r"metadata.name: Invalid value: \"Data_"):
        await server.create(bad)
    assert server.log.revision == 1


# -- updates ------------------------------------------------------------------------------------


async def test_update_is_validated_and_writes_nothing_when_invalid(server: ApiServer) -> None:
    created = await server.create(load(deployment()))
    assert isinstance(created, Deployment)
    bad = replace(created, spec=replace(created.spec, replicas=-2))
    with pytest.raises(Invalid, match=r"spec.replicas: Invalid value: -2"):
        await server.update(bad)
    assert server.log.revision == 1
    assert await server.get("Deployment", "web") == created


async def test_update_is_defaulted(server: ApiServer) -> None:
    created = await server.create(load(deployment()))
    assert isinstance(created, Deployment)
    stripped = replace(created, spec=replace(created.spec, strategy=None, replicas=5))
    updated = await server.update(stripped)
    assert isinstance(updated, Deployment)
    assert updated.spec.strategy == created.spec.strategy
    assert updated.spec.replicas == 5
    assert meta_of(updated).generation == 2
    # Dropping a defaulted field only is no change at all: nothing is written.
    again = await server.update(replace(updated, spec=replace(updated.spec, strategy=None)))
    assert meta_of(again).resource_version == meta_of(updated).resource_version
    assert meta_of(again).generation == 2


@pytest.mark.parametrize("make", [deployment, replica_set, daemon_set], ids=lambda f: f.__name__)
async def test_selector_is_immutable(server: ApiServer, make: Any) -> None:
    created = await server.create(load(make()))
    assert isinstance(created, Deployment | ReplicaSet | DaemonSet)
    spec = created.spec
    labels = dict(spec.template.metadata.labels, tier="x")
    template = replace(spec.template, metadata=replace(spec.template.metadata, labels=labels))
    new_spec = replace(spec, selector=LabelSelector(match_labels=labels), template=template)
    with pytest.raises(Invalid) as caught:
        await server.update(replace(created, spec=new_spec))
    assert [e.field for e in caught.value.errors] == ["spec.selector"]
    assert str(caught.value.errors[0]).endswith(": field is immutable")
    assert 'v1.LabelSelector{MatchLabels:map[string]string{"app":' in str(caught.value)
    assert server.log.revision == 1
    # The template alone may change.
    same_selector = replace(spec, template=template)
    updated = await server.update(replace(created, spec=same_selector))
    assert meta_of(updated).resource_version == "2"


async def test_stateful_set_spec_changes_outside_the_allowed_fields_are_forbidden(
    server: ApiServer,
) -> None:
    created = await server.create(load(stateful_set()))
    assert isinstance(created, StatefulSet)
    for change in (
        {"service_name": "other"},
        {"pod_management_policy": "Parallel"},
        {"revision_history_limit": 3},
        {"selector": LabelSelector(match_labels={"app": "db", "x": "y"})},
    ):
        with pytest.raises(Invalid) as caught:
            await server.update(replace(created, spec=replace(created.spec, **change)))
        # (a selector that no longer matches the template is also a create-validation error)
        assert str(caught.value.errors[-1]) == (
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
            "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
            "and 'minReadySeconds' are forbidden"
        ), change
        assert len(caught.value.errors) == (2 if "selector" in change else 1)
    assert server.log.revision == 1
    allowed = replace(created.spec, replicas=4, min_ready_seconds=5)
    updated = await server.update(replace(created, spec=allowed))
    assert isinstance(updated, StatefulSet)
    assert updated.spec.replicas == 4
    assert meta_of(updated).generation == 2


async def test_pvc_spec_is_immutable_but_binding_and_bound_resize_are_allowed(
    server: ApiServer,
) -> None:
    created = await server.create(load(pvc(_PVC_SPEC)))
    assert isinstance(created, PersistentVolumeClaim)
    spec = created.spec
    assert spec.resources is not None
    bigger = replace(spec, resources=replace(spec.resources, requests={"storage": "2Gi"}))
    forbidden = (
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims"
    )
    for new_spec in (replace(spec, access_modes=("ReadWriteMany",)), bigger):
        with pytest.raises(Invalid) as caught:
            await server.update(replace(created, spec=new_spec))
        assert [str(e) for e in caught.value.errors] == [forbidden]
    # Binding sets volumeName once; then it is immutable too.
    bound = await server.update(replace(created, spec=replace(spec, volume_name="pv-1")))
    assert isinstance(bound, PersistentVolumeClaim)
    with pytest.raises(Invalid, match="spec is immutable"):
        await server.update(replace(bound, spec=replace(bound.spec, volume_name="pv-2")))
    bound = await server.update_status(
        replace(bound, status=PersistentVolumeClaimStatus(phase="Bound"))
    )
    resized = await server.update(replace(bound, spec=replace(bigger, volume_name="pv-1")))
    assert isinstance(resized, PersistentVolumeClaim)
    assert resized.spec.resources is not None
    assert resized.spec.resources.requests == {"storage": "2Gi"}


# -- delete propagation -------------------------------------------------------------------------


def config_map(finalizers: tuple[str, ...] = ()) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name="cfg", finalizers=finalizers), data={"k": "v"})


async def test_background_delete_removes_at_once(server: ApiServer) -> None:
    await server.create(config_map())
    gone = await server.delete("ConfigMap", "cfg")
    assert meta_of(gone).resource_version == "2"
    with pytest.raises(NotFound):
        await server.get("ConfigMap", "cfg")
    await server.create(config_map())
    await server.delete("ConfigMap", "cfg", propagation="Background")
    with pytest.raises(NotFound):
        await server.get("ConfigMap", "cfg")


@pytest.mark.parametrize(
    ("propagation", "finalizer"), [("Orphan", "orphan"), ("Foreground", "foregroundDeletion")]
)
async def test_orphan_and_foreground_mark_the_object(
    server: ApiServer, clock: Clock, propagation: str, finalizer: str
) -> None:
    created = await server.create(config_map(("example.com/keep",)))
    clock.now = LATER
    marked = await server.delete("ConfigMap", "cfg", propagation=propagation)
    meta = meta_of(marked)
    assert meta.finalizers == ("example.com/keep", finalizer)
    assert meta.deletion_timestamp == "2023-11-14T22:14:20Z"
    assert meta.deletion_grace_period_seconds == 0
    assert meta.generation == 2
    assert meta.resource_version == "2"
    assert await server.get("ConfigMap", "cfg") == marked
    # Deleting again with the same policy changes nothing and writes nothing.
    clock.now = LATER + 60
    assert await server.delete("ConfigMap", "cfg", propagation=propagation) == marked
    assert server.log.revision == 2
    # The garbage collector removes its finalizer; the other one still holds the object.
    released = await server.update(
        replace(marked, metadata=replace(meta, finalizers=("example.com/keep",)))
    )
    assert meta_of(released).deletion_timestamp == meta.deletion_timestamp
    # Removing the last finalizer deletes it.
    await server.update(replace(released, metadata=replace(meta_of(released), finalizers=())))
    with pytest.raises(NotFound):
        await server.get("ConfigMap", "cfg")
    assert meta_of(created).deletion_timestamp is None


async def test_orphan_on_an_object_without_finalizers_keeps_it_until_the_gc_acts(
    server: ApiServer,
) -> None:
    await server.create(config_map())
    marked = await server.delete("ConfigMap", "cfg", propagation="Orphan")
    assert meta_of(marked).finalizers == ("orphan",)
    assert meta_of(marked).deletion_timestamp == CREATED
    assert (await server.get("ConfigMap", "cfg")) == marked
    gone = await server.update(replace(marked, metadata=replace(meta_of(marked), finalizers=())))
    assert meta_of(gone).resource_version == "3"
    with pytest.raises(NotFound):
        await server.get("ConfigMap", "cfg")


async def test_a_new_policy_replaces_the_gc_finalizer(server: ApiServer) -> None:
    await server.create(config_map())
    await server.delete("ConfigMap", "cfg", propagation="Foreground")
    switched = await server.delete("ConfigMap", "cfg", propagation="Orphan")
    assert meta_of(switched).finalizers == ("orphan",)
    assert meta_of(switched).generation == 2
    # Background drops the GC's finalizer: nothing else holds the object, so it goes.
    gone = await server.delete("ConfigMap", "cfg", propagation="Background")
    with pytest.raises(NotFound):
        await server.get("ConfigMap", "cfg")
    # As the registry: the finalizers are written off (revision 4), then the key deleted (5).
    assert meta_of(gone).finalizers == ()
    assert meta_of(gone).resource_version == "5"
    assert server.log.revision == 5


async def test_no_finalizer_may_be_added_while_deleting(server: ApiServer) -> None:
    await server.create(config_map())
    marked = await server.delete("ConfigMap", "cfg", propagation="Foreground")
    meta = meta_of(marked)
    with pytest.raises(Invalid) as caught:
        await server.update(
            replace(marked, metadata=replace(meta, finalizers=(*meta.finalizers, "b", "a")))
        )
    assert str(caught.value.errors[0]) == (
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        'deleted, found new finalizers []string{"a", "b"}'
    )


async def test_unknown_propagation_policy_is_a_bad_request(server: ApiServer) -> None:
    await server.create(config_map())
    with pytest.raises(BadRequest, match='Unsupported value: "Cascade"'):
        await server.delete("ConfigMap", "cfg", propagation="Cascade")
    assert server.log.revision == 1
