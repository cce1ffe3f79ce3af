"""`validate`: the seed manifests are valid once defaulted; malformed objects give upstream's
field errors (path, type, bad value and message, compared through ``str()``)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cp.api.codec import load_manifests
from cp.api.defaults import apply_defaults
from cp.api.errors import FieldErrorType, Invalid
from cp.api.meta import ApiStruct
from cp.api.validation import validate

MANIFESTS = Path(__file__).parent / "manifests"
SEED = sorted(MANIFESTS.glob("*.yaml"))

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QUANTITY = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
PERCENT = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
)
QUALIFIED_NAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
NEG = "must be greater than or equal to 0"
PORT_RANGE = "must be between 1 and 65535, inclusive"
EMPTY_SELECTOR = (
    "v1.LabelSelector{MatchLabels:map[string]string(nil), "
    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
)
C0 = "spec.template.spec.containers[0]"

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    },
}
STATEFULSET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "db"},
    "spec": {
        "serviceName": "db",
        "selector": {"matchLabels": {"app": "db"}},
        "template": {
            "metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "mysql:5.7"}]},
        },
    },
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
}
PVC: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}
DAEMONSET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "agent"},
    "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "agent", "image": "agent:1"}]},
        },
    },
}
POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
}
CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cfg"},
    "data": {"app.conf": "x"},
}
REPLICASET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {"name": "web-abc"},
    "spec": copy.deepcopy(DEPLOYMENT["spec"]),
}

Patch = Callable[[dict[str, Any]], None]


def _errors(doc: dict[str, Any]) -> list[str]:
    (obj,) = load_manifests(json.dumps(doc))
    return [str(error) for error in validate(apply_defaults(obj))]


def _patched(base: dict[str, Any], patch: Patch) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    patch(doc)
    return doc


def _ctr(doc: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]
    return container


def _set(path: str, value: Any) -> Patch:
    """A patch setting a dotted path (``spec.strategy.type``) to value."""

    def patch(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return patch


def _ctr_set(key: str, value: Any) -> Patch:
    def patch(doc: dict[str, Any]) -> None:
        _ctr(doc)[key] = value

    return patch


def _two_containers(doc: dict[str, Any]) -> None:
    containers = doc["spec"]["template"]["spec"]["containers"]
    containers.append({"name": "web", "image": "busybox:1"})


def _two_unnamed_ports(doc: dict[str, Any]) -> None:
    doc["spec"]["ports"] = [{"port": 80}, {"port": 443}]


def _duplicate_port_names(doc: dict[str, Any]) -> None:
    doc["spec"]["ports"] = [{"name": "http", "port": 80}, {"name": "http", "port": 8080}]


def _deadline_equal_to_min_ready(doc: dict[str, Any]) -> None:
    doc["spec"]["minReadySeconds"] = 20
    doc["spec"]["progressDeadlineSeconds"] = 20


def _pod_bad_name_and_image(doc: dict[str, Any]) -> None:
    doc["metadata"]["name"] = "my_pod"
    doc["spec"]["containers"][0]["image"] = "nginx "


def _mount_unknown_volume(doc: dict[str, Any]) -> None:
    _ctr(doc)["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]


CASES: list[tuple[str, dict[str, Any], Patch, list[str]]] = [
    # -- Deployment: metadata
    (
        "name-required",
        DEPLOYMENT,
        _set("metadata.name", ""),
        ["metadata.name: Required value: name or generateName is required"],
    ),
    (
        "name-not-subdomain",
        DEPLOYMENT,
        _set("metadata.name", "Web_App"),
        [f'metadata.name: Invalid value: "Web_App": {SUBDOMAIN}'],
    ),
    (
        "name-too-long",
        DEPLOYMENT,
        _set("metadata.name", "a" * 254),
        [f'metadata.name: Invalid value: "{"a" * 254}": must be no more than 253 characters'],
    ),
    (
        "label-key-invalid",
        DEPLOYMENT,
        _set("metadata.labels", {"bad key": "x"}),
        [f'metadata.labels: Invalid value: "bad key": {QUALIFIED_NAME}'],
    ),
    (
        "label-value-too-long",
        DEPLOYMENT,
        _set("metadata.labels", {"app": "v" * 64}),
        [f'metadata.labels: Invalid value: "{"v" * 64}": must be no more than 63 characters'],
    ),
    (
        "annotation-key-invalid",
        DEPLOYMENT,
        _set("metadata.annotations", {"-bad": "x"}),
        [f'metadata.annotations: Invalid value: "-bad": {QUALIFIED_NAME}'],
    ),
    # -- Deployment: spec
    (
        "negative-replicas",
        DEPLOYMENT,
        _set("spec.replicas", -1),
        [f"spec.replicas: Invalid value: -1: {NEG}"],
    ),
    (
        "empty-selector",
        DEPLOYMENT,
        _set("spec.selector", {}),
        [
            f"spec.selector: Invalid value: {EMPTY_SELECTOR}: "
            "empty selector is invalid for deployment"
        ],
    ),
    (
        "selector-does-not-match-template",
        DEPLOYMENT,
        _set("spec.template.metadata.labels", {"app": "other", "tier": "x"}),
        [
            "spec.template.metadata.labels: Invalid value: "
            'map[string]string{"app":"other", "tier":"x"}: '
            "`selector` does not match template `labels`"
        ],
    ),
    (
        "template-without-labels",
        DEPLOYMENT,
        _set("spec.template.metadata", {}),
        [
            "spec.template.metadata.labels: Invalid value: map[string]string(nil): "
            "`selector` does not match template `labels`"
        ],
    ),
    (
        "no-containers",
        DEPLOYMENT,
        _set("spec.template.spec.containers", []),
        ["spec.template.spec.containers: Required value"],
    ),
    (
        "container-name-not-label",
        DEPLOYMENT,
        _ctr_set("name", "Web.1"),
        [f'{C0}.name: Invalid value: "Web.1": {LABEL}'],
    ),
    (
        "duplicate-container-names",
        DEPLOYMENT,
        _two_containers,
        ['spec.template.spec.containers[1].name: Duplicate value: "web"'],
    ),
    ("image-required", DEPLOYMENT, _ctr_set("image", ""), [f"{C0}.image: Required value"]),
    ("image-whitespace-tolerated-in-templates", DEPLOYMENT, _ctr_set("image", " nginx"), []),
    (
        "termination-message-policy",
        DEPLOYMENT,
        _ctr_set("terminationMessagePolicy", "Always"),
        [
            f'{C0}.terminationMessagePolicy: Unsupported value: "Always": '
            'supported values: "File", "FallbackToLogsOnError"'
        ],
    ),
    (
        "container-port-too-big",
        DEPLOYMENT,
        _ctr_set("ports", [{"containerPort": 70000}]),
        [f"{C0}.ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}"],
    ),
    (
        "container-port-zero",
        DEPLOYMENT,
        _ctr_set("ports", [{"containerPort": 0}]),
        [f"{C0}.ports[0].containerPort: Required value"],
    ),
    (
        "container-port-protocol",
        DEPLOYMENT,
        _ctr_set("ports", [{"containerPort": 80, "protocol": "HTTP"}]),
        [
            f'{C0}.ports[0].protocol: Unsupported value: "HTTP": '
            'supported values: "SCTP", "TCP", "UDP"'
        ],
    ),
    (
        "container-port-name",
        DEPLOYMENT,
        _ctr_set("ports", [{"containerPort": 80, "name": "web_port"}]),
        [
            f'{C0}.ports[0].name: Invalid value: "web_port": '
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
        ],
    ),
    (
        "bad-request-quantity",
        DEPLOYMENT,
        _ctr_set("resources", {"requests": {"cpu": "abc"}}),
        [f'{C0}.resources.requests[cpu]: Invalid value: "abc": {QUANTITY}'],
    ),
    (
        "bad-limit-quantity",
        DEPLOYMENT,
        _ctr_set("resources", {"limits": {"memory": "1Gb"}}),
        # the limit is also copied to requests by SetDefaults_Pod, so both fail
        [
            f'{C0}.resources.limits[memory]: Invalid value: "1Gb": {QUANTITY}',
            f'{C0}.resources.requests[memory]: Invalid value: "1Gb": {QUANTITY}',
        ],
    ),
    (
        "request-above-limit",
        DEPLOYMENT,
        _ctr_set("resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
        [
            f'{C0}.resources.requests: Invalid value: "2": '
            "must be less than or equal to cpu limit of 1"
        ],
    ),
    (
        "negative-request",
        DEPLOYMENT,
        _ctr_set("resources", {"requests": {"memory": "-1Mi"}}),
        [f'{C0}.resources.requests[memory]: Invalid value: "-1Mi": {NEG}'],
    ),
    (
        "unknown-resource",
        DEPLOYMENT,
        _ctr_set("resources", {"requests": {"gpu": "1"}}),
        [
            f'{C0}.resources.requests[gpu]: Invalid value: "gpu": '
            "must be a standard resource for containers"
        ],
    ),
    (
        "pull-policy",
        DEPLOYMENT,
        _ctr_set("imagePullPolicy", "Sometimes"),
        [
            f'{C0}.imagePullPolicy: Unsupported value: "Sometimes": '
            'supported values: "Always", "IfNotPresent", "Never"'
        ],
    ),
    (
        "liveness-success-threshold",
        DEPLOYMENT,
        _ctr_set("livenessProbe", {"tcpSocket": {"port": 80}, "successThreshold": 2}),
        [f"{C0}.livenessProbe.successThreshold: Invalid value: 2: must be 1"],
    ),
    (
        "probe-without-handler",
        DEPLOYMENT,
        _ctr_set("readinessProbe", {"periodSeconds": 5}),
        [f"{C0}.readinessProbe: Required value: must specify a handler type"],
    ),
    (
        "mount-of-unknown-volume",
        DEPLOYMENT,
        _mount_unknown_volume,
        [f'{C0}.volumeMounts[0].name: Not found: "data"'],
    ),
    (
        "restart-policy-never",
        DEPLOYMENT,
        _set("spec.template.spec.restartPolicy", "Never"),
        [
            'spec.template.spec.restartPolicy: Unsupported value: "Never": '
            'supported values: "Always"'
        ],
    ),
    (
        "strategy-type",
        DEPLOYMENT,
        _set("spec.strategy", {"type": "BlueGreen"}),
        [
            'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", '
            "RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: "
            'supported values: "Recreate", "RollingUpdate"'
        ],
    ),
    (
        "recreate-with-rolling-update",
        DEPLOYMENT,
        _set("spec.strategy", {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
        [
            "spec.strategy.rollingUpdate: Forbidden: "
            "may not be specified when strategy `type` is 'Recreate'"
        ],
    ),
    (
        "surge-and-unavailable-zero",
        DEPLOYMENT,
        _set("spec.strategy.rollingUpdate", {"maxSurge": 0, "maxUnavailable": 0}),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
            'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0'
        ],
    ),
    (
        "surge-and-unavailable-zero-percent",
        DEPLOYMENT,
        _set("spec.strategy.rollingUpdate", {"maxSurge": "0%", "maxUnavailable": "0%"}),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
            'intstr.IntOrString{Type:1, IntVal:0, StrVal:"0%"}: may not be 0 when `maxSurge` is 0'
        ],
    ),
    (
        "unavailable-over-100-percent",
        DEPLOYMENT,
        _set("spec.strategy.rollingUpdate", {"maxUnavailable": "150%"}),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
            'intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%'
        ],
    ),
    (
        "surge-not-a-percent",
        DEPLOYMENT,
        _set("spec.strategy.rollingUpdate", {"maxSurge": "abc"}),
        [
            "spec.strategy.rollingUpdate.maxSurge: Invalid value: "
            f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:"abc"}}: {PERCENT}'
        ],
    ),
    (
        "negative-unavailable",
        DEPLOYMENT,
        _set("spec.strategy.rollingUpdate", {"maxUnavailable": -1}),
        [f"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: -1: {NEG}"],
    ),
    (
        "negative-min-ready",
        DEPLOYMENT,
        _set("spec.minReadySeconds", -5),
        [f"spec.minReadySeconds: Invalid value: -5: {NEG}"],
    ),
    (
        "deadline-not-above-min-ready",
        DEPLOYMENT,
        _deadline_equal_to_min_ready,
        ["spec.progressDeadlineSeconds: Invalid value: 20: must be greater than minReadySeconds"],
    ),
    (
        "negative-revision-history",
        DEPLOYMENT,
        _set("spec.revisionHistoryLimit", -1),
        [f"spec.revisionHistoryLimit: Invalid value: -1: {NEG}"],
    ),
    (
        "selector-exists-with-values",
        DEPLOYMENT,
        _set(
            "spec.selector.matchExpressions",
            [{"key": "tier", "operator": "Exists", "values": ["x"]}],
        ),
        [
            "spec.selector.matchExpressions[0].values: Forbidden: "
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            # LabelSelectorAsSelector then fails too, and the template is not checked
            "spec.selector: Invalid value: "
            'v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement{"
            'v1.LabelSelectorRequirement{Key:"tier", '
            'Operator:"Exists", Values:[]string{"x"}}}}: invalid label selector',
        ],
    ),
    # -- ReplicaSet and DaemonSet
    (
        "active-deadline-in-template",
        DEPLOYMENT,
        _set("spec.template.spec.activeDeadlineSeconds", 30),
        [
            "spec.template.spec.activeDeadlineSeconds: Forbidden: "
            "activeDeadlineSeconds in ReplicaSet is not Supported"
        ],
    ),
    (
        "pod-name-and-image-whitespace",
        POD,
        _pod_bad_name_and_image,
        [
            f'metadata.name: Invalid value: "my_pod": {SUBDOMAIN}',
            'spec.containers[0].image: Invalid value: "nginx ": '
            "must not have leading or trailing whitespace",
        ],
    ),
    (
        "daemonset-active-deadline",
        DAEMONSET,
        _set("spec.template.spec.activeDeadlineSeconds", 30),
        [
            "spec.template.spec.activeDeadlineSeconds: Forbidden: "
            "activeDeadlineSeconds in DaemonSet is not Supported"
        ],
    ),
    (
        "configmap-bad-key",
        CONFIGMAP,
        _set("data", {"a/b": "x"}),
        [
            'data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric '
            "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
            "regex used for validation is '[-._a-zA-Z0-9]+')"
        ],
    ),
    (
        "replicaset-empty-selector",
        REPLICASET,
        _set("spec.selector", {}),
        [
            f"spec.selector: Invalid value: {EMPTY_SELECTOR}: "
            "empty selector is invalid for deployment"
        ],
    ),
    (
        "daemonset-surge-and-unavailable",
        DAEMONSET,
        _set("spec.updateStrategy", {"rollingUpdate": {"maxSurge": 1}}),
        [
            "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "
            'intstr.IntOrString{Type:0, IntVal:1, StrVal:""}: '
            "may not be set when maxUnavailable is non-zero"
        ],
    ),
    # -- StatefulSet
    (
        "statefulset-name-not-label",
        STATEFULSET,
        _set("metadata.name", "my.db"),
        [f'metadata.name: Invalid value: "my.db": {LABEL}'],
    ),
    (
        "statefulset-pod-management-policy",
        STATEFULSET,
        _set("spec.podManagementPolicy", "Random"),
        [
            'spec.podManagementPolicy: Invalid value: "Random": '
            "must be 'OrderedReady' or 'Parallel'"
        ],
    ),
    (
        "statefulset-service-name",
        STATEFULSET,
        _set("spec.serviceName", "My_Svc"),
        [f'spec.serviceName: Invalid value: "My_Svc": {LABEL}'],
    ),
    (
        "statefulset-negative-replicas",
        STATEFULSET,
        _set("spec.replicas", -2),
        [f"spec.replicas: Invalid value: -2: {NEG}"],
    ),
    (
        "statefulset-negative-partition",
        STATEFULSET,
        _set("spec.updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}),
        [f"spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: {NEG}"],
    ),
    (
        "statefulset-update-strategy-type",
        STATEFULSET,
        _set("spec.updateStrategy", {"type": "Bogus"}),
        [
            'spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:"Bogus", '
            "RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: "
            "must be 'RollingUpdate' or 'OnDelete'"
        ],
    ),
    (
        "statefulset-selector-mismatch",
        STATEFULSET,
        _set("spec.template.metadata.labels", {"app": "x"}),
        [
            'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
            "`selector` does not match template `labels`"
        ],
    ),
    (
        "statefulset-retention-policy",
        STATEFULSET,
        _set("spec.persistentVolumeClaimRetentionPolicy", {"whenScaled": "Keep"}),
        [
            "spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "
            '"Keep": supported values: "Retain", "Delete"'
        ],
    ),
    (
        "statefulset-restart-policy",
        STATEFULSET,
        _set("spec.template.spec.restartPolicy", "OnFailure"),
        [
            'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": '
            'supported values: "Always"'
        ],
    ),
    # -- Service
    (
        "service-name-not-dns1035",
        SERVICE,
        _set("metadata.name", "1web"),
        [f'metadata.name: Invalid value: "1web": {DNS1035}'],
    ),
    (
        "service-port-out-of-range",
        SERVICE,
        _set("spec.ports", [{"port": 70000}]),
        [
            f"spec.ports[0].port: Invalid value: 70000: {PORT_RANGE}",
            f"spec.ports[0].targetPort: Invalid value: 70000: {PORT_RANGE}",
        ],
    ),
    (
        "service-ports-need-names",
        SERVICE,
        _two_unnamed_ports,
        ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
    ),
    (
        "service-duplicate-port-names",
        SERVICE,
        _duplicate_port_names,
        ['spec.ports[1].name: Duplicate value: "http"'],
    ),
    ("service-no-ports", SERVICE, _set("spec.ports", []), ["spec.ports: Required value"]),
    (
        "service-type",
        SERVICE,
        _set("spec.type", "Magic"),
        [
            'spec.type: Unsupported value: "Magic": '
            'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'
        ],
    ),
    (
        "service-session-affinity",
        SERVICE,
        _set("spec.sessionAffinity", "Sticky"),
        ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
    ),
    (
        "service-target-port-name",
        SERVICE,
        _set("spec.ports", [{"port": 80, "targetPort": "http--alt"}]),
        [
            'spec.ports[0].targetPort: Invalid value: "http--alt": '
            "must not contain consecutive hyphens"
        ],
    ),
    # -- PersistentVolumeClaim
    (
        "pvc-access-modes-required",
        PVC,
        _set("spec.accessModes", []),
        ["spec.accessModes: Required value: at least 1 access mode is required"],
    ),
    (
        "pvc-access-mode-unknown",
        PVC,
        _set("spec.accessModes", ["ReadWriteSometimes"]),
        [
            'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: '
            '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'
        ],
    ),
    (
        "pvc-storage-required",
        PVC,
        _set("spec.resources", {"requests": {}}),
        ["spec.resources[storage]: Required value"],
    ),
    (
        "pvc-storage-zero",
        PVC,
        _set("spec.resources.requests.storage", "0"),
        ['spec.resources[storage]: Invalid value: "0": must be greater than zero'],
    ),
    (
        "pvc-storage-bad-quantity",
        PVC,
        _set("spec.resources.requests.storage", "lots"),
        [f'spec.resources[storage]: Invalid value: "lots": {QUANTITY}'],
    ),
]


@pytest.mark.parametrize(
    ("base", "patch", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_malformed_objects(base: dict[str, Any], patch: Patch, expected: list[str]) -> None:
    assert _errors(_patched(base, patch)) == expected


@pytest.mark.parametrize(
    "base",
    [DEPLOYMENT, STATEFULSET, SERVICE, PVC, DAEMONSET, REPLICASET, POD, CONFIGMAP],
    ids=lambda d: d["kind"],
)
def test_bases_are_valid(base: dict[str, Any]) -> None:
    assert _errors(base) == []


@pytest.mark.parametrize("path", SEED, ids=lambda p: p.name)
def test_seed_manifests_validate_clean_after_defaulting(path: Path) -> None:
    objects: tuple[ApiStruct, ...] = load_manifests(path.read_text(), source=path.name)
    for obj in objects:
        assert validate(apply_defaults(obj)) == []


def test_undefaulted_deployment_reports_missing_defaults() -> None:
    (obj,) = load_manifests(json.dumps(DEPLOYMENT))
    assert [str(e) for e in validate(obj)] == [
        f"{C0}.terminationMessagePolicy: Required value",
        f"{C0}.ports[0].protocol: Required value",
        f"{C0}.imagePullPolicy: Required value",
        "spec.template.spec.restartPolicy: Required value",
        "spec.template.spec.dnsPolicy: Required value",
        'spec.template.spec.restartPolicy: Unsupported value: "": supported values: "Always"',
        'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"", '
        "RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: "
        'supported values: "Recreate", "RollingUpdate"',
    ]


def test_errors_feed_invalid() -> None:
    doc = _patched(DEPLOYMENT, _set("spec.replicas", -1))
    (obj,) = load_manifests(json.dumps(doc))
    errors = validate(apply_defaults(obj))
    assert errors[0].type is FieldErrorType.INVALID
    error = Invalid.of("Deployment", "apps", "web", errors)
    assert error.message == (
        'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: ' + NEG
    )
    assert error.status()["details"] == {
        "name": "web",
        "group": "apps",
        "kind": "Deployment",
        "causes": (
            {
                "reason": "FieldValueInvalid",
                "message": f"Invalid value: -1: {NEG}",
                "field": "spec.replicas",
            },
        ),
    }


def test_unvalidated_kinds_are_valid() -> None:
    assert validate(object()) == []
