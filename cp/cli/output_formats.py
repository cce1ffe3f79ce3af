"""`cpemu get -o custom-columns=SPEC` and the `-o` template formats (`jsonpath=`,
`jsonpath-as-json=`, `custom-columns=`): kubectl's custom-columns printer
(`staging/src/k8s.io/kubectl/pkg/cmd/get/customcolumn.go`) and the split of `-o` values
(`staging/src/k8s.io/cli-runtime/pkg/genericclioptions/jsonpath_flags.go`), over
`cp.cli.jsonpath`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from cp.cli.gotext import go_sprint
from cp.cli.jsonpath import (
    Engine,
    JsonPathError,
    parse_template,
    plain,
    relaxed_expression,
    render_jsonpath,
)
from cp.cli.printers_common import tabulate

__all__ = ["parse_output", "render_custom_columns", "render_output"]


def render_custom_columns(spec: str, objects: Sequence[Any], *, no_headers: bool = False) -> str:
    """`kubectl get -o custom-columns=HEADER:PATH,...`: a header line (unless `no_headers`) and
    one row per object, aligned by kubectl's tabwriter (`NewCustomColumnsPrinterFromSpec`,
    `CustomColumnsPrinter.printOneObject` in kubectl's `pkg/cmd/get/customcolumn.go`)."""
    if not spec:
        raise JsonPathError("custom-columns format specified but no custom columns given")
    columns: list[tuple[str, list[Any]]] = []
    for part in spec.split(","):
        header, colon, expression = part.partition(":")
        if not colon:
            raise JsonPathError(
                f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
            )
        columns.append((header, parse_template(relaxed_expression(expression))))
    rows: list[list[str]] = [] if no_headers else [[header for header, _ in columns]]
    engine = Engine(allow_missing_keys=True)
    for obj in map(plain, objects):
        row = []
        for _, items in columns:
            found: list[list[Any]] = []
            engine.execute(items, obj, found)
            values = [_escape_terminal(go_sprint(value)) for group in found for value in group]
            row.append(",".join(values) if found and found[0] else ",".join(["<none>", *values]))
        rows.append(row)
    return tabulate(rows)


def _escape_terminal(text: str) -> str:
    """cli-runtime's `EscapeTerminal`."""
    return text.replace("\x1b", "^[").replace("\r", "\\r")


def _items(data: Any) -> list[Any]:
    if isinstance(data, dict) and data.get("kind") == "List" and "items" in data:
        return list(data["items"] or [])
    return [data]


_TEMPLATE_FORMATS: Final = ("jsonpath", "jsonpath-as-json", "custom-columns")


def parse_output(output: str) -> tuple[str, str] | None:
    """`-o jsonpath=T`, `-o jsonpath-as-json=T`, `-o custom-columns=S` as (format, argument);
    None for any other `-o` value (kubectl's `JSONPathPrintFlags.ToPrinter` split)."""
    name, _, argument = output.partition("=")
    return (name, argument) if name in _TEMPLATE_FORMATS else None


def render_output(output: str, data: Any, *, no_headers: bool = False) -> str:
    """The whole stdout of `get -o OUTPUT` for a template format (see `parse_output`): `data`
    is one object or a `v1` `List`, as `get -o json` would print it."""
    parsed = parse_output(output)
    if parsed is None:
        raise JsonPathError(f"unsupported output format {output!r}")
    name, argument = parsed
    if name == "custom-columns":
        return render_custom_columns(argument, _items(data), no_headers=no_headers)
    if not argument:
        raise JsonPathError("template format specified but no template given")
    return render_jsonpath(argument, data, as_json=name == "jsonpath-as-json")
