"""Kubernetes strategic merge patch and the three-way patch of `kubectl apply`.

After apimachinery `pkg/util/strategicpatch/patch.go` (`StrategicMergeMapPatch` /
`mergeMap` / `mergeSlice`, and `CreateThreeWayMergePatch`), on JSON-like builtins. The list
merge keys and strategies come from the `patchStrategy` / `patchMergeKey` struct tags of
`k8s.io/api/core/v1/types.go`, `apps/v1/types.go` and `apimachinery/.../meta/v1/types.go`,
tabled per kind in `field_meta` (only for the fields cpemu serves).

Directives supported when applying: `$patch: replace|delete|merge` (in maps and as list
elements), `$retainKeys`, `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`, and
`null` to delete a key. Lists without a merge strategy are replaced wholesale.
"""

from __future__ import annotations

from collections.abc import Mapping

from cp.api.patch import PatchError, json_copy

__all__ = [
    "field_meta",
    "strategic_merge_patch",
    "three_way_merge",
]

_PATCH = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ORDER = "$setElementOrder/"

Path = tuple[str, ...]
Meta = tuple[str, str | None]
"""(patch strategy, merge key): strategy is "", "merge", "replace", "retainKeys" or a mix."""

_NONE: Meta = ("", None)

# core/v1 PodSpec and Container tags, relative to a pod spec.
_POD_SPEC: dict[Path, Meta] = {
    ("volumes",): ("merge,retainKeys", "name"),
    ("imagePullSecrets",): ("merge", "name"),
    ("hostAliases",): ("merge", "ip"),
    ("topologySpreadConstraints",): ("merge", "topologyKey"),
    ("schedulingGates",): ("merge", "name"),
    ("resourceClaims",): ("merge,retainKeys", "name"),
}
for _list in ("containers", "initContainers", "ephemeralContainers"):
    _POD_SPEC[(_list,)] = ("merge", "name")
    _POD_SPEC[(_list, "ports")] = ("merge", "containerPort")
    _POD_SPEC[(_list, "env")] = ("merge", "name")
    _POD_SPEC[(_list, "volumeMounts")] = ("merge", "mountPath")
    _POD_SPEC[(_list, "volumeDevices")] = ("merge", "devicePath")

# meta/v1 ObjectMeta tags.
_OBJECT_META: dict[Path, Meta] = {
    ("finalizers",): ("merge", None),
    ("ownerReferences",): ("merge", "uid"),
}

_TEMPLATE = ("spec", "template")
_POD_TEMPLATES: dict[str, Path] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "Deployment": _TEMPLATE,
    "ReplicaSet": _TEMPLATE,
    "StatefulSet": _TEMPLATE,
    "DaemonSet": _TEMPLATE,
    "ReplicationController": _TEMPLATE,
    "Job": _TEMPLATE,
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# Kind-specific fields outside the pod template (apps/v1 and core/v1 tags).
_KIND_FIELDS: dict[str, dict[Path, Meta]] = {
    "Deployment": {("spec", "strategy"): ("retainKeys", None)},
    "DaemonSet": {("spec", "updateStrategy"): ("retainKeys", None)},
    "StatefulSet": {("spec", "volumeClaimTemplates"): ("replace", None)},
    "Service": {("spec", "ports"): ("merge", "port")},
    "Node": {("status", "addresses"): ("merge", "type")},
    "Pod": {("status", "podIPs"): ("merge", "ip"), ("status", "hostIPs"): ("merge", "ip")},
}


def field_meta(kind: str, path: Path) -> Meta:
    """The (patchStrategy, patchMergeKey) of the field at `path` (list indices elided).

    `status.conditions` merges by `type` for every kind; fields not tabled have no strategy,
    so their lists are replaced (as for `tolerations` or `matchExpressions`).
    """
    if path in _KIND_FIELDS.get(kind, {}):
        return _KIND_FIELDS[kind][path]
    if path == ("status", "conditions"):
        return ("merge", "type")
    if path[:1] == ("metadata",):
        return _OBJECT_META.get(path[1:], _NONE)
    template = _POD_TEMPLATES.get(kind)
    if template is not None:
        n = len(template)
        if path[:n] == template and path[n : n + 1] == ("metadata",):
            return _OBJECT_META.get(path[n + 1 :], _NONE)
        if path[:n] == template and path[n : n + 1] == ("spec",):
            return _POD_SPEC.get(path[n + 1 :], _NONE)
    return _NONE


def _strategies(meta: Meta) -> set[str]:
    return set(filter(None, meta[0].split(",")))


# --- applying -----------------------------------------------------------------------------


def strategic_merge_patch(target: object, patch: object, kind: str) -> object:
    """Apply a strategic merge patch to `target` (an object of `kind`), returning a new value.

    As apimachinery `StrategicMergeMapPatch` with the server's own merge keys (`field_meta`).
    Raises `PatchError` (400) for malformed directives or list elements missing their merge key.
    """
    patch = json_copy(patch)
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    base = json_copy(target) if isinstance(target, dict) else {}
    assert isinstance(base, dict)
    return _merge_map(base, patch, kind, ())


