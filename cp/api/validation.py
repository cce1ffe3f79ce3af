"""Create-time validation of API objects, as the apiserver runs it after defaulting.

`validate(obj)` returns upstream's field errors, in upstream's order, with upstream's paths and
messages (``spec.replicas: Invalid value: -1: must be greater than or equal to 0``); wrap them
with `cp.api.errors.Invalid.of` to get the 422 error. It expects a defaulted object
(`cp.api.defaults.apply_defaults`), as upstream does.

The apps kinds are in `cp.api.validation_apps`, pod specs in `cp.api.validation_pod`, names,
metadata and selectors in `cp.api.validation_meta`. This module holds the core kinds, after
``pkg/apis/core/validation/validation.go`` (``ValidatePod``, ``ValidateService``,
``validateServicePort``, ``ValidatePortNumOrName``, ``ValidatePersistentVolumeClaim``,
``ValidateConfigMap``, ``ValidateNamespace``), and the dispatch table.

Not covered: updates (``Validate*Update``: immutable fields, StatefulSet spec changes), status
validation, Service clusterIP/nodePort/loadBalancer details, volume source details, env var
name format, affinity, tolerations, security contexts, and a required ``metadata.namespace``
(checked only when set: the registry fills it in).

Kinds not listed in `validate`'s table come back valid (an empty list).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from cp.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.api.core import ConfigMap, Namespace, PersistentVolumeClaim, Service, ServicePort
from cp.api.core_pod import Pod
from cp.api.errors import FieldError
from cp.api.validation_apps import (
    validate_daemon_set,
    validate_deployment,
    validate_replica_set,
    validate_stateful_set,
)
from cp.api.validation_meta import (
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    port_name_errors,
    port_num_errors,
    required,
    validate_dns1123_label,
    validate_label_selector,
    validate_labels,
    validate_object_meta,
)
from cp.api.validation_pod import parse_quantity, validate_pod_images, validate_pod_spec

__all__ = ["validate"]

_ACCESS_MODES: Final = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_SERVICE_TYPES: Final = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_SESSION_AFFINITIES: Final = ("ClientIP", "None")
_PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
_CONFIG_KEY_FMT: Final = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE: Final = re.compile(_CONFIG_KEY_FMT)


# -- core kinds ------------------------------------------------------------------------------


def _validate_pod(pod: Pod) -> list[FieldError]:
    errors = validate_object_meta(pod.metadata, dns1123_subdomain_errors)
    errors.extend(validate_pod_spec(pod.spec, "spec"))
    errors.extend(validate_pod_images(pod.spec, "spec"))
    return errors


def _service_port(
    port: ServicePort, require_name: bool, names: set[str], path: str
) -> list[FieldError]:
    """``validateServicePort``."""
    errors: list[FieldError] = []
    if require_name and not port.name:
        errors.append(required(f"{path}.name"))
    elif port.name:
        errors.extend(validate_dns1123_label(port.name, f"{path}.name"))
        if port.name in names:
            errors.append(duplicate(f"{path}.name", port.name))
        else:
            names.add(port.name)
    errors.extend(invalid(f"{path}.port", port.port, m) for m in port_num_errors(port.port))
    if not port.protocol:
        errors.append(required(f"{path}.protocol"))
    elif port.protocol not in _PROTOCOLS:
        errors.append(not_supported(f"{path}.protocol", port.protocol, _PROTOCOLS))
    target = port.target_port
    if isinstance(target, str):
        errors.extend(invalid(f"{path}.targetPort", target, m) for m in port_name_errors(target))
    else:
        number = target or 0
        errors.extend(invalid(f"{path}.targetPort", number, m) for m in port_num_errors(number))
    return errors


def _validate_service(service: Service) -> list[FieldError]:
    errors = validate_object_meta(service.metadata, dns1035_label_errors)
    spec = service.spec
    headless = spec.cluster_ip == "None"
    if not spec.ports and not headless and spec.type != "ExternalName":
        errors.append(required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(spec.ports):
        errors.extend(_service_port(port, len(spec.ports) > 1, names, f"spec.ports[{i}]"))
    errors.extend(validate_labels(spec.selector, "spec.selector"))
    if not spec.session_affinity:
        errors.append(required("spec.sessionAffinity"))
    elif spec.session_affinity not in _SESSION_AFFINITIES:
        errors.append(
            not_supported("spec.sessionAffinity", spec.session_affinity, _SESSION_AFFINITIES)
        )
    if not spec.type:
        errors.append(required("spec.type"))
    elif spec.type not in _SERVICE_TYPES:
        errors.append(not_supported("spec.type", spec.type, _SERVICE_TYPES))
    if spec.type == "ClusterIP":
        for i, port in enumerate(spec.ports):
            if port.node_port != 0:
                errors.append(
                    forbidden(
                        f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"
                    )
                )
    return errors


def _validate_pvc(claim: PersistentVolumeClaim) -> list[FieldError]:
    errors = validate_object_meta(claim.metadata, dns1123_subdomain_errors)
    spec = claim.spec
    if not spec.access_modes:
        errors.append(required("spec.accessModes", "at least 1 access mode is required"))
    if spec.selector is not None:
        errors.extend(validate_label_selector(spec.selector, "spec.selector"))
    for mode in spec.access_modes:
        if mode not in _ACCESS_MODES:
            errors.append(not_supported("spec.accessModes", mode, _ACCESS_MODES))
    requests = spec.resources.requests if spec.resources is not None else {}
    at = "spec.resources[storage]"
    if "storage" not in requests:
        errors.append(required(at))
    else:
        quantity = parse_quantity(requests["storage"], at, errors)
        if quantity is not None and quantity.sign() <= 0:
            errors.append(invalid(at, str(quantity), "must be greater than zero"))
    if spec.storage_class_name:
        errors.extend(
            invalid("spec.storageClassName", spec.storage_class_name, msg)
            for msg in dns1123_subdomain_errors(spec.storage_class_name)
        )
    if spec.volume_mode is not None and spec.volume_mode not in ("Block", "Filesystem"):
        errors.append(not_supported("spec.volumeMode", spec.volume_mode, ["Block", "Filesystem"]))
    return errors


def _config_key_errors(key: str) -> list[str]:
    """``IsConfigMapKey``."""
    errors = []
    if len(key) > 253:
        errors.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.fullmatch(key):
        errors.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
            f"regex used for validation is '{_CONFIG_KEY_FMT}')"
        )
    if key == ".":
        errors.append("must not be '.'")
    elif key == "..":
        errors.append("must not be '..'")
    elif key.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def _config_keys_fast_valid(keys: Iterable[str]) -> bool:
    """True when every key is plainly valid (`_config_key_errors` would find nothing)."""
    key_ok = _CONFIG_KEY_RE.fullmatch
    return all(len(key) <= 253 and key_ok(key) and key[0] != "." for key in keys)


def _validate_config_map(config_map: ConfigMap) -> list[FieldError]:
    errors = validate_object_meta(config_map.metadata, dns1123_subdomain_errors)
    if not config_map.binary_data and _config_keys_fast_valid(config_map.data):
        return errors
    for key in sorted(config_map.data):
        errors.extend(invalid(f"data[{key}]", key, msg) for msg in _config_key_errors(key))
    for key in sorted(config_map.binary_data):
        errors.extend(invalid(f"binaryData[{key}]", key, msg) for msg in _config_key_errors(key))
        if key in config_map.data:
            errors.append(duplicate(f"data[{key}]", key))
    return errors


def _validate_namespace(namespace: Namespace) -> list[FieldError]:
    return validate_object_meta(namespace.metadata, dns1123_label_errors)


_VALIDATORS: Final[dict[type[Any], Callable[[Any], list[FieldError]]]] = {
    ConfigMap: _validate_config_map,
    DaemonSet: validate_daemon_set,
    Deployment: validate_deployment,
    Namespace: _validate_namespace,
    PersistentVolumeClaim: _validate_pvc,
    Pod: _validate_pod,
    ReplicaSet: validate_replica_set,
    Service: _validate_service,
    StatefulSet: validate_stateful_set,
}


def validate(obj: object) -> list[FieldError]:
    """Upstream's create validation of a defaulted object: every field error, in order."""
    validator = _VALIDATORS.get(type(obj))
    return [] if validator is None else validator(obj)
