"""Validation of pod templates and pod specs: containers, ports, resources, probes, volumes.

Follows upstream ``pkg/apis/core/validation/validation.go``: ``ValidatePodTemplateSpec``,
``ValidatePodSpec``, ``ValidateVolumes``, ``validateContainers``, ``validateInitContainers``,
``validateContainerCommon``, ``validateContainerPorts``, ``ValidateEnv``,
``ValidateVolumeMounts``, ``validatePullPolicy``, ``ValidateResourceRequirements``,
``validateProbe``/``validateLivenessProbe``, ``validateRestartPolicy``, ``validateDNSPolicy``.
It validates a *defaulted* object, as the apiserver does (defaults run first).

Emulator choice: quantities are strings in cpemu, so a quantity that does not parse is reported
here as ``Invalid`` with the `QuantityError` text (upstream fails earlier, while decoding).
"""

from __future__ import annotations

from typing import Final

from cp.api.core_pod import (
    Container,
    ContainerPort,
    PodSpec,
    PodTemplateSpec,
    Probe,
    ResourceRequirements,
    Volume,
    VolumeMount,
)
from cp.api.errors import FieldError
from cp.api.errors_values import QuantityError
from cp.api.quantity import Quantity
from cp.api.validation_meta import (
    NEGATIVE_MSG,
    dns1123_label_errors,
    duplicate,
    invalid,
    not_found,
    not_supported,
    port_name_errors,
    port_num_errors,
    required,
    validate_annotations,
    validate_dns1123_label,
    validate_labels,
    validate_nonnegative,
)

__all__ = [
    "parse_quantity",
    "validate_pod_images",
    "validate_pod_spec",
    "validate_pod_template_spec",
    "validate_resource_requirements",
]

_PROTOCOLS: Final = ("SCTP", "TCP", "UDP")  # sets.List(supportedPortProtocols)
_PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")
_RESTART_POLICIES: Final = ("Always", "OnFailure", "Never")
_DNS_POLICIES: Final = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_TERMINATION_MESSAGE_POLICIES: Final = ("File", "FallbackToLogsOnError")
_STANDARD_CONTAINER_RESOURCES: Final = frozenset({"cpu", "memory", "ephemeral-storage"})


def parse_quantity(value: str, path: str, errors: list[FieldError]) -> Quantity | None:
    """The parsed quantity, or None after appending an Invalid error with the parse error."""
    try:
        return Quantity.parse(value)
    except QuantityError as exc:
        errors.append(invalid(path, value, str(exc)))
        return None


def _resource_name_errors(name: str, path: str) -> list[FieldError]:
    """``validateContainerResourceName`` (simplified: standard, hugepages-* or prefixed)."""
    if name in _STANDARD_CONTAINER_RESOURCES or name.startswith("hugepages-") or "/" in name:
        return []
    return [invalid(path, name, "must be a standard resource for containers")]


def validate_resource_requirements(
    resources: ResourceRequirements | None, path: str
) -> list[FieldError]:
    """``ValidateResourceRequirements``: names, non-negative quantities, requests <= limits."""
    errors: list[FieldError] = []
    if resources is None:
        return errors
    limits: dict[str, Quantity] = {}
    for name in sorted(resources.limits):
        at = f"{path}.limits[{name}]"
        errors.extend(_resource_name_errors(name, at))
        quantity = parse_quantity(resources.limits[name], at, errors)
        if quantity is not None:
            if quantity.sign() < 0:
                errors.append(invalid(at, str(quantity), NEGATIVE_MSG))
            limits[name] = quantity
    for name in sorted(resources.requests):
        at = f"{path}.requests[{name}]"
        errors.extend(_resource_name_errors(name, at))
        quantity = parse_quantity(resources.requests[name], at, errors)
        if quantity is None:
            continue
        if quantity.sign() < 0:
            errors.append(invalid(at, str(quantity), NEGATIVE_MSG))
        limit = limits.get(name)
        if limit is not None and quantity > limit:
            errors.append(
                invalid(
                    f"{path}.requests",
                    str(quantity),
                    f"must be less than or equal to {name} limit of {limit}",
                )
            )
    return errors


