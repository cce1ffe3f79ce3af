"""Node facts the scheduler and the DaemonSet controller both judge by.

    is_node_ready(node)               # condition Ready is True
    tolerates(pod.spec.tolerations, taint)

After `k8s.io/api/core/v1` `Toleration.ToleratesTaint` and `TolerationsTolerateTaint`
(staging/src/k8s.io/component-helpers/scheduling/corev1/helpers.go).
"""

from __future__ import annotations

from collections.abc import Iterable

from cp.api.core import Node, Taint
from cp.api.core_pod import Toleration

__all__ = ["is_node_ready", "tolerates"]


def is_node_ready(node: Node) -> bool:
    """The node's `Ready` condition is `True`."""
    conditions = node.status.conditions if node.status is not None else ()
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _tolerates_one(toleration: Toleration, taint: Taint) -> bool:
    """`Toleration.ToleratesTaint`."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if not toleration.key:  # an empty key needs operator Exists
        return False
    return toleration.value == taint.value


def tolerates(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    """Some toleration tolerates `taint`."""
    return any(_tolerates_one(t, taint) for t in tolerations)
