"""Manifests in, typed objects out; typed objects out as JSON, YAML or msgpack.

`load_manifests(text, source=...)` reads multi-document YAML (parsed with the libyaml safe
loader when available) or JSON, flattens `v1` `List`s (and typed lists such as
`DeploymentList`, whose items may leave out apiVersion and kind), picks each document's Struct
from the kinds table by apiVersion + kind and decodes it strictly: unknown fields and wrong
types are refused, nothing is defaulted. Two deliberate normalizations match what the apiserver
would store: YAML timestamps stay strings (the loader has no timestamp resolver), and quantities
written as numbers (`cpu: 1` under `limits`, `requests`, `capacity`, `allocatable`, or a
`sizeLimit`) become strings, as a Quantity always serializes.

`Codec` holds one JSON and one msgpack decoder per kind, created once; `CODEC` is the instance
built from `KINDS` at import, and the module functions `encode`/`decode` use it.

Errors (one root):

    ManifestError                 a manifest or a stored value that does not decode
     └── UnknownKindError         apiVersion/kind (or a kind name) not in the kinds table

Messages name the source, the object and the field path, e.g.
`app.yaml: Deployment "web": spec.replicas: expected int, got str`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar, overload

import msgspec
import yaml

from cp.api.errors import BadRequest

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

from cp.api.kinds import KINDS, KindInfo, KindTable
from cp.api.meta import ApiStruct

__all__ = [
    "CODEC",
    "MAX_VALUES",
    "Codec",
    "ManifestError",
    "UnknownKindError",
    "decode",
    "dump_json",
    "dump_yaml",
    "encode",
    "load_manifests",
]

_T = TypeVar("_T", bound=ApiStruct)

MAX_VALUES = 1_000_000
"""The most values (mappings, lists and scalars) one object may hold once YAML aliases are
expanded; a 1.5 MiB object (etcd's request limit) stays well below it."""

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_QUANTITY_MAPS = frozenset({"limits", "requests", "capacity", "allocatable"})
_QUANTITY_SCALARS = frozenset({"sizeLimit"})
_MSGSPEC_ERROR = re.compile(r"^(?P<detail>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>.*)`$")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>.*)`$")
_WRONG_TYPE = re.compile(r"^Expected `(?P<expected>.*?)`, got `(?P<got>.*)`$")


class ManifestError(BadRequest):
    """A manifest (or stored value) that cannot become a typed object; the message says where."""


class UnknownKindError(ManifestError):
    """The apiVersion and kind, or the kind name, are not in the kinds table."""


class _ManifestLoader(_BaseLoader):
    """Safe loader without the YAML 1.1 timestamp resolver: timestamps stay strings."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (a class constant, never modified)
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_tuple(dumper: yaml.SafeDumper, value: tuple[Any, ...]) -> yaml.SequenceNode:
    return dumper.represent_list(value)


class _KubectlDumper(_BaseDumper):
    """Block style as `kubectl -o yaml`; multi-line strings as literal blocks."""

    yaml_representers: ClassVar[dict[Any, Any]] = {
        **_BaseDumper.yaml_representers,
        str: _represent_str,
        tuple: _represent_tuple,
    }


def _describe(source: str, where: str) -> str:
    return f"{source}: {where}"


def _translate(error: msgspec.ValidationError, raw: object = None) -> str:
    """msgspec's `Expected `int`, got `str` - at `$.spec.replicas`` becomes
    `spec.replicas: expected int, got str`; `raw`, the decoded input, names map keys."""
    match = _MSGSPEC_ERROR.match(str(error))
    detail, path = (match["detail"], match["path"] or "") if match else (str(error), "")
    path = path.removeprefix(".")
    if found := _UNKNOWN_FIELD.match(detail):
        path, detail = _join(path, found["field"]), "unknown field"
    elif found := _MISSING_FIELD.match(detail):
        path, detail = _join(path, found["field"]), "missing required field"
    elif found := _WRONG_TYPE.match(detail):
        expected = " | ".join(t for t in found["expected"].split(" | ") if t != "null")
        detail = f"expected {expected}, got {found['got']}"
        if path.endswith("[...]"):
            path = _name_map_key(path, raw, found["got"])
    else:
        detail = detail[:1].lower() + detail[1:]
    return f"{path}: {detail}" if path else detail


_TOKEN = re.compile(r"\.?([^.\[]+)|\[(\d+)\]")
_JSON_TYPES: Mapping[str, tuple[type, ...]] = MappingProxyType(
    {
        "str": (str,),
        "int": (int,),
        "float": (float,),
        "bool": (bool,),
        "null": (type(None),),
        "array": (list, tuple),
        "object": (dict,),
    }
)


def _name_map_key(path: str, raw: object, got: str) -> str:
    """`metadata.labels[...]` -> `metadata.labels[app]`: the first key whose value has the
    offending type. The path is returned unchanged when the input cannot be followed."""
    node = raw
    for name, index in _TOKEN.findall(path.removesuffix("[...]")):
        if name and isinstance(node, dict):
            node = node.get(name)
        elif index and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return path
    if not isinstance(node, dict):
        return path
    types = _JSON_TYPES.get(got, ())
    for key, value in node.items():
        if isinstance(value, types) and not (got == "int" and isinstance(value, bool)):
            return f"{path.removesuffix('[...]')}[{key}]"
    return path


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


class _TooLargeError(Exception):
    """Internal: a document expanded past `MAX_VALUES`."""


class _Normalizer:
    """Copies parsed YAML, turning numeric quantities into strings (see the module doc), and
    counts the values it copies: YAML aliases can make a few lines expand exponentially
    ("billion laughs"), so one object may hold at most `MAX_VALUES` values."""

    __slots__ = ("_left",)

    def __init__(self, limit: int) -> None:
        self._left = limit

    def copy(self, value: Any, key: str = "") -> Any:
        self._left -= 1
        if self._left < 0:
            raise _TooLargeError
        if isinstance(value, dict):
            if key in _QUANTITY_MAPS:
                return {k: _quantity(self.copy(v)) for k, v in value.items()}
            return {
                k: _quantity(v) if k in _QUANTITY_SCALARS else self.copy(v, k)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.copy(item) for item in value]
        return value


def _quantity(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _parse(text: str, source: str) -> list[Any]:
    """The documents of a YAML stream or a JSON text, as builtins."""
    if text.lstrip().startswith(("{", "[")):
        try:
            return [msgspec.json.decode(text)]
        except RecursionError:
            raise ManifestError(f"{source}: invalid JSON: nested too deeply") from None
        except msgspec.DecodeError:
            pass  # not strict JSON: YAML (a superset in practice) gets a chance and reports
    try:
        return list(yaml.load_all(text, Loader=_ManifestLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ManifestError(f"{source}: invalid YAML: {exc.problem}{at}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ManifestError(f"{source}: invalid YAML: nested too deeply") from None


class Codec:
    """Encoders and per-kind decoders, created once from a kinds table."""

    __slots__ = ("_json", "_json_encoder", "_kinds", "_msgpack", "_msgpack_encoder")

    def __init__(self, kinds: KindTable) -> None:
        self._kinds = kinds
        self._json_encoder = msgspec.json.Encoder()
        self._msgpack_encoder = msgspec.msgpack.Encoder()
        self._json: Mapping[type[ApiStruct], msgspec.json.Decoder[ApiStruct]] = MappingProxyType(
            {info.cls: msgspec.json.Decoder(info.cls) for info in kinds}
        )
        self._msgpack: Mapping[type[ApiStruct], msgspec.msgpack.Decoder[ApiStruct]] = (
            MappingProxyType({info.cls: msgspec.msgpack.Decoder(info.cls) for info in kinds})
        )

    # -- bytes, for the store -------------------------------------------------------------

    def encode(self, obj: ApiStruct) -> bytes:
        """Compact JSON, exactly Kubernetes' wire form."""
        return self._json_encoder.encode(obj)

    @overload
    def decode(self, kind: type[_T], data: bytes) -> _T: ...
    @overload
    def decode(self, kind: str, data: bytes) -> ApiStruct: ...
    def decode(self, kind: type[ApiStruct] | str, data: bytes) -> ApiStruct:
        """Decode JSON bytes written by `encode`; `kind` is a Struct class or any kind name."""
        cls = self._resolve(kind)
        try:
            return self._json[cls].decode(data)
        except msgspec.ValidationError as exc:
            raise ManifestError(f"<bytes>: {cls.__name__}: {_translate(exc)}") from None
        except msgspec.DecodeError as exc:
            raise ManifestError(f"<bytes>: {cls.__name__}: invalid JSON: {exc}") from None

    def encode_msgpack(self, obj: ApiStruct) -> bytes:
        return self._msgpack_encoder.encode(obj)

    @overload
    def decode_msgpack(self, kind: type[_T], data: bytes) -> _T: ...
    @overload
    def decode_msgpack(self, kind: str, data: bytes) -> ApiStruct: ...
    def decode_msgpack(self, kind: type[ApiStruct] | str, data: bytes) -> ApiStruct:
        cls = self._resolve(kind)
        try:
            return self._msgpack[cls].decode(data)
        except msgspec.ValidationError as exc:
            raise ManifestError(f"<bytes>: {cls.__name__}: {_translate(exc)}") from None
        except msgspec.DecodeError as exc:
            raise ManifestError(f"<bytes>: {cls.__name__}: invalid msgpack: {exc}") from None

    def _resolve(self, kind: type[ApiStruct] | str) -> type[ApiStruct]:
        if isinstance(kind, str):
            info = self._kinds.lookup(kind)
            if info is None:
                raise UnknownKindError(f'the server doesn\'t have a resource type "{kind}"')
            return info.cls
        if kind not in self._json:
            raise UnknownKindError(f"{kind.__name__} is not in the kinds table")
        return kind

    # -- manifests --------------------------------------------------------------------------

    def load(self, text: str, *, source: str = "<stdin>") -> tuple[ApiStruct, ...]:
        """Every object in `text` (see the module doc), in order."""
        return tuple(obj for obj, _ in self.load_documents(text, source=source))

    def load_documents(
        self, text: str, *, source: str = "<stdin>"
    ) -> tuple[tuple[ApiStruct, dict[str, Any]], ...]:
        """Every object in `text` with the JSON mapping it was read from (as written: fields
        set to their zero value stay, which is what `kubectl apply` records)."""
        objects: list[tuple[ApiStruct, dict[str, Any]]] = []
        for index, document in enumerate(_parse(text, source), start=1):
            if document is None:
                continue
            for where, raw, defaults in self._flatten(document, f"document {index}", source):
                objects.append(self._convert(raw, where=where, defaults=defaults, source=source))
        return tuple(objects)

    def _flatten(
        self, document: Any, where: str, source: str
    ) -> Iterator[tuple[str, dict[str, Any], tuple[str, str]]]:
        """(where, mapping, (default apiVersion, default kind)) for each object of a document."""
        if not isinstance(document, dict):
            got = type(document).__name__
            raise ManifestError(_describe(source, f"{where}: expected a mapping, got {got}"))
        kind = document.get("kind")
        if not (isinstance(kind, str) and kind.endswith("List") and "items" in document):
            yield where, document, ("", "")
            return
        items = document["items"]
        if not isinstance(items, list):
            got = type(items).__name__
            raise ManifestError(_describe(source, f"{where}: items: expected a list, got {got}"))
        api_version = document.get("apiVersion")
        defaults = (
            (api_version if isinstance(api_version, str) else "", kind.removesuffix("List"))
            if kind != "List"
            else ("", "")
        )
        for position, item in enumerate(items):
            item_where = f"{where} items[{position}]"
            if not isinstance(item, dict):
                got = type(item).__name__
                message = f"{item_where}: expected a mapping, got {got}"
                raise ManifestError(_describe(source, message))
            yield item_where, item, defaults

    def _convert(
        self, raw: dict[str, Any], *, where: str, defaults: tuple[str, str], source: str
    ) -> tuple[ApiStruct, dict[str, Any]]:
        default_api_version, default_kind = defaults
        if default_kind and "kind" not in raw:
            raw = {"apiVersion": default_api_version, "kind": default_kind, **raw}
        for field in ("apiVersion", "kind"):
            value = raw.get(field)
            if value is None or value == "":
                raise ManifestError(_describe(source, f'{where}: missing field "{field}"'))
            if not isinstance(value, str):
                got = type(value).__name__
                raise ManifestError(_describe(source, f"{where}: {field}: expected str, got {got}"))
        api_version, kind = raw["apiVersion"], raw["kind"]
        info: KindInfo | None = self._kinds.for_api_version(api_version, kind)
        if info is None:
            message = f'{where}: no matches for kind "{kind}" in version "{api_version}"'
            raise UnknownKindError(_describe(source, message))
        metadata = raw.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        who = f'{kind} "{name}"' if isinstance(name, str) and name else f"{kind} ({where})"
        try:
            normalized = _Normalizer(MAX_VALUES).copy(raw)
            return msgspec.convert(normalized, info.cls), normalized
        except RecursionError:
            raise ManifestError(_describe(source, f"{who}: nested too deeply")) from None
        except _TooLargeError:
            message = f"{who}: more than {MAX_VALUES} values (YAML aliases expand too far)"
            raise ManifestError(_describe(source, message)) from None
        except msgspec.ValidationError as exc:
            raise ManifestError(_describe(source, f"{who}: {_translate(exc, raw)}")) from None


CODEC = Codec(KINDS)
_PRETTY_ENCODER = msgspec.json.Encoder()


def load_manifests(text: str, *, source: str = "<stdin>") -> tuple[ApiStruct, ...]:
    """Every object of a YAML stream or JSON text, typed; see the module doc."""
    return CODEC.load(text, source=source)


def encode(obj: ApiStruct) -> bytes:
    """Compact JSON bytes for the store."""
    return CODEC.encode(obj)


@overload
def decode(kind: type[_T], data: bytes) -> _T: ...
@overload
def decode(kind: str, data: bytes) -> ApiStruct: ...
def decode(kind: type[ApiStruct] | str, data: bytes) -> ApiStruct:
    """Decode bytes written by `encode`; `kind` is a Struct class or any kind name."""
    return CODEC.decode(kind, data)


def dump_json(obj: ApiStruct) -> str:
    """Indented JSON as `kubectl get -o json` prints it (4 spaces, no trailing newline)."""
    return msgspec.json.format(_PRETTY_ENCODER.encode(obj), indent=4).decode()


def dump_yaml(obj: ApiStruct) -> str:
    """Block-style YAML as `kubectl get -o yaml` prints it (keys in struct order)."""
    return yaml.dump(
        msgspec.to_builtins(obj),
        Dumper=_KubectlDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 20,
    )
