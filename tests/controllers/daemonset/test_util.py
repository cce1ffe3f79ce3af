"""`NodeShouldRunDaemonPod`, the daemon tolerations and the rolling-update numbers."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.daemonset import daemon_tolerations, node_should_run_daemon_pod, pod_for_node
from controllers.daemonset.util import max_surge_unavailable
from cp.api.core import Taint
from cp.api.core_pod import Toleration
from tests.controllers.daemonset.harness import daemon_set, node


def test_should_run_follows_selector_taints_and_readiness() -> None:
    ds = daemon_set(node_selector={"role": "edge"})
    edge = {"role": "edge"}
    assert node_should_run_daemon_pod(node("a", labels=edge), ds) == (True, True)
    assert node_should_run_daemon_pod(node("a"), ds) == (False, False)
    # NotReady: no new pod, a running one stays (not-ready NoExecute is tolerated)
    assert node_should_run_daemon_pod(node("a", labels=edge, ready=False), ds) == (False, True)
    # unschedulable is tolerated by every daemon pod
    assert node_should_run_daemon_pod(node("a", labels=edge, unschedulable=True), ds) == (
        True,
        True,
    )
    no_schedule = (Taint(key="gpu", effect="NoSchedule"),)
    no_execute = (Taint(key="gpu", effect="NoExecute"),)
    assert node_should_run_daemon_pod(node("a", labels=edge, taints=no_schedule), ds) == (
        False,
        True,
    )
    assert node_should_run_daemon_pod(node("a", labels=edge, taints=no_execute), ds) == (
        False,
        False,
    )
    tolerant = daemon_set(node_selector=edge)
    spec = replace(
        tolerant.spec.template.spec,
        tolerations=(Toleration(key="gpu", operator="Exists"),),
    )
    tolerant = replace(
        tolerant, spec=replace(tolerant.spec, template=replace(tolerant.spec.template, spec=spec))
    )
    assert node_should_run_daemon_pod(node("a", labels=edge, taints=no_execute), tolerant) == (
        True,
        True,
    )


def test_pod_for_node_pins_the_node_and_merges_tolerations() -> None:
    ds = daemon_set()
    own = Toleration(key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule")
    spec = replace(ds.spec.template.spec, tolerations=(own,))
    ds = replace(ds, spec=replace(ds.spec, template=replace(ds.spec.template, spec=spec)))
    pod = pod_for_node(ds, "node-7", "abc")
    assert pod.spec.node_name == "node-7"
    # the template's own matching toleration is replaced in place, not doubled
    assert pod.spec.tolerations[0] == own
    assert sorted(map(repr, pod.spec.tolerations)) == sorted(map(repr, daemon_tolerations(False)))
    assert pod.metadata.labels["controller-revision-hash"] == "abc"
    assert len(daemon_tolerations(True)) == len(daemon_tolerations(False)) + 1


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        (0, 1, 3, (0, 1)),
        (0, "50%", 3, (0, 2)),  # rounds up
        ("10%", 0, 3, (1, 0)),  # rounds up
        (0, 0, 3, (0, 1)),  # both 0: one at a time
        (0, 0, 0, (0, 0)),
    ],
)
def test_surge_and_unavailable_round_up(
    surge: int | str, unavailable: int | str, desired: int, expected: tuple[int, int]
) -> None:
    ds = daemon_set(max_surge=surge, max_unavailable=unavailable)
    assert max_surge_unavailable(ds, desired) == expected
