"""`cp.replay` on the seed's rollout (v1 -> v2, maxSurge 1, maxUnavailable 1), played by a real
`ControlPlane` on the virtual clock; expectations are derived from the log where they can be."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controllers.deployment import undo
from cp import ControlPlane
from cp.api.apps import Deployment, ReplicaSet
from cp.api.codec import CODEC
from cp.replay import (
    diff,
    events,
    format_history_all,
    format_timeline,
    format_why,
    get_at,
    rollout_history_all,
    timeline,
    timeline_svg,
    why,
)

pytestmark = pytest.mark.anyio

V1 = (Path(__file__).parent.parent / "api" / "manifests" / "myapp-deploy-v1.yaml").read_text()
NAME = "myapp-deploy"
IMAGE = "ghcr.io/c1t1d0s7/go-myweb:{}"
CAUSE = "kubernetes.io/change-cause"


async def set_image(plane: ControlPlane, version: str) -> None:
    container = {"name": "myapp", "image": IMAGE.format(version)}
    body = {"spec": {"template": {"spec": {"containers": [container]}}}}
    await plane.client.patch("Deployment", NAME, body, namespace="default")


@pytest.fixture
async def plane() -> AsyncIterator[ControlPlane]:
    async with ControlPlane.open(nodes=3, seed=7) as plane:
        await plane.apply(V1)
        assert (await plane.settle()).converged
        await set_image(plane, "v2.0")
        assert (await plane.settle()).converged
        yield plane


async def user_writes(plane: ControlPlane) -> list[int]:
    return [row.revision for row in await events(plane.log, kind="deploy", actor="user")]


async def test_events_show_the_users_writes_and_the_scale_steps(plane: ControlPlane) -> None:
    rows = await events(plane.log, kind="deploy", actor="user")
    assert [row.verb for row in rows] == ["create", "update"]
    assert rows[0].change.startswith("created spec.replicas=3 image=" + IMAGE.format("v1.0"))
    assert rows[1].change == (
        f"spec.template.spec.containers[myapp].image {IMAGE.format('v1.0')}→{IMAGE.format('v2.0')}"
    )
    scales = [
        row.change
        for row in await events(plane.log, kind="rs", actor="controller/deployment")
        if row.verb == "update" and row.change.startswith("spec.replicas")
    ]
    assert "spec.replicas 3→2" in scales
    deletions = await events(plane.log, kind="pod", actor="controller/replicaset")
    assert any(row.change.startswith("metadata.deletionTimestamp set") for row in deletions)


async def test_get_at_and_diff_around_the_image_change(plane: ControlPlane) -> None:
    _, change = await user_writes(plane)
    before = await get_at(plane.log, "deploy", NAME, "default", change - 1)
    assert isinstance(before, Deployment)
    assert before.spec.template.spec.containers[0].image == IMAGE.format("v1.0")
    text = await diff(plane.log, "deploy", NAME, "default", change - 1, change)
    assert f"-        image: {IMAGE.format('v1.0')}" in text.splitlines()
    assert f"+        image: {IMAGE.format('v2.0')}" in text.splitlines()
    assert text.startswith(f"diff -u -N REV-{change - 1}/apps.v1.Deployment.default.{NAME} ")


async def test_why_reaches_the_users_patch(plane: ControlPlane) -> None:
    _, change = await user_writes(plane)
    steps = await why(plane.log, "deploy", NAME, "default")
    live = await get_at(plane.log, "deploy", NAME, "default", None)
    assert live is not None
    assert steps[0].revision == int(live.metadata.resource_version)  # type: ignore[attr-defined]
    assert steps[0].object == f"deployment.apps/{NAME}"
    assert (steps[-1].revision, steps[-1].actor, steps[-1].cause) == (change, "user", 0)
    assert all(a.cause == b.revision for a, b in itertools.pairwise(steps))
    assert "started by the user's command" in format_why(steps)
    new_pods = [
        pod.metadata.name
        for pod in (await plane.client.list("Pod", namespace="default")).items
        if pod.spec.containers[0].image == IMAGE.format("v2.0")  # type: ignore[attr-defined]
    ]
    assert new_pods
    for pod in new_pods:
        chain = await why(plane.log, "pod", pod, "default")
        assert chain[-1].revision == change
        assert any(step.object.startswith("replicaset.apps/") for step in chain)


async def replica_sequences(plane: ControlPlane) -> dict[str, list[int]]:
    """Each ReplicaSet's successive distinct spec.replicas, read straight from the log."""
    seen: dict[str, list[int]] = {}
    async for event in plane.log.events(prefix="/registry/replicasets/default/"):
        if event.value is None:
            continue
        rs = CODEC.decode(ReplicaSet, event.value)
        values = seen.setdefault(rs.metadata.name, [])
        if not values or values[-1] != rs.spec.replicas:
            values.append(rs.spec.replicas or 0)
    return seen


