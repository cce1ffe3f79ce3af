"""`cpemu scale`, `cpemu set image` and `cpemu patch`: one write to one object, then settle
(unless `--no-wait`). Output lines are kubectl's (`deployment.apps/web scaled`, `... image
updated`, `... patched` / `... patched (no change)`)."""

from __future__ import annotations

import argparse
import json
from typing import Any, cast

from cp.api.codec import dump_json
from cp.api.errors import ApiError
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct
from cp.cli.common import CliError, Runner, ref, split_target
from cp.client.protocol import PATCH_TYPES, PatchType

__all__ = ["add_parsers", "patch", "scale", "set_image"]

#: Kinds `scale` accepts (those with `spec.replicas`).
_SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    """The `scale`, `set image` and `patch` subcommands, each with its `handler`."""
    sub = verbs.add_parser("scale", parents=[common], help="set the replicas of an object")
    sub.add_argument("target", nargs="+", metavar="KIND/NAME")
    sub.add_argument("--replicas", type=int, required=True)
    sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    sub.set_defaults(handler=scale)

    set_ = verbs.add_parser("set", help="set a field of an object")
    what = set_.add_subparsers(dest="what", metavar="WHAT", required=True)
    image = what.add_parser("image", parents=[common], help="update container images")
    image.add_argument(
        "words", nargs="+", metavar="KIND/NAME|KIND NAME CONTAINER=IMAGE", help="as kubectl"
    )
    image.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    image.set_defaults(handler=set_image)

    sub = verbs.add_parser("patch", parents=[common], help="patch one object")
    sub.add_argument("target", nargs="+", metavar="KIND NAME")
    sub.add_argument("-p", "--patch", default=None, help="the patch, as JSON")
    sub.add_argument("--type", choices=PATCH_TYPES, default="strategic")
    sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    sub.set_defaults(handler=patch)


def _rv(obj: ApiStruct) -> str:
    rv: str = obj.metadata.resource_version  # type: ignore[attr-defined]
    return rv


async def _patch_one(
    run: Runner, info: KindInfo, name: str, body: object, patch_type: PatchType, outcome: str
) -> None:
    """Patch as the user, print `<ref> <outcome>` (with ` (no change)` for a no-op), settle."""
    async with run.mutate() as plane:
        try:
            before = await plane.client.get(info.kind, name, namespace=run.namespace)
            after = await plane.client.patch(
                info.kind,
                name,
                cast("Any", body),
                patch_type=patch_type,
                namespace=run.namespace,
            )
        except ApiError as exc:
            run.server_error(exc)
            return
        unchanged = " (no change)" if _rv(after) == _rv(before) else ""
        run.out(f"{ref(info, name)} {outcome}{unchanged}\n")


async def scale(run: Runner) -> None:
    info, name = split_target(run.args.target, "scale")
    if info.kind not in _SCALABLE:
        raise CliError(f'cannot scale {info.kind} "{name}": it has no replicas')
    if run.args.replicas < 0:
        raise CliError(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
        )
    body = {"spec": {"replicas": run.args.replicas}}
    await _patch_one(run, info, name, body, "merge", "scaled")


def _images(words: list[str]) -> dict[str, str]:
    images: dict[str, str] = {}
    for word in words:
        container, eq, image = word.partition("=")
        if not eq or not container or not image:
            raise CliError(f"invalid image update {word!r}: expected CONTAINER=IMAGE")
        images[container] = image
    return images


async def set_image(run: Runner) -> None:
    words: list[str] = run.args.words
    target = [w for w in words if "=" not in w]
    images = _images([w for w in words if "=" in w])
    info, name = split_target(target, "set image")
    if not images:
        raise CliError("at least one image update is required")
    async with run.mutate() as plane:
        try:
            current = await plane.client.get(info.kind, name, namespace=run.namespace)
        except ApiError as exc:
            run.server_error(exc)
            return
        raw: dict[str, Any] = json.loads(dump_json(current))
        spec = raw.get("spec") or {}
        pod_spec = spec if info.kind == "Pod" else (spec.get("template") or {}).get("spec")
        if not isinstance(pod_spec, dict):
            run.error(f'error: {info.kind} "{name}" has no pod template')
            return
        containers: list[dict[str, Any]] = [
            *(pod_spec.get("initContainers") or []),
            *(pod_spec.get("containers") or []),
        ]
        known = {c.get("name") for c in containers}
        for container in images:
            if container != "*" and container not in known:
                run.error(f'error: unable to find container named "{container}"')
                return
        for c in containers:
            image = images.get(c.get("name", ""), images.get("*"))
            if image is not None:
                c["image"] = image
        path = "/spec" if info.kind == "Pod" else "/spec/template/spec"
        ops: list[object] = [
            {"op": "replace", "path": f"{path}/{field}", "value": pod_spec[field]}
            for field in ("initContainers", "containers")
            if pod_spec.get(field)
        ]
        try:
            await plane.client.patch(
                info.kind, name, ops, patch_type="json", namespace=run.namespace
            )
        except ApiError as exc:
            run.server_error(exc)
            return
        run.out(f"{ref(info, name)} image updated\n")


async def patch(run: Runner) -> None:
    """kubectl's `patch`; the patch comes with `-p` (a JSON word after the name, as the seed
    writes it, gets kubectl's error)."""
    if run.args.patch is None:
        raise CliError("must specify --patch or --patch-file containing the contents of the patch")
    info, name = split_target(run.args.target, "patch")
    try:
        body = json.loads(run.args.patch)
    except json.JSONDecodeError as exc:
        raise CliError(f"unable to parse {run.args.patch!r}: {exc}") from None
    patch_type: PatchType = run.args.type
    if patch_type == "json" and not isinstance(body, list):
        raise CliError("json patch must be a list of operations")
    if patch_type != "json" and not isinstance(body, dict):
        raise CliError(f"{patch_type} patch must be a JSON object")
    await _patch_one(run, info, name, body, patch_type, "patched")
