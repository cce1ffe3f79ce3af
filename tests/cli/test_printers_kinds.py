"""`kubectl get` tables of every kind but Pod, `-o name`, `-o json` lists and the empty message.

Goldens marked "real" are copied from kubectl output found in public docs and READMEs (kubectl
1.2x-1.3x); the others follow `pkg/printers/internalversion/printers.go` (kubernetes 1.32)."""

from __future__ import annotations

from typing import Any

import msgspec

from cp.api.apps import ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.api.core import (
    Endpoints,
    Service,
)
from cp.cli.printers import table

from .helpers import NOW, make, meta, template

M = 60
H = 3600
D = 86400


def deployment(name: str, age: float, want: int, ready: int, **extra: Any) -> Deployment:
    return make(
        Deployment,
        {
            "metadata": meta(name, age),
            "spec": {
                "replicas": want,
                "selector": {"matchLabels": {"app": name}},
                "template": template((name, f"{name}:1")),
                **extra,
            },
            "status": {
                "replicas": want,
                "readyReplicas": ready,
                "updatedReplicas": ready,
                "availableReplicas": ready,
            },
        },
    )


def replica_set(name: str, age: float, want: int, ready: int) -> ReplicaSet:
    return make(
        ReplicaSet,
        {
            "metadata": meta(name, age),
            "spec": {
                "replicas": want,
                "selector": {
                    "matchLabels": {"app": "web", "pod-template-hash": name.rsplit("-", 1)[1]},
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["front", "api"]}
                    ],
                },
                "template": template(("web", "nginx:1.25"), ("log", "busybox")),
            },
            "status": {"replicas": want, "readyReplicas": ready},
        },
    )


def test_deployments_and_replica_sets_with_kind_real() -> None:
    deploys = [deployment("db", 346, 1, 1), deployment("web", 324, 2, 2)]
    assert table("deploy", deploys, now=NOW, with_kind=True) == (
        "NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "deployment.apps/db    1/1     1            1           5m46s\n"
        "deployment.apps/web   2/2     2            2           5m24s\n"
    )
    sets = [
        replica_set("db-6c5c8947cd", 346, 1, 1),
        replica_set("web-68dbbfdcbd", 155, 0, 0),
        replica_set("web-cbf7bb59c", 324, 2, 2),
    ]
    assert table("rs", sets, now=NOW, with_kind=True) == (
        "NAME                             DESIRED   CURRENT   READY   AGE\n"
        "replicaset.apps/db-6c5c8947cd    1         1         1       5m46s\n"
        "replicaset.apps/web-68dbbfdcbd   0         0         0       2m35s\n"
        "replicaset.apps/web-cbf7bb59c    2         2         2       5m24s\n"
    )


def test_deployment_wide_and_defaults() -> None:
    dep = make(
        Deployment,
        {
            "metadata": meta("myapp-deploy", 4),
            "spec": {
                "selector": {"matchLabels": {"app": "myapp", "tier": "web"}},
                "template": template(("nginx", "nginx:1.19"), ("sidecar", "envoy:1")),
            },
        },
    )
    assert table("Deployment", [dep], now=NOW, wide=True) == (
        "NAME           READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS      "
        "IMAGES               SELECTOR\n"
        "myapp-deploy   0/1     0            0           4s    nginx,sidecar   "
        "nginx:1.19,envoy:1   app=myapp,tier=web\n"
    )


def test_replica_set_wide_selector_with_expressions() -> None:
    rs = replica_set("web-5d9c7b8f4", 90, 3, 2)
    assert table("replicasets", [rs], now=NOW, wide=True) == (
        "NAME            DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES               "
        "SELECTOR\n"
        "web-5d9c7b8f4   3         3         2       90s   web,log      nginx:1.25,busybox   "
        "app=web,pod-template-hash=5d9c7b8f4,tier in (api,front)\n"
    )