def distinct(values: tuple[int, ...]) -> list[int]:
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


async def test_timeline_matches_the_replica_sets_in_the_log(plane: ControlPlane) -> None:
    line = await timeline(plane.log, NAME, "default")
    expected = await replica_sequences(plane)
    assert [s.name for s in line.series] == list(expected)
    for series in line.series:
        assert len(series.replicas) == len(line.revisions)
        before = [0] if series.first_step > 0 else []
        assert distinct(series.replicas) == before + expected[series.name]
    old, new = line.series
    assert old.images == (IMAGE.format("v1.0"),)
    assert distinct(old.replicas) == [3, 2, 0]
    assert distinct(new.replicas) == [0, 1, 2, 3]
    assert line.revisions == tuple(sorted(line.revisions))
    text = format_timeline(line, details=False)
    assert text.splitlines()[0] == "RSv1: " + " -> ".join(map(str, old.replicas))
    root = ET.fromstring(timeline_svg(line))
    polylines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(polylines) == 2
    assert "RSv2" in "".join(root.itertext())


async def test_history_keeps_templates_beyond_the_history_limit() -> None:
    limited = V1.replace("  replicas: 3\n", "  replicas: 3\n  revisionHistoryLimit: 1\n")
    async with ControlPlane.open(nodes=3, seed=7) as plane:
        await plane.apply(limited)
        await plane.settle()
        await set_image(plane, "v2.0")
        await plane.settle()
        await set_image(plane, "v3.0")
        annotate = {"metadata": {"annotations": {CAUSE: "version 3"}}}
        await plane.client.patch("Deployment", NAME, annotate, namespace="default")
        await plane.settle()
        await undo(plane.client, NAME, "default")
        await plane.settle()
        kept = (await plane.client.list("ReplicaSet", namespace="default")).items
        kept_images = {rs.spec.template.spec.containers[0].image for rs in kept}  # type: ignore[attr-defined]
        assert IMAGE.format("v1.0") not in kept_images  # cleaned up: beyond the limit
        entries = await rollout_history_all(plane.log, NAME, "default")
        users = await user_writes(plane)
    images = [entry.images for entry in entries]
    assert images == [(f"myapp={IMAGE.format(v)}",) for v in ("v1.0", "v2.0", "v3.0", "v2.0")]
    assert [entry.same_as for entry in entries] == [0, 0, 0, 2]
    assert [entry.change_cause for entry in entries] == ["", "", "version 3", ""]
    assert [entry.rollout_revisions for entry in entries] == [(1,), (2,), (3,), (4,)]
    assert all(entry.by is not None and entry.by.actor == "user" for entry in entries)
    assert {entry.by.revision for entry in entries if entry.by} <= set(users)
    assert entries[0].revision == users[0]
    assert [entry.time for entry in entries] == sorted(entry.time for entry in entries)
    table = format_history_all(entries).splitlines()
    assert table[0].split()[:3] == ["TEMPLATE", "REVISION", "TIME"]
    assert table[4].endswith(
        f"myapp={IMAGE.format('v2.0')} (as template 2)   -"
    )  # no command record
