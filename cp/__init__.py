"""cpemu's API machinery: typed Kubernetes objects, apiserver semantics, informers and runtime.

The embedding API is `from cp import ControlPlane` (fixed contract 2 in DESIGN.md):

    async with ControlPlane.open(store="memory://", clock="virtual", seed=0) as plane:
        await plane.apply(yaml_text)
        report = await plane.settle(max_seconds=3600)   # SettleReport(converged, seconds, events)

`ControlPlane` is a composition root (it picks the store backend), so it is imported lazily,
on first access: `import cp.client` or `import cp.api` must not pull in `store`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cp.plane import ControlPlane, SettleReport

__all__ = ["ControlPlane", "SettleReport"]


def __getattr__(name: str) -> object:
    if name in __all__:
        return getattr(importlib.import_module("cp.plane"), name)
    raise AttributeError(f"module 'cp' has no attribute {name!r}")
