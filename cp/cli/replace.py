"""`cpemu replace -f PATH` and `cpemu edit KIND NAME`: a whole object written back by the user.

`replace` follows kubectl's `staging/src/k8s.io/kubectl/pkg/cmd/replace/replace.go` and
cli-runtime's `resource.Helper.Replace(overwrite=true)`: each document is a PUT of the whole
object (its status is kept by the server); a `metadata.resourceVersion` in the manifest is a
precondition (409 Conflict when stale), without one the current object's is used. A document
that fails is reported (`Error from server (NotFound): error when replacing "f.yaml":
deployments.apps "x" not found`) and the others go on (the builder's ContinueOnError).

`edit` follows `staging/src/k8s.io/kubectl/pkg/cmd/util/editor/editoptions.go` (`Run`,
`visitToPatch`, `editResults.addError`, `editHeader.writeTo`); see `_Session`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from msgspec.structs import replace as struct_replace

from cp.api.codec import dump_json, dump_yaml
from cp.api.errors import ApiError, Invalid, NotFound, qualified_resource
from cp.api.kinds import KINDS, KindInfo
from cp.api.meta import ApiStruct
from cp.cli.common import CliError, Runner, ref, split_target
from cp.cli.manifests import Document, add_filename_argument
from cp.client.protocol import Client

__all__ = ["HEADER", "add_parsers", "edit", "manual_strip", "replace"]


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    """The `replace` and `edit` subcommands, each with its `handler`."""
    text = "replace objects by the manifests' (a PUT of each whole object)"
    sub = verbs.add_parser("replace", parents=[common], help=text, description=text)
    add_filename_argument(sub)
    sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    sub.set_defaults(handler=replace)

    text = "edit an object in $KUBE_EDITOR or $EDITOR (default vi), then patch it"
    sub = verbs.add_parser("edit", parents=[common], help=text, description=text)
    sub.add_argument("target", nargs="+", metavar="KIND NAME | KIND/NAME")
    sub.add_argument(
        "-o", "--output", choices=("yaml", "json"), default="yaml", help="format to edit in"
    )
    sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    sub.set_defaults(handler=edit)


def _rv(obj: ApiStruct) -> str:
    rv: str = obj.metadata.resource_version  # type: ignore[attr-defined]
    return rv


def _resource(info: KindInfo) -> str:
    """`deployments.apps`, as kubectl names the resource in edit's messages."""
    return qualified_resource(info.plural, info.group)


# -- replace ----------------------------------------------------------------------------------


async def replace(run: Runner) -> None:
    documents = run.documents(run.args.filename)
    async with run.mutate() as plane:
        for doc in documents:
            await _replace_one(run, plane.client, doc)


async def _replace_one(run: Runner, client: Client, doc: Document) -> None:
    """`Helper.Replace(namespace, name, overwrite=true, obj)`: GET for the resourceVersion when
    the manifest has none (a failed GET still PUTs, and the PUT reports NotFound), then PUT."""
    obj, meta, name = doc.obj, doc.meta, doc.meta.name
    namespace = (meta.namespace or run.namespace or "default") if doc.info.namespaced else None
    if namespace is not None and meta.namespace != namespace:
        meta = struct_replace(meta, namespace=namespace)
    if not meta.resource_version:
        try:
            current = await client.get(doc.info.kind, name, namespace=namespace)
        except ApiError:
            pass
        else:
            meta = struct_replace(meta, resource_version=_rv(current))
    obj = struct_replace(obj, metadata=meta)
    try:
        await client.update(obj)
    except ApiError as exc:
        run.server_error(exc, f'error when replacing "{doc.source}"')
        return
    run.out(f"{ref(doc.info, name)} replaced\n")


# -- edit -------------------------------------------------------------------------------------

