"""`cpemu host`: bind9's `host` inside a pod, in-process on a temporary state file with the
seed's StatefulSet, its headless Service and a ClusterIP Service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_main import revision, run

MANIFESTS = Path(__file__).parent.parent / "api" / "manifests"
HEADLESS = "myapp-svc-headless.default.svc.cluster.local"


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state.db")


@pytest.fixture
def cluster(capsys: pytest.CaptureFixture[str], state: str) -> str:
    """myapp-sts (2 pods) with myapp-svc-headless, then mydb-read (a ClusterIP Service)."""
    code, out, err = run(
        capsys,
        state,
        "apply",
        "-f",
        str(MANIFESTS / "myapp-sts.yaml"),
        "-f",
        str(MANIFESTS / "myapp-svc-headless.yaml"),
        "-f",
        str(MANIFESTS / "mydb-svc-read.yaml"),
    )
    assert (code, err) == (0, "")
    assert out == (
        "statefulset.apps/myapp-sts created\n"
        "service/myapp-svc-headless created\n"
        "service/mydb-read created\n"
    )
    return state


def objects(capsys: pytest.CaptureFixture[str], state: str, kind: str) -> dict[str, Any]:
    code, out, _ = run(capsys, state, "get", kind, "-o", "json")
    assert code == 0
    return {item["metadata"]["name"]: item for item in json.loads(out)["items"]}


def pod_ips(capsys: pytest.CaptureFixture[str], state: str) -> tuple[str, str]:
    pods = objects(capsys, state, "pods")
    ips = pods["myapp-sts-0"]["status"]["podIP"], pods["myapp-sts-1"]["status"]["podIP"]
    assert all(ips)
    assert ips[0] != ips[1]
    return ips


def test_headless_service_lists_both_pod_ips(
    capsys: pytest.CaptureFixture[str], cluster: str
) -> None:
    ip0, ip1 = pod_ips(capsys, cluster)
    code, out, err = run(capsys, cluster, "host", "myapp-svc-headless")
    assert (code, err) == (0, "")
    assert sorted(out.splitlines()) == sorted(
        [f"{HEADLESS} has address {ip0}", f"{HEADLESS} has address {ip1}"]
    )


def test_stateful_pod_name_under_the_headless_service(
    capsys: pytest.CaptureFixture[str], cluster: str
) -> None:
    ip0, ip1 = pod_ips(capsys, cluster)
    code, out, err = run(capsys, cluster, "host", "myapp-sts-0.myapp-svc-headless")
    assert (code, out, err) == (0, f"myapp-sts-0.{HEADLESS} has address {ip0}\n", "")
    code, out, _ = run(capsys, cluster, "host", "-t", "A", "myapp-sts-1.myapp-svc-headless")
    assert (code, out) == (0, f"myapp-sts-1.{HEADLESS} has address {ip1}\n")


def test_cluster_ip_service_answers_its_cluster_ip(
    capsys: pytest.CaptureFixture[str], cluster: str
) -> None:
    cluster_ip = objects(capsys, cluster, "svc")["mydb-read"]["spec"]["clusterIP"]
    assert cluster_ip.startswith("10.")
    code, out, err = run(capsys, cluster, "host", "mydb-read")
    assert (code, out, err) == (
        0,
        f"mydb-read.default.svc.cluster.local has address {cluster_ip}\n",
        "",
    )


def test_srv_of_a_named_port_lists_each_pod(
    capsys: pytest.CaptureFixture[str], cluster: str
) -> None:
    code, out, err = run(capsys, cluster, "host", "-t", "srv", "_http._tcp.myapp-svc-headless")
    assert (code, err) == (0, "")
    assert out == (
        f"_http._tcp.{HEADLESS} has SRV record 0 50 80 myapp-sts-0.{HEADLESS}.\n"
        f"_http._tcp.{HEADLESS} has SRV record 0 50 80 myapp-sts-1.{HEADLESS}.\n"
    )


def test_srv_of_an_unknown_port_is_nxdomain(
    capsys: pytest.CaptureFixture[str], cluster: str
) -> None:
    code, out, _ = run(capsys, cluster, "host", "-t", "SRV", "_mysql._tcp.myapp-svc-headless")
    assert (code, out) == (1, "Host _mysql._tcp.myapp-svc-headless not found: 3(NXDOMAIN)\n")


def test_the_seeds_typo_is_nxdomain_with_exit_1(
    capsys: pytest.CaptureFixture[str], cluster: str
) -> None:
    code, out, err = run(capsys, cluster, "host", "mtdb-0.mydb")
    assert (code, out, err) == (1, "Host mtdb-0.mydb not found: 3(NXDOMAIN)\n", "")


def test_search_path_is_the_pods_namespace(
    capsys: pytest.CaptureFixture[str], cluster: str
) -> None:
    ip0, _ = pod_ips(capsys, cluster)
    code, out, _ = run(
        capsys, cluster, "-n", "kube-system", "host", "myapp-sts-0.myapp-svc-headless"
    )
    assert (code, out) == (1, "Host myapp-sts-0.myapp-svc-headless not found: 3(NXDOMAIN)\n")
    code, out, _ = run(
        capsys, cluster, "host", "myapp-sts-0.myapp-svc-headless.default", "-n", "kube-system"
    )
    assert (code, out) == (0, f"myapp-sts-0.{HEADLESS} has address {ip0}\n")


def test_reverse_lookup_of_a_pod_ip(capsys: pytest.CaptureFixture[str], cluster: str) -> None:
    ip0, _ = pod_ips(capsys, cluster)
    reverse = ".".join(reversed(ip0.split("."))) + ".in-addr.arpa"
    code, out, _ = run(capsys, cluster, "host", ip0)
    assert (code, out) == (0, f"{reverse} domain name pointer myapp-sts-0.{HEADLESS}.\n")


def test_at_a_revision_before_the_service_existed(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    code, _, _ = run(capsys, state, "apply", "-f", str(MANIFESTS / "myapp-sts.yaml"))
    assert code == 0
    before = revision(state)
    code, _, _ = run(capsys, state, "apply", "-f", str(MANIFESTS / "myapp-svc-headless.yaml"))
    assert code == 0
    code, out, _ = run(capsys, state, "host", "myapp-sts-0.myapp-svc-headless")
    assert code == 0
    assert out.startswith(f"myapp-sts-0.{HEADLESS} has address ")
    code, out, err = run(
        capsys, state, "host", "myapp-sts-0.myapp-svc-headless", "--at", str(before)
    )
    assert (code, out, err) == (
        1,
        "Host myapp-sts-0.myapp-svc-headless not found: 3(NXDOMAIN)\n",
        "",
    )


def test_host_writes_nothing(capsys: pytest.CaptureFixture[str], cluster: str) -> None:
    before = revision(cluster)
    for name in ("myapp-svc-headless", "nope"):
        run(capsys, cluster, "host", name)
    assert revision(cluster) == before


def test_illegal_name_and_unknown_type(capsys: pytest.CaptureFixture[str], cluster: str) -> None:
    code, out, err = run(capsys, cluster, "host", "a..b")
    assert (code, out, err) == (1, "", "host: 'a..b' is not a legal name (empty label)\n")
    code, out, err = run(capsys, cluster, "host", "-t", "MX", "mydb-read")
    assert (code, out) == (1, "")
    assert "invalid choice: 'MX'" in err
