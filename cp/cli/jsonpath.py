"""kubectl's JSONPath: a pure-Python port of client-go's `util/jsonpath` (`parser.go`,
`jsonpath.go`) and of cli-runtime's `JSONPathPrinter` (`pkg/printers/jsonpath.go`), for
`cpemu get -o jsonpath=TEMPLATE` (`render_jsonpath`) and the custom-columns printer
(`cp.cli.output_formats`, which uses `parse_template`, `Engine` and `relaxed_expression`).
The data is what `get -o json` prints, as JSON builtins: one object for a single named
object, else a `v1` `List`. Values print in Go's text forms (`cp.cli.gotext`); several
results of one `{...}` are joined by a single space; kubectl's `get` allows missing keys (a
missing key prints nothing).

Known differences: Go walks map entries (`{.metadata.labels.*}`, `{..name}`) in random order;
this walks them in the object's key order. An existence filter `[?(@.x[9])]` whose path fails
matches nothing here (client-go keeps its partial result). `jsonpath-file=` is not served.

Errors: `JsonPathError`, whose text is kubectl's error without its `error: ` prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cp.cli.gotext import go_json, go_quote, go_sharp, go_sprint, go_type, print_result

__all__ = [
    "Engine",
    "JsonPathError",
    "parse_template",
    "plain",
    "relaxed_expression",
    "render_jsonpath",
]


class JsonPathError(Exception):
    """A template that does not parse or fails on the data; `str()` is kubectl's message."""


# -- nodes (client-go `node.go`) ---------------------------------------------------------------


@dataclass(slots=True)
class _List:
    nodes: list[_Node] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Field:
    name: str


@dataclass(frozen=True, slots=True)
class _Wildcard:
    pass


@dataclass(frozen=True, slots=True)
class _Recursive:
    pass


@dataclass(frozen=True, slots=True)
class _Param:
    known: bool
    value: int
    derived: bool = False


@dataclass(frozen=True, slots=True)
class _Array:
    params: tuple[_Param, _Param, _Param]


@dataclass(frozen=True, slots=True)
class _Filter:
    left: _List
    right: _List
    operator: str


@dataclass(frozen=True, slots=True)
class _Literal:
    """IntNode, FloatNode and BoolNode: the value once per input."""

    value: int | float | bool


@dataclass(frozen=True, slots=True)
class _Union:
    nodes: tuple[_List, ...]


@dataclass(frozen=True, slots=True)
class _Identifier:
    name: str


_Node = (
    _List
    | _Text
    | _Field
    | _Wildcard
    | _Recursive
    | _Array
    | _Filter
    | _Literal
    | _Union
    | _Identifier
)

# -- parser (client-go `parser.go`) ------------------------------------------------------------

_EOF: Final = ""
_DICT_KEY: Final = re.compile(r"'([^']*)'")
_SLICE: Final = re.compile(r"(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?")
_COMPARISON: Final = re.compile(r"([^!<>=]+)([!<>=]+)(.+?)")
_TERMINATORS: Final = frozenset(" \t\r\n.,[]$@{}")


def _is_digit(r: str) -> bool:
    return r != _EOF and unicodedata.category(r) == "Nd"


def _is_alphanumeric(r: str) -> bool:
    return r == "_" or r.isalpha() or _is_digit(r)


def _is_terminator(r: str) -> bool:
    return r == _EOF or r in _TERMINATORS


def _rune(r: str) -> str:
    """Go's `%#U`: `U+0021 '!'`."""
    code = f"U+{ord(r):04X}"
    return f"{code} '{r}'" if r.isprintable() else code


