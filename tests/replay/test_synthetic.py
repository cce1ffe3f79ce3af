"""`cp.replay` on small hand-written logs: filters, verbs, formats, get_at/diff, why, timeline.

The log (memory store), revision by revision:

    1  kubelet/node-1         create  node/node-1                       (cluster-scoped)
    2  user                   create  deployment.apps/web  replicas 2   t=0
    3  controller/deployment  create  replicaset.apps/web-1  (cause 2)
    4  controller/replicaset  create  pod/web-1-a            (cause 3)
    5  kubelet/node-1         update  pod/web-1-a  Running   (cause 4)  t=5
    6  user                   update  deployment.apps/web  replicas 3   t=10
    7  controller/deployment  update  replicaset.apps/web-1 replicas 3 (cause 6)
    8  kubelet/node-1         delete  pod/web-1-a            (cause 5)  t=20
    9  user                   create  configmap/cfg in namespace "other"
   10  controller/deployment  create  replicaset.apps/api-1 (owned by Deployment "api")
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

import store
from cp.api.apps import Deployment
from cp.api.codec import CODEC
from cp.replay import (
    ObjectNotFound,
    ReplayError,
    RevisionUnavailable,
    UnknownKind,
    diff,
    events,
    format_events,
    format_events_json,
    format_timeline,
    format_why,
    get_at,
    timeline,
    timeline_svg,
    why,
)

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0
MANIFEST = (Path(__file__).parent.parent / "api" / "manifests" / "myapp-deploy-v1.yaml").read_text()


def _deployment(replicas: int) -> bytes:
    (obj,) = CODEC.load(MANIFEST)
    assert isinstance(obj, Deployment)
    assert obj.spec is not None
    meta = msgspec.structs.replace(obj.metadata, name="web", namespace="default")
    spec = msgspec.structs.replace(obj.spec, replicas=replicas)
    return CODEC.encode(msgspec.structs.replace(obj, metadata=meta, spec=spec))


def _json(obj: Any) -> bytes:
    return msgspec.json.encode(obj)


def _rs(name: str, owner: str, replicas: int) -> bytes:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": owner, "uid": "u"}
    metadata = {"name": name, "namespace": "default", "ownerReferences": [ref]}
    return _json({"metadata": metadata, "spec": {"replicas": replicas}})


POD = "/registry/pods/default/web-1-a"
DEPLOY = "/registry/deployments/default/web"
RS = "/registry/replicasets/default/web-1"


@pytest.fixture(params=["memory", "sqlite"])
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[store.EventLog]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/state.db"
    async with store.open_log(url) as log:
        await log.create(
            "/registry/nodes/node-1",
            _json({"metadata": {"name": "node-1"}}),
            actor="kubelet/node-1",
            time=T0,
        )
        await log.create(DEPLOY, _deployment(2), actor="user", time=T0)
        await log.create(
            RS, _rs("web-1", "web", 2), actor="controller/deployment", cause=2, time=T0
        )
        pod = {"metadata": {"name": "web-1-a"}, "status": {"phase": "Pending"}}
        await log.create(POD, _json(pod), actor="controller/replicaset", cause=3, time=T0)
        pod["status"] = {"phase": "Running"}
        await log.update(POD, _json(pod), expected=4, actor="kubelet/node-1", cause=4, time=T0 + 5)
        await log.update(DEPLOY, _deployment(3), expected=2, actor="user", time=T0 + 10)
        await log.update(
            RS,
            _rs("web-1", "web", 3),
            expected=3,
            actor="controller/deployment",
            cause=6,
            time=T0 + 10,
        )
        await log.delete(POD, actor="kubelet/node-1", cause=5, time=T0 + 20)
        await log.create(
            "/registry/configmaps/other/cfg",
            _json({"data": {"a": "1"}}),
            actor="user",
            time=T0 + 20,
        )
        await log.create(
            "/registry/replicasets/default/api-1",
            _rs("api-1", "api", 1),
            actor="controller/deployment",
            cause=9,
            time=T0 + 20,
        )
        yield log


def _revisions(rows: list[Any]) -> list[int]:
    return [row.revision for row in rows]


async def test_no_filter_gives_every_event_with_its_verb(log: store.EventLog) -> None:
    rows = await events(log)
    assert _revisions(rows) == list(range(1, 11))
    assert [r.verb for r in rows[3:8]] == ["create", "update", "update", "update", "delete"]
    assert rows[1].object == "deployment.apps/web"
    assert rows[0].object == "node/node-1"
    assert rows[0].namespace == ""
    assert rows[6].change == "spec.replicas 2→3"
    assert rows[4].change == "status.phase Pending→Running"


async def test_kind_name_namespace_filters(log: store.EventLog) -> None:
    assert _revisions(await events(log, kind="deploy")) == [2, 6]
    assert _revisions(await events(log, kind="replicasets.apps", name="web-1")) == [3, 7]
    assert _revisions(await events(log, name="web")) == [2, 6]
    assert _revisions(await events(log, kind="rs", namespace="default")) == [3, 7, 10]
    # a namespace keeps cluster-scoped objects, as `kubectl -n` does for nodes
    assert _revisions(await events(log, namespace="other")) == [1, 9]
    assert _revisions(await events(log, kind="cm", namespace="default")) == []
    with pytest.raises(UnknownKind, match='resource type "frob"'):
        await events(log, kind="frob")


async def test_actor_filter_matches_the_actor_or_its_children(log: store.EventLog) -> None:
    assert _revisions(await events(log, actor="kubelet")) == [1, 5, 8]
    assert _revisions(await events(log, actor="kubelet/node-1")) == [1, 5, 8]
    assert _revisions(await events(log, actor="user")) == [2, 6, 9]
    assert _revisions(await events(log, actor="controller")) == [3, 4, 7, 10]
    assert await events(log, actor="kube") == []


async def test_since_until_as_revisions_times_and_durations(log: store.EventLog) -> None:
    assert _revisions(await events(log, since=5, until=7)) == [5, 6, 7]
    assert _revisions(await events(log, since="8")) == [8, 9, 10]
    assert _revisions(await events(log, since="2023-11-14T22:13:30Z")) == [6, 7, 8, 9, 10]
    assert _revisions(await events(log, until="2023-11-14T22:13:25Z")) == [1, 2, 3, 4, 5]
    assert _revisions(await events(log, since="10s")) == [6, 7, 8, 9, 10]
    assert await events(log, since=11) == []
    with pytest.raises(ReplayError, match="invalid since"):
        await events(log, since="yesterday")


async def test_compacted_history_is_skipped(log: store.EventLog) -> None:
    await log.compact(6)
    assert _revisions(await events(log, kind="deploy")) == []
    assert _revisions(await events(log)) == [7, 8, 9, 10]


async def test_table_and_json(log: store.EventLog) -> None:
    rows = await events(log, kind="deploy")
    text = format_events(rows)
    header, first, second = text.splitlines()
    assert header.split() == ["REVISION", "TIME", "ACTOR", "CAUSE", "VERB", "OBJECT", "CHANGE"]
    assert first.split()[:6] == [
        "2",
        "2023-11-14T22:13:20Z",
        "user",
        "-",
        "create",
        "deployment.apps/web",
    ]
    assert second.split()[1] == "2023-11-14T22:13:30Z"
    assert second.endswith("spec.replicas 2→3")
    relative = format_events(rows, relative=True).splitlines()
    assert relative[1].split()[1] == "+0s"
    assert relative[2].split()[1] == "+10s"
    wide = format_events(rows, show_namespace=True).splitlines()
    assert wide[0].split()[2] == "NAMESPACE"
    assert wide[1].split()[2] == "default"
    assert format_events([]) == "No events found.\n"
    decoded = msgspec.json.decode(format_events_json(rows))
    assert decoded == msgspec.to_builtins(rows)
    assert decoded[1]["verb"] == "update"
    assert decoded[1]["cause"] == 0


async def test_get_at_and_diff(log: store.EventLog) -> None:
    before = await get_at(log, "deployment", "web", "default", 2)
    after = await get_at(log, "deploy", "web", "default", None)
    assert isinstance(before, Deployment)
    assert isinstance(after, Deployment)
    assert before.spec is not None
    assert before.spec.replicas == 2
    assert after.spec is not None
    assert after.spec.replicas == 3
    assert before.metadata.resource_version == "2"
    assert after.metadata.resource_version == "6"
    assert await get_at(log, "deploy", "web", "default", 1) is None
    text = await diff(log, "deploy", "web", "default", 2, 6)
    lines = text.splitlines()
    assert lines[0] == (
        "diff -u -N REV-2/apps.v1.Deployment.default.web REV-6/apps.v1.Deployment.default.web"
    )
    assert lines[1].startswith("--- REV-2/")
    assert lines[1].endswith("2023-11-14T22:13:20Z")
    assert lines[2].startswith("+++ REV-6/")
    assert lines[2].endswith("2023-11-14T22:13:30Z")
    assert "-  replicas: 2" in lines
    assert "+  replicas: 3" in lines
    assert await diff(log, "deploy", "web", "default", 6, 9) == ""
    created = (await diff(log, "deploy", "web", "default", 1, 2)).splitlines()
    assert created[1].startswith("--- /dev/null")
    assert all(line.startswith(("+", "@@")) for line in created[3:])
    with pytest.raises(ObjectNotFound):
        await diff(log, "deploy", "nope", "default", 1, 2)


async def test_revisions_out_of_reach(log: store.EventLog) -> None:
    with pytest.raises(RevisionUnavailable, match="future"):
        await get_at(log, "deploy", "web", "default", 99)
    await log.compact(5)
    with pytest.raises(RevisionUnavailable, match="compacted"):
        await get_at(log, "deploy", "web", "default", 3)


async def test_why_walks_causes_back_to_the_user(log: store.EventLog) -> None:
    steps = await why(log, "replicaset", "web-1", "default")
    assert [(s.revision, s.actor) for s in steps] == [(7, "controller/deployment"), (6, "user")]
    assert steps[1].change == "spec.replicas 2→3"
    # a deleted pod: its delete, back through the kubelet and the controllers to the create
    steps = await why(log, "pod", "web-1-a", "default")
    assert [s.revision for s in steps] == [8, 5, 4, 3, 2]
    assert steps[0].verb == "delete"
    assert steps[-1].actor == "user"
    text = format_why(steps)
    assert text.splitlines()[0].startswith("#8 2023-11-14T22:13:40Z kubelet/node-1 delete pod/")
    assert "<- caused by #2 " in text
    assert "started by the user's command at revision 2" in text
    at = await why(log, "pod", "web-1-a", "default", at=4)
    assert [s.revision for s in at] == [4, 3, 2]
    node = await why(log, "node", "node-1", None)
    assert "started by kubelet/node-1 at revision 1, with no cause" in format_why(node)
    with pytest.raises(ObjectNotFound):
        await why(log, "pod", "ghost", "default")


async def test_why_stops_at_compacted_history(log: store.EventLog) -> None:
    await log.compact(4)
    steps = await why(log, "pod", "web-1-a", "default")
    assert [s.revision for s in steps] == [8, 5, 4]
    assert steps[-1].compacted
    assert not steps[0].compacted
    assert "the log was compacted" in format_why(steps)


async def test_timeline_of_owned_replica_sets(log: store.EventLog) -> None:
    line = await timeline(log, "web", "default")
    assert [s.name for s in line.series] == ["web-1"]
    assert line.series[0].replicas == (2, 3)
    assert line.revisions == (3, 7)
    await log.delete(RS, actor="controller/deployment", cause=7, time=T0 + 30)
    line = await timeline(log, "web", "default")
    assert line.series[0].replicas == (2, 3, 0)
    assert format_timeline(line, details=False) == "RSv1: 2 -> 3 -> 0\n"
    root = ET.fromstring(timeline_svg(line))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    with pytest.raises(ObjectNotFound):
        await timeline(log, "nothing", "default")
