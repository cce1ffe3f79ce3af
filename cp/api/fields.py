"""Field selectors, as apimachinery ``pkg/fields/selector.go``: ``=``, ``==``, ``!=`` and
backslash escapes. Only ``metadata.name`` and ``metadata.namespace`` are accepted, the fields
every kind supports (``runtime.DefaultMetaV1FieldSelectorConversion``); any other field raises
`FieldSelectorNotSupported`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cp.api.errors_values import FieldSelectorNotSupported, SelectorError

__all__ = ["SUPPORTED_FIELDS", "FieldRequirement", "FieldSelector", "FieldSelectorNotSupported"]

SUPPORTED_FIELDS: Final = ("metadata.name", "metadata.namespace")
_TERM_OPERATORS: Final = ("!=", "==", "=")


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    """``field=value`` (``==`` reads the same) or ``field!=value``; absent fields read as ``""``."""

    field: str
    equal: bool
    value: str

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'=' if self.equal else '!='}{escaped}"


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    start, escaped = 0, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _unescape(value: str) -> str:
    out: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {char}")
        else:
            out.append(char)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _field_term(selector: str, part: str) -> FieldRequirement:
    for index in range(len(part)):
        for op in _TERM_OPERATORS:
            if part.startswith(op, index):
                name, value = part[:index], _unescape(part[index + len(op) :])
                if name not in SUPPORTED_FIELDS:
                    raise FieldSelectorNotSupported(name, SUPPORTED_FIELDS)
                return FieldRequirement(name, op != "!=", value)
    raise SelectorError(f"invalid selector: '{selector}'; can't understand '{part}'")


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """An immutable field selector over ``metadata.name`` and ``metadata.namespace``."""

    requirements: tuple[FieldRequirement, ...] = ()

    @classmethod
    def everything(cls) -> FieldSelector:
        return cls()

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Upstream ``fields.ParseSelector`` (terms sorted as written, as upstream does)."""
        parts = sorted(_split_terms(text)) if text else []
        return cls(tuple(_field_term(text, part) for part in parts if part))

    def is_empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether ``fields`` (e.g. ``{"metadata.name": ...}``) satisfies every term."""
        for term in self.requirements:
            if (fields.get(term.field, "") == term.value) != term.equal:
                return False
        return True

    def matches_meta(self, *, name: str, namespace: str) -> bool:
        """`matches` for an object's name and namespace, without building a mapping."""
        for term in self.requirements:
            actual = name if term.field == "metadata.name" else namespace
            if (actual == term.value) != term.equal:
                return False
        return True

    def requires_exact_match(self, field_name: str) -> str | None:
        """Upstream ``RequiresExactMatch``: the value ``field_name`` must equal, if any."""
        for term in self.requirements:
            if term.field == field_name and term.equal:
                return term.value
        return None

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.requirements)
