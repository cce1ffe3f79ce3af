"""Validation building blocks: names, object metadata, labels, label selectors, numbers.

Follows apimachinery ``pkg/util/validation/validation.go`` (``IsDNS1123Label``,
``IsDNS1123Subdomain``, ``IsDNS1035Label``, ``IsValidPortNum``, ``IsValidPortName``,
``IsValidPercent``), ``pkg/api/validation/objectmeta.go`` (``ValidateObjectMeta``,
``ValidateAnnotations``), ``pkg/apis/meta/v1/validation/validation.go`` (``ValidateLabels``,
``ValidateLabelSelector``) and ``field.Path`` rendering (``a.b[0].c``, ``requests[cpu]``).

Bad values that upstream prints with Go's ``%#v`` (maps, structs, IntOrString) are given as
`GoValue`, whose ``str()`` is that Go rendering, so that `FieldError.__str__` matches upstream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Final, TypeAlias

from cp.api.errors import FieldError, FieldErrorType
from cp.api.meta import LabelSelector, ObjectMeta
from cp.api.selectors import label_key_errors, label_value_errors

__all__ = [
    "NEGATIVE_MSG",
    "GoValue",
    "NameValidator",
    "dns1035_label_errors",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "duplicate",
    "forbidden",
    "go_intstr",
    "go_label_selector",
    "go_string_map",
    "invalid",
    "not_found",
    "not_supported",
    "percent_errors",
    "port_name_errors",
    "port_num_errors",
    "required",
    "validate_annotations",
    "validate_dns1123_label",
    "validate_label_selector",
    "validate_labels",
    "validate_nonnegative",
    "validate_object_meta",
]

_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_LABEL_MSG: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT: Final = f"{_DNS1123_LABEL_FMT}(\\.{_DNS1123_LABEL_FMT})*"
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1123_SUBDOMAIN_MSG: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_RE: Final = re.compile(_DNS1035_LABEL_FMT)
_DNS1035_LABEL_MSG: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_PERCENT_FMT: Final = "[0-9]+%"
_PERCENT_RE: Final = re.compile(_PERCENT_FMT)
_PERCENT_MSG: Final = "a valid percent string must be a numeric string followed by an ending '%'"
_PORT_NAME_CHARSET: Final = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER: Final = re.compile("[a-z]")
_TOTAL_ANNOTATION_SIZE: Final = 256 * (1 << 10)
# Fast-path patterns: a match (with the length bound checked by the caller) means the detailed
# upstream checks would find nothing; anything else takes the detailed path for its messages.
#: a qualified name no longer than 63 characters (so prefix <= 253 and name <= 63 hold).
_QUALIFIED_NAME_FAST: Final = re.compile(
    f"(?:{_DNS1123_SUBDOMAIN_FMT}/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
)
#: a label value (empty, or a name part), no longer than 63 characters.
_LABEL_VALUE_FAST: Final = re.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
NEGATIVE_MSG: Final = "must be greater than or equal to 0"


class GoValue:
    """A bad value printed verbatim (Go's ``%#v`` of a map, struct or IntOrString)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"GoValue({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoValue) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def go_string_map(values: Mapping[str, str]) -> GoValue:
    """``%#v`` of a ``map[string]string`` (keys sorted, as fmt prints maps); empty is nil."""
    if not values:
        return GoValue("map[string]string(nil)")
    inner = ", ".join(f"{_quote(k)}:{_quote(values[k])}" for k in sorted(values))
    return GoValue("map[string]string{" + inner + "}")


def go_intstr(value: int | str | None) -> GoValue:
    """``%#v`` of an ``intstr.IntOrString`` (Type 0 is Int, 1 is String)."""
    if isinstance(value, str):
        return GoValue(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{_quote(value)}}}")
    return GoValue(f'intstr.IntOrString{{Type:0, IntVal:{value or 0}, StrVal:""}}')


def go_label_selector(selector: LabelSelector) -> GoValue:
    """``%#v`` of a ``metav1.LabelSelector`` (what upstream prints for a rejected selector)."""
    labels = go_string_map(selector.match_labels).text
    if selector.match_expressions:
        items = ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{_quote(r.key)}, Operator:{_quote(r.operator)}, "
            f"Values:{_go_strings(r.values)}}}"
            for r in selector.match_expressions
        )
        expressions = "[]v1.LabelSelectorRequirement{" + items + "}"
    else:
        expressions = "[]v1.LabelSelectorRequirement(nil)"
    return GoValue(f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{expressions}}}")


def _go_strings(values: tuple[str, ...]) -> str:
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(_quote(v) for v in values) + "}"


# -- constructors (field.Required, field.Invalid, ...) ----------------------------------------


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(FieldErrorType.REQUIRED, path, detail=detail)


def invalid(path: str, value: object, detail: str) -> FieldError:
    return FieldError(FieldErrorType.INVALID, path, value, detail)


def duplicate(path: str, value: object) -> FieldError:
    return FieldError(FieldErrorType.DUPLICATE, path, value)


def not_found(path: str, value: object) -> FieldError:
    return FieldError(FieldErrorType.NOT_FOUND, path, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FieldErrorType.FORBIDDEN, path, detail=detail)


def not_supported(path: str, value: object, supported: Iterable[str]) -> FieldError:
    detail = "supported values: " + ", ".join(_quote(v) for v in supported)
    return FieldError(FieldErrorType.NOT_SUPPORTED, path, value, detail)


