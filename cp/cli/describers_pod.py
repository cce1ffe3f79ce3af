"""`kubectl describe pod` and the pod template every workload describer embeds.

Follows kubectl 1.32 `staging/src/k8s.io/kubectl/pkg/describe/describe.go`: `describePod`,
`DescribePodTemplate`, `describeContainers` (and its `describeContainer*` helpers),
`describeStatus`, `DescribeProbe`, `describeVolumes` and the `print*VolumeSource` functions,
`printPodTolerationsMultiline`; the QoS class as `k8s.io/kubectl/pkg/util/qos` computes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from cp.api.core_pod import (
    Container,
    ContainerState,
    ContainerStatus,
    EnvVar,
    Pod,
    PodTemplateSpec,
    Probe,
    Toleration,
    Volume,
)
from cp.api.quantity import Quantity, QuantityError
from cp.cli.describers import (
    PrefixWriter,
    Related,
    annotations_multiline,
    controlled_by,
    describe_events,
    go_list,
    labels_multiline,
    rfc1123z,
    since,
)
from cp.cli.printers_common import quantity

__all__ = ["describe_pod", "describe_pod_template", "describe_volumes", "pod_qos"]

_QOS_RESOURCES: Final = ("cpu", "memory")


# -- QoS --------------------------------------------------------------------------------------


def _sum(into: dict[str, Quantity], resources: Mapping[str, str]) -> set[str]:
    found = set()
    for name, text in resources.items():
        if name not in _QOS_RESOURCES:
            continue
        try:
            value = Quantity.parse(text)
        except QuantityError:
            continue
        if value.sign() > 0:
            found.add(name)
            into[name] = into[name] + value if name in into else value
    return found


def pod_qos(pod: Pod) -> str:
    """`qos.GetPodQOS`: `status.qosClass`, else computed as `ComputePodQOS` does: BestEffort
    without cpu/memory requests or limits, Guaranteed when every container limits both and
    requests equal limits, Burstable otherwise."""
    if pod.status is not None and pod.status.qos_class:
        return pod.status.qos_class
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    for container in (*pod.spec.containers, *pod.spec.init_containers):
        resources = container.resources
        _sum(requests, resources.requests if resources else {})
        found = _sum(limits, resources.limits if resources else {})
        if not {"cpu", "memory"} <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    equal = all(name in limits and limits[name] == requests[name] for name in requests)
    if guaranteed and equal and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# -- containers -------------------------------------------------------------------------------


def _ports(container: Container, *, host: bool) -> str:
    """`describeContainerPorts` / `describeContainerHostPorts`: `8080/TCP (http), ...`."""
    parts = []
    for port in container.ports:
        text = f"{port.host_port if host else port.container_port}/{port.protocol}"
        parts.append(f"{text} ({port.name})" if port.name else text)
    return ", ".join(parts)


def _basic_info(
    w: PrefixWriter, container: Container, status: ContainerStatus | None, space: str
) -> None:
    w.write(1, f"{' ' if space else ''}{container.name}:\n")
    if status is not None:
        w.write(2, f"Container ID:\t{status.container_id}\n")
    w.write(2, f"Image:\t{container.image}\n")
    if status is not None:
        w.write(2, f"Image ID:\t{status.image_id}\n")
    for host, one, several in ((False, "Port", "Ports"), (True, "Host Port", "Host Ports")):
        text = _ports(container, host=host)
        if "," in text:
            w.write(2, f"{several}:\t{text}\n")
        else:
            w.write(2, f"{one}:\t{text or '<none>'}\n")


def _command(w: PrefixWriter, container: Container) -> None:
    for title, words in (("Command", container.command), ("Args", container.args)):
        if words:
            w.write(2, f"{title}:\n")
            for word in words:
                for part in word.split("\n"):
                    w.write(3, f"{part}\n")


def _state(w: PrefixWriter, title: str, state: ContainerState | None) -> None:
    """`describeStatus`."""
    if state is not None and state.running is not None:
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{rfc1123z(state.running.started_at)}\n")
    elif state is not None and state.waiting is not None:
        w.write(2, f"{title}:\tWaiting\n")
        if state.waiting.reason:
            w.write(3, f"Reason:\t{state.waiting.reason}\n")
    elif state is not None and state.terminated is not None:
        done = state.terminated
        w.write(2, f"{title}:\tTerminated\n")
        if done.reason:
            w.write(3, f"Reason:\t{done.reason}\n")
        if done.message:
            w.write(3, f"Message:\t{done.message}\n")
        w.write(3, f"Exit Code:\t{done.exit_code}\n")
        if done.signal > 0:
            w.write(3, f"Signal:\t{done.signal}\n")
        w.write(3, f"Started:\t{rfc1123z(done.started_at)}\n")
        w.write(3, f"Finished:\t{rfc1123z(done.finished_at)}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")


def _resources(w: PrefixWriter, container: Container, level: int) -> None:
    """`describeResources`: Limits, then Requests, names sorted."""
    resources = container.resources
    if resources is None:
        return
    for title, values in (("Limits", resources.limits), ("Requests", resources.requests)):
        if values:
            w.write(level, f"{title}:\n")
        for name in sorted(values):
            w.write(level + 1, f"{name}:\t{quantity(values[name])}\n")


def describe_probe(probe: Probe) -> str:
    """`DescribeProbe`: `http-get http://:8080/ready delay=0s timeout=1s period=10s ...`."""
    attrs = (
        f"delay={probe.initial_delay_seconds}s timeout={probe.timeout_seconds}s "
        f"period={probe.period_seconds}s #success={probe.success_threshold} "
        f"#failure={probe.failure_threshold}"
    )
    if probe.exec is not None:
        return f"exec {go_list(probe.exec.command)} {attrs}"
    if probe.http_get is not None:
        get = probe.http_get
        port = str(get.port)
        host = get.host
        if port:
            host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        path = get.path
        if path and not path.startswith("/"):
            path = "/" + path
        return f"http-get {get.scheme.lower()}://{host}{path} {attrs}"
    if probe.tcp_socket is not None:
        return f"tcp-socket {probe.tcp_socket.host}:{probe.tcp_socket.port} {attrs}"
    return f"unknown {attrs}"


def _probes(w: PrefixWriter, container: Container) -> None:
    for title, probe in (
        ("Liveness", container.liveness_probe),
        ("Readiness", container.readiness_probe),
        ("Startup", container.startup_probe),
    ):
        if probe is not None:
            w.write(2, f"{title}:\t{describe_probe(probe)}\n")


def _field_value(pod: Pod | None, path: str) -> str:
    """`EnvValueRetriever`: the downward-API fields a pod can expose (empty for a template)."""
    if pod is None:
        return ""
    meta, status = pod.metadata, pod.status
    simple = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace,
        "metadata.uid": meta.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.hostIP": status.host_ip if status else "",
        "status.podIP": status.pod_ip if status else "",
    }
    if path in simple:
        return simple[path]
    for prefix, values in (
        ("metadata.labels", meta.labels),
        ("metadata.annotations", meta.annotations),
    ):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return values.get(path[len(prefix) + 2 : -2], "")
    return ""


def _env(w: PrefixWriter, container: Container, pod: Pod | None) -> None:
    """`describeContainerEnvFrom` (when set) and `describeContainerEnvVars`."""
    if container.env_from:
        w.write(2, "Environment Variables from:\n")
        for source in container.env_from:
            kind, name = "", ""
            if source.config_map_ref is not None:
                kind, name = "ConfigMap", source.config_map_ref.name
            elif source.secret_ref is not None:
                kind, name = "Secret", source.secret_ref.name
            if source.prefix:
                w.write(3, f"{name}\t{kind} with prefix '{source.prefix}'\tOptional: false\n")
            else:
                w.write(3, f"{name}\t{kind}\tOptional: false\n")
    w.write(2, "Environment:\t<none>\n" if not container.env else "Environment:\n")
    for var in container.env:
        _env_var(w, var, pod)


def _env_var(w: PrefixWriter, var: EnvVar, pod: Pod | None) -> None:
    source = var.value_from
    if source is None:
        for index, part in enumerate(var.value.split("\n")):
            w.write(3, f"{var.name}:\t{part}\n" if index == 0 else f"\t{part}\n")
        return
    if source.field_ref is not None:
        ref = source.field_ref
        value = _field_value(pod, ref.field_path)
        w.write(3, f"{var.name}:\t{value} ({ref.api_version or 'v1'}:{ref.field_path})\n")
    elif source.secret_key_ref is not None:
        key = source.secret_key_ref
        optional = "true" if key.optional else "false"
        w.write(
            3,
            f"{var.name}:\t<set to the key '{key.key}' in secret '{key.name}'>\t"
            f"Optional: {optional}\n",
        )
    elif source.config_map_key_ref is not None:
        key_ref = source.config_map_key_ref
        optional = "true" if key_ref.optional else "false"
        w.write(
            3,
            f"{var.name}:\t<set to the key '{key_ref.key}' of config map '{key_ref.name}'>\t"
            f"Optional: {optional}\n",
        )


def _mounts(w: PrefixWriter, container: Container) -> None:
    """`describeContainerVolumes`: `/data from data (rw)`, sorted by mount path."""
    w.write(2, "Mounts:\t<none>\n" if not container.volume_mounts else "Mounts:\n")
    for mount in sorted(container.volume_mounts, key=lambda m: m.mount_path):
        flags = ["ro" if mount.read_only else "rw"]
        if mount.sub_path:
            flags.append(f'path="{mount.sub_path}"')
        w.write(3, f"{mount.mount_path} from {mount.name} ({','.join(flags)})\n")


def describe_containers(
    w: PrefixWriter,
    label: str,
    containers: Sequence[Container],
    statuses: Sequence[ContainerStatus],
    *,
    pod: Pod | None,
    space: str,
) -> None:
    """`describeContainers`: a pod's (with statuses, `space` "") or a template's ("  ")."""
    by_name = {status.name: status for status in statuses}
    w.write(0, f"{space}{label}:{'' if containers else ' <none>'}\n")
    for container in containers:
        status = by_name.get(container.name)
        _basic_info(w, container, status, space)
        _command(w, container)
        if status is not None:
            _state(w, "State", status.state)
            if status.last_state is not None and status.last_state.terminated is not None:
                _state(w, "Last State", status.last_state)
            w.write(2, f"Ready:\t{'True' if status.ready else 'False'}\n")
            w.write(2, f"Restart Count:\t{status.restart_count}\n")
        _resources(w, container, 2)
        _probes(w, container)
        _env(w, container, pod)
        _mounts(w, container)


# -- volumes ----------------------------------------------------------------------------------


def _size_limit(limit: str | None) -> str:
    """An emptyDir's `sizeLimit` when positive, else `<unset>`."""
    try:
        positive = limit is not None and Quantity.parse(limit).sign() > 0
    except QuantityError:
        positive = False
    return quantity(limit) if positive else "<unset>"


