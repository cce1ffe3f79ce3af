"""Create-time validation of the ``apps/v1`` kinds: Deployment, ReplicaSet, StatefulSet,
DaemonSet (upstream ``pkg/apis/apps/validation/validation.go``).

``ValidateDeployment``/``ValidateDeploymentSpec``, ``ValidateDeploymentStrategy``,
``ValidateRollingUpdateDeployment``, ``ValidatePositiveIntOrPercent``,
``IsNotMoreThan100Percent``, ``ValidateReplicaSet``, ``ValidatePodTemplateSpecForReplicaSet``,
``ValidateStatefulSet``/``ValidateStatefulSetSpec`` (whose template check covers labels and
annotations only, as upstream's), ``ValidateDaemonSet``, ``ValidateDaemonSetUpdateStrategy``,
``ValidateRollingUpdateDaemonSet``. The StatefulSet ``serviceName`` check is the one
kubernetes/kubernetes#130233 added (a DNS-1123 label when set). Bad values that upstream prints
with ``%#v`` (strategies, IntOrString, selectors, label maps) are rendered the same way; a non-nil
Go pointer inside such a struct prints as ``0xc000000000`` (upstream prints an address).
"""

from __future__ import annotations

import re
from typing import Final

from cp.api.apps import (
    DaemonSet,
    DaemonSetUpdateStrategy,
    Deployment,
    DeploymentStrategy,
    ReplicaSet,
    RollingUpdateDeployment,
    StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
)
from cp.api.core_pod import PodTemplateSpec
from cp.api.errors import FieldError
from cp.api.errors_values import SelectorError
from cp.api.meta import LabelSelector
from cp.api.selectors import Selector
from cp.api.validation_meta import (
    GoValue,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    forbidden,
    go_intstr,
    go_label_selector,
    go_string_map,
    invalid,
    not_supported,
    percent_errors,
    required,
    validate_annotations,
    validate_dns1123_label,
    validate_label_selector,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
)
from cp.api.validation_pod import validate_pod_template_spec

__all__ = [
    "validate_daemon_set",
    "validate_deployment",
    "validate_replica_set",
    "validate_stateful_set",
]

_SELECTOR_MISMATCH: Final = "`selector` does not match template `labels`"


# -- shared by the apps kinds ------------------------------------------------------------------


def _positive_int_or_percent(value: int | str | None, path: str) -> list[FieldError]:
    """``ValidatePositiveIntOrPercent``."""
    if isinstance(value, str):
        return [invalid(path, go_intstr(value), msg) for msg in percent_errors(value)]
    return validate_nonnegative(value or 0, path)


def _percent_value(value: int | str | None) -> int | None:
    """``getPercentValue``: the NN of a valid ``"NN%"``, else None."""
    if isinstance(value, str) and not percent_errors(value):
        return int(value[:-1])
    return None


def _int_or_percent_value(value: int | str | None) -> int:
    """``getIntOrPercentValue`` (a non-percent string counts as IntValue(): 0 unless digits)."""
    percent = _percent_value(value)
    if percent is not None:
        return percent
    if isinstance(value, str):
        return int(value) if re.fullmatch(r"[+-]?[0-9]+", value) else 0
    return value or 0


def _not_more_than_100_percent(value: int | str | None, path: str) -> list[FieldError]:
    """``IsNotMoreThan100Percent``."""
    percent = _percent_value(value)
    if percent is None or percent <= 100:
        return []
    return [invalid(path, go_intstr(value), "must not be greater than 100%")]


def _selector_checks(selector: LabelSelector, path: str, kind: str) -> list[FieldError]:
    errors = validate_label_selector(selector, path)
    if not selector.match_labels and not selector.match_expressions:
        errors.append(
            invalid(path, go_label_selector(selector), f"empty selector is invalid for {kind}")
        )
    return errors


def _as_selector(selector: LabelSelector) -> Selector | None:
    try:
        return Selector.from_label_selector(selector)
    except SelectorError:
        return None


