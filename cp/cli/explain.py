"""`cpemu explain RESOURCE[.FIELD.PATH...] [--recursive]`: kubectl's field documentation, read
from the typed API Structs (`cp.api`) instead of the server's OpenAPI v3 document. Reads no
state: the state file is neither opened nor created.

The layout is kubectl 1.32's openapi v3 template
(`staging/src/k8s.io/kubectl/pkg/explain/v2/templates/plaintext.tmpl`, rendered by
`pkg/explain/v2/generator.go` with the functions of `pkg/explain/v2/funcs.go`), newline for
newline:

    $ cpemu explain deploy.spec.strategy
    GROUP:      apps
    KIND:       Deployment
    VERSION:    v1

    FIELD: strategy <DeploymentStrategy>


    DESCRIPTION:
        <empty>
    FIELDS:
      rollingUpdate\t<RollingUpdateDeployment>
        <no description>

      type\t<string>
        <no description>

How the template's types map from the Structs' annotations (its `typeGuess`): a nested Struct
is `<TypeName>` (the class name, which is the Go type name), `tuple[X, ...]` is `[]X`,
`Mapping[str, X]` is `map[string]X`, `int | str` is `<IntOrString>` (apimachinery's schema has
no `type`, so the template prints the ref's name), `int` `<integer>`, `str` `<string>`, `bool`
`<boolean>`, `float` `<number>`, anything else `<Object>`. A field without a default is
`-required-`. Fields are listed by JSON name in byte order (Go's templates range over a map's
sorted keys). We carry no field descriptions: a field reads `<no description>` as kubectl prints
one the schema leaves out, and every DESCRIPTION is kubectl's `<empty>` (the Structs'
docstrings are notes for developers, not API documentation).

Errors are kubectl's: `the server doesn't have a resource type "stateful"` (with kubectl's
`Did you mean this?` block from `cp.cli.common.unknown_kind`), and the template's
`field "sepc" does not exist`, to which we add the same block with the close field names of
that level. (The template names the last element of the path even when an earlier one is
wrong; we name the one that is wrong.)
"""

from __future__ import annotations

import argparse
import difflib
import textwrap
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from cp.api.kinds import KINDS, KindInfo
from cp.cli.common import CliError, Runner, kind_info

__all__ = ["add_parsers", "explain", "explain_text"]

#: Struct classes whose Go type has another name (`volumeClaimTemplates` holds
#: PersistentVolumeClaims; ours makes apiVersion and kind optional).
_GO_NAMES: Final[Mapping[str, str]] = {"PersistentVolumeClaimTemplate": "PersistentVolumeClaim"}

_SCALARS: Final[Mapping[object, str]] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
}

_NO_TYPE: Final = (
    "You must specify the type of resource to explain. "
    'Use "kubectl api-resources" for a complete list of supported resources.'
)


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    """The `explain` subcommand with its `handler`."""
    text = "documentation of a kind's fields, as kubectl explain (reads no state)"
    sub = verbs.add_parser("explain", parents=[common], help=text, description=text)
    sub.add_argument("resource", nargs="*", metavar="RESOURCE[.FIELD...]")
    sub.add_argument(
        "--recursive",
        action="store_true",
        help="print the fields of fields (names and types only)",
    )
    sub.set_defaults(handler=explain)


async def explain(run: Runner) -> None:
    """kubectl `pkg/cmd/explain/explain.go`: `Validate` (exactly one argument), then `Run`."""
    words: list[str] = run.args.resource
    if not words:
        raise CliError(_NO_TYPE)
    if len(words) > 1:
        raise CliError("We accept only this format: explain RESOURCE")
    info, path = _split(words[0])
    run.out(explain_text(info, path, recursive=run.args.recursive))


def _split(request: str) -> tuple[KindInfo, list[str]]:
    """kubectl `pkg/explain/explain.go` `SplitAndParseResourceRequestWithMatchingPrefix`: a
    trailing period is ignored; the resource is the longest dotted prefix that names a kind
    (`deployments.apps.spec` is Deployment's `spec`), else the first word."""
    words = request.removesuffix(".").split(".")
    for end in range(len(words), 1, -1):
        info = KINDS.lookup(".".join(words[:end]))
        if info is not None:
            return info, words[end:]
    return kind_info(words[0]), words[1:]