def test_stateful_set_and_wide() -> None:
    sts = make(
        StatefulSet,
        {
            "metadata": meta("db", 3 * H + 20 * M),
            "spec": {
                "replicas": 3,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": template(("postgres", "postgres:16")),
            },
            "status": {"replicas": 3, "readyReplicas": 2},
        },
    )
    assert table("sts", [sts], now=NOW) == "NAME   READY   AGE\ndb     2/3     3h20m\n"
    assert table("sts", [sts], now=NOW, wide=True) == (
        "NAME   READY   AGE     CONTAINERS   IMAGES\n"
        "db     2/3     3h20m   postgres     postgres:16\n"
    )


def test_daemon_set_real() -> None:
    ds = make(
        DaemonSet,
        {
            "metadata": meta("kube-proxy", 6 * D + 22 * H, "kube-system"),
            "spec": {
                "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                "template": template(
                    ("kube-proxy", "k8s.gcr.io/kube-proxy:v1.16.0"),
                    nodeSelector={"beta.kubernetes.io/os": "linux"},
                ),
            },
            "status": {
                "currentNumberScheduled": 1,
                "numberMisscheduled": 0,
                "desiredNumberScheduled": 1,
                "numberReady": 1,
                "updatedNumberScheduled": 1,
                "numberAvailable": 1,
            },
        },
    )
    assert table("ds", [ds], now=NOW) == (
        "NAME         DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR"
        "                 AGE\n"
        "kube-proxy   1         1         1       1            1           "
        "beta.kubernetes.io/os=linux   6d22h\n"
    )
    assert (
        table("ds", [ds], now=NOW, wide=True)
        .splitlines()[1]
        .endswith("6d22h   kube-proxy   k8s.gcr.io/kube-proxy:v1.16.0   k8s-app=kube-proxy")
    )


def test_controller_revision() -> None:
    owner = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": "web",
        "uid": "u",
        "controller": True,
    }
    revs = [
        make(
            ControllerRevision,
            {"metadata": meta("web-7d5f8", 50, ownerReferences=[owner]), "revision": 2},
        ),
        make(ControllerRevision, {"metadata": meta("orphan-1", 9 * D), "revision": 1}),
    ]
    assert table("controllerrevision", revs, now=NOW) == (
        "NAME        CONTROLLER             REVISION   AGE\n"
        "web-7d5f8   statefulset.apps/web   2          50s\n"
        "orphan-1    <none>                 1          9d\n"
    )


def service(
    name: str,
    age: float,
    kind: str,
    ip: str,
    ports: list[dict[str, Any]],
    selector: dict[str, str] | None = None,
    **spec: Any,
) -> Service:
    return make(
        Service,
        {
            "metadata": meta(name, age),
            "spec": {
                "type": kind,
                "clusterIP": ip,
                "clusterIPs": [ip],
                "ports": ports,
                **({"selector": selector} if selector else {}),
                **spec,
            },
        },
    )


def test_services_real() -> None:
    svcs = [
        service("kubernetes", 10 * H, "ClusterIP", "10.96.0.1", [{"port": 443, "protocol": "TCP"}]),
        service(
            "rmanoj-spring-service",
            12,
            "NodePort",
            "10.110.92.29",
            [{"port": 30000, "nodePort": 32321, "protocol": "TCP"}],
        ),
    ]
    assert table("svc", svcs, now=NOW) == (
        "NAME                    TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)           AGE\n"
        "kubernetes              ClusterIP   10.96.0.1      <none>        443/TCP           10h\n"
        "rmanoj-spring-service   NodePort    10.110.92.29   <none>        30000:32321/TCP   12s\n"
    )