def _validate_ports(ports: tuple[ContainerPort, ...], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        at = f"{path}[{i}]"
        if port.name:
            if msgs := port_name_errors(port.name):
                errors.extend(invalid(f"{at}.name", port.name, msg) for msg in msgs)
            elif port.name in names:
                errors.append(duplicate(f"{at}.name", port.name))
            else:
                names.add(port.name)
        if port.container_port == 0:
            errors.append(required(f"{at}.containerPort"))
        else:
            errors.extend(
                invalid(f"{at}.containerPort", port.container_port, msg)
                for msg in port_num_errors(port.container_port)
            )
        if port.host_port != 0:
            errors.extend(
                invalid(f"{at}.hostPort", port.host_port, msg)
                for msg in port_num_errors(port.host_port)
            )
        if not port.protocol:
            errors.append(required(f"{at}.protocol"))
        elif port.protocol not in _PROTOCOLS:
            errors.append(not_supported(f"{at}.protocol", port.protocol, _PROTOCOLS))
    return errors


def _validate_mounts(
    mounts: tuple[VolumeMount, ...], volumes: frozenset[str], path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, mount in enumerate(mounts):
        at = f"{path}[{i}]"
        if not mount.name:
            errors.append(required(f"{at}.name"))
        if mount.name not in volumes:
            errors.append(not_found(f"{at}.name", mount.name))
        if not mount.mount_path:
            errors.append(required(f"{at}.mountPath"))
        if mount.mount_path in seen:
            errors.append(invalid(f"{at}.mountPath", mount.mount_path, "must be unique"))
        seen.add(mount.mount_path)
    return errors


def _validate_probe(probe: Probe | None, path: str, *, success_one: bool) -> list[FieldError]:
    if probe is None:
        return []
    errors: list[FieldError] = []
    if probe.exec is None and probe.http_get is None and probe.tcp_socket is None:
        errors.append(required(path, "must specify a handler type"))
    for name, value in (
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ):
        errors.extend(validate_nonnegative(value, f"{path}.{name}"))
    grace = probe.termination_grace_period_seconds
    if grace is not None and grace <= 0:
        errors.append(
            invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
        )
    if success_one and probe.success_threshold != 1:
        errors.append(invalid(f"{path}.successThreshold", probe.success_threshold, "must be 1"))
    return errors


def _validate_container_common(
    container: Container, volumes: frozenset[str], path: str
) -> list[FieldError]:
    """``validateContainerCommon``: name, image, terminationMessagePolicy, ports, env, mounts,
    pull policy, resources (the image whitespace check is pod-only, see `validate_pod_images`)."""
    errors: list[FieldError] = []
    if not container.name:
        errors.append(required(f"{path}.name"))
    else:
        errors.extend(validate_dns1123_label(container.name, f"{path}.name"))
    if not container.image:
        errors.append(required(f"{path}.image"))
    policy = container.termination_message_policy
    if not policy:
        errors.append(required(f"{path}.terminationMessagePolicy"))
    elif policy not in _TERMINATION_MESSAGE_POLICIES:
        errors.append(
            not_supported(f"{path}.terminationMessagePolicy", policy, _TERMINATION_MESSAGE_POLICIES)
        )
    errors.extend(_validate_ports(container.ports, f"{path}.ports"))
    for i, var in enumerate(container.env):
        if not var.name:
            errors.append(required(f"{path}.env[{i}].name"))
    errors.extend(_validate_mounts(container.volume_mounts, volumes, f"{path}.volumeMounts"))
    pull = container.image_pull_policy
    if not pull:
        errors.append(required(f"{path}.imagePullPolicy"))
    elif pull not in _PULL_POLICIES:
        errors.append(not_supported(f"{path}.imagePullPolicy", pull, _PULL_POLICIES))
    errors.extend(validate_resource_requirements(container.resources, f"{path}.resources"))
    return errors


def _validate_containers(
    containers: tuple[Container, ...], volumes: frozenset[str], path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not containers:
        errors.append(required(path))
    names: set[str] = set()
    for i, container in enumerate(containers):
        at = f"{path}[{i}]"
        errors.extend(_validate_container_common(container, volumes, at))
        if container.name in names:
            errors.append(duplicate(f"{at}.name", container.name))
        else:
            names.add(container.name)
        errors.extend(
            _validate_probe(container.liveness_probe, f"{at}.livenessProbe", success_one=True)
        )
        errors.extend(
            _validate_probe(container.readiness_probe, f"{at}.readinessProbe", success_one=False)
        )
        errors.extend(
            _validate_probe(container.startup_probe, f"{at}.startupProbe", success_one=True)
        )
    return errors


def _validate_init_containers(
    init: tuple[Container, ...],
    containers: tuple[Container, ...],
    volumes: frozenset[str],
    path: str,
) -> list[FieldError]:
    errors: list[FieldError] = []
    names = {container.name for container in containers}
    for i, container in enumerate(init):
        at = f"{path}[{i}]"
        errors.extend(_validate_container_common(container, volumes, at))
        if container.name in names:
            errors.append(duplicate(f"{at}.name", container.name))
        else:
            names.add(container.name)
    return errors


def _validate_volumes(volumes: tuple[Volume, ...], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, volume in enumerate(volumes):
        at = f"{path}[{i}].name"
        if not volume.name:
            errors.append(required(at))
        else:
            errors.extend(invalid(at, volume.name, m) for m in dns1123_label_errors(volume.name))
        if volume.name in names:
            errors.append(duplicate(at, volume.name))
        names.add(volume.name)
    return errors


def validate_pod_spec(spec: PodSpec, path: str) -> list[FieldError]:
    """``ValidatePodSpec`` for the fields cpemu models."""
    volumes = frozenset(volume.name for volume in spec.volumes)
    errors = _validate_volumes(spec.volumes, f"{path}.volumes")
    errors.extend(_validate_containers(spec.containers, volumes, f"{path}.containers"))
    errors.extend(
        _validate_init_containers(
            spec.init_containers, spec.containers, volumes, f"{path}.initContainers"
        )
    )
    if not spec.restart_policy:
        errors.append(required(f"{path}.restartPolicy"))
    elif spec.restart_policy not in _RESTART_POLICIES:
        errors.append(
            not_supported(f"{path}.restartPolicy", spec.restart_policy, _RESTART_POLICIES)
        )
    if not spec.dns_policy:
        errors.append(required(f"{path}.dnsPolicy"))
    elif spec.dns_policy not in _DNS_POLICIES:
        errors.append(not_supported(f"{path}.dnsPolicy", spec.dns_policy, _DNS_POLICIES))
    errors.extend(validate_labels(spec.node_selector, f"{path}.nodeSelector"))
    deadline = spec.active_deadline_seconds
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        errors.append(
            invalid(
                f"{path}.activeDeadlineSeconds",
                deadline,
                f"must be between 1 and {2**31 - 1}, inclusive",
            )
        )
    if spec.hostname:
        errors.extend(validate_dns1123_label(spec.hostname, f"{path}.hostname"))
    if spec.subdomain:
        errors.extend(validate_dns1123_label(spec.subdomain, f"{path}.subdomain"))
    grace = spec.termination_grace_period_seconds
    if grace is not None:
        errors.extend(validate_nonnegative(grace, f"{path}.terminationGracePeriodSeconds"))
    return errors


def validate_pod_images(spec: PodSpec, path: str) -> list[FieldError]:
    """``validateContainersOnlyForPod``: no leading or trailing whitespace in images (Pods only;
    pod templates tolerate it)."""
    errors: list[FieldError] = []
    for field, containers in (
        ("containers", spec.containers),
        ("initContainers", spec.init_containers),
    ):
        for i, container in enumerate(containers):
            if container.image != container.image.strip():
                errors.append(
                    invalid(
                        f"{path}.{field}[{i}].image",
                        container.image,
                        "must not have leading or trailing whitespace",
                    )
                )
    return errors


def validate_pod_template_spec(template: PodTemplateSpec, path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec``: template labels and annotations, then the pod spec."""
    meta = template.metadata
    errors = validate_labels(meta.labels, f"{path}.metadata.labels")
    errors.extend(validate_annotations(meta.annotations, f"{path}.metadata.annotations"))
    errors.extend(validate_pod_spec(template.spec, f"{path}.spec"))
    return errors
