"""The DaemonSet controller's recorded writes over a FakeClient (caches synced by hand)."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.common.times import format_time
from controllers.daemonset import HASH_LABEL, TEMPLATE_GENERATION_LABEL
from cp.api.apps import ControllerRevision
from cp.api.core import Taint
from cp.api.core_pod import PodStatus
from tests.controllers.common.helpers import NOW
from tests.controllers.daemonset.harness import Harness, daemon_set, node, verbs

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def three_nodes() -> list[object]:
    return [node("node-1"), node("node-2"), node("node-3")]


async def test_one_pod_per_node_with_labels_owner_and_tolerations() -> None:
    h = Harness(daemon_set(), node("node-1"), node("node-2"), node("node-3"))
    actions = await h.step()
    creates = [a for a in actions if a.verb == "create"]
    assert [a.kind for a in creates] == ["ControllerRevision", "Pod", "Pod", "Pod"]
    assert sorted(h.by_node()) == ["node-1", "node-2", "node-3"]
    assert all(len(names) == 1 for names in h.by_node().values())
    revision = next(o for o in h.client.objects() if isinstance(o, ControllerRevision))
    hash_ = revision.metadata.labels[HASH_LABEL]
    assert revision.metadata.name == f"agent-{hash_}"
    assert revision.revision == 1
    for pod in h.pods():
        assert pod.metadata.generate_name == "agent-"
        assert pod.metadata.labels == {
            "app": "agent",
            HASH_LABEL: hash_,
            TEMPLATE_GENERATION_LABEL: "1",
        }
        (ref,) = pod.metadata.owner_references
        assert (ref.kind, ref.name, ref.uid, ref.controller) == (
            "DaemonSet",
            "agent",
            "ds-uid",
            True,
        )
        keys = {(t.key, t.effect) for t in pod.spec.tolerations}
        assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
        assert ("node.kubernetes.io/unreachable", "NoExecute") in keys
        assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
        assert ("node.kubernetes.io/disk-pressure", "NoSchedule") in keys
    assert h.recorder.reasons() == ["SuccessfulCreate"] * 3
    assert all(m.startswith("Created pod: agent-") for _, _, m in h.recorder.events)
    # the status of that sync was computed from a cache without the new pods
    assert (h.status().desired_number_scheduled, h.status().current_number_scheduled) == (3, 0)
    assert verbs(await h.step()) == [("update_status", "DaemonSet", "agent")]
    status = h.status()
    assert (status.desired_number_scheduled, status.current_number_scheduled) == (3, 3)
    assert (status.number_ready, status.number_available, status.number_unavailable) == (0, 0, 3)
    assert (status.updated_number_scheduled, status.observed_generation) == (3, 1)
    assert status.number_misscheduled == 0
    # nothing more to do; readiness then shows in the status
    assert verbs(await h.step()) == []
    h.set_ready()
    h.sync()
    assert verbs(await h.step()) == [("update_status", "DaemonSet", "agent")]
    status = h.status()
    assert (status.number_ready, status.number_available, status.number_unavailable) == (3, 3, 0)


async def test_slow_start_batches_and_expectations_hold_a_stale_cache() -> None:
    nodes = [node(f"node-{i}") for i in range(1, 8)]
    h = Harness(daemon_set(), *nodes)
    actions, _ = await h.reconcile()
    assert len([a for a in actions if a.verb == "create" and a.kind == "Pod"]) == 7
    # the cache has not seen them: a second sync writes no pod
    actions, _ = await h.reconcile()
    assert [a for a in actions if a.kind == "Pod"] == []
    h.sync()
    assert h.dsc.expectations.satisfied("default/agent")


async def test_node_selector_taints_and_readiness() -> None:
    h = Harness(
        daemon_set(node_selector={"role": "edge"}),
        node("node-1", labels={"role": "edge"}),
        node("node-2"),
        node("node-3", labels={"role": "edge"}, taints=(Taint(key="gpu", effect="NoSchedule"),)),
        node("node-4", labels={"role": "edge"}, ready=False),
        node("node-5", labels={"role": "edge"}, unschedulable=True),
    )
    await h.settle()
    assert sorted(h.by_node()) == ["node-1", "node-5"]
    status = h.status()
    assert (status.desired_number_scheduled, status.current_number_scheduled) == (2, 2)


async def test_relabelled_node_loses_its_pod_and_counts_misscheduled_meanwhile() -> None:
    h = Harness(
        daemon_set(node_selector={"role": "edge"}),
        node("node-1", labels={"role": "edge"}),
        node("node-2", labels={"role": "edge"}),
    )
    await h.step()
    h.client.add(node("node-2"))  # label removed
    h.sync()
    queued = len(h.dsc.controller.queue)
    assert queued == 1
    actions = await h.step()
    assert [(a.verb, a.kind) for a in actions if a.kind == "Pod"] == [("delete", "Pod")]
    assert h.recorder.events[-1][1] == "SuccessfulDelete"
    assert sorted(h.by_node()) == ["node-1"]
    status = h.status()
    # the deleting pod still sits on node-2 until the kubelet removes it
    assert (status.desired_number_scheduled, status.number_misscheduled) == (1, 1)
    await h.finish_deletions()
    h.sync()
    await h.step()
    assert h.status().number_misscheduled == 0


async def test_new_node_gets_a_pod_and_extra_pods_keep_the_oldest() -> None:
    h = Harness(daemon_set(), node("node-1"))
    await h.step()
    (first,) = h.pods()
    # a duplicate on node-1, created later
    later = format_time(NOW + 5)
    dup = h.client.add(
        replace(
            first,
            metadata=replace(first.metadata, name="agent-dup", uid="dup", creation_timestamp=later),
        )
    )
    h.client.add(node("node-2"))
    h.sync()
    actions = await h.step()
    pod_writes = [(a.verb, a.name) for a in actions if a.kind == "Pod"]
    assert ("delete", dup.metadata.name) in pod_writes
    assert [v for v, _ in pod_writes].count("create") == 1
    assert sorted(h.by_node()) == ["node-1", "node-2"]
    assert first.metadata.name in h.by_node()["node-1"]


async def test_failed_pod_is_deleted_with_backoff() -> None:
    h = Harness(daemon_set(), node("node-1"))
    await h.step()
    (pod,) = h.pods()
    h.client.add(replace(pod, status=PodStatus(phase="Failed")))
    h.sync()
    actions = await h.step()
    assert ("delete", "Pod", pod.metadata.name) in verbs(actions)
    message = (
        f"Found failed daemon pod default/{pod.metadata.name} on node node-1, will try to kill it"
    )
    assert ("Warning", "FailedDaemonPod", message) in h.recorder.events
    # the replacement is created once the failed pod is gone
    await h.finish_deletions()
    h.sync()
    actions = await h.step()
    assert [(a.verb, a.kind) for a in actions if a.kind == "Pod"] == [("create", "Pod")]


async def test_orphan_pod_on_a_node_is_adopted() -> None:
    h = Harness(daemon_set(), node("node-1"))
    await h.step()
    (pod,) = h.pods()
    # release it by hand: an orphan with matching labels
    h.client.add(replace(pod, metadata=replace(pod.metadata, owner_references=())))
    h.sync()
    actions = await h.step()
    assert [(a.verb, a.kind) for a in actions if a.kind == "Pod"] == [("patch", "Pod")]
    assert len(h.pods()) == 1
    (adopted,) = h.pods()
    assert adopted.metadata.owner_references[0].uid == "ds-uid"


async def test_empty_selector_records_selecting_all() -> None:
    h = Harness(daemon_set(selector={}), node("node-1"))
    actions = await h.step()
    assert actions == []
    assert h.recorder.reasons() == ["SelectingAll"]