# -- string formats ---------------------------------------------------------------------------


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def dns1123_label_errors(value: str) -> list[str]:
    """``IsDNS1123Label``."""
    if len(value) <= 63 and _DNS1123_LABEL_RE.fullmatch(value):
        return []
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS1123_LABEL_RE.fullmatch(value):
        errors.append(_regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


def dns1123_subdomain_errors(value: str) -> list[str]:
    """``IsDNS1123Subdomain``."""
    if len(value) <= 253 and _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        return []
    errors = []
    if len(value) > 253:
        errors.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    """``IsDNS1035Label`` (Service names)."""
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errors.append(_regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errors


def port_num_errors(port: int) -> list[str]:
    """``IsValidPortNum``."""
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def port_name_errors(name: str) -> list[str]:
    """``IsValidPortName`` (an IANA_SVC_NAME)."""
    errors = []
    if len(name) > 15:
        errors.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARSET.fullmatch(name):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    elif not _PORT_NAME_LETTER.search(name):
        errors.append("must contain at least one letter (a-z)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def percent_errors(value: str) -> list[str]:
    """``IsValidPercent``."""
    if _PERCENT_RE.fullmatch(value):
        return []
    return [_regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%")]


def validate_dns1123_label(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, msg) for msg in dns1123_label_errors(value)]


def validate_nonnegative(value: int, path: str) -> list[FieldError]:
    """``ValidateNonnegativeField``."""
    return [invalid(path, value, NEGATIVE_MSG)] if value < 0 else []


# -- metadata, labels, selectors ---------------------------------------------------------------


NameValidator: TypeAlias = Callable[[str], list[str]]


def validate_labels(labels: Mapping[str, str], path: str) -> list[FieldError]:
    """``ValidateLabels``: keys are qualified names, values label values (keys sorted)."""
    if _labels_fast_valid(labels):
        return []
    errors: list[FieldError] = []
    for key in sorted(labels):
        errors.extend(invalid(path, key, msg) for msg in label_key_errors(key))
        value = labels[key]
        errors.extend(invalid(path, value, msg) for msg in label_value_errors(value))
    return errors


def _labels_fast_valid(labels: Mapping[str, str]) -> bool:
    """True when every key and value is plainly valid (`validate_labels` would find nothing)."""
    key_ok = _QUALIFIED_NAME_FAST.fullmatch
    value_ok = _LABEL_VALUE_FAST.fullmatch
    for key, value in labels.items():
        if len(key) > 63 or len(value) > 63 or not key_ok(key) or not value_ok(value):
            return False
    return True


def validate_annotations(annotations: Mapping[str, str], path: str) -> list[FieldError]:
    """``ValidateAnnotations``: lower-cased keys are qualified names; total size <= 256 KiB."""
    if not annotations:
        return []
    errors: list[FieldError] = []
    total = 0
    for key in sorted(annotations):
        errors.extend(invalid(path, key, msg) for msg in label_key_errors(key.lower()))
        total += len(key.encode()) + len(annotations[key].encode())
    if total > _TOTAL_ANNOTATION_SIZE:
        errors.append(
            FieldError(
                FieldErrorType.TOO_LONG,
                path,
                detail=f"may not be more than {_TOTAL_ANNOTATION_SIZE} bytes",
            )
        )
    return errors


def _mask_trailing_dash(name: str) -> str:
    """Upstream ``maskTrailingDash``: a generateName prefix may end in '-'."""
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_object_meta(
    meta: ObjectMeta, name_errors: NameValidator, path: str = "metadata"
) -> list[FieldError]:
    """``ValidateObjectMeta`` for a create (namespace is checked only when set)."""
    errors: list[FieldError] = []
    if meta.generate_name:
        prefix = meta.generate_name
        if messages := name_errors(_mask_trailing_dash(prefix)):
            errors.extend(invalid(f"{path}.generateName", prefix, msg) for msg in messages)
    name = meta.name
    if not name:
        if not meta.generate_name:
            errors.append(required(f"{path}.name", "name or generateName is required"))
    elif messages := name_errors(name):
        errors.extend(invalid(f"{path}.name", name, msg) for msg in messages)
    namespace = meta.namespace
    if namespace and (messages := dns1123_label_errors(namespace)):
        errors.extend(invalid(f"{path}.namespace", namespace, msg) for msg in messages)
    if meta.generation < 0:
        errors.append(invalid(f"{path}.generation", meta.generation, NEGATIVE_MSG))
    if meta.labels and not _labels_fast_valid(meta.labels):
        errors.extend(validate_labels(meta.labels, f"{path}.labels"))
    if meta.annotations:
        errors.extend(validate_annotations(meta.annotations, f"{path}.annotations"))
    return errors


def validate_label_selector(selector: LabelSelector, path: str) -> list[FieldError]:
    """``ValidateLabelSelector`` (strict: invalid label values refused)."""
    errors: list[FieldError] = []
    for i, requirement in enumerate(selector.match_expressions):
        at = f"{path}.matchExpressions[{i}]"
        if requirement.operator in ("In", "NotIn"):
            if not requirement.values:
                errors.append(
                    required(f"{at}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif requirement.operator in ("Exists", "DoesNotExist"):
            if requirement.values:
                errors.append(
                    forbidden(
                        f"{at}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errors.append(
                invalid(f"{at}.operator", requirement.operator, "not a valid selector operator")
            )
        key = requirement.key
        errors.extend(invalid(f"{at}.key", key, msg) for msg in label_key_errors(key))
        for j, value in enumerate(requirement.values):
            errors.extend(
                invalid(f"{at}.values[{j}]", value, msg) for msg in label_value_errors(value)
            )
    errors.extend(validate_labels(selector.match_labels, f"{path}.matchLabels"))
    return errors
