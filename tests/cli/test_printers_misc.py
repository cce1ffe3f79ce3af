"""`kubectl get` tables of PVC, PV, StorageClass, ConfigMap, Node, Namespace and Event; the generic
table; `-o name`; `-o json` lists; the "No resources found" message. Goldens marked "real" are
copied from kubectl output (1.29+ for VOLUMEATTRIBUTESCLASS) found in public docs and READMEs."""

from __future__ import annotations

from typing import Any

import msgspec

from cp.api.apps import Deployment
from cp.api.core import ConfigMap, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim
from cp.api.core_pod import Pod
from cp.api.dns import DNSRecordSet
from cp.api.storage import StorageClass
from cp.cli.printers import as_list, names, no_resources, table

from .helpers import NOW, ago, make, meta, template

M = 60
H = 3600
D = 86400


def pvc(
    name: str,
    age: float,
    *,
    volume: str = "",
    size: str = "",
    klass: str = "",
    phase: str = "Bound",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
) -> PersistentVolumeClaim:
    status: dict[str, Any] = {"phase": phase}
    if volume:
        status |= {"accessModes": list(modes), "capacity": {"storage": size}}
    spec = {
        "accessModes": list(modes),
        "volumeName": volume,
        "storageClassName": klass,
        "resources": {"requests": {"storage": size or "1Gi"}},
    }
    raw = {"metadata": meta(name, age), "spec": spec, "status": status}
    return make(PersistentVolumeClaim, raw)


def test_pvcs_bound_real() -> None:
    claims = [
        pvc(
            "data-my-kafka-dual-role-0",
            7 * D,
            volume="kafka-pv-0",
            size="8Gi",
            klass="local-storage",
        ),
        pvc(
            "elasticsearch-data-my-es-es-default-0",
            48,
            volume="es-pv-0",
            size="16Gi",
            klass="local-storage",
        ),
    ]
    assert table("pvc", claims, now=NOW) == (
        "NAME                                    STATUS   VOLUME       CAPACITY   ACCESS MODES   STORAGECLASS    VOLUMEATTRIBUTESCLASS   AGE\n"  # noqa: E501
        "data-my-kafka-dual-role-0               Bound    kafka-pv-0   8Gi        RWO            local-storage   <unset>                 7d\n"  # noqa: E501
        "elasticsearch-data-my-es-es-default-0   Bound    es-pv-0      16Gi       RWO            local-storage   <unset>                 48s\n"  # noqa: E501
    )


def test_pvc_pending_real() -> None:
    claim = pvc("streamlit-pvc", 6 * M + 43, klass="azurefile-csi", phase="Pending")
    assert table("persistentvolumeclaims", [claim], now=NOW) == (
        "NAME            STATUS    VOLUME   CAPACITY   ACCESS MODES   STORAGECLASS    VOLUMEATTRIBUTESCLASS   AGE\n"  # noqa: E501
        "streamlit-pvc   Pending                                      azurefile-csi   <unset>                 6m43s\n"  # noqa: E501
    )


def test_pvc_wide_kind_terminating_and_canonical_quantity() -> None:
    claim = pvc(
        "mydata",
        44,
        volume="pv-1",
        size="1.5Gi",
        klass="sc-nfs",
        modes=("ReadWriteMany", "ReadWriteOnce", "ReadWriteMany"),
    )
    raw = msgspec.to_builtins(claim)
    raw["metadata"]["deletionTimestamp"] = ago(1)
    raw["spec"]["volumeMode"] = "Filesystem"
    gone = make(PersistentVolumeClaim, raw)
    assert table("pvc", [gone], now=NOW, wide=True, with_kind=True) == (
        "NAME                           STATUS        VOLUME   CAPACITY   ACCESS MODES   "
        "STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE   VOLUMEMODE\n"
        "persistentvolumeclaim/mydata   Terminating   pv-1     1536Mi     RWO,RWX        "
        "sc-nfs         <unset>                 44s   Filesystem\n"
    )


