"""Builders for the printer tests: objects from camelCase dicts, timestamps relative to NOW."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from cp.api.meta import ApiStruct
from cp.api.times import parse_rfc3339, rfc3339

T = TypeVar("T", bound=ApiStruct)

NOW = parse_rfc3339("2024-06-01T12:00:00Z")


def ago(seconds: float) -> str:
    """The RFC 3339 timestamp `seconds` before NOW."""
    return rfc3339(NOW - seconds)


def make(cls: type[T], raw: dict[str, Any]) -> T:
    return msgspec.convert(raw, cls)


def meta(name: str, seconds_ago: float, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "creationTimestamp": ago(seconds_ago), **extra}


def template(*containers: tuple[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": n, "image": i} for n, i in containers], **spec},
    }