def _fresh(value: object, kind: str, path: Path) -> object:
    """A patch value for an absent field: merged into nothing, which strips directives."""
    if isinstance(value, dict):
        return _merge_map({}, value, kind, path)
    if isinstance(value, list):
        return _merge_list([], value, kind, path)
    return json_copy(value)


def _merge_map(
    original: dict[str, object], patch: Mapping[str, object], kind: str, path: Path
) -> dict[str, object]:
    """mergeMap: `original` is owned (mutated and returned); `patch` is only read."""
    directive = patch.get(_PATCH)
    if directive == "replace":
        return {k: _fresh(v, kind, (*path, k)) for k, v in patch.items() if not k.startswith("$")}
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise PatchError(f"invalid $patch directive {directive!r} at {'.'.join(path) or '.'}")
    if _RETAIN in patch:
        _retain_keys(original, patch, path)
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            current = original.get(field)
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list")
            if isinstance(current, list):
                original[field] = [x for x in current if x not in value]
    for key, value in patch.items():
        if key in (_PATCH, _RETAIN) or key.startswith((_DELETE_PRIMITIVE, _ORDER)):
            continue
        sub = (*path, key)
        if value is None:
            original.pop(key, None)
        elif key not in original:
            original[key] = _fresh(value, kind, sub)
        elif isinstance(value, dict) and isinstance(original[key], dict):
            if "replace" in _strategies(field_meta(kind, sub)):
                original[key] = _fresh(value, kind, sub)
            else:
                original[key] = _merge_map(_owned_dict(original[key]), value, kind, sub)
        elif isinstance(value, list) and isinstance(original[key], list):
            original[key] = _merge_list(_owned_list(original[key]), value, kind, sub)
        else:
            original[key] = _fresh(value, kind, sub)
    for key, value in patch.items():
        if key.startswith(_ORDER):
            field = key[len(_ORDER) :]
            current = original.get(field)
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list")
            if isinstance(current, list):
                original[field] = _reorder(current, value, field_meta(kind, (*path, field))[1])
    return original


def _owned_dict(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return value


def _owned_list(value: object) -> list[object]:
    assert isinstance(value, list)
    return value


def _retain_keys(original: dict[str, object], patch: Mapping[str, object], path: Path) -> None:
    """$retainKeys: drop keys of `original` not listed (applyRetainKeysDirective)."""
    retain = patch[_RETAIN]
    if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
        raise PatchError(f"$retainKeys must be a list of strings at {'.'.join(path) or '.'}")
    for key, value in patch.items():
        if value is None or key in (_PATCH, _RETAIN) or key.startswith("$"):
            continue
        if key not in retain:
            raise PatchError(f"all fields in patch must be present in $retainKeys: {key!r}")
    for key in list(original):
        if key not in retain:
            del original[key]


def _merge_list(original: list[object], patch: list[object], kind: str, path: Path) -> list[object]:
    """mergeSlice: merge by key, union primitives, or replace, per the field's strategy."""
    strategy, key = field_meta(kind, path)
    if "merge" not in _strategies((strategy, key)):
        return [_fresh(v, kind, path) for v in patch if not _is_directive_element(v)]
    if key is None or not all(isinstance(v, dict) for v in patch):
        result = list(original)
        for value in patch:
            if isinstance(value, dict) and value.get(_PATCH) == "replace":
                return [json_copy(v) for v in patch if not _is_directive_element(v)]
            if value not in result:
                result.append(json_copy(value))
        return result
    if any(isinstance(e, dict) and e.get(_PATCH) == "replace" for e in patch):
        # mergeSliceWithSpecialElements: `{"$patch": "replace"}` makes the patch list the result.
        replaced = [
            {k: v for k, v in e.items() if k != _PATCH}
            for e in patch
            if isinstance(e, dict) and e.get(_PATCH) != "delete"
        ]
        return [_fresh(e, kind, path) for e in replaced if e]
    result = list(original)
    rest: list[dict[str, object]] = []
    for element in patch:
        assert isinstance(element, dict)
        directive = element.get(_PATCH)
        if directive is None:
            rest.append(element)
        elif directive == "delete":
            if key not in element:
                raise PatchError(f"delete element at {'.'.join(path)} lacks merge key {key!r}")
            result = [e for e in result if not (isinstance(e, dict) and e.get(key) == element[key])]
        elif directive == "replace":
            continue
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"invalid $patch directive {directive!r} at {'.'.join(path)}")
    for element in rest:
        if key not in element:
            raise PatchError(f"map: {element} does not contain declared merge key: {key}")
        for i, existing in enumerate(result):
            if isinstance(existing, dict) and existing.get(key) == element[key]:
                result[i] = _merge_map(dict(existing), element, kind, path)
                break
        else:
            result.append(_fresh(element, kind, path))
    return result