def pv(name: str, size: str, phase: str, claim: str) -> PersistentVolume:
    ns, _, claim_name = claim.partition("/")
    spec = {
        "capacity": {"storage": size},
        "accessModes": ["ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Delete",
        "storageClassName": "standard",
        "claimRef": {"namespace": ns, "name": claim_name},
        "hostPath": {"path": "/tmp/x"},
    }
    return make(
        PersistentVolume,
        {"metadata": meta(name, 12 * H, ""), "spec": spec, "status": {"phase": phase}},
    )


def test_pvs_with_kind_real_rows() -> None:
    vols = [
        pv(
            "pvc-d4a66f5b-9344-4e40-875c-d823e52cec54",
            "8Gi",
            "Bound",
            "default/data-local-wp-mariadb-0",
        ),
        pv(
            "pvc-e4579f9f-762f-46e9-960a-2d84d9bc47da",
            "10Gi",
            "Released",
            "default/local-wp-wordpress",
        ),
    ]
    lines = table("pv", vols, now=NOW, with_kind=True).splitlines()
    assert lines[0] == (
        "NAME                                                        CAPACITY   ACCESS MODES   "
        "RECLAIM POLICY   STATUS     CLAIM                             STORAGECLASS   "
        "VOLUMEATTRIBUTESCLASS   REASON   AGE"
    )
    assert lines[1].endswith(  # real, cut at its start in the source
        "823e52cec54   8Gi        RWO            Delete           Bound      "
        "default/data-local-wp-mariadb-0   standard       <unset>                          12h"
    )
    assert lines[2] == (  # real
        "persistentvolume/pvc-e4579f9f-762f-46e9-960a-2d84d9bc47da   10Gi       RWO            "
        "Delete           Released   default/local-wp-wordpress        standard       "
        "<unset>                          12h"
    )


def test_pv_unbound_wide() -> None:
    annotations = {"volume.beta.kubernetes.io/storage-class": "slow"}
    vol = make(
        PersistentVolume,
        {
            "metadata": meta("pv0", 30, "", annotations=annotations),
            "spec": {
                "accessModes": ["ReadWriteOncePod", "ReadOnlyMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "fast",
            },
            "status": {"phase": "Available"},
        },
    )
    assert table("persistentvolumes", [vol], now=NOW, wide=True) == (
        "NAME   CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS      CLAIM   STORAGECLASS   "
        "VOLUMEATTRIBUTESCLASS   REASON   AGE   VOLUMEMODE\n"
        "pv0    0          ROX,RWOP       Retain           Available           slow           "
        "<unset>                          30s   <unset>\n"
    )


def storage_class(
    name: str, age: float, provisioner: str, default: bool = False, **spec: Any
) -> StorageClass:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    metadata = meta(name, age, "", annotations=annotations)
    return make(StorageClass, {"metadata": metadata, "provisioner": provisioner, **spec})


def test_storage_classes_real() -> None:
    kind_default = storage_class(
        "standard",
        6 * D,
        "rancher.io/local-path",
        default=True,
        volumeBindingMode="WaitForFirstConsumer",
    )
    assert table("sc", [kind_default], now=NOW) == (
        "NAME                 PROVISIONER             RECLAIMPOLICY   VOLUMEBINDINGMODE      "
        "ALLOWVOLUMEEXPANSION   AGE\n"
        "standard (default)   rancher.io/local-path   Delete          WaitForFirstConsumer   "
        "false                  6d\n"
    )
    azure = [
        storage_class(
            "fast-ssd",
            63 * M,
            "disk.csi.azure.com",
            reclaimPolicy="Retain",
            volumeBindingMode="WaitForFirstConsumer",
            allowVolumeExpansion=True,
        ),
        storage_class(
            "standard-ssd",
            63 * M,
            "disk.csi.azure.com",
            volumeBindingMode="WaitForFirstConsumer",
            allowVolumeExpansion=True,
        ),
    ]
    assert table("storageclass", azure, now=NOW) == (
        "NAME           PROVISIONER          RECLAIMPOLICY   VOLUMEBINDINGMODE      "
        "ALLOWVOLUMEEXPANSION   AGE\n"
        "fast-ssd       disk.csi.azure.com   Retain          WaitForFirstConsumer   true"
        "                   63m\n"
        "standard-ssd   disk.csi.azure.com   Delete          WaitForFirstConsumer   true"
        "                   63m\n"
    )


def test_config_maps_count_data_and_binary_data() -> None:
    maps = [
        make(ConfigMap, {"metadata": meta("kube-root-ca.crt", 10 * D), "data": {"ca.crt": "x"}}),
        make(
            ConfigMap,
            {
                "metadata": meta("app-config", 90),
                "data": {"a": "1", "b": "2"},
                "binaryData": {"c": "AA=="},
            },
        ),
        make(ConfigMap, {"metadata": meta("empty", 5)}),
    ]
    assert table("cm", maps, now=NOW) == (
        "NAME               DATA   AGE\n"
        "kube-root-ca.crt   1      10d\n"
        "app-config         3      90s\n"
        "empty              0      5s\n"
    )


def node(name: str, role: str, ready: str | None, unschedulable: bool = False) -> Node:
    conditions = [{"type": "Ready", "status": ready}] if ready else []
    info = {
        "machineID": "m",
        "systemUUID": "s",
        "bootID": "b",
        "kernelVersion": "5.15.0-83",
        "osImage": "Ubuntu 22.04.3 LTS",
        "containerRuntimeVersion": "cri-o://1.27.1",
        "kubeletVersion": "v1.27.1",
        "kubeProxyVersion": "v1.27.1",
        "operatingSystem": "linux",
        "architecture": "amd64",
    }
    labels = {f"node-role.kubernetes.io/{role}": ""}
    return make(
        Node,
        {
            "metadata": meta(name, 4 * D + H + 30, "", labels=labels),
            "spec": {"unschedulable": unschedulable},
            "status": {
                "conditions": conditions,
                "nodeInfo": info,
                "addresses": [{"type": "InternalIP", "address": "10.0.0.12"}],
            },
        },
    )


def test_nodes_real() -> None:
    nodes = [
        node("master-node", "control-plane", "True"),
        node("worker-node01", "worker", "True"),
        node("worker-node02", "worker", "False"),
    ]
    assert table("no", nodes, now=NOW) == (
        "NAME            STATUS     ROLES           AGE    VERSION\n"
        "master-node     Ready      control-plane   4d1h   v1.27.1\n"
        "worker-node01   Ready      worker          4d1h   v1.27.1\n"
        "worker-node02   NotReady   worker          4d1h   v1.27.1\n"
    )


def test_node_unknown_cordoned_wide_and_no_namespace_column_with_all_namespaces() -> None:
    lost = node("n3", "worker", None, unschedulable=True)
    assert table("nodes", [lost], now=NOW, wide=True, all_namespaces=True) == (
        "NAME   STATUS                       ROLES    AGE    VERSION   INTERNAL-IP   EXTERNAL-IP"
        "   OS-IMAGE             KERNEL-VERSION   CONTAINER-RUNTIME\n"
        "n3     Unknown,SchedulingDisabled   worker   4d1h   v1.27.1   10.0.0.12     <none>     "
        "   Ubuntu 22.04.3 LTS   5.15.0-83        cri-o://1.27.1\n"
    )


def test_namespaces() -> None:
    old = meta("old", 3 * 365 * D, "", deletionTimestamp=ago(1))
    spaces = [
        make(Namespace, {"metadata": meta("default", 30 * D, ""), "status": {"phase": "Active"}}),
        make(Namespace, {"metadata": old, "status": {"phase": "Terminating"}}),
    ]
    assert table("ns", spaces, now=NOW) == (
        "NAME      STATUS        AGE\ndefault   Active        30d\nold       Terminating   3y\n"
    )


def event(
    name: str,
    seen: float,
    reason: str,
    kind: str,
    obj: str,
    message: str,
    kind_type: str = "Normal",
    **extra: Any,
) -> Event:
    raw = {
        "metadata": meta(name, seen),
        "involvedObject": {"kind": kind, "name": obj, "namespace": "default"},
        "reason": reason,
        "message": message,
        "type": kind_type,
        "firstTimestamp": ago(seen),
        "lastTimestamp": ago(seen),
        **extra,
    }
    return make(Event, raw)


def test_events_real() -> None:
    pod = "nginx-65778599-mq6nw"
    events = [
        event(
            "e1", 10, "Scheduled", "Pod", pod, f"Successfully assigned default/{pod} to kind-worker"
        ),
        event("e2", 10, "Pulling", "Pod", pod, 'Pulling image "nginx:alpine"'),
        event(
            "e3",
            4,
            "Pulled",
            "Pod",
            pod,
            'Successfully pulled image "nginx:alpine" in 5.379974736s',
        ),
        event("e4", 4, "Created", "Pod", pod, "Created container nginx"),
        # Not in the source excerpt; they widen REASON and OBJECT as the real output shows.
        event("e5", 10, "SuccessfulCreate", "ReplicaSet", "nginx-65778599", f"Created pod: {pod}"),
        event(
            "e6",
            10,
            "ScalingReplicaSet",
            "Deployment",
            "nginx",
            "Scaled up replica set nginx-65778599 to 1",
        ),
    ]
    assert table("events", events, now=NOW).splitlines()[:5] == [
        "LAST SEEN   TYPE     REASON              OBJECT                      MESSAGE",
        "10s         Normal   Scheduled           pod/nginx-65778599-mq6nw    "
        "Successfully assigned default/nginx-65778599-mq6nw to kind-worker",
        "10s         Normal   Pulling             pod/nginx-65778599-mq6nw    "
        'Pulling image "nginx:alpine"',
        "4s          Normal   Pulled              pod/nginx-65778599-mq6nw    "
        'Successfully pulled image "nginx:alpine" in 5.379974736s',
        "4s          Normal   Created             pod/nginx-65778599-mq6nw    "
        "Created container nginx",
    ]


def test_event_wide_and_fallbacks() -> None:
    warn = event(
        "web.17a",
        30,
        "BackOff",
        "Pod",
        "web",
        "Back-off restarting  \n",
        kind_type="Warning",
        count=7,
        firstTimestamp=ago(600),
        source={"component": "kubelet", "host": "node-1"},
    )
    involved = {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"}
    warn = make(Event, {**msgspec.to_builtins(warn), "involvedObject": involved})
    bare = make(
        Event,
        {
            "metadata": meta("x.1", 1),
            "involvedObject": {"kind": "Node"},
            "reason": "Starting",
            "type": "Normal",
            "reportingComponent": "kube-proxy",
        },
    )
    assert table("ev", [warn, bare], now=NOW, wide=True) == (
        "LAST SEEN   TYPE      REASON     OBJECT    SUBOBJECT              SOURCE            "
        "MESSAGE               FIRST SEEN   COUNT   NAME\n"
        "30s         Warning   BackOff    pod/web   spec.containers{web}   kubelet, node-1   "
        "Back-off restarting   10m          7       web.17a\n"
        "<unknown>   Normal    Starting   node                             kube-proxy        "
        "                      <unknown>    1       x.1\n"
    )


def test_generic_kind_prints_name_and_age() -> None:
    records = make(DNSRecordSet, {"metadata": meta("web", 65)})
    assert table("dnsrecordsets", [records], now=NOW) == "NAME   AGE\nweb    65s\n"
    assert table("dnsrecordsets", [records], now=NOW, with_kind=True) == (
        "NAME                            AGE\ndnsrecordset.dns.cpemu.io/web   65s\n"
    )


def test_names() -> None:
    spec = {"selector": {"matchLabels": {"a": "b"}}, "template": template(("c", "i"))}
    dep = make(Deployment, {"metadata": meta("myapp-deploy", 1), "spec": spec})
    pod = make(Pod, {"metadata": meta("x", 1), "spec": {"containers": [{"name": "c"}]}})
    sc = make(StorageClass, {"metadata": {"name": "standard"}, "provisioner": "p"})
    unnamed = make(ConfigMap, {})
    assert names([dep, pod, sc, unnamed]) == (
        "deployment.apps/myapp-deploy\npod/x\nstorageclass.storage.k8s.io/standard\n"
        "configmap/<unknown>\n"
    )
    assert names([]) == ""


def test_as_list() -> None:
    cm = make(ConfigMap, {"metadata": meta("a", 1), "data": {"k": "v"}})
    out = as_list([cm], resource_version="42")
    assert out == {
        "apiVersion": "v1",
        "items": [msgspec.to_builtins(cm)],
        "kind": "List",
        "metadata": {"resourceVersion": "42"},
    }
    assert out["items"][0]["kind"] == "ConfigMap"
    assert list(out) == ["apiVersion", "items", "kind", "metadata"]  # kubectl's key order
    assert as_list([], "7")["items"] == []


def test_no_resources() -> None:
    assert no_resources("default") == "No resources found in default namespace."
    assert no_resources("kube-system") == "No resources found in kube-system namespace."
    assert no_resources(None) == "No resources found"
    assert table("pods", [], now=NOW) == ""