class _Parser:
    """A port of client-go's recursive-descent `Parser`, with its loops made iterative."""

    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.root = _List()

    def next(self) -> str:
        if self.pos >= len(self.input):
            return _EOF
        self.pos += 1
        return self.input[self.pos - 1]

    def backup(self, r: str) -> None:
        if r != _EOF:
            self.pos -= 1

    def peek(self) -> str:
        return self.input[self.pos] if self.pos < len(self.input) else _EOF

    def consume(self) -> str:
        value = self.input[self.start : self.pos]
        self.start = self.pos
        return value

    def parse(self) -> _List:
        while True:
            brace = self.input.find("{", self.pos)
            if brace < 0:
                self.pos = len(self.input)
                if self.pos > self.start:
                    self.root.nodes.append(_Text(self.consume()))
                return self.root
            self.pos = brace
            if self.pos > self.start:
                self.root.nodes.append(_Text(self.consume()))
            self.pos += 1
            self.consume()
            action = _List()
            self.root.nodes.append(action)
            self._inside_action(action)

    def _inside_action(self, cur: _List) -> None:
        while True:
            if self.input.startswith("}", self.pos):
                self.pos += 1
                self.consume()
                return
            if self.input.startswith("[?(", self.pos):
                self._filter(cur)
                continue
            if self.input.startswith("..", self.pos):
                self._recursive(cur)
                continue
            r = self.next()
            if r == _EOF or r in "\r\n":
                raise JsonPathError("unclosed action")
            if r in " @$":
                self.consume()
            elif r == "[":
                self._array(cur)
            elif r in "\"'":
                self._quote(cur, r)
            elif r == ".":
                self._field(cur)
            elif r in "+-" or _is_digit(r):
                self.backup(r)
                self._number(cur)
            elif _is_alphanumeric(r):
                self.backup(r)
                self._identifier(cur)
            else:
                raise JsonPathError(f"unrecognized character in action: {_rune(r)}")

    def _identifier(self, cur: _List) -> None:
        while not _is_terminator(r := self.next()):
            pass
        self.backup(r)
        value = self.consume()
        node = _Literal(value == "true") if value in ("true", "false") else _Identifier(value)
        cur.nodes.append(node)

    def _recursive(self, cur: _List) -> None:
        if cur.nodes and isinstance(cur.nodes[-1], _Recursive):
            raise JsonPathError("invalid multiple recursive descent")
        self.pos += 2
        self.consume()
        cur.nodes.append(_Recursive())
        if _is_alphanumeric(self.peek()):
            self._field(cur)

    def _number(self, cur: _List) -> None:
        if self.peek() in ("+", "-"):
            self.next()
        while (r := self.next()) == "." or _is_digit(r):
            pass
        self.backup(r)
        value = self.consume()
        if re.fullmatch(r"[+-]?[0-9]+", value):
            cur.nodes.append(_Literal(int(value)))
        elif re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)", value):
            cur.nodes.append(_Literal(float(value)))
        else:
            raise JsonPathError(f"cannot parse number {value}")

    def _array(self, cur: _List) -> None:
        while (r := self.next()) != "]":
            if r in (_EOF, "\n"):
                raise JsonPathError("unterminated array")
        text = self.consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            union = tuple(_parse_action(f"[{part.strip(' ')}]") for part in parts)
            cur.nodes.append(_Union(union))
            return
        if key := _DICT_KEY.fullmatch(text):
            cur.nodes.extend(_parse_action(f".{key.group(1)}").nodes)
            return
        match = _SLICE.fullmatch(text)
        if match is None:
            raise JsonPathError(f"invalid array index {text}")
        cur.nodes.append(_Array(_slice_params([group or "" for group in match.groups()])))

    def _filter(self, cur: _List) -> None:
        self.pos += 3
        self.consume()
        begin = end = False
        pair = ""
        while True:
            r = self.next()
            if r in (_EOF, "\n"):
                raise JsonPathError("unterminated filter")
            if r in "\"'":
                if not begin:
                    begin, pair = True, r
                    continue
                if self.input[self.pos - 2] != "\\" and r == pair:
                    end = True
            elif r == ")" and begin == end:
                break
        if self.next() != "]":
            raise JsonPathError("unclosed array expect ]")
        text = self.consume()[:-2]
        match = _COMPARISON.fullmatch(text)
        if match is None:
            cur.nodes.append(_Filter(_parse_action(text), _List(), "exists"))
        else:
            left, operator, right = match.groups()
            cur.nodes.append(_Filter(_parse_action(left), _parse_action(right), operator))

    def _quote(self, cur: _List, end: str) -> None:
        while True:
            r = self.next()
            if r in (_EOF, "\n"):
                raise JsonPathError("unterminated quoted string")
            if r == end and self.input[self.pos - 2] != "\\":
                break
        value = self.consume()
        cur.nodes.append(_Text(_unquote(value)))

    def _field(self, cur: _List) -> None:
        self.consume()
        while True:
            r = self.next()
            if r == "\\":
                self.next()
            elif _is_terminator(r):
                self.backup(r)
                break
        value = self.consume()
        cur.nodes.append(_Wildcard() if value == "*" else _Field(value.replace("\\", "")))


