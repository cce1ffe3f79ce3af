"""`cpemu describe` end to end, in-process, plus the pure pieces it is built from.

Golden texts are kubectl 1.32's layout (`staging/src/k8s.io/kubectl/pkg/describe/describe.go`),
written out column by column; generated names, IPs and timestamps are read from the cluster
(`get -o json`) and the virtual clock, never hard-coded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from cp.api.core import Event, EventSource
from cp.api.meta import ObjectMeta, ObjectReference
from cp.api.times import parse_rfc3339, rfc3339
from cp.cli import main
from cp.cli.describers import PrefixWriter, Related, describe_events, describe_generic, tabwrite
from cp.cli.printers_common import format_age
from cp.cli.state import StateFile

MANIFESTS = Path(__file__).parent.parent / "api" / "manifests"
SEED = MANIFESTS / "myapp-deploy-v1.yaml"
MYDB_READ = MANIFESTS / "mydb-svc-read.yaml"
MYAPP_SVC = """\
apiVersion: v1
kind: Service
metadata:
  name: myapp-svc
spec:
  selector:
    app: myapp-deploy
  ports:
  - port: 80
    targetPort: 8080
"""


def run(capsys: pytest.CaptureFixture[str], state: str, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--state", state, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def get_json(capsys: pytest.CaptureFixture[str], state: str, *argv: str) -> Any:
    code, out, err = run(capsys, state, "get", *argv, "-o", "json")
    assert (code, err) == (0, "")
    return json.loads(out)


def virtual_now(state: str) -> float:
    async def read() -> float:
        async with StateFile(state).reader() as view:
            return view.now

    return anyio.run(read)


def rfc1123z(timestamp: str) -> str:
    return datetime.fromtimestamp(parse_rfc3339(timestamp), UTC).strftime(
        "%a, %d %b %Y %H:%M:%S +0000"
    )


@pytest.fixture
def state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "state.db")
    svc = tmp_path / "myapp-svc.yaml"
    svc.write_text(MYAPP_SVC)
    code, _, err = run(capsys, path, "apply", "-f", str(SEED), "-f", str(MYDB_READ), "-f", str(svc))
    assert (code, err) == (0, "")
    return path


# -- Deployment -------------------------------------------------------------------------------


def test_describe_deployment_is_kubectls_layout(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    deploy = get_json(capsys, state, "deploy", "myapp-deploy")
    (rs,) = get_json(capsys, state, "rs")["items"]
    events = [
        e
        for e in get_json(capsys, state, "events")["items"]
        if e["involvedObject"]["name"] == "myapp-deploy"
    ]
    assert len(events) == 1
    age = format_age(virtual_now(state) - parse_rfc3339(events[0]["lastTimestamp"]))
    rs_name = rs["metadata"]["name"]
    code, out, err = run(capsys, state, "describe", "deploy", "myapp-deploy")
    assert (code, err) == (0, "")
    expected = (
        "Name:                   myapp-deploy\n"
        "Namespace:              default\n"
        f"CreationTimestamp:      {rfc1123z(deploy['metadata']['creationTimestamp'])}\n"
        "Labels:                 app=myapp-deploy\n"
        "Annotations:            deployment.kubernetes.io/revision: 1\n"
        "Selector:               app=myapp-deploy\n"
        "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable\n"
        "StrategyType:           RollingUpdate\n"
        "MinReadySeconds:        20\n"
        "RollingUpdateStrategy:  1 max unavailable, 1 max surge\n"
        "Pod Template:\n"
        "  Labels:  app=myapp-deploy\n"
        "  Containers:\n"
        "   myapp:\n"
        "    Image:         ghcr.io/c1t1d0s7/go-myweb:v1.0\n"
        "    Port:          8080/TCP\n"
        "    Host Port:     0/TCP\n"
        "    Environment:   <none>\n"
        "    Mounts:        <none>\n"
        "  Volumes:         <none>\n"
        "  Node-Selectors:  <none>\n"
        "  Tolerations:     <none>\n"
        "Conditions:\n"
        "  Type           Status  Reason\n"
        "  ----           ------  ------\n"
        "  Available      True    MinimumReplicasAvailable\n"
        "  Progressing    True    NewReplicaSetAvailable\n"
        "OldReplicaSets:  <none>\n"
        f"NewReplicaSet:   {rs_name} (3/3 replicas created)\n"
        "Events:\n"
        f"  Type    Reason             {'Age'.ljust(max(4, len(age)) + 2)}From"
        "                   Message\n"
        f"  ----    ------             {'----'.ljust(max(4, len(age)) + 2)}----"
        "                   -------\n"
        f"  Normal  ScalingReplicaSet  {age.ljust(max(4, len(age)) + 2)}deployment-controller"
        f"  Scaled up replica set {rs_name} from 0 to 3\n"
    )
    assert out == expected


def test_default_strategy_shows_25_percent(
    capsys: pytest.CaptureFixture[str], state: str, tmp_path: Path
) -> None:
    text = SEED.read_text().replace("name: myapp-deploy\n", "name: web\n", 1)
    start, end = text.index("  strategy:"), text.index("  minReadySeconds")
    manifest = tmp_path / "web.yaml"
    manifest.write_text(text[:start] + text[end:])
    assert run(capsys, state, "apply", "-f", str(manifest))[0] == 0
    code, out, _ = run(capsys, state, "describe", "deployment/web")
    assert code == 0
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge\n" in out


def test_describe_at_an_earlier_revision_shows_the_old_image(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    before = int(get_json(capsys, state, "deploy")["metadata"]["resourceVersion"])
    code, _, _ = run(
        capsys, state, "set", "image", "deployment/myapp-deploy", "myapp=ghcr.io/x/web:v2.0"
    )
    assert code == 0
    _, now, _ = run(capsys, state, "describe", "deploy", "myapp-deploy")
    code, then, err = run(capsys, state, "describe", "deploy", "myapp-deploy", "--at", str(before))
    assert (code, err) == (0, "")
    assert "    Image:         ghcr.io/x/web:v2.0\n" in now
    assert "OldReplicaSets:  myapp-deploy-" in now
    assert "(0/0 replicas created)" in now
    assert "    Image:         ghcr.io/c1t1d0s7/go-myweb:v1.0\n" in then
    assert "OldReplicaSets:  <none>\n" in then
    assert "Scaled down" in now
    assert "Scaled down" not in then


# -- Service ----------------------------------------------------------------------------------


def _service_text(name: str, selector: str, ip: str, port: str, target: str, eps: str) -> str:
    return (
        f"Name:                     {name}\n"
        "Namespace:                default\n"
        "{labels}"
        "Annotations:              <none>\n"
        f"Selector:                 {selector}\n"
        "Type:                     ClusterIP\n"
        "IP Family Policy:         SingleStack\n"
        "IP Families:              IPv4\n"
        f"IP:                       {ip}\n"
        f"IPs:                      {ip}\n"
        f"Port:                     {port}\n"
        f"TargetPort:               {target}\n"
        f"Endpoints:                {eps}\n"
        "Session Affinity:         None\n"
        "Internal Traffic Policy:  Cluster\n"
        "Events:                   <none>\n"
    )


def test_describe_service_lists_its_endpoints(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    svc = get_json(capsys, state, "svc", "myapp-svc")
    (subset,) = get_json(capsys, state, "ep", "myapp-svc")["subsets"]
    addresses = [f"{a['ip']}:8080" for a in subset["addresses"]]
    assert len(addresses) == 3
    code, out, err = run(capsys, state, "describe", "svc", "myapp-svc")
    assert (code, err) == (0, "")
    expected = _service_text(
        "myapp-svc",
        "app=myapp-deploy",
        svc["spec"]["clusterIP"],
        "<unset>  80/TCP",
        "8080/TCP",
        ",".join(addresses),
    ).replace("{labels}", "Labels:                   <none>\n")
    assert out == expected


def test_service_selecting_no_pod_warns(capsys: pytest.CaptureFixture[str], state: str) -> None:
    ip = get_json(capsys, state, "svc", "mydb-read")["spec"]["clusterIP"]
    code, out, err = run(capsys, state, "describe", "service/mydb-read")
    assert code == 0
    assert err == (
        'Warning: no pods match the selector of service "mydb-read" '
        "(app=mydb,app.kubernetes.io/name=mysql)\n"
    )
    labels = (
        "Labels:                   app=mydb\n"
        "                          app.kubernetes.io/name=mydb\n"
    )
    expected = _service_text(
        "mydb-read",
        "app=mydb,app.kubernetes.io/name=mysql",
        ip,
        "mysql  3306/TCP",
        "3306/TCP",
        "<none>",
    ).replace("{labels}", labels)
    assert out == expected


def test_service_with_pods_does_not_warn(capsys: pytest.CaptureFixture[str], state: str) -> None:
    assert run(capsys, state, "describe", "svc", "myapp-svc")[2] == ""


# -- Pod, several objects, name prefixes ------------------------------------------------------


def test_describe_pod_shows_node_owner_and_container_state(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    pod = get_json(capsys, state, "pods")["items"][0]
    name, status = pod["metadata"]["name"], pod["status"]
    code, out, err = run(capsys, state, "describe", "pod", name)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:4] == [
        f"Name:         {name}",
        "Namespace:    default",
        f"Node:         {pod['spec']['nodeName']}/{status['hostIP']}",
        f"Start Time:   {rfc1123z(status['startTime'])}",
    ]
    assert f"IP:           {status['podIP']}" in lines
    assert f"  IP:           {status['podIP']}" in lines  # aligned with Controlled By, as kubectl
    owner = pod["metadata"]["ownerReferences"][0]["name"]
    assert f"Controlled By:  ReplicaSet/{owner}" in lines
    assert "    State:          Running" in lines
    assert "    Ready:          True" in lines
    assert "    Restart Count:  0" in lines
    assert "QoS Class:                    BestEffort" in lines
    assert lines[-1].startswith("  Normal  Scheduled  ")
    assert lines[-1].endswith(f"Successfully assigned default/{name} to {pod['spec']['nodeName']}")


def test_describe_kind_alone_joins_objects_without_events(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    names = [p["metadata"]["name"] for p in get_json(capsys, state, "pods")["items"]]
    code, out, err = run(capsys, state, "describe", "pods", "-l", "app=myapp-deploy")
    assert (code, err) == (0, "")
    parts = out.split("\n\n\nName:")
    assert len(parts) == 3
    assert [line for line in out.splitlines() if line.startswith("Name:")] == [
        f"Name:         {name}" for name in names
    ]
    assert "Events:" not in out
    code, out, _ = run(capsys, state, "describe", "pods", "--show-events")
    assert out.count("Events:") == 3


def test_a_missing_name_describes_objects_starting_with_it(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    code, out, err = run(capsys, state, "describe", "pod", "myapp-deploy")
    assert (code, err) == (0, "")
    assert out.count("Name:         myapp-deploy-") == 3
    assert out.endswith("Tolerations:                  <none>\n\n")  # each text + "\n"
    assert "Events:" not in out  # a failed lookup turns the Events sections off


# -- errors -----------------------------------------------------------------------------------


def test_missing_object_is_not_found(capsys: pytest.CaptureFixture[str], state: str) -> None:
    assert run(capsys, state, "describe", "deploy", "x") == (
        1,
        "",
        'Error from server (NotFound): deployments.apps "x" not found\n',
    )


def test_unknown_kind(capsys: pytest.CaptureFixture[str], state: str) -> None:
    assert run(capsys, state, "describe", "foo", "bar") == (
        1,
        "",
        'error: the server doesn\'t have a resource type "foo"\n',
    )


def test_nothing_to_describe(capsys: pytest.CaptureFixture[str], state: str) -> None:
    assert run(capsys, state, "-n", "empty", "describe", "pods") == (
        0,
        "",
        "No resources found in empty namespace.\n",
    )


# -- pure pieces ------------------------------------------------------------------------------


def test_tabwrite_aligns_each_block_of_lines_separately() -> None:
    text = "a:\t1\nlonger:\t2\nbreak\nx:\ty\tz\n\tq\tr\n"
    assert tabwrite(text) == "a:       1\nlonger:  2\nbreak\nx:  y  z\n    q  r\n"


def _event(reason: str, first: float, last: float, count: int) -> Event:
    return Event(
        metadata=ObjectMeta(name=f"web.{reason}", namespace="default"),
        involved_object=ObjectReference(kind="Deployment", namespace="default", name="web"),
        reason=reason,
        message=f"{reason} happened ",
        source=EventSource(component="deployment-controller"),
        first_timestamp=rfc3339(first),
        last_timestamp=rfc3339(last),
        count=count,
        type="Normal",
    )


def test_events_are_sorted_and_repeats_show_their_interval() -> None:
    now = 1_700_000_000.0
    w = PrefixWriter()
    events = [_event("Later", now - 120, now - 10, 3), _event("Sooner", now - 90, now - 90, 1)]
    describe_events(w, events, now)
    assert w.text() == (
        "Events:\n"
        "  Type    Reason  Age               From                   Message\n"
        "  ----    ------  ----              ----                   -------\n"
        "  Normal  Sooner  90s               deployment-controller  Sooner happened\n"
        "  Normal  Later   10s (x3 over 2m)  deployment-controller  Later happened\n"
    )


def test_no_events() -> None:
    w = PrefixWriter()
    describe_events(w, [], 0.0)
    assert w.text() == "Events:  <none>\n"


def test_describe_statefulset_and_its_claims(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = str(tmp_path / "sts.db")
    manifests = [MANIFESTS / f"mydb-{name}.yaml" for name in ("cm-mysql", "sts-mysql", "svc-write")]
    code, _, err = run(capsys, state, "apply", *(f"-f={path}" for path in manifests))
    assert (code, err) == (0, "")
    code, out, err = run(capsys, state, "describe", "sts", "mydb")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[3:10] == [
        "Selector:           app=mydb,app.kubernetes.io/name=mydb",
        "Labels:             <none>",
        "Annotations:        <none>",
        "Replicas:           2 desired | 2 total",
        "Update Strategy:    RollingUpdate",
        "  Partition:        0",
        "Pods Status:        2 Running / 0 Waiting / 0 Succeeded / 0 Failed",
    ]
    claims = lines.index("Volume Claims:")
    assert lines[claims + 1 : claims + 7] == [
        "  Name:          data",
        "  StorageClass:  ",
        "  Labels:        <none>",
        "  Annotations:   <none>",
        "  Capacity:      1Gi",
        "  Access Modes:  [ReadWriteOnce]",
    ]
    code, out, err = run(capsys, state, "describe", "pvc", "data-mydb-0")
    assert (code, err) == (0, "")
    assert "Status:        Bound\n" in out
    assert "Capacity:      1Gi\nAccess Modes:  RWO\n" in out
    assert "Used By:       mydb-0\n" in out


def test_generic_describer_prints_every_field() -> None:
    now = 1_700_000_000.0
    event = _event("Odd", now - 5, now - 5, 1)
    text = describe_generic(event, Related(now=now))
    lines = text.splitlines()
    assert lines[:5] == [
        "Name:             web.Odd",
        "Namespace:        default",
        "Labels:           <none>",
        "Annotations:      <none>",
        "API Version:      v1",
    ]
    assert "Involved Object:" in lines
    assert "  Kind:          Deployment" in lines  # one block down to Last Timestamp
    assert "First Timestamp:  " + rfc3339(now - 5) in lines
    assert "Events" not in text  # Related(events=None): no Events section
