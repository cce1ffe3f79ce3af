"""EventRecorder: client-go's spam filter, aggregation and deduplication, on the fake client."""

from __future__ import annotations

import pytest

from cp.api.core import Event, Node
from cp.api.core_pod import Container, Pod, PodSpec
from cp.api.meta import ObjectMeta
from cp.client import FakeClient
from cp.client.events import EventRecorder

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def now(self) -> float:
        return self.t


def pod(name: str = "web-1") -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", uid=f"uid-{name}"),
        spec=PodSpec(containers=(Container(name="app", image="nginx"),)),
    )


def events(client: FakeClient) -> list[Event]:
    found = [obj for obj in client.objects() if isinstance(obj, Event)]
    return sorted(found, key=lambda e: (e.first_timestamp or "", e.metadata.name))


async def test_first_event_and_a_repeat_counted() -> None:
    client, clock = FakeClient(clock_now=lambda: NOW), Clock()
    recorder = EventRecorder(client, "replicaset-controller", clock=clock)
    await recorder.event(pod(), "Normal", "Started", "Started container app")
    clock.t += 7
    await recorder.event(pod(), "Normal", "Started", "Started container app")
    (event,) = events(client)
    assert event.metadata.namespace == "default"
    assert event.metadata.name.startswith("web-1.")
    assert int(event.metadata.name.removeprefix("web-1."), 16) >= int(NOW * 1e9)
    assert (event.count, event.first_timestamp, event.last_timestamp) == (
        2,
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:27Z",
    )
    assert event.involved_object.kind == "Pod"
    assert event.involved_object.uid == "uid-web-1"
    assert event.source is not None
    assert event.source.component == "replicaset-controller"
    assert (event.type, event.reason, event.message) == (
        "Normal",
        "Started",
        "Started container app",
    )


async def test_similar_events_are_combined_and_spam_is_dropped() -> None:
    client, clock = FakeClient(clock_now=lambda: NOW), Clock()
    recorder = EventRecorder(client, "replicaset-controller", clock=clock)
    rs = pod("web")  # any object: the involved object
    for i in range(40):
        await recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: web-{i}")
    written = events(client)
    # 25 tokens: 9 events of their own, then the 10th..25th go into one combined event
    assert [e.message for e in written[:9]] == [f"Created pod: web-{i}" for i in range(9)]
    combined = [e for e in written if e.message.startswith("(combined from similar events): ")]
    assert len(combined) == 1
    assert combined[0].count == 16
    assert combined[0].message == "(combined from similar events): Created pod: web-24"
    assert len(written) == 10
    # one token comes back after 300 s of clock time
    clock.t += 300
    await recorder.event(rs, "Normal", "SuccessfulCreate", "Created pod: web-99")
    await recorder.event(rs, "Normal", "SuccessfulCreate", "Created pod: web-100")
    assert sum(e.count for e in events(client)) == 26


async def test_objects_have_their_own_buckets_and_cluster_objects_use_default() -> None:
    client, clock = FakeClient(clock_now=lambda: NOW), Clock()
    recorder = EventRecorder(client, "node-controller", clock=clock)
    node = Node(metadata=ObjectMeta(name="node-1", uid="n1"))
    for _ in range(30):
        await recorder.event(node, "Normal", "Ready", "Node node-1 status is now: NodeReady")
    await recorder.event(pod(), "Warning", "Failed", "Error: ErrImagePull")
    node_event, pod_event = sorted(events(client), key=lambda e: e.involved_object.kind)
    assert node_event.metadata.namespace == "default"
    assert node_event.count == 25
    assert (pod_event.type, pod_event.count) == ("Warning", 1)


async def test_two_recorders_in_the_same_instant_both_write() -> None:
    """Names are `<object>.<clock nanoseconds hex>`: a second recorder writing about the same
    object at the same virtual instant takes the next free name instead of losing its event."""
    client, clock = FakeClient(clock_now=lambda: NOW), Clock()
    scheduler = EventRecorder(client, "default-scheduler", clock=clock)
    kubelet = EventRecorder(client, "kubelet", clock=clock)
    await scheduler.event(pod(), "Normal", "Scheduled", "Successfully assigned default/web-1")
    await kubelet.event(pod(), "Warning", "Failed", "Error: ErrImagePull")
    written = events(client)
    assert [e.reason for e in written] == ["Scheduled", "Failed"]
    assert len({e.metadata.name for e in written}) == 2