def _parse_action(text: str) -> _List:
    """client-go's `parseAction`: `text` as the inside of one `{...}`."""
    first = _Parser("{" + text + "}").parse().nodes[0]
    assert isinstance(first, _List)
    return first


def _slice_params(groups: list[str]) -> tuple[_Param, _Param, _Param]:
    """`[start:end:step]` as client-go's `parseArray` reads it: `[i]` is `[i:i+1]`."""
    params: list[_Param] = []
    for index, text in enumerate(groups):
        if text:
            if index > 0:
                text = text[1:]
            if index > 0 and not text:
                params.append(_Param(known=False, value=0))
                continue
            if not re.fullmatch(r"[+-]?[0-9]+", text):
                raise JsonPathError(f"array index {text} is not a number")
            params.append(_Param(known=True, value=int(text)))
        elif index == 1:
            params.append(_Param(known=True, value=params[0].value + 1, derived=True))
        else:
            params.append(_Param(known=False, value=0))
    return params[0], params[1], params[2]


_SIMPLE_ESCAPES: Final = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _unquote(quoted: str) -> str:
    """client-go's `UnquoteExtend`: Go's `strconv.Unquote`, single quotes allowed too."""
    error = JsonPathError(f"unquote string {quoted} error invalid syntax")
    quote, body = quoted[0], quoted[1:-1]
    if "\\" not in body and quote not in body:
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == quote:
            raise error
        if c != "\\":
            out += c.encode("utf-8", "surrogatepass")
            i += 1
            continue
        if i + 1 >= len(body):
            raise error
        c = body[i + 1]
        i += 2
        if c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
        elif c in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[c]
            digits = body[i : i + width]
            if len(digits) < width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise error
            value = int(digits, 16)
            i += width
            if c == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value < 0xE000:
                raise error
            else:
                out += chr(value).encode()
        elif c in "01234567":
            digits = body[i - 1 : i + 2]
            if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise error
            out.append(int(digits, 8))
            i += 2
        elif c == quote:
            out += c.encode()
        else:
            raise error
    return out.decode("utf-8", "replace")


# -- evaluation (client-go `jsonpath.go`) ------------------------------------------------------


@dataclass(slots=True)
class _Range:
    """`{range EXPR}BODY{end}`; without its `{end}` the body runs to the template's end."""

    target: _List
    body: list[_Item] = field(default_factory=list)
    closed: bool = False


@dataclass(frozen=True, slots=True)
class _End:
    """An `{end}` outside any range: an error when reached."""


_Item = _Text | _List | _Range | _End


def _keyword(node: _Node) -> str | None:
    if isinstance(node, _List):
        for inner in node.nodes:
            if isinstance(inner, _Identifier) and inner.name in ("range", "end"):
                return inner.name
    return None


