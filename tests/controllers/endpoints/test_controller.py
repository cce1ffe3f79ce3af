"""The Endpoints controller as recorded actions (STYLE 13, upstream `endpoints_controller_test.go`):
preload a fake client and the caches, run one sync, compare the writes."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.common.times import format_time
from controllers.endpoints import (
    EP_NAME,
    HEADLESS_LABEL,
    LAST_CHANGE_TRIGGER_TIME,
    OVER_CAPACITY,
)
from cp.api.core import EndpointAddress, EndpointPort, Endpoints, EndpointSubset, ServicePort
from cp.api.core_pod import ContainerPort
from cp.api.meta import ObjectMeta, ObjectReference
from tests.controllers.common.helpers import NOW
from tests.controllers.endpoints.harness import Harness, pod, service, verbs

pytestmark = pytest.mark.anyio

HTTP = EndpointPort(name="http", port=8080, protocol="TCP")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def addr(name: str, ip: str, *, hostname: str = "", node: str = "node-1") -> EndpointAddress:
    return EndpointAddress(
        ip=ip,
        hostname=hostname,
        node_name=node,
        target_ref=ObjectReference(kind="Pod", namespace="default", name=name, uid=f"{name}-uid"),
    )


async def test_names_and_wiring() -> None:
    h = Harness()
    assert h.epc.controller.name == EP_NAME
    assert h.epc.controller.actor == "controller/endpoints"
    assert h.epc.controller.workers == 5


async def test_ready_and_not_ready_pods_split_and_sort() -> None:
    h = Harness(
        service(),
        pod("b", "10.244.1.9", ready=True),
        pod("a", "10.244.1.10", ready=True),
        pod("c", "10.244.2.3", ready=False),
        pod("nope", "10.244.2.4", ready=True, labels={"app": "other"}),
        pod("elsewhere", "10.244.2.8", ready=True, namespace="other"),
        pod("noip", "", ready=False),
        pod("done", "10.244.2.5", phase="Succeeded"),
        pod("gone", "10.244.2.6", ready=True, deleting=True),
    )
    actions, result = await h.reconcile()
    assert verbs(actions) == [("create", "Endpoints", "web")]
    ep = h.endpoints()
    assert ep is not None
    # Addresses by IP as a string, as upstream's LessEndpointAddress.
    assert ep.subsets == (
        EndpointSubset(
            addresses=(addr("a", "10.244.1.10"), addr("b", "10.244.1.9")),
            not_ready_addresses=(addr("c", "10.244.2.3"),),
            ports=(HTTP,),
        ),
    )
    assert ep.metadata.labels == {"app": "web"}
    assert ep.metadata.annotations == {LAST_CHANGE_TRIGGER_TIME: format_time(NOW)}
    assert ep.metadata.owner_references == ()
    assert result.requeue_after is None
    # Nothing changed: no write.
    h.sync()
    actions, _ = await h.reconcile()
    assert actions == []


async def test_selector_matching_nothing_gives_empty_subsets() -> None:
    # The seed's `mydb-read`: the selector asks for a label value no pod carries.
    h = Harness(
        service("mydb-read", selector={"app": "mydb", "app.kubernetes.io/name": "mysql"}),
        pod(
            "mydb-0",
            "10.244.1.2",
            ready=True,
            labels={"app": "mydb", "app.kubernetes.io/name": "mydb"},
        ),
    )
    actions, _ = await h.reconcile("mydb-read")
    assert verbs(actions) == [("create", "Endpoints", "mydb-read")]
    ep = h.endpoints("mydb-read")
    assert ep is not None
    assert ep.subsets == ()


async def test_named_target_port_resolved_per_pod() -> None:
    named = (ServicePort(name="http", port=80, target_port="web", protocol="TCP"),)
    h = Harness(
        service(ports=named),
        pod(
            "a",
            "10.244.1.2",
            ready=True,
            ports=(ContainerPort(name="web", container_port=8080, protocol="TCP"),),
        ),
        pod(
            "b",
            "10.244.1.3",
            ready=True,
            ports=(ContainerPort(name="web", container_port=9090, protocol="TCP"),),
        ),
        pod(
            "c", "10.244.1.4", ready=True, ports=(ContainerPort(name="other", container_port=7070),)
        ),
    )
    await h.reconcile()
    ep = h.endpoints()
    assert ep is not None
    assert ep.subsets == (
        EndpointSubset(addresses=(addr("a", "10.244.1.2"),), ports=(HTTP,)),
        EndpointSubset(
            addresses=(addr("b", "10.244.1.3"),),
            ports=(EndpointPort(name="http", port=9090, protocol="TCP"),),
        ),
    )


async def test_two_ports_repacked_into_one_subset() -> None:
    ports = (
        ServicePort(name="https", port=443, target_port=8443, protocol="TCP"),
        ServicePort(name="http", port=80, target_port=8080, protocol="TCP"),
    )
    h = Harness(service(ports=ports), pod("a", "10.244.1.2", ready=True), pod("b", "10.244.1.3"))
    await h.reconcile()
    ep = h.endpoints()
    assert ep is not None
    assert ep.subsets == (
        EndpointSubset(
            addresses=(addr("a", "10.244.1.2"),),
            not_ready_addresses=(addr("b", "10.244.1.3"),),
            ports=(HTTP, EndpointPort(name="https", port=8443, protocol="TCP")),
        ),
    )


async def test_headless_with_hostname_and_subdomain() -> None:
    h = Harness(
        service(
            "myapp-svc-headless",
            cluster_ip="None",
            selector={"app": "myapp-sts"},
            labels={"app": "myapp-svc-headless"},
            ports=(ServicePort(name="http", port=80, target_port=80, protocol="TCP"),),
        ),
        pod(
            "myapp-sts-0",
            "10.244.1.2",
            ready=True,
            labels={"app": "myapp-sts"},
            hostname="myapp-sts-0",
            subdomain="myapp-svc-headless",
        ),
        pod(
            "stray",
            "10.244.1.3",
            ready=True,
            labels={"app": "myapp-sts"},
            hostname="stray",
            subdomain="elsewhere",
        ),
    )
    await h.reconcile("myapp-svc-headless")
    ep = h.endpoints("myapp-svc-headless")
    assert ep is not None
    assert ep.metadata.labels == {"app": "myapp-svc-headless", HEADLESS_LABEL: ""}
    assert ep.subsets == (
        EndpointSubset(
            addresses=(
                addr("myapp-sts-0", "10.244.1.2", hostname="myapp-sts-0"),
                addr("stray", "10.244.1.3"),
            ),
            ports=(EndpointPort(name="http", port=80, protocol="TCP"),),
        ),
    )


async def test_headless_without_ports_keeps_addresses() -> None:
    h = Harness(service(cluster_ip="None", ports=()), pod("a", "10.244.1.2", ready=True))
    await h.reconcile()
    ep = h.endpoints()
    assert ep is not None
    assert ep.subsets == (EndpointSubset(addresses=(addr("a", "10.244.1.2"),)),)


async def test_publish_not_ready_addresses() -> None:
    svc = service()
    svc = replace(svc, spec=replace(svc.spec, publish_not_ready_addresses=True))
    h = Harness(svc, pod("a", "10.244.1.2"), pod("b", "10.244.1.3", deleting=True))
    await h.reconcile()
    ep = h.endpoints()
    assert ep is not None
    assert ep.subsets == (
        EndpointSubset(addresses=(addr("a", "10.244.1.2"), addr("b", "10.244.1.3")), ports=(HTTP,)),
    )


async def test_no_selector_and_external_name_are_left_alone() -> None:
    h = Harness(
        service("manual", selector={}),
        service("ext", type="ExternalName", cluster_ip=""),
        pod("a", "10.244.1.2", ready=True),
    )
    assert (await h.reconcile("manual"))[0] == []
    assert (await h.reconcile("ext"))[0] == []


async def test_service_deletion_deletes_the_endpoints() -> None:
    h = Harness(service(), pod("a", "10.244.1.2", ready=True))
    await h.reconcile()
    h.sync()
    await h.enqueued()
    await h.client.delete("Service", "web", namespace="default")
    h.sync()
    assert await h.enqueued() == ["default/web"]
    actions, _ = await h.reconcile()
    assert verbs(actions) == [("delete", "Endpoints", "web")]
    assert h.endpoints() is None
    # Again (upstream deletes by name whatever the cache says): NotFound is fine.
    actions, result = await h.reconcile()
    assert verbs(actions) == [("delete", "Endpoints", "web")]
    assert result.requeue_after is None


async def test_readiness_change_updates_and_moves_the_address() -> None:
    h = Harness(service(), pod("a", "10.244.1.2"))
    await h.reconcile()
    h.sync()
    await h.enqueued()
    later = NOW + 30
    await h.client.update_status(pod("a", "10.244.1.2", ready=True, ready_since=later))
    h.sync()
    assert await h.enqueued() == ["default/web"]
    actions, _ = await h.reconcile()
    assert verbs(actions) == [("update", "Endpoints", "web")]
    ep = h.endpoints()
    assert ep is not None
    assert ep.subsets == (EndpointSubset(addresses=(addr("a", "10.244.1.2"),), ports=(HTTP,)),)
    assert ep.metadata.annotations[LAST_CHANGE_TRIGGER_TIME] == format_time(later)


async def test_pod_events_enqueue_only_selecting_services() -> None:
    h = Harness(
        service("web"),
        service("db", selector={"app": "db", "tier": "data"}),
        service("all-web", selector={"tier": "front"}),
    )
    await h.enqueued()
    await h.client.create(pod("w", "10.244.1.2", labels={"app": "web", "tier": "front"}))
    h.sync()
    assert await h.enqueued() == ["default/all-web", "default/web"]
    await h.client.create(pod("x", "10.244.1.3", labels={"app": "web"}, namespace="other"))
    h.sync()
    assert await h.enqueued() == []  # another namespace's pod selects nothing here
    # An annotation-only change enqueues nothing.
    current = next(p for p in h.client.objects() if getattr(p.metadata, "name", "") == "w")
    annotated = replace(current, metadata=replace(current.metadata, annotations={"x": "y"}))
    await h.client.update(annotated)
    h.sync()
    assert await h.enqueued() == []
    # A relabel enqueues the old and the new selectors' Services.
    moved = pod("w", "10.244.1.2", labels={"app": "db", "tier": "data"})
    await h.client.update(replace(moved, metadata=replace(moved.metadata, resource_version="")))
    h.sync()
    assert await h.enqueued() == ["default/all-web", "default/db", "default/web"]


async def test_stale_labels_and_annotations_are_fixed() -> None:
    existing = Endpoints(
        metadata=ObjectMeta(
            name="web",
            namespace="default",
            labels={"app": "web", HEADLESS_LABEL: ""},
            annotations={OVER_CAPACITY: "truncated", "keep": "me"},
        ),
    )
    h = Harness(service(), existing)
    actions, _ = await h.reconcile()
    assert verbs(actions) == [("update", "Endpoints", "web")]
    ep = h.endpoints()
    assert ep is not None
    assert ep.metadata.labels == {"app": "web"}  # not headless: the label goes
    assert ep.metadata.annotations == {"keep": "me", LAST_CHANGE_TRIGGER_TIME: format_time(NOW)}


async def test_a_failed_write_records_a_warning_and_raises() -> None:
    h = Harness(service())
    await h.client.create(
        Endpoints(metadata=ObjectMeta(name="web", namespace="default"))
    )  # not in the cache yet: the create collides
    with pytest.raises(Exception, match="already exists"):
        await h.reconcile()
    assert [reason for _, reason, _ in h.recorder.events] == ["FailedToCreateEndpoint"]


async def test_endpoints_deleted_by_hand_are_recreated() -> None:
    h = Harness(service(), pod("a", "10.244.1.2", ready=True))
    await h.reconcile()
    h.sync()
    await h.enqueued()
    await h.client.delete("Endpoints", "web", namespace="default")
    h.sync()
    assert await h.enqueued() == ["default/web"]
    actions, _ = await h.reconcile()
    assert verbs(actions) == [("create", "Endpoints", "web")]


async def test_a_lagging_endpoints_cache_starts_from_the_last_write() -> None:
    h = Harness(service(), pod("a", "10.244.1.2"))
    actions, _ = await h.reconcile()
    assert verbs(actions) == [("create", "Endpoints", "web")]
    await h.client.update_status(pod("a", "10.244.1.2", ready=True))
    h.sync(("Pod",))  # the Endpoints cache has not seen the create
    actions, _ = await h.reconcile()
    assert verbs(actions) == [("update", "Endpoints", "web")]
    actions, _ = await h.reconcile()  # still lagging: nothing new to write
    assert actions == []
    h.sync()
    actions, _ = await h.reconcile()
    assert actions == []
    assert h.recorder.events == []


async def test_leftover_endpoints_of_the_first_list_are_deleted() -> None:
    # `checkLeftoverEndpoints`: the Service went away while nobody watched.
    h = Harness(Endpoints(metadata=ObjectMeta(name="old", namespace="default")))
    assert await h.enqueued() == ["default/old"]
    actions, _ = await h.reconcile("old")
    assert verbs(actions) == [("delete", "Endpoints", "old")]