def _volume_source(w: PrefixWriter, volume: Volume) -> None:
    if volume.host_path is not None:
        w.write(
            2,
            "Type:\tHostPath (bare host directory volume)\n"
            f"    Path:\t{volume.host_path.path}\n"
            f"    HostPathType:\t{volume.host_path.type or '<none>'}\n",
        )
    elif volume.empty_dir is not None:
        size = _size_limit(volume.empty_dir.size_limit)
        w.write(
            2,
            "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
            f"    Medium:\t{volume.empty_dir.medium}\n"
            f"    SizeLimit:\t{size}\n",
        )
    elif volume.secret is not None:
        optional = "true" if volume.secret.optional else "false"
        w.write(
            2,
            "Type:\tSecret (a volume populated by a Secret)\n"
            f"    SecretName:\t{volume.secret.secret_name}\n"
            f"    Optional:\t{optional}\n",
        )
    elif volume.config_map is not None:
        optional = "true" if volume.config_map.optional else "false"
        w.write(
            2,
            "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
            f"    Name:\t{volume.config_map.name}\n"
            f"    Optional:\t{optional}\n",
        )
    elif volume.persistent_volume_claim is not None:
        claim = volume.persistent_volume_claim
        w.write(
            2,
            "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same "
            "namespace)\n"
            f"    ClaimName:\t{claim.claim_name}\n"
            f"    ReadOnly:\t{'true' if claim.read_only else 'false'}\n",
        )
    else:
        w.write(1, "<unknown>\n")