def _blocks(root: _List) -> list[_Item]:
    """The flat node list as a tree of ranges, which is what client-go's `FindResults` walks
    with its `beginRange`/`inRange`/`endRange` counters."""
    top: list[_Item] = []
    stack: list[list[_Item]] = [top]
    ranges: list[_Range] = []
    for node in root.nodes:
        keyword = _keyword(node)
        if keyword == "range":
            assert isinstance(node, _List)
            loop = _Range(node)
            stack[-1].append(loop)
            stack.append(loop.body)
            ranges.append(loop)
        elif keyword == "end":
            if ranges:
                ranges.pop().closed = True
                stack.pop()
            else:
                stack[-1].append(_End())
        else:
            assert isinstance(node, _List | _Text)
            stack[-1].append(node)
    return top


class Engine:
    """client-go's `JSONPath` evaluation: `execute` is `FindResults`, `walk` is `walk`."""

    def __init__(self, *, allow_missing_keys: bool) -> None:
        self.allow_missing_keys = allow_missing_keys

    def execute(self, items: Sequence[_Item], cur: Any, out: list[list[Any]]) -> None:
        for item in items:
            if isinstance(item, _Text):
                out.append([item.text])
            elif isinstance(item, _End):
                raise JsonPathError("not in range, nothing to end")
            elif isinstance(item, _Range):
                values = self.walk([cur], item.target)
                for value in values:
                    self.execute(item.body, value, out)
                if not values:  # client-go still walks the body, for its errors
                    self.execute(item.body, None, [])
                if not item.closed:  # client-go resumes after `range` on the outer value
                    self.execute(item.body, cur, out)
            else:
                out.append(self.walk([cur], item))

    def walk(self, values: list[Any], node: _Node) -> list[Any]:
        if isinstance(node, _List):
            for inner in node.nodes:
                values = self.walk(values, inner)
            return values
        if isinstance(node, _Text):
            return [node.text]
        if isinstance(node, _Field):
            return self._field(values, node.name)
        if isinstance(node, _Array):
            return _array(values, node.params)
        if isinstance(node, _Filter):
            return self._filter(values, node)
        if isinstance(node, _Literal):
            return [node.value for _ in values]
        if isinstance(node, _Wildcard):
            return [child for value in values for child in _children(value)]
        if isinstance(node, _Recursive):
            return _recursive(values)
        if isinstance(node, _Union):
            return [found for inner in node.nodes for found in self.walk(values, inner)]
        if node.name == "range":
            return values
        if node.name == "end":
            return []
        raise JsonPathError(f"unrecognized identifier {node.name}")

    def _field(self, values: list[Any], name: str) -> list[Any]:
        if not values:
            return []
        results = [value[name] for value in values if isinstance(value, dict) and name in value]
        if not results and not self.allow_missing_keys:
            raise JsonPathError(f"{name} is not found")
        return results

    def _filter(self, values: list[Any], node: _Filter) -> list[Any]:
        results: list[Any] = []
        for value in values:
            if not isinstance(value, list):
                raise JsonPathError(
                    f"{go_sprint(value)} is not array or slice and cannot be filtered"
                )
            for element in value:
                if node.operator == "exists":
                    try:
                        if self.walk([element], node.left):
                            results.append(element)
                    except JsonPathError:
                        pass
                    continue
                lefts = self.walk([element], node.left)
                if not lefts:
                    continue
                rights = self.walk([element], node.right) if len(lefts) == 1 else []
                if len(lefts) > 1 or len(rights) > 1:
                    raise JsonPathError("can only compare one element at a time")
                if rights and _compare(lefts[0], node.operator, rights[0]):
                    results.append(element)
        return results


def _array(values: list[Any], params: tuple[_Param, _Param, _Param]) -> list[Any]:
    """client-go's `evalArray`, its bounds errors and its early return on an empty slice."""
    result: list[Any] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, list):
            raise JsonPathError(f"{go_type(value)} is not array or slice")
        length = len(value)
        start = params[0].value if params[0].known else 0
        if start < 0:
            start += length
        end = params[1].value if params[1].known else length
        if end < 0 or (end == 0 and params[1].derived):
            end += length
        if end == start:
            return result
        if start >= length or start < 0:
            raise JsonPathError(f"array index out of bounds: index {start}, length {length}")
        if end > length or end < 0:
            raise JsonPathError(f"array index out of bounds: index {end - 1}, length {length}")
        if start > end:
            raise JsonPathError(f"starting index {start} is greater than ending index {end}")
        step = 1
        if params[2].known:
            if params[2].value <= 0:
                raise JsonPathError("step must be > 0")
            step = params[2].value
        result.extend(value[start:end:step])
    return result