def _is_directive_element(value: object) -> bool:
    return isinstance(value, dict) and _PATCH in value


def _reorder(current: list[object], order: list[object], key: str | None) -> list[object]:
    """$setElementOrder: elements named in `order` take their slots in that order.

    Elements not named (server-only) keep their positions; upstream interleaves them by their
    original index (normalizeElementOrder), which gives the same result when none move.
    """

    def ident(value: object) -> object:
        if key is not None and isinstance(value, dict):
            return value.get(key)
        return value

    wanted = [ident(v) for v in order]
    named = {repr(w): w for w in wanted}
    slots = [i for i, v in enumerate(current) if repr(ident(v)) in named]
    by_id = {repr(ident(current[i])): current[i] for i in slots}
    ordered = [by_id[repr(w)] for w in wanted if repr(w) in by_id]
    result = list(current)
    for slot, value in zip(slots, ordered, strict=False):
        result[slot] = value
    return result


# --- three-way patch ----------------------------------------------------------------------


def three_way_merge(original: object, modified: object, current: object, kind: str) -> object:
    """The strategic merge patch `kubectl apply` sends (CreateThreeWayMergePatch).

    `original` is the last-applied configuration (or None), `modified` the new manifest and
    `current` the live object. Additions and changes come from `modified` vs `current`;
    deletions are fields in `original` missing from `modified` (and still present in `current`),
    so fields set only by controllers (status, replicas after a scale) are left alone. Merge-keyed
    lists get `$setElementOrder/<field>` and `$patch: delete` elements; primitive merge lists get
    `$deleteFromPrimitiveList/<field>`; `retainKeys` maps get `$retainKeys`. `{}` means no change.
    """
    original, modified, current = json_copy(original), json_copy(modified), json_copy(current)
    if not isinstance(modified, dict):
        raise PatchError("the applied configuration must be a JSON object")
    o = original if isinstance(original, dict) else {}
    c = current if isinstance(current, dict) else {}
    return _diff_map(o, modified, c, kind, ())


def _diff_map(
    original: Mapping[str, object],
    modified: Mapping[str, object],
    current: Mapping[str, object],
    kind: str,
    path: Path,
) -> dict[str, object]:
    patch: dict[str, object] = {}
    for key, mv in modified.items():
        sub = (*path, key)
        if key not in current:
            patch[key] = json_copy(mv)
            continue
        cv, ov = current[key], original.get(key)
        meta = field_meta(kind, sub)
        if isinstance(mv, dict) and isinstance(cv, dict) and "replace" not in _strategies(meta):
            delta = _diff_map(ov if isinstance(ov, dict) else {}, mv, cv, kind, sub)
            if delta:
                if "retainKeys" in _strategies(meta):
                    delta[_RETAIN] = sorted(mv)
                patch[key] = delta
        elif isinstance(mv, list) and isinstance(cv, list) and "merge" in _strategies(meta):
            _diff_list(patch, key, ov if isinstance(ov, list) else [], mv, cv, kind, sub)
        elif mv != cv or type(mv) is not type(cv):
            patch[key] = json_copy(mv)
    for key in original:
        if key not in modified and key in current:
            patch[key] = None
    return patch


def _diff_list(
    patch: dict[str, object],
    field: str,
    original: list[object],
    modified: list[object],
    current: list[object],
    kind: str,
    path: Path,
) -> None:
    """Write the patch of a merge-strategy list (and its directives) into `patch`."""
    key = field_meta(kind, path)[1]
    keyed = key is not None and all(isinstance(v, dict) and key in v for v in modified)
    if not keyed:
        added = [v for v in modified if v not in current]
        removed = [v for v in original if v not in modified and v in current]
        if added:
            patch[field] = json_copy(added)
        if removed:
            patch[_DELETE_PRIMITIVE + field] = json_copy(removed)
        if added or removed:
            patch[_ORDER + field] = json_copy(modified)
        return
    assert key is not None

    def by_key(items: list[object]) -> dict[str, dict[str, object]]:
        return {repr(v[key]): v for v in items if isinstance(v, dict) and key in v}

    olds, curs = by_key(original), by_key(current)
    elements: list[object] = []
    for element in modified:
        assert isinstance(element, dict)
        ident = repr(element[key])
        if ident not in curs:
            elements.append(json_copy(element))
            continue
        delta = _diff_map(olds.get(ident, {}), element, curs[ident], kind, path)
        if delta:
            if "retainKeys" in _strategies(field_meta(kind, path)):
                delta[_RETAIN] = sorted(element)
            elements.append({key: json_copy(element[key]), **delta})
    mods = by_key(modified)
    for ident, element in olds.items():
        if ident not in mods and ident in curs:
            elements.append({_PATCH: "delete", key: json_copy(element[key])})
    if elements:
        patch[_ORDER + field] = [{key: json_copy(v[key])} for v in modified if isinstance(v, dict)]
        patch[field] = elements