# -- the schema, from the Structs ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Type:
    """What `typeGuess` prints (`[]Container`) and the Struct whose fields lie under it,
    through arrays and maps, as the template traverses `items` and `additionalProperties`."""

    name: str
    struct: type[msgspec.Struct] | None = None


@dataclass(frozen=True, slots=True)
class _Field:
    name: str  # the JSON name
    type: _Type
    required: bool


def _type_of(annotation: Any) -> _Type:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        if set(kept) == {int, str}:
            return _Type("IntOrString")
        if len(kept) == 1:
            return _type_of(kept[0])
        return _Type("Object")
    if origin is tuple or origin is list:
        inner = _type_of(args[0]) if args else _Type("Object")
        return _Type(f"[]{inner.name}", inner.struct)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if len(args) == 2 and args[1] is not Any:
            inner = _type_of(args[1])
            return _Type(f"map[string]{inner.name}", inner.struct)
        return _Type("Object")
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return _Type(_GO_NAMES.get(annotation.__name__, annotation.__name__), annotation)
    return _Type(_SCALARS.get(annotation, "Object"))


def _fields(cls: type[msgspec.Struct]) -> list[_Field]:
    """The fields of `cls` by JSON name, in byte order as Go ranges over a map's keys."""
    hints = typing.get_type_hints(cls)
    fields = [
        _Field(f.encode_name, _type_of(hints[f.name]), f.required)
        for f in msgspec.structs.fields(cls)
    ]
    return sorted(fields, key=lambda f: f.name)


# -- the template ---------------------------------------------------------------------------


def explain_text(info: KindInfo, path: list[str], *, recursive: bool = False) -> str:
    """What `kubectl explain` prints for `info` and the field `path` (plaintext.tmpl)."""
    out = [f"GROUP:      {info.group}\n"] if info.group else []
    out += [f"KIND:       {info.kind}\n", f"VERSION:    {info.version}\n", "\n"]
    current = _Type(info.kind, info.cls)
    for name in path:
        fields = _fields(current.struct) if current.struct is not None else []
        by_name = {f.name: f for f in fields}
        if name not in by_name:
            raise CliError(_no_field(name, list(by_name)))
        current = by_name[name].type
    if path:
        # "FIELD: x <t>", the enum (none here), then two newlines of the template
        out.append(f"FIELD: {path[-1]} <{current.name}>\n\n\n")
    # no OpenAPI text to show (the Structs' docstrings are notes for developers): the
    # template's word for a missing description
    out.append("DESCRIPTION:\n    <empty>\n")
    if current.struct is not None:
        listing = _field_list(current.struct, 1, recursive, frozenset())
        if listing:
            out += ["FIELDS:\n", *listing]
    out.append("\n")
    return "".join(out)


def _no_field(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3)
    hint = "\n\nDid you mean this?\n" + "\n".join(f"\t{c}" for c in close) if close else ""
    return f'field "{name}" does not exist{hint}'


def _field_list(
    cls: type[msgspec.Struct],
    level: int,
    recursive: bool,
    history: frozenset[type[msgspec.Struct]],
) -> list[str]:
    """The template's `fieldList`/`fieldDetail`: with `recursive`, one line per field and its
    fields below it, two more spaces a level, stopping at a type already on the path (a
    cycle); else each field with its description and a blank line."""
    lines: list[str] = []
    pad = " " * (level * 2)
    for field in _fields(cls):
        required = " -required-" if field.required else ""
        lines.append(f"{pad}{field.name}\t<{field.type.name}>{required}\n")
        if not recursive:
            lines.append(_indent(_wrap("<no description>", 78 - level * 2), level * 2 + 2))
            lines.append("\n\n")
            continue
        sub = field.type.struct
        if sub is not None and sub not in history:
            lines += _field_list(sub, level + 1, recursive, history | {sub})
    return lines


def _wrap(text: str, width: int) -> str:
    """`wrap` of funcs.go (kubectl `util/term` word wrap): long lines break at spaces, a word
    longer than the width stays whole, existing newlines stay."""
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
        for line in text.split("\n")
    )


def _indent(text: str, amount: int) -> str:
    """`indent` of funcs.go: the pad before the text and after every newline in it."""
    pad = " " * amount
    return pad + text.replace("\n", "\n" + pad)
