"""`apply_defaults`: the seed manifests get upstream's defaults (apps/v1 and core/v1
``defaults.go``); defaulting is pure and idempotent; explicit values are kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from cp.api.apps import Deployment, StatefulSet
from cp.api.codec import load_manifests
from cp.api.core import ConfigMap, PersistentVolumeClaim, Service
from cp.api.core_pod import Pod, PodSpec
from cp.api.defaults import apply_defaults, image_pull_policy
from cp.api.meta import ApiStruct

MANIFESTS = Path(__file__).parent / "manifests"
SEED = sorted(MANIFESTS.glob("*.yaml"))


def _load(name: str) -> ApiStruct:
    (obj,) = load_manifests((MANIFESTS / name).read_text(), source=name)
    return obj


def _one(doc: dict[str, Any]) -> ApiStruct:
    (obj,) = load_manifests(json.dumps(doc))
    return obj


def _wire(obj: ApiStruct) -> Any:
    return json.loads(msgspec.json.encode(obj))


POD_SPEC_DEFAULTS = {
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "securityContext": {},
    "schedulerName": "default-scheduler",
    "enableServiceLinks": True,
}


@pytest.mark.parametrize("path", SEED, ids=lambda p: p.name)
def test_defaulting_is_pure_and_idempotent(path: Path) -> None:
    for obj in load_manifests(path.read_text(), source=path.name):
        before = _wire(obj)
        once = apply_defaults(obj)
        assert _wire(obj) == before  # the argument is untouched
        assert apply_defaults(once) == once
        assert type(once) is type(obj)


def test_deployment_seed_defaults() -> None:
    deployment = _load("myapp-deploy-v1.yaml")
    assert isinstance(deployment, Deployment)
    spec = _wire(apply_defaults(deployment))["spec"]
    # explicit values are kept
    assert spec["replicas"] == 3
    assert spec["minReadySeconds"] == 20
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    template = spec["template"]["spec"]
    assert {k: template[k] for k in POD_SPEC_DEFAULTS} == POD_SPEC_DEFAULTS
    assert template["containers"] == [
        {
            "name": "myapp",
            "image": "ghcr.io/c1t1d0s7/go-myweb:v1.0",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }
    ]


def test_deployment_without_strategy_gets_25_percent() -> None:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    deployment = apply_defaults(_one(doc))
    assert isinstance(deployment, Deployment)
    spec = deployment.spec
    assert spec.replicas == 1
    assert spec.min_ready_seconds == 0
    assert spec.paused is False
    assert spec.strategy is not None
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update is not None
    assert spec.strategy.rolling_update.max_surge == "25%"
    assert spec.strategy.rolling_update.max_unavailable == "25%"
    assert spec.template.spec.containers[0].image_pull_policy == "Always"


def test_recreate_deployment_gets_no_rolling_update() -> None:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 0,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    deployment = apply_defaults(_one(doc))
    assert isinstance(deployment, Deployment)
    assert deployment.spec.replicas == 0  # an explicit 0 is kept
    assert deployment.spec.strategy is not None
    assert deployment.spec.strategy.rolling_update is None


@pytest.mark.parametrize("name", ["myapp-sts.yaml", "myapp-sts-vol.yaml", "mydb-sts-mysql.yaml"])
def test_statefulset_seed_defaults(name: str) -> None:
    sts = _load(name)
    assert isinstance(sts, StatefulSet)
    spec = _wire(apply_defaults(sts))["spec"]
    assert spec["replicas"] == 2
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert "minReadySeconds" not in spec  # 0, omitted as Go does
    template = spec["template"]["spec"]
    assert {k: template[k] for k in POD_SPEC_DEFAULTS} == POD_SPEC_DEFAULTS
    for claim in spec.get("volumeClaimTemplates", []):
        assert claim["spec"]["volumeMode"] == "Filesystem"
        assert claim["status"] == {"phase": "Pending"}


def test_mysql_statefulset_containers_probes_and_volumes() -> None:
    sts = apply_defaults(_load("mydb-sts-mysql.yaml"))
    assert isinstance(sts, StatefulSet)
    pod = sts.spec.template.spec
    mysql, xtrabackup = pod.containers
    assert mysql.image_pull_policy == "IfNotPresent"  # mysql:5.7
    assert [p.protocol for p in (*mysql.ports, *xtrabackup.ports)] == ["TCP", "TCP"]
    assert mysql.liveness_probe is not None
    assert mysql.readiness_probe is not None
    live, ready = mysql.liveness_probe, mysql.readiness_probe
    # explicit values kept, the rest defaulted (SetDefaults_Probe)
    assert (live.period_seconds, live.timeout_seconds) == (10, 5)
    assert (live.success_threshold, live.failure_threshold) == (1, 3)
    assert (ready.period_seconds, ready.timeout_seconds) == (2, 1)
    assert (ready.success_threshold, ready.failure_threshold) == (1, 3)
    for init in pod.init_containers:
        assert init.termination_message_path == "/dev/termination-log"
        assert init.termination_message_policy == "File"
        assert init.image_pull_policy == "IfNotPresent"
    conf, config_map = pod.volumes
    assert conf.empty_dir is not None
    assert config_map.config_map is not None
    assert config_map.config_map.default_mode == 0o644


@pytest.mark.parametrize(
    ("name", "cluster_ip"),
    [
        ("myapp-svc-headless.yaml", "None"),
        ("mydb-svc-read.yaml", ""),
        ("mydb-svc-write.yaml", "None"),
    ],
)
def test_service_seed_defaults(name: str, cluster_ip: str) -> None:
    service = apply_defaults(_load(name))
    assert isinstance(service, Service)
    spec = service.spec
    assert spec.type == "ClusterIP"
    assert spec.session_affinity == "None"
    assert spec.internal_traffic_policy == "Cluster"
    assert spec.cluster_ip == cluster_ip  # allocation is the registry's job, not defaulting
    for port in spec.ports:
        assert port.protocol == "TCP"
        assert port.target_port == port.port


def test_service_keeps_explicit_target_port_and_node_port_policy() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "type": "NodePort",
            "ports": [{"port": 80, "targetPort": "http", "protocol": "UDP"}],
        },
    }
    service = apply_defaults(_one(doc))
    assert isinstance(service, Service)
    (port,) = service.spec.ports
    assert (port.target_port, port.protocol) == ("http", "UDP")
    assert service.spec.external_traffic_policy == "Cluster"


def test_configmap_has_no_defaults() -> None:
    config_map = _load("mydb-cm-mysql.yaml")
    assert isinstance(config_map, ConfigMap)
    assert apply_defaults(config_map) is config_map


def test_pvc_defaults() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    claim = apply_defaults(_one(doc))
    assert isinstance(claim, PersistentVolumeClaim)
    assert claim.spec.volume_mode == "Filesystem"
    assert claim.spec.storage_class_name is None  # the default class is admission's job
    assert claim.status is not None
    assert claim.status.phase == "Pending"


def test_pod_requests_default_to_limits() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox@sha256:abc",
                    "resources": {
                        "limits": {"cpu": "1", "memory": "1Gi"},
                        "requests": {"cpu": "500m"},
                    },
                    "readinessProbe": {"httpGet": {"port": 80}},
                }
            ]
        },
    }
    pod = apply_defaults(_one(doc))
    assert isinstance(pod, Pod)
    assert isinstance(pod.spec, PodSpec)
    (container,) = pod.spec.containers
    assert container.resources is not None
    assert dict(container.resources.requests) == {"cpu": "500m", "memory": "1Gi"}
    assert container.image_pull_policy == "IfNotPresent"  # a digest, no tag
    assert container.readiness_probe is not None
    http = container.readiness_probe.http_get
    assert http is not None
    assert (http.path, http.scheme) == ("/", "HTTP")


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.local:5000/nginx", "Always"),
        ("registry.local:5000/nginx:1.0", "IfNotPresent"),
        ("nginx@sha256:0123", "IfNotPresent"),
        ("nginx:latest@sha256:0123", "Always"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_daemonset_and_replicaset_defaults() -> None:
    template = {
        "metadata": {"labels": {"app": "a"}},
        "spec": {"containers": [{"name": "a", "image": "a:1"}]},
    }
    selector = {"matchLabels": {"app": "a"}}
    ds = _wire(
        apply_defaults(
            _one(
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "metadata": {"name": "a"},
                    "spec": {"selector": selector, "template": template},
                }
            )
        )
    )["spec"]
    assert ds["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert ds["revisionHistoryLimit"] == 10
    rs = _wire(
        apply_defaults(
            _one(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {"name": "a"},
                    "spec": {"selector": selector, "template": template},
                }
            )
        )
    )["spec"]
    assert rs["replicas"] == 1
    assert rs["template"]["spec"]["restartPolicy"] == "Always"
