"""Pure DaemonSet helpers: which nodes run a daemon pod, the pod template, updated pods.

Follows upstream `pkg/controller/daemon/util/daemonset_util.go` (`CreatePodTemplate`,
`AddOrUpdateDaemonPodTolerations`, `IsPodUpdated`, `GetTemplateGeneration`, `AllowsSurge`,
`SurgeCount`, `UnavailableCount`), `pkg/controller/daemon/daemon_controller.go`
(`NodeShouldRunDaemonPod`, `predicates`, `podByCreationTimestampAndPhase`) and
`pkg/apis/core/v1/helper` (`ToleratesTaint`, `FindMatchingUntoleratedTaint`,
`AddOrUpdateTolerationInPodSpec`).

    should_run, should_continue = node_should_run_daemon_pod(node, ds)

- `should_run`: the node fits the template's `nodeName` and `nodeSelector`, and every
  NoSchedule/NoExecute taint is tolerated (the daemon tolerations included);
- `should_continue`: as `should_run`, except that only NoExecute taints must be tolerated (a
  running daemon pod survives a NoSchedule taint).

Node taints are `spec.taints` plus those the node lifecycle controller would add
(`TaintNodesByCondition` and taint-based eviction): a node whose Ready condition is not "True"
is tainted `node.kubernetes.io/not-ready` NoSchedule and NoExecute, an unschedulable node
`node.kubernetes.io/unschedulable` NoSchedule. Worked example: a NotReady node keeps its
running daemon pod (NoExecute is tolerated) but gets no new one (NoSchedule is not).

Difference from upstream: the emulated PodSpec has no `affinity`, so only `nodeSelector` is
matched, and the daemon pod is pinned with `spec.nodeName` (see `pod_for_node`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from msgspec.structs import replace

from controllers.common.nodes import is_node_ready, tolerates
from controllers.common.refmanager import controller_ref
from cp.api.apps import DaemonSet
from cp.api.core import Node, Taint
from cp.api.core_pod import Pod, PodSpec, PodTemplateSpec, Toleration
from cp.api.intstr import scaled_value
from cp.api.meta import ObjectMeta

__all__ = [
    "HASH_LABEL",
    "TEMPLATE_GENERATION_ANNOTATION",
    "TEMPLATE_GENERATION_LABEL",
    "allows_surge",
    "daemon_tolerations",
    "is_pod_updated",
    "max_surge_unavailable",
    "node_should_run_daemon_pod",
    "node_taints",
    "oldest_first",
    "pod_for_node",
    "pod_order_key",
    "template_generation",
    "tolerates",
]

#: `apps.DefaultDaemonSetUniqueLabelKey` (= `ControllerRevisionHashLabelKey`).
HASH_LABEL: Final = "controller-revision-hash"
#: `extensions.DaemonSetTemplateGenerationKey`.
TEMPLATE_GENERATION_LABEL: Final = "pod-template-generation"
#: The annotation the apps/v1 API keeps the template generation in.
TEMPLATE_GENERATION_ANNOTATION: Final = "deprecated.daemonset.template.generation"

NO_SCHEDULE: Final = "NoSchedule"
NO_EXECUTE: Final = "NoExecute"
_NOT_READY: Final = "node.kubernetes.io/not-ready"
_UNSCHEDULABLE: Final = "node.kubernetes.io/unschedulable"
_EXISTS: Final = "Exists"


def daemon_tolerations(host_network: bool) -> tuple[Toleration, ...]:
    """The tolerations `AddOrUpdateDaemonPodTolerations` adds to every daemon pod."""
    tolerations = [
        Toleration(key=_NOT_READY, operator=_EXISTS, effect=NO_EXECUTE),
        Toleration(key="node.kubernetes.io/unreachable", operator=_EXISTS, effect=NO_EXECUTE),
        Toleration(key="node.kubernetes.io/disk-pressure", operator=_EXISTS, effect=NO_SCHEDULE),
        Toleration(key="node.kubernetes.io/memory-pressure", operator=_EXISTS, effect=NO_SCHEDULE),
        Toleration(key="node.kubernetes.io/pid-pressure", operator=_EXISTS, effect=NO_SCHEDULE),
        Toleration(key=_UNSCHEDULABLE, operator=_EXISTS, effect=NO_SCHEDULE),
    ]
    if host_network:
        tolerations.append(
            Toleration(
                key="node.kubernetes.io/network-unavailable", operator=_EXISTS, effect=NO_SCHEDULE
            )
        )
    return tuple(tolerations)


def _same_toleration(a: Toleration, b: Toleration) -> bool:
    """`Toleration.MatchToleration`: same key, operator, value and effect."""
    return (a.key, a.operator, a.value, a.effect) == (b.key, b.operator, b.value, b.effect)


def _with_daemon_tolerations(spec: PodSpec) -> PodSpec:
    """`AddOrUpdateDaemonPodTolerations`: each daemon toleration replaces a matching one of the
    spec (same key, operator, value, effect) or is appended."""
    tolerations = list(spec.tolerations)
    for extra in daemon_tolerations(spec.host_network):
        for index, existing in enumerate(tolerations):
            if _same_toleration(existing, extra):
                tolerations[index] = extra
                break
        else:
            tolerations.append(extra)
    return replace(spec, tolerations=tuple(tolerations))


def node_taints(node: Node) -> tuple[Taint, ...]:
    """`spec.taints` plus the condition taints the node lifecycle controller would add."""
    spec = node.spec
    taints = spec.taints if spec is not None else ()
    extra: list[Taint] = []
    if not is_node_ready(node):
        extra.append(Taint(key=_NOT_READY, effect=NO_SCHEDULE))
        extra.append(Taint(key=_NOT_READY, effect=NO_EXECUTE))
    if spec is not None and spec.unschedulable:
        extra.append(Taint(key=_UNSCHEDULABLE, effect=NO_SCHEDULE))
    known = {(t.key, t.effect) for t in taints}
    return (*taints, *(t for t in extra if (t.key, t.effect) not in known))


def node_should_run_daemon_pod(node: Node, ds: DaemonSet) -> tuple[bool, bool]:
    """`NodeShouldRunDaemonPod`: (should run, should continue running); see the module doc."""
    template = ds.spec.template.spec
    name = node.metadata.name
    if template.node_name and template.node_name != name:
        return False, False
    labels = node.metadata.labels
    if any(labels.get(key) != value for key, value in template.node_selector.items()):
        return False, False
    tolerations = (*template.tolerations, *daemon_tolerations(template.host_network))
    untolerated = [t for t in node_taints(node) if not tolerates(tolerations, t)]
    if not any(t.effect in (NO_SCHEDULE, NO_EXECUTE) for t in untolerated):
        return True, True
    return False, not any(t.effect == NO_EXECUTE for t in untolerated)


def template_generation(ds: DaemonSet) -> int | None:
    """`GetTemplateGeneration`: the `deprecated.daemonset.template.generation` annotation; the
    emulated API server does not keep it, so `metadata.generation` stands in (a pod labelled
    with the DaemonSet's generation was created from its current template). None when the
    annotation is not an integer."""
    text = ds.metadata.annotations.get(TEMPLATE_GENERATION_ANNOTATION)
    if text is None:
        return ds.metadata.generation or None
    try:
        return int(text)
    except ValueError:
        return None


def is_pod_updated(pod: Pod, hash_: str, generation: int | None) -> bool:
    """`IsPodUpdated`: its `controller-revision-hash` is `hash_`, or its
    `pod-template-generation` is `generation`."""
    labels = pod.metadata.labels
    if generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == str(generation):
        return True
    return bool(hash_) and labels.get(HASH_LABEL) == hash_


def pod_for_node(ds: DaemonSet, node_name: str, hash_: str) -> Pod:
    """`CreatePodTemplate` + `CreatePods`: the template with the daemon tolerations, the
    `pod-template-generation` and `controller-revision-hash` labels, `generateName: <ds>-`,
    the controllerRef, pinned to `node_name` through `spec.nodeName` (upstream sets a required
    node affinity on `metadata.name` instead and lets the scheduler bind it)."""
    template: PodTemplateSpec = ds.spec.template
    labels = dict(template.metadata.labels)
    generation = template_generation(ds)
    if generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = str(generation)
    if hash_:
        labels[HASH_LABEL] = hash_
    meta = ObjectMeta(
        generate_name=f"{ds.metadata.name}-",
        namespace=ds.metadata.namespace,
        labels=labels,
        annotations=template.metadata.annotations,
        finalizers=template.metadata.finalizers,
        owner_references=(controller_ref(ds),),
    )
    spec = replace(_with_daemon_tolerations(template.spec), node_name=node_name)
    return Pod(metadata=meta, spec=spec)


def pod_order_key(pod: Pod) -> tuple[int, str, str]:
    """`podByCreationTimestampAndPhase`: scheduled pods first, then the oldest, then by name
    (RFC 3339 times of one format sort as text)."""
    meta = pod.metadata
    return (0 if pod.spec.node_name else 1, meta.creation_timestamp or "", meta.name)


def allows_surge(ds: DaemonSet) -> bool:
    """`AllowsSurge`: a RollingUpdate whose maxSurge is not 0 (nor "0%")."""
    strategy = ds.spec.update_strategy
    if strategy is None or strategy.type != "RollingUpdate" or strategy.rolling_update is None:
        return False
    surge = strategy.rolling_update.max_surge
    return surge is not None and surge not in (0, "0%")


def max_surge_unavailable(ds: DaemonSet, desired: int) -> tuple[int, int]:
    """(`SurgeCount`, `UnavailableCount`) against `desired` nodes, both rounded up; when both
    are 0 and `desired` > 0, maxUnavailable is 1 (`updatedDesiredNodeCounts`). Raises
    `IntOrStringError` for a malformed value."""
    strategy = ds.spec.update_strategy
    rolling = strategy.rolling_update if strategy is not None else None
    surge_value = rolling.max_surge if rolling is not None else None
    unavailable_value = rolling.max_unavailable if rolling is not None else None
    surge = 0
    if surge_value is not None and allows_surge(ds):
        surge = scaled_value(surge_value, desired, round_up=True)
    unavailable = 1 if unavailable_value is None else unavailable_value
    max_unavailable = scaled_value(unavailable, desired, round_up=True)
    if desired > 0 and surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    return surge, max_unavailable


def oldest_first(pods: Sequence[Pod]) -> list[Pod]:
    """`pods` sorted by `pod_order_key`."""
    return sorted(pods, key=pod_order_key)
