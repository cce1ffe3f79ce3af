"""Pod READY / STATUS / RESTARTS as kubectl 1.32 computes them (`printPod` in
`pkg/printers/internalversion/printers.go`), and `kubectl get pods` tables copied from real
kubectl output."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from cp.api.core_pod import Pod
from cp.cli.printers import pod_status, table

from .helpers import NOW, ago, make, meta


def pod(
    name: str = "p",
    *,
    age: float = 60,
    phase: str = "Running",
    containers: int = 1,
    init: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    reason: str = "",
    deleting: bool = False,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> Pod:
    metadata = meta(name, age)
    if deleting:
        metadata["deletionTimestamp"] = ago(1)
    raw_status: dict[str, Any] = {"phase": phase, **(status or {})}
    if reason:
        raw_status["reason"] = reason
    if statuses is not None:
        raw_status["containerStatuses"] = statuses
    if init_statuses is not None:
        raw_status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        raw_status["conditions"] = conditions
    raw_spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "image": "img"} for i in range(containers)],
        **(spec or {}),
    }
    if init is not None:
        raw_spec["initContainers"] = init
    return make(Pod, {"metadata": metadata, "spec": raw_spec, "status": raw_status})


def cs(
    name: str = "c0",
    *,
    ready: bool = False,
    restarts: int = 0,
    running: bool = False,
    waiting: str | None = None,
    terminated: dict[str, Any] | None = None,
    last_finished: float | None = None,
    started: bool | None = None,
) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if running:
        state["running"] = {"startedAt": ago(30)}
    if waiting is not None:
        state["waiting"] = {"reason": waiting}
    if terminated is not None:
        state["terminated"] = terminated
    out: dict[str, Any] = {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "image": "img",
        "imageID": "",
        "state": state,
    }
    if last_finished is not None:
        out["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(last_finished)}}
    if started is not None:
        out["started"] = started
    return out


READY = {"type": "Ready", "status": "True"}
INITIALIZED = {"type": "Initialized", "status": "True"}
INIT2 = [{"name": "i0", "image": "img"}, {"name": "i1", "image": "img"}]

CASES = [
    ("no statuses yet", pod(phase="Pending"), ("0/1", "Pending", "0")),
    (
        "creating",
        pod(phase="Pending", statuses=[cs(waiting="ContainerCreating")]),
        ("0/1", "ContainerCreating", "0"),
    ),
    (
        "running and ready",
        pod(statuses=[cs(ready=True, running=True)], conditions=[READY]),
        ("1/1", "Running", "0"),
    ),
    (
        "running, not ready",
        pod(statuses=[cs(running=True)]),
        ("0/1", "Running", "0"),
    ),
    (
        "pull error",
        pod(phase="Pending", statuses=[cs(waiting="ErrImagePull")]),
        ("0/1", "ErrImagePull", "0"),
    ),
    (
        "pull back-off",
        pod(phase="Pending", statuses=[cs(waiting="ImagePullBackOff")]),
        ("0/1", "ImagePullBackOff", "0"),
    ),
    (
        "crash loop, restarted 5s ago",
        pod(statuses=[cs(waiting="CrashLoopBackOff", restarts=5, last_finished=5)]),
        ("0/1", "CrashLoopBackOff", "5 (5s ago)"),
    ),
    (
        "restarts without a last termination time",
        pod(statuses=[cs(ready=True, running=True, restarts=3)]),
        ("1/1", "Running", "3"),
    ),
    (
        "a last state but no restarts",
        pod(statuses=[cs(ready=True, running=True, last_finished=20)]),
        ("1/1", "Running", "0"),
    ),
    (
        "restarts summed, latest termination wins",
        pod(
            containers=2,
            statuses=[
                cs("c0", ready=True, running=True, restarts=2, last_finished=300),
                cs("c1", ready=True, running=True, restarts=1, last_finished=90),
            ],
        ),
        ("2/2", "Running", "3 (90s ago)"),
    ),
    (
        "first init container running",
        pod(
            phase="Pending",
            init=INIT2,
            init_statuses=[cs("i0", running=True), cs("i1", waiting="PodInitializing")],
            statuses=[cs(waiting="PodInitializing")],
        ),
        ("0/1", "Init:0/2", "0"),
    ),
    (
        "second init container running",
        pod(
            phase="Pending",
            init=INIT2,
            init_statuses=[
                cs("i0", terminated={"exitCode": 0, "reason": "Completed"}),
                cs("i1", running=True),
            ],
            statuses=[cs(waiting="PodInitializing")],
        ),
        ("0/1", "Init:1/2", "0"),
    ),
    (
        "init container crash loop",
        pod(
            phase="Pending",
            init=INIT2,
            init_statuses=[cs("i0", waiting="CrashLoopBackOff", restarts=4, last_finished=12)],
        ),
        ("0/1", "Init:CrashLoopBackOff", "4 (12s ago)"),
    ),
    (
        "init container failed with a reason",
        pod(
            phase="Pending",
            init=INIT2,
            init_statuses=[cs("i0", terminated={"exitCode": 1, "reason": "Error"})],
        ),
        ("0/1", "Init:Error", "0"),
    ),
    (
        "init container failed without a reason",
        pod(phase="Pending", init=INIT2, init_statuses=[cs("i0", terminated={"exitCode": 3})]),
        ("0/1", "Init:ExitCode:3", "0"),
    ),
    (
        "init container killed by a signal",
        pod(
            phase="Pending",
            init=INIT2,
            init_statuses=[cs("i0", terminated={"exitCode": 137, "signal": 9})],
        ),
        ("0/1", "Init:Signal:9", "0"),
    ),
    (
        "completed",
        pod(
            phase="Succeeded",
            statuses=[cs(terminated={"exitCode": 0, "reason": "Completed"})],
        ),
        ("0/1", "Completed", "0"),
    ),
    (
        "container error",
        pod(phase="Failed", statuses=[cs(terminated={"exitCode": 1, "reason": "Error"})]),
        ("0/1", "Error", "0"),
    ),
    (
        "container exit code without a reason",
        pod(phase="Failed", statuses=[cs(terminated={"exitCode": 137})]),
        ("0/1", "ExitCode:137", "0"),
    ),
    (
        "container signal without a reason",
        pod(phase="Failed", statuses=[cs(terminated={"exitCode": 0, "signal": 15})]),
        ("0/1", "Signal:15", "0"),
    ),
    (
        "one completed, one running and ready, pod Ready",
        pod(
            containers=2,
            statuses=[
                cs("c0", terminated={"exitCode": 0, "reason": "Completed"}),
                cs("c1", ready=True, running=True),
            ],
            conditions=[READY],
        ),
        ("1/2", "Running", "0"),
    ),
    (
        "one completed, one running and ready, pod not Ready",
        pod(
            containers=2,
            statuses=[
                cs("c0", terminated={"exitCode": 0, "reason": "Completed"}),
                cs("c1", ready=True, running=True),
            ],
        ),
        ("1/2", "NotReady", "0"),
    ),
    (
        "terminating",
        pod(deleting=True, statuses=[cs(ready=True, running=True)]),
        ("1/1", "Terminating", "0"),
    ),
    (
        "a deleted pod that already succeeded is not Terminating",
        pod(
            phase="Succeeded",
            deleting=True,
            statuses=[cs(terminated={"exitCode": 0, "reason": "Completed"})],
        ),
        ("0/1", "Completed", "0"),
    ),
    (
        "node lost",
        pod(deleting=True, reason="NodeLost", statuses=[cs(ready=True, running=True)]),
        ("1/1", "Unknown", "0"),
    ),
    (
        "evicted (status reason)",
        pod(phase="Failed", reason="Evicted"),
        ("0/1", "Evicted", "0"),
    ),
    (
        "scheduling gated",
        pod(
            phase="Pending",
            conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
        ),
        ("0/1", "SchedulingGated", "0"),
    ),
    (
        "sidecar started and ready counts as a container",
        pod(
            init=[{"name": "side", "image": "img", "restartPolicy": "Always"}],
            init_statuses=[cs("side", ready=True, running=True, started=True)],
            statuses=[cs(ready=True, running=True)],
            conditions=[INITIALIZED, READY],
        ),
        ("2/2", "Running", "0"),
    ),
    (
        "sidecar restarts count once the pod is initialized",
        pod(
            init=[{"name": "side", "image": "img", "restartPolicy": "Always"}],
            init_statuses=[
                cs("side", ready=True, running=True, started=True, restarts=2, last_finished=7)
            ],
            statuses=[cs(ready=True, running=True)],
            conditions=[INITIALIZED, READY],
        ),
        ("2/2", "Running", "2 (7s ago)"),
    ),
]


@pytest.mark.parametrize(("obj", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pod_status(obj: Pod, expected: tuple[str, str, str]) -> None:
    assert pod_status(obj, NOW) == expected


def running(name: str, age: float, restarts: int = 0, last: float | None = None, **st: Any) -> Pod:
    return pod(
        name,
        age=age,
        statuses=[cs(ready=True, running=True, restarts=restarts, last_finished=last)],
        conditions=[READY],
        status=st,
    )


def test_get_pods_golden() -> None:
    # Real `kubectl get pods` output (minikube, kubectl >= 1.22).
    pods = [
        running("curlpod", 57, restarts=1, last=10),
        running("rmanoj-spring-deployment-pod-5477d68b5-f64cl", 254),
        running("rmanoj-spring-deployment-pod-5477d68b5-rw5w4", 254),
    ]
    assert table("pods", pods, now=NOW) == (
        "NAME                                           READY   STATUS    RESTARTS      AGE\n"
        "curlpod                                        1/1     Running   1 (10s ago)   57s\n"
        "rmanoj-spring-deployment-pod-5477d68b5-f64cl   1/1     Running   0             4m14s\n"
        "rmanoj-spring-deployment-pod-5477d68b5-rw5w4   1/1     Running   0             4m14s\n"
    )


def placed(name: str, age: float, restarts: int, last: float, ip: str, node: str) -> Pod:
    obj = running(name, age, restarts=restarts, last=last, podIP=ip, podIPs=[{"ip": ip}])
    return make(Pod, {**_raw(obj), "spec": {**_raw(obj)["spec"], "nodeName": node}})


def _raw(obj: Pod) -> dict[str, Any]:
    raw: dict[str, Any] = msgspec.to_builtins(obj)
    return raw


def test_get_pods_wide_with_kind_golden() -> None:
    # Real `kubectl get all -o wide` output (kubeadm 1.27 cluster), the pod section.
    pods = [
        placed("test1", 152, 3, 41, "172.16.158.31", "worker-node02"),
        placed("test2-958d4f5c4-4qdqh", 43, 1, 3, "172.16.87.217", "worker-node01"),
        placed("test2-958d4f5c4-bk8tn", 43, 1, 5, "172.16.87.216", "worker-node01"),
        placed("test2-958d4f5c4-c2k8h", 43, 1, 11, "172.16.158.32", "worker-node02"),
        placed("test2-958d4f5c4-rhf7n", 43, 1, 10, "172.16.158.33", "worker-node02"),
    ]
    header = (
        "NAME                        READY   STATUS    RESTARTS      AGE     IP              "
        "NODE            NOMINATED NODE   READINESS GATES\n"
    )
    assert table("Pod", pods, now=NOW, wide=True, with_kind=True) == header + (
        "pod/test1                   1/1     Running   3 (41s ago)   2m32s   172.16.158.31   worker-node02   <none>           <none>\n"  # noqa: E501
        "pod/test2-958d4f5c4-4qdqh   1/1     Running   1 (3s ago)    43s     172.16.87.217   worker-node01   <none>           <none>\n"  # noqa: E501
        "pod/test2-958d4f5c4-bk8tn   1/1     Running   1 (5s ago)    43s     172.16.87.216   worker-node01   <none>           <none>\n"  # noqa: E501
        "pod/test2-958d4f5c4-c2k8h   1/1     Running   1 (11s ago)   43s     172.16.158.32   worker-node02   <none>           <none>\n"  # noqa: E501
        "pod/test2-958d4f5c4-rhf7n   1/1     Running   1 (10s ago)   43s     172.16.158.33   worker-node02   <none>           <none>\n"  # noqa: E501
    )


def test_wide_pod_unscheduled_and_readiness_gates() -> None:
    obj = pod(
        "gated",
        age=5,
        phase="Pending",
        spec={"readinessGates": [{"conditionType": "a"}, {"conditionType": "b"}]},
        conditions=[{"type": "a", "status": "True"}, {"type": "b", "status": "False"}],
        status={"nominatedNodeName": "node-2"},
    )
    assert table("po", [obj], now=NOW, wide=True) == (
        "NAME    READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   "
        "READINESS GATES\n"
        "gated   0/1     Pending   0          5s    <none>   <none>   node-2           1/2\n"
    )


def test_all_namespaces_prepends_namespace() -> None:
    a = running("web-1", 30)
    b = make(Pod, {**_raw(running("dns", 7200)), "metadata": meta("dns", 7200, "kube-system")})
    assert table("pods", [b, a], now=NOW, all_namespaces=True) == (
        "NAMESPACE     NAME    READY   STATUS    RESTARTS   AGE\n"
        "kube-system   dns     1/1     Running   0          120m\n"
        "default       web-1   1/1     Running   0          30s\n"
    )
