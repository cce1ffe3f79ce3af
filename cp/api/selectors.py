"""Label selectors (``app=web,tier!=db``, ``env in (prod,qa)``, ``!legacy``).

Label selectors follow apimachinery ``pkg/labels/selector.go``: the same lexer and recursive
descent parser (``Parse``), ``NewRequirement``'s validation (``validation.IsQualifiedName`` for
keys, ``IsValidLabelValue`` for values), matching, and ``String()`` with requirements sorted by
key and set values sorted. ``Selector.from_label_selector`` follows ``LabelSelectorAsSelector`` in
``apis/meta/v1/helpers.go``: ``None`` selects nothing, an empty selector selects everything.

Field selectors are in `cp.api.fields`.

Selectors are immutable and hashable; each requirement is compiled once into a small matcher, so
``Selector.matches`` does one dict lookup per requirement.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeAlias

from cp.api.errors_values import SelectorError

__all__ = [
    "LabelSelectorLike",
    "LabelSelectorRequirementLike",
    "Operator",
    "Requirement",
    "Selector",
    "SelectorError",
    "label_key_errors",
    "label_value_errors",
]

Labels: TypeAlias = Mapping[str, str]
_Matcher: TypeAlias = Callable[[Labels], bool]


class Operator(enum.StrEnum):
    """Upstream ``selection.Operator``."""

    DOES_NOT_EXIST = "!"
    DOUBLE_EQUALS = "=="
    EQUALS = "="
    EXISTS = "exists"
    GREATER_THAN = "gt"
    IN = "in"
    LESS_THAN = "lt"
    NOT_EQUALS = "!="
    NOT_IN = "notin"


_BINARY_OPERATORS: Final = "in, notin, =, ==, !=, gt, lt"
_PRINTED: Final = {
    Operator.EQUALS: "=",
    Operator.DOUBLE_EQUALS: "==",
    Operator.NOT_EQUALS: "!=",
    Operator.IN: " in ",
    Operator.NOT_IN: " notin ",
    Operator.GREATER_THAN: ">",
    Operator.LESS_THAN: "<",
}
_LABEL_SELECTOR_OPERATORS: Final = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}

# -- validation (k8s.io/apimachinery/pkg/util/validation) ----------------------------------------

_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_RE: Final = re.compile(_NAME_FMT)
_NAME_MSG: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_VALUE_FMT: Final = f"({_NAME_FMT})?"
_VALUE_RE: Final = re.compile(_VALUE_FMT)
_VALUE_MSG: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_DNS_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT: Final = f"{_DNS_LABEL_FMT}(\\.{_DNS_LABEL_FMT})*"
_SUBDOMAIN_RE: Final = re.compile(_SUBDOMAIN_FMT)
_SUBDOMAIN_MSG: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_INT64: Final = re.compile(r"[+-]?[0-9]+")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def label_key_errors(key: str) -> list[str]:
    """Upstream ``validation.IsQualifiedName``: why ``key`` is not a valid label key."""
    errors: list[str] = []
    parts = key.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errors.append("prefix part must be no more than 253 characters")
            if not _SUBDOMAIN_RE.fullmatch(prefix):
                errors.append(
                    "prefix part " + _regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com")
                )
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _NAME_RE.fullmatch(name):
        errors.append(
            "name part " + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    """Upstream ``validation.IsValidLabelValue``: why ``value`` is not a valid label value."""
    errors: list[str] = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _VALUE_RE.fullmatch(value):
        errors.append(_regex_error(_VALUE_MSG, _VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _go_strings(values: Sequence[str]) -> str:
    return "[]string{" + ", ".join(f'"{value}"' for value in values) + "}"


def _check_key(key: str) -> None:
    if errors := label_key_errors(key):
        raise SelectorError(f'key: Invalid value: "{key}": ' + "; ".join(errors))


# -- requirements and label selectors -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key op values`` term; validated on construction as upstream ``NewRequirement``."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()
    _matcher: _Matcher = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            operator = Operator(self.operator)
        except ValueError:
            raise SelectorError(
                f'operator: Unsupported value: "{self.operator}": supported values: '
                f"{_BINARY_OPERATORS}, exists, !"
            ) from None
        object.__setattr__(self, "operator", operator)
        # Values are a set upstream (duplicates mean nothing); keep the first of each.
        object.__setattr__(self, "values", tuple(dict.fromkeys(self.values)))
        self._validate()
        object.__setattr__(self, "_matcher", _compile(self.key, operator, self.values))

    def _validate(self) -> None:
        _check_key(self.key)
        values, op = self.values, self.operator
        problem = ""
        if op in (Operator.IN, Operator.NOT_IN) and not values:
            problem = "for 'in', 'notin' operators, values set can't be empty"
        elif op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS):
            if len(values) != 1:
                problem = "exact-match compatibility requires one single value"
        elif op in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            problem = "values set must be empty for exists and does not exist"
        elif op in (Operator.GREATER_THAN, Operator.LESS_THAN):
            if len(values) != 1:
                problem = "for 'Gt', 'Lt' operators, exactly one value is required"
            elif _parse_int64(values[0]) is None:
                raise SelectorError(
                    f'values[0]: Invalid value: "{values[0]}": '
                    "for 'Gt', 'Lt' operators, the value must be an integer"
                )
        if problem:
            raise SelectorError(f"values: Invalid value: {_go_strings(values)}: {problem}")
        for index, value in enumerate(values):
            if errors := label_value_errors(value):
                raise SelectorError(
                    f'values[{index}][{self.key}]: Invalid value: "{value}": ' + "; ".join(errors)
                )

    def matches(self, labels: Labels) -> bool:
        """Upstream ``Requirement.Matches``."""
        return self._matcher(labels)

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        shown = ",".join(sorted(self.values))
        if op in (Operator.IN, Operator.NOT_IN):
            shown = f"({shown})"
        return f"{self.key}{_PRINTED[op]}{shown}"


def _parse_int64(text: str) -> int | None:
    if not _INT64.fullmatch(text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


def _compile(key: str, op: Operator, values: tuple[str, ...]) -> _Matcher:
    """One closure per requirement: absent keys read as ``None``, which equals no value."""
    if op is Operator.EXISTS:
        return lambda labels: key in labels
    if op is Operator.DOES_NOT_EXIST:
        return lambda labels: key not in labels
    if op in (Operator.GREATER_THAN, Operator.LESS_THAN):
        bound = _parse_int64(values[0])
        greater = op is Operator.GREATER_THAN

        def compare(labels: Labels) -> bool:
            raw = labels.get(key)
            number = None if raw is None else _parse_int64(raw)
            if number is None or bound is None:
                return False
            return number > bound if greater else number < bound

        return compare
    negate = op in (Operator.NOT_IN, Operator.NOT_EQUALS)
    if len(values) == 1:
        (only,) = values
        if negate:
            return lambda labels: labels.get(key) != only
        return lambda labels: labels.get(key) == only
    allowed = frozenset(values)
    if negate:
        return lambda labels: labels.get(key) not in allowed
    return lambda labels: labels.get(key) in allowed


class LabelSelectorRequirementLike(Protocol):
    """The shape of ``metav1.LabelSelectorRequirement`` as a typed struct."""

    @property
    def key(self) -> str: ...
    @property
    def operator(self) -> str: ...
    @property
    def values(self) -> Sequence[str]: ...


class LabelSelectorLike(Protocol):
    """The shape of ``metav1.LabelSelector`` as a typed struct (snake_case attributes)."""

    @property
    def match_labels(self) -> Mapping[str, str]: ...
    @property
    def match_expressions(self) -> Sequence[LabelSelectorRequirementLike]: ...


def _str_mapping(raw: object, what: str) -> Mapping[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise SelectorError(f"{what} must be a mapping of strings to strings")
    return raw


def _expression(raw: object) -> Requirement:
    if isinstance(raw, Mapping):
        key, operator, values = raw.get("key"), raw.get("operator"), raw.get("values") or ()
    else:
        key = getattr(raw, "key", None)
        operator = getattr(raw, "operator", None)
        values = getattr(raw, "values", None) or ()
    if not isinstance(key, str) or not isinstance(values, Sequence) or isinstance(values, str):
        raise SelectorError("matchExpressions entries need a string key and a list of values")
    if not all(isinstance(value, str) for value in values):
        raise SelectorError(f'matchExpressions values of "{key}" must be strings')
    if not isinstance(operator, str) or operator not in _LABEL_SELECTOR_OPERATORS:
        raise SelectorError(f'"{operator}" is not a valid label selector operator')
    return Requirement(key, _LABEL_SELECTOR_OPERATORS[operator], tuple(values))


class Selector:
    """An immutable label selector: the AND of its requirements, sorted by key."""

    __slots__ = ("_matchers", "_nothing", "_requirements")

    _requirements: tuple[Requirement, ...]
    _nothing: bool
    _matchers: tuple[_Matcher, ...]

    def __init__(self, requirements: Iterable[Requirement] = (), *, _nothing: bool = False) -> None:
        ordered = tuple(sorted(requirements, key=lambda requirement: requirement.key))
        object.__setattr__(self, "_requirements", ordered)
        object.__setattr__(self, "_nothing", _nothing)
        object.__setattr__(self, "_matchers", tuple(r._matcher for r in ordered))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Selector is immutable; cannot set {name!r}")

    @classmethod
    def everything(cls) -> Selector:
        """Upstream ``labels.Everything()``: matches every label set."""
        return _EVERYTHING

    @classmethod
    def nothing(cls) -> Selector:
        """Upstream ``labels.Nothing()``: matches no label set (a nil LabelSelector)."""
        return _NOTHING

    @classmethod
    def parse(cls, text: str) -> Selector:
        """Upstream ``labels.Parse``; raises `SelectorError` in its wording."""
        return cls(_Parser(_lex(text)).parse())

    @classmethod
    def from_set(cls, labels: Mapping[str, str]) -> Selector:
        """Upstream ``ValidatedSelectorFromSet``: ``k=v`` for every pair (empty: everything)."""
        return cls(Requirement(k, Operator.EQUALS, (v,)) for k, v in labels.items())

    @classmethod
    def from_label_selector(
        cls, selector: LabelSelectorLike | Mapping[str, object] | None
    ) -> Selector:
        """Upstream ``metav1.LabelSelectorAsSelector``, for a typed struct or a camelCase dict."""
        if selector is None:
            return _NOTHING
        if isinstance(selector, Mapping):
            labels = _str_mapping(selector.get("matchLabels"), "matchLabels")
            expressions = selector.get("matchExpressions") or ()
        else:
            labels = _str_mapping(selector.match_labels, "matchLabels")
            expressions = selector.match_expressions or ()
        if not isinstance(expressions, Sequence) or isinstance(expressions, str):
            raise SelectorError("matchExpressions must be a list")
        requirements = [Requirement(k, Operator.EQUALS, (labels[k],)) for k in sorted(labels)]
        requirements.extend(_expression(raw) for raw in expressions)
        return cls(requirements)

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self._requirements

    def matches(self, labels: Labels) -> bool:
        """Whether every requirement holds for ``labels`` (never, for `nothing()`)."""
        if self._nothing:
            return False
        for matcher in self._matchers:  # noqa: SIM110 -- a plain loop beats all(<genexpr>)
            if not matcher(labels):
                return False
        return True

    def is_empty(self) -> bool:
        """Upstream ``Empty()``: true when nothing is restricted (`nothing()` is not empty)."""
        return not self._nothing and not self._requirements

    def is_nothing(self) -> bool:
        return self._nothing

    def add(self, *requirements: Requirement) -> Selector:
        """Upstream ``Add``: a new selector with more requirements (`nothing()` stays nothing)."""
        if self._nothing:
            return self
        return Selector((*self._requirements, *requirements))

    def requires_exact_match(self, key: str) -> str | None:
        """Upstream ``RequiresExactMatch``: the single value ``key`` must have, if any."""
        for requirement in self._requirements:
            if requirement.key == key:
                exact = (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN)
                if requirement.operator in exact and len(requirement.values) == 1:
                    return requirement.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self._requirements)

    def __repr__(self) -> str:
        return "Selector.nothing()" if self._nothing else f"Selector.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selector):
            return NotImplemented
        return (self._nothing, self._requirements) == (other._nothing, other._requirements)

    def __hash__(self) -> int:
        return hash((self._nothing, self._requirements))


_EVERYTHING: Final = Selector()
_NOTHING: Final = Selector(_nothing=True)

# -- lexer and parser (a transcription of upstream's Lexer and Parser) --------------------------


_END: Final = "<end>"
_ID: Final = "<identifier>"
_SYMBOLS: Final = frozenset({")", ",", "!", "==", "=", ">", "<", "!=", "("})
_SPECIAL: Final = frozenset("=!(),><")
_SPACE: Final = frozenset(" \t\r\n")
_OPERATOR_TOKENS: Final = {
    **{op.value: op for op in (Operator.IN, Operator.NOT_IN, Operator.NOT_EQUALS)},
    **{op.value: op for op in (Operator.EQUALS, Operator.DOUBLE_EQUALS)},
    ">": Operator.GREATER_THAN,
    "<": Operator.LESS_THAN,
}
_Item: TypeAlias = tuple[str, str]  # (kind, literal); the kind of a symbol or keyword is itself


def _lex(text: str) -> list[_Item]:
    """All tokens of ``text``; symbols are read greedily (``!=`` before ``!``)."""
    items: list[_Item] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _SPACE:
            pos += 1
        if pos >= end:
            items.append((_END, ""))
            return items
        start = pos
        if text[pos] in _SPECIAL:  # every special character is a symbol on its own
            pos += 1
            while pos < end and text[start : pos + 1] in _SYMBOLS:
                pos += 1
            items.append((text[start:pos], text[start:pos]))
            continue
        while pos < end and text[pos] not in _SPECIAL and text[pos] not in _SPACE:
            pos += 1
        word = text[start:pos]
        items.append((word if word in ("in", "notin") else _ID, word))


class _Parser:
    """Upstream's recursive descent parser. In a values context ``in``/``notin`` are plain words."""

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.position = 0

    def lookahead(self, *, values: bool = True) -> _Item:
        token, literal = self.items[self.position]
        if values and token in ("in", "notin"):
            token = _ID
        return token, literal

    def consume(self, *, values: bool = True) -> _Item:
        item = self.lookahead(values=values)
        self.position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self.lookahead()
            if token == _END:
                return requirements
            if token not in (_ID, "!"):
                raise SelectorError(
                    f"found '{literal}', expected: !, identifier, or 'end of string'"
                )
            try:
                requirements.append(self.requirement())
            except SelectorError as error:
                raise SelectorError(f"unable to parse requirement: {error}") from None
            token, literal = self.consume()
            if token == _END:
                return requirements
            if token != ",":
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            token, literal = self.lookahead()
            if token not in (_ID, "!"):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        operator: Operator | None = None
        token, key = self.consume()
        if token == "!":
            operator = Operator.DOES_NOT_EXIST
            token, key = self.consume()
        if token != _ID:
            raise SelectorError(f"found '{key}', expected: identifier")
        _check_key(key)
        if operator is None and self.lookahead()[0] in (_END, ","):
            operator = Operator.EXISTS
        if operator is not None:
            return Requirement(key, operator)
        token, literal = self.consume(values=False)
        if token not in _OPERATOR_TOKENS:
            raise SelectorError(f"found '{literal}', expected: {_BINARY_OPERATORS}")
        operator = _OPERATOR_TOKENS[token]
        found = self.values() if operator in (Operator.IN, Operator.NOT_IN) else self.exact()
        return Requirement(key, operator, tuple(sorted(found)))

    def values(self) -> set[str]:
        token, literal = self.consume()
        if token != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        token, literal = self.lookahead()
        if token == ")":
            self.consume()
            return {""}
        if token not in (_ID, ","):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        found = self.identifiers()
        if self.consume()[0] != ")":
            raise SelectorError(f"found '{literal}', expected: ')'")
        return found

    def identifiers(self) -> set[str]:
        """A possibly empty, comma separated list of possibly empty words: ``(a,,b)``, ``(,)``."""
        found: set[str] = set()
        while True:
            token, literal = self.consume()
            if token == _ID:
                found.add(literal)
                following, after = self.lookahead()
                if following == ")":
                    return found
                if following != ",":
                    raise SelectorError(f"found '{after}', expected: ',' or ')'")
            elif token == ",":
                if not found:
                    found.add("")
                following, _ = self.lookahead()
                if following == ")":
                    found.add("")
                    return found
                if following == ",":
                    self.consume()
                    found.add("")
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def exact(self) -> set[str]:
        token, _ = self.lookahead()
        if token in (_END, ","):
            return {""}
        token, literal = self.consume()
        if token != _ID:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return {literal}