def _children(value: Any) -> list[Any]:
    """What `*` yields: a map's values, a list's items, a string's bytes (as Go indexes it)."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return list(value.encode())
    return []


def _recursive(values: list[Any]) -> list[Any]:
    """`..`: every value that has children, itself first, depth first (client-go)."""
    result: list[Any] = []
    for value in values:
        children = [] if isinstance(value, str) else _children(value)
        if (isinstance(value, str) and value) or children:
            result.append(value)
            result.extend(_recursive(children))
    return result


def _kind(value: Any) -> str:
    """The forked text/template `basicKind`."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise JsonPathError("invalid type for comparison")


def _compare(left: Any, operator: str, right: Any) -> bool:
    """The forked text/template `Equal`, `Less` ... as client-go's `evalFilter` calls them."""
    if operator not in ("==", "!=", "<", ">", "<=", ">="):
        raise JsonPathError(f"unrecognized filter operator {operator}")
    kind = _kind(left)
    if kind != _kind(right):
        raise JsonPathError("incompatible types for comparison")
    if operator in ("==", "!="):
        return bool(left == right) == (operator == "==")
    if kind == "bool":
        raise JsonPathError("invalid type for comparison")
    less = bool(left < right)
    if operator == "<":
        return less
    if operator == ">=":
        return not less
    less_equal = less or left == right
    return less_equal if operator == "<=" else not less_equal


# -- kubectl's JSONPath printer ---------------------------------------------------------------


def plain(value: Any) -> Any:
    """JSON builtins with lists for tuples (`msgspec.to_builtins` keeps a frozen struct's
    tuples), as Go's unstructured data has `[]interface{}`."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def parse_template(template: str) -> list[_Item]:
    """The template's blocks, ready for `Engine.execute`."""
    return _blocks(_Parser(template).parse())


def render_jsonpath(
    template: str, data: Any, *, allow_missing_keys: bool = True, as_json: bool = False
) -> str:
    """`kubectl get -o jsonpath=TEMPLATE` (`as_json`: `-o jsonpath-as-json=TEMPLATE`) of `data`,
    one object or a `v1` `List` as JSON builtins (cli-runtime `JSONPathPrinter.PrintObj`).
    Raises `JsonPathError` with kubectl's message when the template does not parse or fails."""
    try:
        items = parse_template(template)
    except JsonPathError as exc:
        raise JsonPathError(f"error parsing jsonpath {template}, {exc}") from None
    results: list[list[Any]] = []
    data = plain(data)
    try:
        Engine(allow_missing_keys=allow_missing_keys).execute(items, data, results)
    except JsonPathError as exc:
        raise JsonPathError(
            f"error executing jsonpath {go_quote(template)}: Error executing template: {exc}. "
            "Printing more information for debugging the template:\n"
            f"\ttemplate was:\n\t\t{template}\n"
            f"\tobject given to jsonpath engine was:\n\t\t{go_sharp(data)}\n\n\n"
        ) from None
    if as_json:
        return "".join(go_json(found, "    ") + "\n" for found in results)
    return "".join(" ".join(print_result(value) for value in found) for found in results)


_RELAXED: Final = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed_expression(expression: str) -> str:
    """kubectl's `RelaxedJSONPathExpression`: `metadata.name`, `.metadata.name`,
    `{metadata.name}` and `{.metadata.name}` all become `{.metadata.name}`."""
    if not expression:
        return expression
    match = _RELAXED.fullmatch(expression)
    if match is None:
        raise JsonPathError(
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or "
            "'{name1.name2}' or '{.name1.name2}'"
        )
    return "{." + (match.group(1) or match.group(2)) + "}"