def test_services_wide_headless_real() -> None:
    svcs = [
        service(
            "kubernetes",
            5 * D + 14 * H,
            "ClusterIP",
            "10.96.0.1",
            [{"port": 443, "protocol": "TCP"}],
        ),
        service(
            "nginx", 4 * D, "ClusterIP", "None", [{"port": 80, "protocol": "TCP"}], {"app": "nginx"}
        ),
        service(
            "nginx-sc",
            60,
            "NodePort",
            "10.100.251.38",
            [{"port": 80, "nodePort": 31556, "protocol": "TCP"}],
            {"app": "nginx-sc"},
        ),
    ]
    assert table("services", svcs, now=NOW, wide=True) == (
        "NAME         TYPE        CLUSTER-IP      EXTERNAL-IP   PORT(S)        AGE     SELECTOR\n"
        "kubernetes   ClusterIP   10.96.0.1       <none>        443/TCP        5d14h   <none>\n"
        "nginx        ClusterIP   None            <none>        80/TCP         4d      app=nginx\n"
        "nginx-sc     NodePort    10.100.251.38   <none>        80:31556/TCP   60s     "
        "app=nginx-sc\n"
    )


def test_service_multi_port_with_kind_real() -> None:
    dns = service(
        "kube-dns",
        11 * M,
        "ClusterIP",
        "10.96.0.10",
        [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            {"name": "metrics", "port": 9153, "protocol": "TCP"},
        ],
    )
    assert table("svc", [dns], now=NOW, with_kind=True) == (
        "NAME               TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)                  AGE\n"
        "service/kube-dns   ClusterIP   10.96.0.10   <none>        53/UDP,53/TCP,9153/TCP   11m\n"
    )


def test_load_balancer_external_ips() -> None:
    pending = service("lb", 5, "LoadBalancer", "10.96.0.7", [{"port": 80, "nodePort": 30080}])
    long_host = "a1b2c3d4e5f6-1234567890.eu-west-1.elb.amazonaws.com"
    ready = make(
        Service,
        {
            **msgspec.to_builtins(pending),
            "status": {"loadBalancer": {"ingress": [{"hostname": long_host}]}},
        },
    )
    name = make(
        Service,
        {
            "metadata": meta("ext", 5),
            "spec": {"type": "ExternalName", "externalName": "db.example.com"},
        },
    )
    out = table("svc", [pending, ready, name], now=NOW).splitlines()
    assert out[1].split()[3] == "<pending>"
    assert out[2].split()[3] == long_host  # the apiserver prints rows wide: never clipped
    assert out[3].split()[2:5] == ["<none>", "db.example.com", "<none>"]


def endpoints(name: str, subsets: list[dict[str, Any]]) -> Endpoints:
    return make(Endpoints, {"metadata": meta(name, 2 * H), "subsets": subsets})


def test_endpoints_truncation() -> None:
    ips = [{"ip": f"10.244.0.{i}"} for i in range(1, 6)]
    many = endpoints("web", [{"addresses": ips, "ports": [{"port": 80}, {"port": 443}]}])
    few = endpoints(
        "kubernetes", [{"addresses": [{"ip": "192.168.49.2"}], "ports": [{"port": 8443}]}]
    )
    headless = endpoints("db", [{"addresses": [{"ip": "10.244.1.9"}, {"ip": "fd00::5"}]}])
    empty = endpoints("none", [])
    shown = "10.244.0.1:80,10.244.0.2:80,10.244.0.3:80 + 7 more..."  # 5 ips x 2 ports
    pad = " " * 3  # ENDPOINTS is as wide as `shown` plus the tabwriter's 3 spaces
    assert table("ep", [few, many, headless, empty], now=NOW) == (
        f"NAME         {'ENDPOINTS'.ljust(len(shown))}{pad}AGE\n"
        f"kubernetes   {'192.168.49.2:8443'.ljust(len(shown))}{pad}120m\n"
        f"web          {shown}{pad}120m\n"
        f"db           {'10.244.1.9,fd00::5'.ljust(len(shown))}{pad}120m\n"
        f"none         {'<none>'.ljust(len(shown))}{pad}120m\n"
    )


def test_endpoints_ipv6_port() -> None:
    ep = endpoints("v6", [{"addresses": [{"ip": "fd00::5"}], "ports": [{"port": 80}]}])
    assert "[fd00::5]:80" in table("endpoints", [ep], now=NOW)
