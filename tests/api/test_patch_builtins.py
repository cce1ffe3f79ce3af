"""Patches on `msgspec.to_builtins` output: arrays arrive as tuples and must act as JSON arrays."""

from __future__ import annotations

from typing import Any

import msgspec

from cp.api.codec import load_manifests
from cp.api.patch import merge_patch
from cp.api.patch_strategic import strategic_merge_patch


def test_patches_accept_msgspec_builtins_with_tuples() -> None:
    """`msgspec.to_builtins` of a frozen Struct leaves arrays as tuples; the patches treat them
    as JSON arrays (merge keys apply) and return lists."""
    (deployment,) = load_manifests(TWO_CONTAINERS)
    target = msgspec.to_builtins(deployment)
    assert isinstance(target["spec"]["template"]["spec"]["containers"], tuple)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}}
    result: Any = strategic_merge_patch(target, patch, "Deployment")
    containers = result["spec"]["template"]["spec"]["containers"]
    assert isinstance(containers, list)
    assert [(c["name"], c["image"]) for c in containers] == [("web", "web:2"), ("side", "side:1")]
    merged: Any = merge_patch(target, {"metadata": {"labels": None}})
    assert isinstance(merged["spec"]["template"]["spec"]["containers"], list)
    assert "labels" not in merged["metadata"]


TWO_CONTAINERS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "web:1"}
      - {name: side, image: "side:1"}
"""
