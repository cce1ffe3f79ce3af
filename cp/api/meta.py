"""Object metadata shared by every kind (`k8s.io/apimachinery/pkg/apis/meta/v1`).

Every API type derives from `ApiStruct`: a frozen, keyword-only msgspec Struct whose Python
attributes are snake_case and whose wire names are camelCase (a few acronyms such as `podIPs`
are spelled out with `msgspec.field(name=...)`). Unknown fields are refused on decode.

Field types follow the Go types: a Go pointer (`*int32`) is `int | None = None`, so an explicit
zero survives a round trip; a Go `omitempty` value is given its zero value as default, and
`omit_defaults` drops it on encode as Go does. Lists are tuples. Mappings (labels, annotations,
data) are plain `dict`s typed as `Mapping`: objects are shared between caches and never mutated;
change them with `msgspec.structs.replace`. Timestamps are RFC 3339 strings as Kubernetes sends
them (`2024-01-02T03:04:05Z`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = [
    "ApiStruct",
    "LabelSelector",
    "LabelSelectorRequirement",
    "ListMeta",
    "ManagedFieldsEntry",
    "ObjectList",
    "ObjectMeta",
    "ObjectReference",
    "OwnerReference",
]


class ApiStruct(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename="camel",
    forbid_unknown_fields=True,
    gc=False,
):
    """Base of every API type. Subclasses repeat `kw_only=True` (msgspec applies it per class)."""


class OwnerReference(ApiStruct, frozen=True, kw_only=True):
    """`metadata.ownerReferences[]`: at most one entry has `controller: true`."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(ApiStruct, frozen=True, kw_only=True):
    """Server-side apply bookkeeping; kept as written (`fieldsV1` is raw JSON)."""

    manager: str = ""
    operation: str = ""
    api_version: str = ""
    time: str | None = None
    fields_type: str = ""
    fields_v1: Mapping[str, Any] | None = msgspec.field(default=None, name="fieldsV1")
    subresource: str = ""


class ObjectMeta(ApiStruct, frozen=True, kw_only=True):
    """`metadata` of every object; `resourceVersion` is the store revision as a string."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: Mapping[str, str] = {}
    annotations: Mapping[str, str] = {}
    owner_references: tuple[OwnerReference, ...] = ()
    finalizers: tuple[str, ...] = ()
    managed_fields: tuple[ManagedFieldsEntry, ...] = ()


class ListMeta(ApiStruct, frozen=True, kw_only=True):
    """`metadata` of a list: the revision it was read at."""

    resource_version: str = ""
    continue_: str = msgspec.field(default="", name="continue")
    remaining_item_count: int | None = None


class ObjectReference(ApiStruct, frozen=True, kw_only=True):
    """A reference to an object (`involvedObject`, `claimRef`, `targetRef`)."""

    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    api_version: str = ""
    resource_version: str = ""
    field_path: str = ""


class LabelSelectorRequirement(ApiStruct, frozen=True, kw_only=True):
    """One `matchExpressions` entry; operator is In, NotIn, Exists or DoesNotExist."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


class LabelSelector(ApiStruct, frozen=True, kw_only=True):
    """`matchLabels` and `matchExpressions`, ANDed (evaluated in `cp.api.selectors`)."""

    match_labels: Mapping[str, str] = {}
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()


class ObjectList(ApiStruct, frozen=True, kw_only=True):
    """A `v1` `List`, as `kubectl get -o json` prints several objects; `metadata.resourceVersion`
    is the revision they were read at. Output only: `load_manifests` flattens lists it reads."""

    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "List")
    metadata: ListMeta = ListMeta()
    items: tuple[ApiStruct, ...]
