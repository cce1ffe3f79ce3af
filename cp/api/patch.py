"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) on JSON-like builtins.

Both functions are pure: they never mutate their inputs and return new values (sharing no
mutable containers with the inputs). The strategic merge patch lives in `cp.api.patch_strategic`.

Errors are `PatchError`, a `BadRequest` (400) carrying the index of the failing JSON patch
operation; the API server reports a failing patch as upstream does (`jsonpatch` errors from
`apiserver/pkg/endpoints/handlers/patch.go` become 400 or 422 there; callers map as needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cp.api.errors import BadRequest

__all__ = [
    "PatchError",
    "json_copy",
    "json_patch",
    "merge_patch",
    "parse_pointer",
]


class PatchError(BadRequest):
    """A patch that cannot be applied; `index` is the failing JSON patch operation, if any."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def json_copy(value: object) -> object:
    """A deep copy of a JSON-like value in which tuples (as `msgspec.to_builtins` leaves them
    for frozen Structs) become lists, so every patch function sees JSON arrays as lists."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_copy(item) for item in value]
    return value


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386 `MergePatch(Target, Patch)`: null deletes, objects merge, the rest replaces.

    Follows the pseudo-code of RFC 7386 section 2 (as `evanphx/json-patch` MergePatch does for
    `application/merge-patch+json`).
    """
    if not isinstance(patch, dict):
        return json_copy(patch)
    result: dict[str, object] = (
        {key: json_copy(item) for key, item in target.items()} if isinstance(target, dict) else {}
    )
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_pointer(pointer: str) -> list[str]:
    """RFC 6901 JSON pointer to reference tokens (`~1` is `/`, `~0` is `~`)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f'JSON pointer must be empty or start with "/": {pointer!r}')
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(token: str, size: int, *, allow_end: bool) -> int:
    """An array index token (no leading zeros, no sign); `-` is the end when allowed."""
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0") or not token.isascii():
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > size or (index == size and not allow_end):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(doc: object, tokens: list[str], pointer: str) -> object:
    """The container holding the last token's target."""
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"path {pointer!r} not found")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), allow_end=False)]
        else:
            raise PatchError(f"path {pointer!r} not found")
    return node


def _get(doc: object, pointer: str) -> object:
    tokens = parse_pointer(pointer)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {pointer!r} not found")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), allow_end=False)]
    raise PatchError(f"path {pointer!r} not found")


def _add(doc: object, pointer: str, value: object) -> object:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), allow_end=True), value)
    else:
        raise PatchError(f"path {pointer!r} not found")
    return doc


def _remove(doc: object, pointer: str) -> tuple[object, object]:
    """Remove and return (new document, removed value)."""
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {pointer!r} not found")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, len(parent), allow_end=False))
    raise PatchError(f"path {pointer!r} not found")


def _equal(a: object, b: object) -> bool:
    """JSON equality: booleans are not numbers, containers compare structurally."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return a == b


def _field(op: Mapping[str, object], name: str, index: int) -> object:
    if name not in op:
        raise PatchError(f'operation {index}: missing "{name}"', index)
    return op[name]


def _path(op: Mapping[str, object], name: str, index: int) -> str:
    value = _field(op, name, index)
    if not isinstance(value, str):
        raise PatchError(f'operation {index}: "{name}" must be a string', index)
    return value


def _apply_op(doc: object, op: Mapping[str, object], index: int) -> object:
    kind = _field(op, "op", index)
    path = _path(op, "path", index)
    if kind == "add":
        return _add(doc, path, json_copy(_field(op, "value", index)))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        value = json_copy(_field(op, "value", index))
        _get(doc, path)  # the target must exist (RFC 6902 4.3)
        if not parse_pointer(path):
            return value
        doc = _remove(doc, path)[0]
        return _add(doc, path, value)
    if kind == "move":
        source = _path(op, "from", index)
        if path != source and path.startswith(source + "/"):
            raise PatchError(f"operation {index}: cannot move {source!r} into its own child", index)
        doc, value = _remove(doc, source)
        return _add(doc, path, value)
    if kind == "copy":
        value = json_copy(_get(doc, _path(op, "from", index)))
        return _add(doc, path, value)
    if kind == "test":
        if not _equal(_get(doc, path), _field(op, "value", index)):
            raise PatchError(f"operation {index}: test failed at {path!r}", index)
        return doc
    raise PatchError(f"operation {index}: unsupported op {kind!r}", index)


def json_patch(target: object, operations: Sequence[object]) -> object:
    """RFC 6902 JSON patch: apply `operations` in order to a copy of `target`.

    Supports add, remove, replace, move, copy and test with RFC 6901 pointers (`~0`, `~1`, and
    `-` to append). The whole patch fails atomically: any error raises `PatchError` with the
    index of the failing operation and `target` is left untouched.
    """
    if isinstance(operations, (str, bytes)) or not isinstance(operations, Sequence):
        raise PatchError("a JSON patch must be a list of operations")
    doc = json_copy(target)
    for index, op in enumerate(operations):
        if not isinstance(op, Mapping):
            raise PatchError(f"operation {index}: must be an object", index)
        try:
            doc = _apply_op(doc, op, index)
        except PatchError as exc:
            if exc.index is not None:
                raise
            raise PatchError(f"operation {index} ({op.get('op')}): {exc.message}", index) from exc
    return doc
