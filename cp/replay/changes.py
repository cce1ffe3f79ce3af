"""A small JSON diff of two versions of an object, and the one-line change summary built on it.

    summarize({"spec": {"replicas": 3}}, {"spec": {"replicas": 2}})       # "spec.replicas 3→2"
    summarize(pod, pod_being_deleted)     # "metadata.deletionTimestamp set"

Leaves are compared by path. Lists of mappings that all carry a `name` (containers, owner
references) or a `type` (conditions) are matched by that key, as a strategic merge patch does,
so a path reads `status.conditions[Ready].status`; other lists are compared whole. Bookkeeping
that changes on every write (`metadata.resourceVersion`, `metadata.generation`,
`metadata.managedFields`) is left out. Kubernetes omits zero values on the wire, so a missing
number reads as 0 and a missing boolean as false (`status.readyReplicas 0→1`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import msgspec

__all__ = ["Change", "diff_json", "summarize"]

_IGNORED = frozenset({"metadata.resourceVersion", "metadata.generation", "metadata.managedFields"})
_MAX_VALUE = 40
_MAX_CHANGES = 4
_MISSING: Any = object()


class Change(msgspec.Struct, frozen=True, gc=False):
    """One changed leaf: its path, what happened, and the values before and after (None when
    absent on that side)."""

    path: str
    op: Literal["set", "unset", "changed"]
    old: Any = None
    new: Any = None


def _merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in ("name", "type"):
        if all(isinstance(item.get(key), str) for item in items):
            return key
    return None


def _keyed(items: list[Any], key: str) -> dict[str, Any]:
    return {item[key]: item for item in items}


def _child(path: str, name: str) -> str:
    """`a.b`, or `a[b.c/d]` for a map key holding dots or slashes (annotations, labels)."""
    if "." in name or "/" in name:
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _walk(path: str, old: Any, new: Any) -> Iterator[Change]:
    if path in _IGNORED or old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for name in [*old, *(k for k in new if k not in old)]:
            child = _child(path, str(name))
            yield from _walk(child, old.get(name, _MISSING), new.get(name, _MISSING))
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _merge_key(old + new)
        if key is not None:
            before, after = _keyed(old, key), _keyed(new, key)
            if len(before) == len(old) and len(after) == len(new):
                for name in [*before, *(k for k in after if k not in before)]:
                    yield from _walk(
                        f"{path}[{name}]", before.get(name, _MISSING), after.get(name, _MISSING)
                    )
                return
    if old is _MISSING:
        yield Change(path=path, op="set", new=new)
    elif new is _MISSING:
        yield Change(path=path, op="unset", old=old)
    else:
        yield Change(path=path, op="changed", old=old, new=new)


def diff_json(old: Any, new: Any) -> list[Change]:
    """Every changed leaf between two JSON documents (None stands for "no object")."""
    return list(_walk("", {} if old is None else old, {} if new is None else new))


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _is_time(path: str) -> bool:
    last = path.rsplit(".", 1)[-1]
    return last.endswith(("Time", "Timestamp"))


def _zero(value: Any) -> Any:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return 0
    return _MISSING


def _phrase(change: Change) -> str:
    if change.op == "changed":
        return f"{change.path} {_render(change.old)}→{_render(change.new)}"
    present = change.new if change.op == "set" else change.old
    zero = _zero(present)
    if zero is not _MISSING:
        old, new = (zero, present) if change.op == "set" else (present, zero)
        return f"{change.path} {_render(old)}→{_render(new)}"
    if change.op == "unset":
        return f"{change.path} unset"
    if isinstance(present, str) and not _is_time(change.path) and len(present) <= _MAX_VALUE:
        return f"{change.path}={present}"
    return f"{change.path} set"


def _rank(change: Change) -> tuple[int, int]:
    """Spec first, then metadata, status, the rest; within each, prose (`reason`, `message`)
    and timestamps after the values that matter. A deletion mark comes before everything."""
    if change.path == "metadata.deletionTimestamp":
        return (-1, 0)
    top = change.path.split(".", 1)[0].split("[", 1)[0]
    order = {"spec": 0, "metadata": 1, "status": 2}.get(top, 3)
    minor = _is_time(change.path) or change.path.endswith((".reason", ".message"))
    return (order, 1 if minor else 0)


def _created(value: Any) -> str:
    parts = ["created"]
    spec = value.get("spec") if isinstance(value, dict) else None
    if isinstance(spec, dict):
        if isinstance(spec.get("replicas"), int):
            parts.append(f"spec.replicas={spec['replicas']}")
        template = spec.get("template")
        pod_spec = template.get("spec") if isinstance(template, dict) else spec
        containers = pod_spec.get("containers") if isinstance(pod_spec, dict) else None
        if isinstance(containers, list):
            images = [c.get("image") for c in containers if isinstance(c, dict)]
            parts.extend(f"image={image}" for image in images if isinstance(image, str))
    return " ".join(parts)


def summarize(old: Any, new: Any, *, limit: int = _MAX_CHANGES) -> str:
    """A short, one-line account of what changed from `old` to `new` (JSON builtins; None for
    no object): `created spec.replicas=3 image=...` for a create, `deleted` for a delete,
    else the first `limit` changed leaves (spec first, status last, timestamps after the rest)
    and `(+N more)`; `no change` when only bookkeeping changed."""
    if old is None and new is None:
        return ""
    if old is None:
        return _created(new)
    if new is None:
        return "deleted"
    changes = sorted(diff_json(old, new), key=_rank)
    if not changes:
        return "no change"
    shown = ", ".join(_phrase(change) for change in changes[:limit])
    more = len(changes) - limit
    return f"{shown} (+{more} more)" if more > 0 else shown