#: `editHeader.writeTo` for the normal edit mode.
HEADER: Final = (
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
    "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
    "# reopened with the relevant failures.\n"
    "#\n"
)
_TIMESTAMP_TAG: Final = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """The safe loader without the YAML 1.1 timestamp resolver: timestamps stay strings, as
    in the JSON the edited object becomes."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (a class constant, never modified)
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _SyntaxError(Exception):
    """The text is not YAML (the message is go-yaml's shape: `yaml: line N: problem`)."""


def _load(text: str) -> Any:
    """The first document of `text` as JSON builtins (`yaml.ToJSON`: later documents are
    ignored, an empty text is None)."""
    try:
        for document in yaml.load_all(text, Loader=_Loader):
            return json.loads(json.dumps(document))
    except yaml.MarkedYAMLError as exc:
        line = f" line {exc.problem_mark.line + 1}:" if exc.problem_mark else ""
        raise _SyntaxError(f"yaml:{line} {exc.problem}") from None
    except (yaml.YAMLError, RecursionError, TypeError, ValueError) as exc:
        raise _SyntaxError(f"yaml: {exc}") from None
    return None


def manual_strip(text: str) -> str:
    """`cmdutil.ManualStrip`: the text without its comment lines (`#`, but not `#!`)."""
    lines = text.split("\n")
    parts = []
    for i, line in enumerate(lines):
        trimmed = line.strip()
        if trimmed.startswith("#") and not trimmed.startswith("#!"):
            continue
        parts.append(line + "\n" if i < len(lines) - 1 else line)
    return "".join(parts)


def _strip_comments(text: str) -> object:
    """`cmdutil.StripComments`, for comparing: the content as JSON, else the text without its
    comment lines when it is no YAML."""
    try:
        return ("json", _load(text))
    except _SyntaxError:
        return ("text", manual_strip(text))


def _validate(text: str) -> tuple[dict[str, Any] | None, str]:
    """kubectl's client-side check before anything else (`paramVerifyingSchema.ValidateBytes`:
    parse, then `GetObjectKind`): (the object, "") or (None, what is wrong)."""
    try:
        data = _load(text)
    except _SyntaxError as exc:
        return None, f"error converting YAML to JSON: {exc}"
    if not isinstance(data, dict) or not data:
        return None, "invalid object to validate"
    problems = []
    for key in ("apiVersion", "kind"):
        if data.get(key) is None:
            problems.append(f"{key} not set")
        elif not isinstance(data[key], str):
            problems.append(f"{key} isn't string type")
    if problems:
        return None, problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
    return data, ""


def _hash_on_line_break(text: str) -> str:
    """`hashOnLineBreak`: a multi-line reason stays a comment."""
    out = []
    for i, char in enumerate(text):
        if char == "\n" and i + 1 < len(text) and text[i + 1] != "#":
            out.append("\n# ")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Reason:
    """`editReason`: why the file is reopened."""

    head: str
    other: tuple[str, ...] = ()


def _header(reasons: list[_Reason]) -> str:
    """`editHeader.writeTo`: the fixed header, then each reason as comments."""
    parts = [HEADER]
    for reason in reasons:
        colon = ":" if reason.other else ""
        parts.append(f"# {_hash_on_line_break(reason.head)}{colon}\n")
        parts.extend(f"# * {_hash_on_line_break(other)}\n" for other in reason.other)
        parts.append("#\n")
    return "".join(parts)


def merge_diff(original: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """`jsonpatch.CreateMergePatch` (RFC 7386): removed keys as null, changed values whole,
    mappings recursively."""
    patch: dict[str, Any] = {key: None for key in original if key not in edited}
    for key, value in edited.items():
        if key not in original:
            patch[key] = value
        elif isinstance(original[key], dict) and isinstance(value, dict):
            inner = merge_diff(original[key], value)
            if inner:
                patch[key] = inner
        elif original[key] != value:
            patch[key] = value
    return patch


class _Outcome(Exception):
    """The session ends with an error: `error: <message>` (empty: kubectl's ErrExit, exit 1
    with nothing more)."""


@dataclass
class _Session:
    """One `kubectl edit` session of one object: the loop of `EditOptions.Run`.

    Walk-through: the object is printed under `HEADER` and handed to the editor.
    - the edit fails the client-side check (not YAML, no mapping, no apiVersion/kind):
      `error: deployments.apps "web" is invalid` on stderr, and the file is reopened with the
      reason as a comment on top and the user's text below;
    - nothing changed (comments aside): `Edit cancelled, no changes made.` (stderr, exit 0);
    - an unknown kind: reopened with `The edited file had a syntax error: ...`;
    - apiVersion, kind or name changed: `error: At least one of apiVersion, kind and name was
      changed` (exit 1, nothing written); another namespace: kubectl's namespace mismatch error;
    - otherwise a JSON merge patch from the original to the edited object is sent, with the
      original resourceVersion as a precondition: `deployment.apps/web edited`; the server
      says Invalid: `error: ... is invalid` and reopened with each cause as a comment;
      NotFound or anything else (Conflict, BadRequest): exit 1 with kubectl's lines and the
      edited text saved to a file for `cpemu replace -f`.
    When the file was reopened because of an error and comes back unchanged, the session ends:
    `error: Edit cancelled, no valid changes were saved.`. kubectl keeps reopening for as long
    as the user saves new invalid content; so does this loop.
    """

    run: Runner
    client: Client
    info: KindInfo
    name: str
    namespace: str | None
    current: ApiStruct
    json_format: bool
    reasons: list[_Reason] = field(default_factory=list)

    @property
    def _suffix(self) -> str:
        return ".json" if self.json_format else ".yaml"

    def _print(self, obj: ApiStruct) -> str:
        return dump_json(obj) + "\n" if self.json_format else dump_yaml(obj)

    def _what(self) -> str:
        return f'{_resource(self.info)} "{self.name}"'

    async def loop(self) -> None:
        original = ""
        edited = ""
        contains_error = False
        while True:
            text = _header(self.reasons)
            if contains_error:
                text += manual_strip(edited)
            else:
                text += self._print(self.current)
                original = text
            previous, edited = edited, self.run.edit_text(text, suffix=self._suffix)
            if contains_error and _strip_comments(previous) == _strip_comments(edited):
                self._preserved(edited)
                raise _Outcome("Edit cancelled, no valid changes were saved.")
            self.reasons = []
            data, problem = _validate(edited)
            if data is None:
                contains_error = True
                self._invalid(
                    (f'<nil>: Invalid value: "The edited file failed validation": {problem}',)
                )
                continue
            if _strip_comments(original) == _strip_comments(edited):
                _note("Edit cancelled, no changes made.")
                return
            info = KINDS.for_api_version(data["apiVersion"], data["kind"])
            if info is None:
                contains_error = True
                self.reasons.append(
                    _Reason(
                        'The edited file had a syntax error: unable to recognize "edited-file": '
                        f'no matches for kind "{data["kind"]}" in version "{data["apiVersion"]}"'
                    )
                )
                continue
            contains_error = await self._patch(data, edited)
            if not contains_error:
                return

    def _invalid(self, causes: tuple[str, ...]) -> None:
        """`addError` for an Invalid error: a stderr line and a reason to reopen with."""
        _note(f"error: {self._what()} is invalid")
        self.reasons.append(_Reason(f"{self._what()} was not valid", causes))

    def _preserved(self, edited: str) -> str:
        """`preservedFile`: the edited text kept in a file the user is told about."""
        path = _keep(edited, self._suffix)
        _note(f'A copy of your changes has been stored to "{path}"')
        return path

    def _check(self, data: dict[str, Any]) -> None:
        """What kubectl refuses before patching: another object, namespace, kind or name."""
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        edited_namespace = meta.get("namespace") or ""
        if self.namespace is not None and edited_namespace not in ("", self.namespace):
            raise _Outcome(
                f'the namespace from the provided object "{edited_namespace}" does not match '
                f'the namespace "{self.namespace}". You must pass '
                f"'--namespace={edited_namespace}' to perform this operation."
            )
        current_meta = self.current.metadata  # type: ignore[attr-defined]
        if meta.get("uid", "") != current_meta.uid:
            raise _Outcome(f'no original object found for {data["kind"]} "{meta.get("name")}"')
        if (
            data["apiVersion"] != self.info.api_version
            or data["kind"] != self.info.kind
            or meta.get("name") != self.name
        ):
            raise _Outcome("At least one of apiVersion, kind and name was changed")

    async def _patch(self, data: dict[str, Any], edited: str) -> bool:
        """`visitToPatch` and the error handling after it; True when the file is reopened."""
        try:
            self._check(data)
        except _Outcome:
            self._preserved(edited)
            raise
        original = _load(dump_json(self.current))
        patch = merge_diff(original, data)
        metadata = patch.setdefault("metadata", {})
        if isinstance(metadata, dict):
            metadata.setdefault("resourceVersion", _rv(self.current))
        try:
            await self.client.patch(
                self.info.kind, self.name, patch, patch_type="merge", namespace=self.namespace
            )
        except Invalid as exc:
            self._invalid(tuple(f"{c.field}: {c.message}" for c in exc.details.causes))
            return True
        except NotFound:
            _note(f"error: {self._what()} could not be found on the server")
            path = _keep(edited, self._suffix)
            _note(f'The edits you made on deleted resources have been saved to "{path}"')
            raise _Outcome("") from None
        except ApiError as exc:
            _note(f"error: {self._what()} could not be patched: {exc.message}")
            path = _keep(edited, self._suffix)
            _note(f"You can run `cpemu replace -f {path}` to try this update again.")
            raise _Outcome("") from None
        self.run.out(f"{ref(self.info, self.name)} edited\n")
        return False


def _note(message: str) -> None:
    """A line on stderr that does not by itself fail the command (kubectl's ErrOut)."""
    sys.stderr.write(message + "\n")


def _keep(text: str, suffix: str) -> str:
    """The edited text in a file of its own (kubectl keeps its temporary file)."""
    with tempfile.NamedTemporaryFile(
        "w", prefix="cpemu-edit-", suffix=suffix, delete=False, encoding="utf-8"
    ) as file:
        file.write(text)
    return file.name


async def edit(run: Runner) -> None:
    info, name = split_target(run.args.target, "edit")
    namespace = (run.namespace or "default") if info.namespaced else None
    async with run.mutate() as plane:
        try:
            current = await plane.client.get(info.kind, name, namespace=namespace)
        except ApiError as exc:
            run.server_error(exc)
            return
        session = _Session(
            run, plane.client, info, name, namespace, current, run.args.output == "json"
        )
        try:
            await session.loop()
        except CliError as exc:  # the editor did not start or failed: kubectl's words
            run.error(f"error: {exc}")
        except _Outcome as outcome:
            if str(outcome):
                run.error(f"error: {outcome}")
            run.failed = True  # kubectl's ErrExit: exit 1, the lines are already out