def describe_volumes(w: PrefixWriter, volumes: Sequence[Volume], space: str) -> None:
    """`describeVolumes`."""
    if not volumes:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    for volume in volumes:
        w.write(1, f"{' ' if space else ''}{volume.name}:\n")
        _volume_source(w, volume)


def _tolerations(w: PrefixWriter, title: str, tolerations: Sequence[Toleration]) -> None:
    """`printTolerationsMultilineWithIndent`: `key=value:Effect op=Exists for 300s`."""
    w.write(0, f"{title}:\t")
    if not tolerations:
        w.line("<none>")
        return
    for index, toleration in enumerate(sorted(tolerations, key=lambda t: t.key)):
        if index:
            w.write(0, "\t")
        text = toleration.key
        if toleration.value:
            text += f"={toleration.value}"
        if toleration.effect:
            text += f":{toleration.effect}"
        if toleration.operator == "Exists" and not toleration.value:
            text += " op=Exists" if toleration.key or toleration.effect else "op=Exists"
        if toleration.toleration_seconds is not None:
            text += f" for {toleration.toleration_seconds}s"
        w.write(0, text + "\n")


def describe_pod_template(w: PrefixWriter, template: PodTemplateSpec) -> None:
    """`DescribePodTemplate`."""
    spec = template.spec
    w.write(0, "Pod Template:\n")
    labels_multiline(w, "  Labels", template.metadata.labels)
    if template.metadata.annotations:
        annotations_multiline(w, "  Annotations", template.metadata.annotations)
    if spec.service_account_name:
        w.write(1, f"Service Account:\t{spec.service_account_name}\n")
    if spec.init_containers:
        describe_containers(w, "Init Containers", spec.init_containers, (), pod=None, space="  ")
    describe_containers(w, "Containers", spec.containers, (), pod=None, space="  ")
    describe_volumes(w, spec.volumes, "  ")
    if spec.priority_class_name:
        w.write(1, f"Priority Class Name:\t{spec.priority_class_name}\n")
    labels_multiline(w, "  Node-Selectors", spec.node_selector)
    _tolerations(w, "  Tolerations", spec.tolerations)


