"""Storage keys to object references and back, kind lookup and value decoding for replay.

Keys are kube-apiserver's etcd layout (`cp/apiserver/keys.py`): `/registry/<plural>/<ns>/<name>`
for namespaced kinds, `/registry/<plural>/<name>` for cluster-scoped ones. A key whose plural is
not in the kinds table still parses (kind = plural, no `KindInfo`), so a log written by a newer
cpemu stays readable.
"""

from __future__ import annotations

from typing import Any

import msgspec

from cp.api.kinds import KINDS, KindInfo
from cp.replay.errors import UnknownKind

__all__ = ["ObjectRef", "decode_value", "key_of", "parse_key", "resolve_kind"]

_PLURALS: dict[str, KindInfo] = {info.plural: info for info in KINDS}
_JSON = msgspec.json.Decoder()


class ObjectRef(msgspec.Struct, frozen=True, gc=False):
    """Which object a key holds: `kind` (`Deployment`), `namespace` ("" when cluster-scoped),
    `name`, and `resource` as `kubectl get -o name` prints it (`deployment.apps/web`)."""

    kind: str
    namespace: str
    name: str
    resource: str


def resolve_kind(kind: str) -> KindInfo:
    """The kind called `kind` by kubectl (kind, plural, singular, short name), else UnknownKind."""
    info = KINDS.lookup(kind)
    if info is None:
        raise UnknownKind(f'the server doesn\'t have a resource type "{kind}"')
    return info


def key_of(info: KindInfo, name: str, namespace: str | None) -> str:
    """The storage key of one object (`namespace` is ignored for cluster-scoped kinds)."""
    if info.namespaced:
        return f"/registry/{info.plural}/{namespace or 'default'}/{name}"
    return f"/registry/{info.plural}/{name}"


def _resource(info: KindInfo | None, plural: str, name: str) -> str:
    if info is None:
        return f"{plural}/{name}"
    qualified = f"{info.singular}.{info.group}" if info.group else info.singular
    return f"{qualified}/{name}"


def parse_key(key: str) -> ObjectRef:
    """The object a storage key names; keys outside `/registry/` keep the key as their name."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != "" or parts[1] != "registry":
        return ObjectRef(kind="", namespace="", name=key, resource=key)
    plural = parts[2]
    info = _PLURALS.get(plural)
    if len(parts) >= 5 and (info is None or info.namespaced):
        namespace, name = parts[3], "/".join(parts[4:])
    else:
        namespace, name = "", "/".join(parts[3:])
    kind = info.kind if info is not None else plural
    return ObjectRef(
        kind=kind, namespace=namespace, name=name, resource=_resource(info, plural, name)
    )


def decode_value(value: bytes | None) -> Any:
    """A stored value as JSON builtins (Kubernetes' wire form); None for None or non-JSON."""
    if value is None:
        return None
    try:
        return _JSON.decode(value)
    except msgspec.DecodeError:
        return None