def _template_matches(selector: Selector, template: PodTemplateSpec, path: str) -> list[FieldError]:
    labels = template.metadata.labels
    if selector.is_empty() or selector.matches(labels):
        return []
    return [invalid(f"{path}.metadata.labels", go_string_map(labels), _SELECTOR_MISMATCH)]


def _template_for_replica_set(
    template: PodTemplateSpec, selector: Selector, path: str
) -> list[FieldError]:
    """``ValidatePodTemplateSpecForReplicaSet`` (also used by Deployments)."""
    errors = _template_matches(selector, template, path)
    errors.extend(validate_pod_template_spec(template, path))
    spec = template.spec
    if spec.restart_policy != "Always":
        errors.append(not_supported(f"{path}.spec.restartPolicy", spec.restart_policy, ["Always"]))
    if spec.active_deadline_seconds is not None:
        errors.append(
            forbidden(
                f"{path}.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )
    return errors


def _replicas(value: int | None) -> int:
    return 1 if value is None else value


# -- Deployment ----------------------------------------------------------------------------


def _rolling_update_deployment(rolling: RollingUpdateDeployment, path: str) -> list[FieldError]:
    unavailable, surge = rolling.max_unavailable, rolling.max_surge
    errors = _positive_int_or_percent(unavailable, f"{path}.maxUnavailable")
    errors.extend(_positive_int_or_percent(surge, f"{path}.maxSurge"))
    if _int_or_percent_value(unavailable) == 0 and _int_or_percent_value(surge) == 0:
        errors.append(
            invalid(
                f"{path}.maxUnavailable",
                go_intstr(unavailable),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    errors.extend(_not_more_than_100_percent(unavailable, f"{path}.maxUnavailable"))
    return errors


def _deployment_strategy(strategy: DeploymentStrategy | None, path: str) -> list[FieldError]:
    strategy = strategy or DeploymentStrategy()
    if strategy.type == "Recreate":
        if strategy.rolling_update is not None:
            return [
                forbidden(
                    f"{path}.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if strategy.type == "RollingUpdate":
        if strategy.rolling_update is None:
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        return _rolling_update_deployment(strategy.rolling_update, f"{path}.rollingUpdate")
    value = GoValue(
        f'apps.DeploymentStrategy{{Type:"{strategy.type}", '
        f"RollingUpdate:(*apps.RollingUpdateDeployment)({_go_pointer(strategy.rolling_update)})}}"
    )
    return [not_supported(path, value, ["Recreate", "RollingUpdate"])]


def _go_pointer(value: object) -> str:
    return "nil" if value is None else "0xc000000000"


def validate_deployment(deployment: Deployment) -> list[FieldError]:
    errors = validate_object_meta(deployment.metadata, dns1123_subdomain_errors)
    spec = deployment.spec
    errors.extend(validate_nonnegative(_replicas(spec.replicas), "spec.replicas"))
    errors.extend(_selector_checks(spec.selector, "spec.selector", "deployment"))
    selector = _as_selector(spec.selector)
    if selector is None:
        errors.append(
            invalid("spec.selector", go_label_selector(spec.selector), "invalid label selector")
        )
    else:
        errors.extend(_template_for_replica_set(spec.template, selector, "spec.template"))
    errors.extend(_deployment_strategy(spec.strategy, "spec.strategy"))
    errors.extend(validate_nonnegative(spec.min_ready_seconds, "spec.minReadySeconds"))
    if spec.revision_history_limit is not None:
        errors.extend(
            validate_nonnegative(spec.revision_history_limit, "spec.revisionHistoryLimit")
        )
    deadline = spec.progress_deadline_seconds
    if deadline is not None:
        errors.extend(validate_nonnegative(deadline, "spec.progressDeadlineSeconds"))
        if deadline <= spec.min_ready_seconds:
            errors.append(
                invalid(
                    "spec.progressDeadlineSeconds",
                    deadline,
                    "must be greater than minReadySeconds",
                )
            )
    return errors


# -- ReplicaSet ----------------------------------------------------------------------------


def validate_replica_set(replica_set: ReplicaSet) -> list[FieldError]:
    errors = validate_object_meta(replica_set.metadata, dns1123_subdomain_errors)
    spec = replica_set.spec
    errors.extend(validate_nonnegative(_replicas(spec.replicas), "spec.replicas"))
    errors.extend(validate_nonnegative(spec.min_ready_seconds, "spec.minReadySeconds"))
    errors.extend(_selector_checks(spec.selector, "spec.selector", "deployment"))
    selector = _as_selector(spec.selector)
    if selector is None:
        errors.append(
            invalid("spec.selector", go_label_selector(spec.selector), "invalid label selector")
        )
    else:
        errors.extend(_template_for_replica_set(spec.template, selector, "spec.template"))
    return errors


# -- StatefulSet ---------------------------------------------------------------------------


def _retention_policy(
    policy: StatefulSetPersistentVolumeClaimRetentionPolicy | None, path: str
) -> list[FieldError]:
    if policy is None:
        return []
    errors = []
    for name, value in (("whenDeleted", policy.when_deleted), ("whenScaled", policy.when_scaled)):
        if value not in ("Retain", "Delete"):
            errors.append(not_supported(f"{path}.{name}", value, ["Retain", "Delete"]))
    return errors


def _stateful_set_strategy(spec: StatefulSetSpec, path: str) -> list[FieldError]:
    strategy = spec.update_strategy
    kind = strategy.type if strategy is not None else ""
    rolling = strategy.rolling_update if strategy is not None else None
    if kind == "":
        return [required(path)]
    if kind == "OnDelete":
        if rolling is not None:
            return [
                invalid(
                    f"{path}.rollingUpdate",
                    GoValue(_go_sts_rolling(rolling.partition, rolling.max_unavailable)),
                    "only allowed for updateStrategy 'RollingUpdate'",
                )
            ]
        return []
    if kind == "RollingUpdate":
        if rolling is None:
            return []
        at = f"{path}.rollingUpdate"
        errors = validate_nonnegative(rolling.partition or 0, f"{at}.partition")
        if rolling.max_unavailable is not None:
            value = rolling.max_unavailable
            errors.extend(_positive_int_or_percent(value, f"{at}.maxUnavailable"))
            if _int_or_percent_value(value) == 0:
                errors.append(invalid(f"{at}.maxUnavailable", go_intstr(value), "cannot be 0"))
            errors.extend(_not_more_than_100_percent(value, f"{at}.maxUnavailable"))
        return errors
    pointer = _go_pointer(rolling)
    shown = GoValue(
        f'apps.StatefulSetUpdateStrategy{{Type:"{kind}", '
        f"RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)({pointer})}}"
    )
    return [invalid(path, shown, "must be 'RollingUpdate' or 'OnDelete'")]


def _go_sts_rolling(partition: int | None, max_unavailable: int | str | None) -> str:
    unavailable = "(*intstr.IntOrString)(nil)" if max_unavailable is None else "(0xc000000000)"
    return (
        f"apps.RollingUpdateStatefulSetStrategy{{Partition:{partition or 0}, "
        f"MaxUnavailable:{unavailable}}}"
    )


def validate_stateful_set(stateful_set: StatefulSet) -> list[FieldError]:
    errors = validate_object_meta(stateful_set.metadata, dns1123_label_errors)
    spec = stateful_set.spec
    policy = spec.pod_management_policy
    if not policy:
        errors.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        errors.append(
            invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
        )
    errors.extend(_stateful_set_strategy(spec, "spec.updateStrategy"))
    errors.extend(
        _retention_policy(
            spec.persistent_volume_claim_retention_policy,
            "spec.persistentVolumeClaimRetentionPolicy",
        )
    )
    if spec.revision_history_limit is not None:
        errors.extend(
            validate_nonnegative(spec.revision_history_limit, "spec.revisionHistoryLimit")
        )
    errors.extend(validate_nonnegative(_replicas(spec.replicas), "spec.replicas"))
    errors.extend(validate_nonnegative(spec.min_ready_seconds, "spec.minReadySeconds"))
    if spec.ordinals is not None:
        errors.extend(validate_nonnegative(spec.ordinals.start, "spec.ordinals.start"))
    if spec.service_name:
        errors.extend(validate_dns1123_label(spec.service_name, "spec.serviceName"))
    errors.extend(_selector_checks(spec.selector, "spec.selector", "statefulset"))
    selector = _as_selector(spec.selector)
    template = spec.template
    if selector is None:
        errors.append(invalid("spec.selector", go_label_selector(spec.selector), ""))
    else:
        # ValidatePodTemplateSpecForStatefulSet: labels and annotations only, not the pod spec.
        errors.extend(_template_matches(selector, template, "spec.template"))
        errors.extend(validate_labels(template.metadata.labels, "spec.template.labels"))
        errors.extend(
            validate_annotations(template.metadata.annotations, "spec.template.annotations")
        )
    restart = template.spec.restart_policy
    if restart != "Always":
        errors.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if template.spec.active_deadline_seconds is not None:
        errors.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in StatefulSet is not Supported",
            )
        )
    return errors


# -- DaemonSet -----------------------------------------------------------------------------


def _daemon_set_strategy(strategy: DaemonSetUpdateStrategy | None, path: str) -> list[FieldError]:
    strategy = strategy or DaemonSetUpdateStrategy()
    if strategy.type == "OnDelete":
        return []
    if strategy.type == "RollingUpdate":
        rolling = strategy.rolling_update
        if rolling is None:
            return [required(f"{path}.rollingUpdate")]
        at = f"{path}.rollingUpdate"
        unavailable, surge = rolling.max_unavailable, rolling.max_surge
        errors = _positive_int_or_percent(unavailable, f"{at}.maxUnavailable")
        errors.extend(_positive_int_or_percent(surge, f"{at}.maxSurge"))
        errors.extend(_not_more_than_100_percent(unavailable, f"{at}.maxUnavailable"))
        errors.extend(_not_more_than_100_percent(surge, f"{at}.maxSurge"))
        has_unavailable = _int_or_percent_value(unavailable) != 0
        has_surge = _int_or_percent_value(surge) != 0
        if has_unavailable and has_surge:
            errors.append(
                invalid(
                    f"{at}.maxSurge",
                    go_intstr(surge),
                    "may not be set when maxUnavailable is non-zero",
                )
            )
        elif not has_unavailable and not has_surge:
            errors.append(required(f"{at}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
        return errors
    value = GoValue(
        f'apps.DaemonSetUpdateStrategy{{Type:"{strategy.type}", '
        f"RollingUpdate:(*apps.RollingUpdateDaemonSet)({_go_pointer(strategy.rolling_update)})}}"
    )
    return [not_supported(path, value, ["RollingUpdate", "OnDelete"])]


def validate_daemon_set(daemon_set: DaemonSet) -> list[FieldError]:
    errors = validate_object_meta(daemon_set.metadata, dns1123_subdomain_errors)
    spec = daemon_set.spec
    errors.extend(validate_label_selector(spec.selector, "spec.selector"))
    selector = _as_selector(spec.selector)
    template = spec.template
    if selector is not None and not selector.matches(template.metadata.labels):
        errors.append(
            invalid(
                "spec.template.metadata.labels",
                go_string_map(template.metadata.labels),
                _SELECTOR_MISMATCH,
            )
        )
    if not spec.selector.match_labels and not spec.selector.match_expressions:
        errors.append(
            invalid(
                "spec.selector",
                go_label_selector(spec.selector),
                "empty selector is invalid for daemonset",
            )
        )
    errors.extend(validate_pod_template_spec(template, "spec.template"))
    restart = template.spec.restart_policy
    if restart != "Always":
        errors.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if template.spec.active_deadline_seconds is not None:
        errors.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in DaemonSet is not Supported",
            )
        )
    errors.extend(validate_nonnegative(spec.min_ready_seconds, "spec.minReadySeconds"))
    errors.extend(_daemon_set_strategy(spec.update_strategy, "spec.updateStrategy"))
    if spec.revision_history_limit is not None:
        errors.extend(
            validate_nonnegative(spec.revision_history_limit, "spec.revisionHistoryLimit")
        )
    return errors