# -- Pod --------------------------------------------------------------------------------------


def describe_pod(pod: Pod, related: Related) -> str:
    """`describePod`."""
    meta, spec = pod.metadata, pod.spec
    status = pod.status
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    if spec.priority is not None:
        w.write(0, f"Priority:\t{spec.priority}\n")
    if spec.priority_class_name:
        w.write(0, f"Priority Class Name:\t{spec.priority_class_name}\n")
    if spec.service_account_name:
        w.write(0, f"Service Account:\t{spec.service_account_name}\n")
    host_ip = status.host_ip if status else ""
    w.write(0, f"Node:\t{spec.node_name}/{host_ip}\n" if spec.node_name else "Node:\t<none>\n")
    if status is not None and status.start_time:
        w.write(0, f"Start Time:\t{rfc1123z(status.start_time)}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    phase = status.phase if status else ""
    if meta.deletion_timestamp and phase not in ("Failed", "Succeeded"):
        w.write(0, f"Status:\tTerminating (lasts {since(meta.deletion_timestamp, related.now)})\n")
        w.write(0, f"Termination Grace Period:\t{meta.deletion_grace_period_seconds or 0}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    if status is not None and status.reason:
        w.write(0, f"Reason:\t{status.reason}\n")
    if status is not None and status.message:
        w.write(0, f"Message:\t{status.message}\n")
    w.write(0, f"IP:\t{status.pod_ip if status else ''}\n")
    pod_ips = status.pod_ips if status else ()
    if not pod_ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in pod_ips:
            w.write(1, f"IP:\t{ip.ip}\n")
    controlled_by(w, meta)
    if status is not None and status.nominated_node_name:
        w.write(0, f"NominatedNodeName:\t{status.nominated_node_name}\n")
    if spec.init_containers:
        init_statuses = status.init_container_statuses if status else ()
        describe_containers(
            w, "Init Containers", spec.init_containers, init_statuses, pod=pod, space=""
        )
    statuses = status.container_statuses if status else ()
    describe_containers(w, "Containers", spec.containers, statuses, pod=pod, space="")
    conditions = status.conditions if status else ()
    if spec.readiness_gates:
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in spec.readiness_gates:
            state = next((c.status for c in conditions if c.type == gate.condition_type), "<none>")
            w.write(1, f"{gate.condition_type} \t{state} \n")
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for condition in conditions:
            w.write(1, f"{condition.type} \t{condition.status} \n")
    describe_volumes(w, spec.volumes, "")
    w.write(0, f"QoS Class:\t{pod_qos(pod)}\n")
    labels_multiline(w, "Node-Selectors", spec.node_selector)
    _tolerations(w, "Tolerations", spec.tolerations)
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()
