"""`timeline`: the `spec.replicas` of each ReplicaSet of a Deployment over a common step axis.

A step is a write that changed some owned ReplicaSet's `spec.replicas` (its creation, a scale,
its deletion, which counts as 0); every series holds its value at every step, 0 before that
ReplicaSet existed (as the seed draws it; `first_step` says when it appeared). For the seed's
v1 -> v2 rollout (3 replicas, maxSurge 1, maxUnavailable 1) on cpemu's controllers:

    RSv1: 3 -> 3 -> 2 -> 2 -> 0 -> 0
    RSv2: 0 -> 1 -> 1 -> 2 -> 2 -> 3          (the exact steps follow pod availability)

ReplicaSets are those whose ownerReferences name the Deployment (kind and name), numbered
`RSv1`, `RSv2`, ... in order of creation. `timeline_svg` draws the same data as a step chart.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import msgspec

from cp.api.times import rfc3339
from cp.replay.errors import ObjectNotFound
from cp.replay.keys import decode_value, parse_key, resolve_kind
from store import EventLog

__all__ = ["Series", "Timeline", "format_timeline", "timeline", "timeline_svg"]


class Series(msgspec.Struct, frozen=True, gc=False):
    """One ReplicaSet: its `label` (`RSv1`), name, container images, `replicas[i]`, its
    `spec.replicas` at step i (0 before it existed), and `first_step`, the step it appeared at."""

    label: str
    name: str
    images: tuple[str, ...]
    replicas: tuple[int, ...]
    first_step: int


class Timeline(msgspec.Struct, frozen=True, gc=False):
    """The step axis (`revisions[i]` and `times[i]` of the write that made step i) and one
    series per ReplicaSet, in order of creation."""

    deployment: str
    namespace: str
    revisions: tuple[int, ...]
    times: tuple[float, ...]
    series: tuple[Series, ...]


def _owned_by(obj: Any, deployment: str) -> bool:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    refs = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    return any(
        isinstance(ref, dict) and ref.get("kind") == "Deployment" and ref.get("name") == deployment
        for ref in refs or ()
    )


def _replicas(obj: Any) -> int:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    value = spec.get("replicas", 1) if isinstance(spec, dict) else 1
    return value if isinstance(value, int) else 1


def _images(obj: Any) -> tuple[str, ...]:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    containers = pod.get("containers") if isinstance(pod, dict) else None
    return tuple(str(c.get("image", "")) for c in containers or () if isinstance(c, dict))


async def timeline(log: EventLog, deployment: str, namespace: str) -> Timeline:
    """The replica counts of every ReplicaSet the Deployment controlled (see the module doc),
    from the history the log still holds. Raises ObjectNotFound when it controlled none."""
    prefix = f"/registry/{resolve_kind('ReplicaSet').plural}/{namespace}/"
    names: list[str] = []
    images: dict[str, tuple[str, ...]] = {}
    current: dict[str, int] = {}
    revisions: list[int] = []
    times: list[float] = []
    rows: list[dict[str, int]] = []
    async for event in log.events(after=log.compacted_revision, prefix=prefix):
        name = parse_key(event.key).name
        obj = decode_value(event.value if event.value is not None else event.prev_value)
        if name not in current and not _owned_by(obj, deployment):
            continue
        value = 0 if event.value is None else _replicas(obj)
        if name not in current:
            names.append(name)
            images[name] = _images(obj)
        elif current[name] == value:
            continue
        current[name] = value
        revisions.append(event.revision)
        times.append(event.time)
        rows.append(dict(current))
    if not names:
        message = f'no ReplicaSet of deployments.apps "{deployment}" in namespace "{namespace}"'
        raise ObjectNotFound(message)
    series = tuple(
        Series(
            label=f"RSv{index}",
            name=name,
            images=images[name],
            replicas=tuple(row.get(name, 0) for row in rows),
            first_step=next(i for i, row in enumerate(rows) if name in row),
        )
        for index, name in enumerate(names, start=1)
    )
    return Timeline(
        deployment=deployment,
        namespace=namespace,
        revisions=tuple(revisions),
        times=tuple(times),
        series=series,
    )


def format_timeline(line: Timeline, *, details: bool = True) -> str:
    """One line per ReplicaSet, `RSv1: 3 -> 3 -> 2 -> 0` (0 before it existed), values padded
    so the arrows line up; with `details`, each line ends with the ReplicaSet's name and images,
    and a last line gives the revisions and virtual times the steps span."""
    width = max((len(str(v)) for s in line.series for v in s.replicas if v is not None), default=1)
    label_width = max(len(s.label) for s in line.series) + 1
    lines = []
    for s in line.series:
        values = " -> ".join(str(v).rjust(width) for v in s.replicas)
        text = f"{(s.label + ':').ljust(label_width)} {values}"
        if details:
            text += f"   {s.name} {','.join(s.images)}"
        lines.append(text.rstrip())
    if details and line.revisions:
        first, last = line.revisions[0], line.revisions[-1]
        span = f"{rfc3339(line.times[0])} .. {rfc3339(line.times[-1])}"
        lines.append(f"({len(line.revisions)} steps, revisions {first}..{last}, {span})")
    return "\n".join(lines) + "\n"


_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def timeline_svg(line: Timeline, *, step_width: int = 60, row_height: int = 30) -> str:
    """The timeline as a standalone SVG step chart: x is the step, y the replica count, one
    coloured line per ReplicaSet, with a legend and axis ticks. Plain text, no dependencies."""
    steps = len(line.revisions)
    top = max([1, *(v for s in line.series for v in s.replicas)])
    left, margin = 50, 20
    legend = 20 * len(line.series) + 10
    width = left + max(steps, 1) * step_width + margin
    height = margin + top * row_height + 40 + legend

    def x(i: int) -> int:
        return left + i * step_width

    def y(v: int) -> int:
        return margin + (top - v) * row_height

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(f'deployment/{line.deployment} ({line.namespace})')}</title>",
        f'<line x1="{left}" y1="{y(0)}" x2="{x(steps)}" y2="{y(0)}" stroke="#000"/>',
        f'<line x1="{left}" y1="{y(0)}" x2="{left}" y2="{y(top)}" stroke="#000"/>',
    ]
    out.extend(
        f'<text x="{left - 8}" y="{y(v) + 4}" text-anchor="end">{v}</text>' for v in range(top + 1)
    )
    for i, rev in enumerate(line.revisions):
        out.append(
            f'<text x="{x(i) + step_width // 2}" y="{y(0) + 16}" text-anchor="middle">{rev}</text>'
        )
    for index, s in enumerate(line.series):
        color = _COLORS[index % len(_COLORS)]
        points = " ".join(f"{x(i)},{y(v)} {x(i + 1)},{y(v)}" for i, v in enumerate(s.replicas))
        if points:
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                f'points="{points}"><title>{escape(s.name)}</title></polyline>'
            )
        ly = y(0) + 36 + 20 * index
        out.append(f'<rect x="{left}" y="{ly - 10}" width="12" height="12" fill="{color}"/>')
        text = f"{s.label} {s.name} {','.join(s.images)}"
        out.append(f'<text x="{left + 18}" y="{ly}">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
