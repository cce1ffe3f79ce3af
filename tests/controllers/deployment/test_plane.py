"""End to end on the real apiserver, informers and manager, on the virtual clock.

No ReplicaSet controller runs here: the test plays it, writing each RS's status by hand, so
every step of the rollout is visible. Causality: the controller's writes carry its actor.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from msgspec.structs import replace

import store
from controllers.deployment import DeploymentController, history, rollout_status, undo
from controllers.deployment import util as du
from cp.api.apps import Deployment, ReplicaSet, ReplicaSetStatus
from cp.api.meta import ObjectMeta
from cp.apiserver import ApiServer
from cp.client.inprocess import InProcessClient
from cp.informer import SharedInformerFactory
from cp.runtime import Activity, Manager, SeededIds, VirtualClock

from .helpers import deployment

pytestmark = pytest.mark.anyio

#: Virtual seconds each settling step may run (a stuck rollout requeues forever: bounded).
SETTLE = 3600.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _ids() -> Callable[[], str]:
    count = 0

    def ids() -> str:
        nonlocal count
        count += 1
        return f"00000000-0000-0000-0000-{count:012d}"

    return ids


async def _replica_sets(client: InProcessClient) -> dict[str, ReplicaSet]:
    return {
        rs.metadata.name: rs
        for rs in (await client.list("ReplicaSet", "default")).items
        if isinstance(rs, ReplicaSet)
    }


async def _report_all_available(client: InProcessClient) -> None:
    """Play the ReplicaSet controller: every RS has all its replicas, available."""
    for rs in (await _replica_sets(client)).values():
        count = du.rs_replicas(rs)
        status = ReplicaSetStatus(
            replicas=count,
            ready_replicas=count,
            available_replicas=count,
            observed_generation=rs.metadata.generation,
        )
        if rs.status != status:
            await client.update_status(replace(rs, status=status))


async def test_a_rollout_and_an_undo_on_the_real_apiserver() -> None:
    activity = Activity()
    clock = VirtualClock(activity, start=1_700_000_000.0)
    async with store.open_log("memory://") as log:
        server = ApiServer(log, clock_now=clock.now, ids=_ids())
        client = InProcessClient(server)
        factory = SharedInformerFactory(server, activity, head=lambda: server.log.revision)
        dc = DeploymentController(client, factory, clock=clock, activity=activity, ids=SeededIds(0))
        manager = Manager()
        manager.add(dc.controller)
        fresh = deployment(4, max_surge=1, max_unavailable=1)
        unsaved = replace(fresh, metadata=ObjectMeta(name="web", namespace="default"), status=None)
        async with factory, manager:
            await factory.wait_for_sync()
            await client.create(unsaved)
            for _ in range(10):
                await clock.advance(SETTLE)
                await _report_all_available(client)
            await clock.advance(SETTLE)
            d = await client.get("Deployment", "web", "default")
            assert isinstance(d, Deployment)
            assert rollout_status(d) == ('deployment "web" successfully rolled out\n', True)
            assert d.metadata.annotations[du.REVISION_ANNOTATION] == "1"
            first = set(await _replica_sets(client))

            # kubectl set image: a rolling update to revision 2.
            c0 = d.spec.template.spec.containers[0]
            spec = replace(d.spec.template.spec, containers=(replace(c0, image="nginx:2.0"),))
            changed = replace(d, spec=replace(d.spec, template=replace(d.spec.template, spec=spec)))
            await client.update(changed)
            for _ in range(20):
                await clock.advance(SETTLE)
                await _report_all_available(client)
            await clock.advance(SETTLE)
            rss = await _replica_sets(client)
            assert len(rss) == 2
            (old_name,) = first
            (new_name,) = set(rss) - first
            assert du.rs_replicas(rss[old_name]) == 0
            assert du.rs_replicas(rss[new_name]) == 4
            d = await client.get("Deployment", "web", "default")
            assert isinstance(d, Deployment)
            assert rollout_status(d)[1]
            assert d.metadata.annotations[du.REVISION_ANNOTATION] == "2"

            # kubectl rollout undo: revision 1's RS comes back as revision 3.
            _, message = await undo(client, "web", "default")
            assert message == "deployment.apps/web rolled back"
            for _ in range(20):
                await clock.advance(SETTLE)
                await _report_all_available(client)
            await clock.advance(SETTLE)
            entries = await history(client, "web", "default")
            assert {rev: rs.metadata.name for rev, (rs, _) in entries.items()} == {
                2: new_name,
                3: old_name,
            }
            rss = await _replica_sets(client)
            assert du.rs_replicas(rss[old_name]) == 4
            assert du.rs_replicas(rss[new_name]) == 0
            assert rss[old_name].metadata.annotations[du.REVISION_HISTORY_ANNOTATION] == "1"
            head = log.revision
        writers = {ev.actor async for ev in log.events(after=0, until=head)}
        assert "controller/deployment" in writers
