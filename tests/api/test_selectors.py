"""cp.api.selectors against apimachinery's own tables and hypothesis properties.

Tables come from ``k8s.io/apimachinery/pkg/labels/selector_test.go`` (TestSelectorParse,
TestSelectorMatches, TestSetSelectorParser, TestRequirementConstructor, TestToString,
TestRequirementSelectorMatching), ``apis/meta/v1/helpers_test.go``
(TestLabelSelectorAsSelector) and ``pkg/fields/selector_test.go`` (TestSelectorParse,
TestSplitTerms-style escapes).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cp.api.errors_values import InvalidValue
from cp.api.fields import FieldSelector, FieldSelectorNotSupported
from cp.api.selectors import (
    Operator,
    Requirement,
    Selector,
    SelectorError,
    label_key_errors,
    label_value_errors,
)

# -- parsing and printing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    # TestSelectorParse's good strings: String() gives them back without spaces.
    ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"],
)
def test_parse_good_strings_restring(text: str) -> None:
    assert str(Selector.parse(text)) == text.replace(" ", "")


@pytest.mark.parametrize(
    "text",
    # TestSelectorParse's bad strings and TestSetSelectorParser's invalid inputs.
    ["x=a||y=b", "x==a==b", "!x=a", "x<a", ",x,y", "x nott in (y)", "a in (xyz),",
     "a in (xyz)b notin ()", "a in (xyz abc)", "a notin(", "a (", "(", "x in", "x in (a",
     "x in (,", "!", "x,", "Bad Key", "a/b/c", "x=bad value", "x in (a b)", "x=a,,y"],
)  # fmt: skip
def test_parse_rejects(text: str) -> None:
    with pytest.raises(SelectorError):
        Selector.parse(text)


@pytest.mark.parametrize(
    ("text", "canonical"),
    # TestSetSelectorParser's valid inputs, as upstream prints them.
    [
        ("\rx", "x"),
        ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
        ),
        ("foo  in\t (abc)", "foo in (abc)"),
        ("x notin\n (abc)", "x notin (abc)"),
        ("x  notin\t\t\t(abc,def)", "x notin (abc,def)"),
        ("x in (abc,def)", "x in (abc,def)"),
        ("x in (abc,)", "x in (,abc)"),
        ("x in ()", "x in ()"),
        ("x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()"),
        ("x,y in (a)", "x,y in (a)"),
        ("x=a", "x=a"),
        ("x>1", "x>1"),
        ("x<7", "x<7"),
        ("x=a,y!=b", "x=a,y!=b"),
        ("x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"),
        ("x notin ( )", "x notin ()"),
        ("x notin (, a)", "x notin (,a)"),
        ("a ", "a"),
        ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
        ("in in (in),notin notin (notin)", "in in (in),notin notin (notin)"),
        ("x==a", "x==a"),
        ("x in (b,a,b)", "x in (a,b)"),
    ],
)
def test_parse_canonical_strings(text: str, canonical: str) -> None:
    assert str(Selector.parse(text)) == canonical
    assert Selector.parse(canonical) == Selector.parse(text)


def test_parse_is_deterministic() -> None:
    """TestDeterministicParse."""
    assert str(Selector.parse("x=a,a=x")) == str(Selector.parse("a=x,x=a")) == "a=x,x=a"


def test_parse_error_wording() -> None:
    with pytest.raises(SelectorError) as error:
        Selector.parse("x=a||y=b")
    assert str(error.value) == (
        'unable to parse requirement: values[0][x]: Invalid value: "a||y": a valid label must '
        "be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start"
        " and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
        "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    )
    bad_key = r'^unable to parse requirement: key: Invalid value: "bad%key": name part'
    with pytest.raises(SelectorError, match=bad_key):
        Selector.parse("bad%key")
    with pytest.raises(SelectorError, match="found ',', expected: !, identifier"):
        Selector.parse(",x")
    assert issubclass(SelectorError, InvalidValue)
    assert not issubclass(SelectorError, ValueError)


# -- matching -----------------------------------------------------------------------------------

# TestSelectorMatches: selector, labels, expected.
MATCH_TABLE = [
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x>1", {"x": "2"}, True),
    ("x<1", {"x": "0"}, True),
    ("x=z", {}, False),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
    ("x>1", {"x": "0"}, False),
    ("x<1", {"x": "2"}, False),
    ("foo=bar", {"foo": "bar", "baz": "blah"}, True),
    ("baz=blah", {"foo": "bar", "baz": "blah"}, True),
    ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
    ("foo=blah", {"foo": "bar", "baz": "blah"}, False),
    ("baz=bar", {"foo": "bar", "baz": "blah"}, False),
    ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
    # TestRequirementSelectorMatching
    ("x in (foo),y notin (alpha)", {"x": "foo", "y": "baz"}, True),
    ("x in (foo),y in (alpha)", {"x": "foo", "y": "baz"}, False),
    ("x notin (),y", {"y": ""}, True),
    ("!x,y", {"y": ""}, True),
    ("x notin (),!y", {"y": ""}, False),
    ("x in ()", {"y": "baz"}, False),
    ("z>1", {"z": "2"}, True),
    ("z>1", {"z": "v2"}, False),
    # the brief's examples
    ("app=web,tier!=db", {"app": "web"}, True),
    ("app=web,tier!=db", {"app": "web", "tier": "db"}, False),
    ("env in (prod,qa)", {"env": "qa"}, True),
    ("env in (prod,qa)", {"env": "dev"}, False),
    ("env in (prod,qa)", {}, False),
    ("env notin (prod,qa)", {}, True),
    ("!legacy,partition", {"partition": ""}, True),
    ("x==a", {"x": "a"}, True),
    ("x=", {"x": ""}, True),
    ("x=", {}, False),
]


@pytest.mark.parametrize(("text", "labels", "expect"), MATCH_TABLE)
def test_matches(text: str, labels: dict[str, str], expect: bool) -> None:
    selector = Selector.parse(text)
    assert selector.matches(labels) is expect
    assert all(r.matches(labels) for r in selector.requirements) is expect


def test_everything_and_nothing() -> None:
    assert Selector.everything().matches({"x": "y"})
    assert Selector.everything().matches({})
    assert Selector.everything().is_empty()
    assert not Selector.nothing().matches({})
    assert not Selector.nothing().is_empty()
    assert Selector.nothing().is_nothing()
    assert str(Selector.nothing()) == str(Selector.everything()) == ""
    assert Selector.nothing() != Selector.everything()
    assert Selector.parse("") == Selector.everything()
    assert Selector.nothing().add(Requirement("x", Operator.EXISTS)) == Selector.nothing()


def test_from_set() -> None:
    """TestSetMatches."""
    labels = {"foo": "bar", "baz": "blah"}
    assert Selector.from_set({}).matches(labels)
    assert Selector.from_set({"foo": "bar"}).matches(labels)
    assert Selector.from_set(labels).matches(labels)
    assert str(Selector.from_set(labels)) == "baz=blah,foo=bar"
    assert not Selector.from_set({"foo": "bar", "foobar": "bar"}).matches(labels)
    with pytest.raises(SelectorError, match="foo"):
        Selector.from_set({"foo": "=blah"})


# -- requirements -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "op", "values", "ok"),
    # TestRequirementConstructor
    [
        ("x", Operator.IN, (), False),
        ("x", Operator.NOT_IN, (), False),
        ("x", Operator.IN, ("foo",), True),
        ("x", Operator.NOT_IN, ("foo",), True),
        ("x", Operator.EXISTS, (), True),
        ("x", Operator.DOES_NOT_EXIST, (), True),
        ("1foo", Operator.IN, ("bar",), True),
        ("1234", Operator.IN, ("bar",), True),
        ("y", Operator.GREATER_THAN, ("1",), True),
        ("z", Operator.LESS_THAN, ("6",), True),
        ("foo", Operator.GREATER_THAN, ("bar",), False),
        ("barz", Operator.LESS_THAN, ("blah",), False),
        ("a" * 254, Operator.EXISTS, (), False),
        ("x", Operator.EQUALS, ("a", "b"), False),
        ("x", Operator.EXISTS, ("a",), False),
        ("x", "bogus", ("a",), False),
    ],
)
def test_requirement_constructor(key: str, op: Operator, values: tuple[str, ...], ok: bool) -> None:
    if ok:
        assert Requirement(key, op, values).key == key
    else:
        with pytest.raises(SelectorError):
            Requirement(key, op, values)


def test_to_string() -> None:
    """TestToString."""
    cases = [
        ([("x", Operator.IN, ("abc", "def")), ("y", Operator.NOT_IN, ("jkl",)),
          ("z", Operator.EXISTS, ())], "x in (abc,def),y notin (jkl),z"),
        ([("x", Operator.NOT_IN, ("abc", "def")), ("y", Operator.NOT_EQUALS, ("jkl",)),
          ("z", Operator.DOES_NOT_EXIST, ())], "x notin (abc,def),y!=jkl,!z"),
        ([("x", Operator.NOT_IN, ("abc",)), ("y", Operator.IN, ("jkl", "mno")),
          ("z", Operator.NOT_IN, ("",))], "x notin (abc),y in (jkl,mno),z notin ()"),
        ([("x", Operator.EQUALS, ("abc",)), ("y", Operator.DOUBLE_EQUALS, ("jkl",)),
          ("z", Operator.NOT_EQUALS, ("a",)), ("z", Operator.EXISTS, ())], "x=abc,y==jkl,z!=a,z"),
        ([("x", Operator.GREATER_THAN, ("2",)), ("y", Operator.LESS_THAN, ("8",)),
          ("z", Operator.EXISTS, ())], "x>2,y<8,z"),
    ]  # fmt: skip
    for requirements, expect in cases:
        assert str(Selector(Requirement(*r) for r in requirements)) == expect


def test_add_and_requires_exact_match() -> None:
    """TestAdd and RequiresExactMatch."""
    selector = Selector().add(Requirement("key", Operator.IN, ("value",)))
    selector = selector.add(Requirement("key2", Operator.EQUALS, ("value2",)))
    assert str(selector) == "key in (value),key2=value2"
    assert selector.requires_exact_match("key") == "value"
    assert selector.requires_exact_match("key2") == "value2"
    assert selector.requires_exact_match("nope") is None
    assert Selector.parse("x in (a,b)").requires_exact_match("x") is None


def test_selectors_are_immutable_and_hashable() -> None:
    selector = Selector.parse("a=b")
    with pytest.raises(AttributeError):
        selector._nothing = True  # type: ignore[misc]
    assert len({Selector.parse("a=b,c"), Selector.parse("c,a=b")}) == 1
    assert repr(selector) == "Selector.parse('a=b')"


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple",
     "now-with-dashes/simple", "now-with-dashes/now-with-dashes", "now.with.dots/simple",
     "now-with.dashes-and.dots/simple", "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678",
     "Uppercase_Is_OK_123", "example.com/Uppercase", "a" * 63, "a" * 253 + "/" + "b" * 63],
)  # fmt: skip
def test_good_label_keys(key: str) -> None:
    """validation_test.go TestIsQualifiedName goodValues."""
    assert label_key_errors(key) == []


@pytest.mark.parametrize(
    "key",
    ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash",
     "Example.com/abc", "example_com/abc", "example.com/", "/simple", "a" * 64,
     "a" * 254 + "/abc", ""],
)  # fmt: skip
def test_bad_label_keys(key: str) -> None:
    """validation_test.go TestIsQualifiedName badValues."""
    assert label_key_errors(key)


def test_label_values() -> None:
    """validation_test.go TestIsValidLabelValue."""
    for good in ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234",
                 "a" * 63, ""]:  # fmt: skip
        assert label_value_errors(good) == [], good
    for bad in ["nospecialchars%^=@", "Tama-nui-te-rā.o-a-te-kaua", "000123abc00-", "a" * 64]:
        assert label_value_errors(bad), bad


# -- LabelSelectorAsSelector --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expect"),
    # helpers_test.go TestLabelSelectorAsSelector
    [
        ({}, ""),
        ({"matchLabels": {"foo": "bar"}}, "foo=bar"),
        (
            {
                "matchLabels": {"foo": "bar"},
                "matchExpressions": [
                    {"key": "baz", "operator": "In", "values": ["qux", "norf"]},
                ],
            },
            "baz in (norf,qux),foo=bar",
        ),
        (
            {
                "matchLabels": {"foo": "bar"},
                "matchExpressions": [
                    {"key": "baz", "operator": "NotIn", "values": ["qux", "norf"]},
                ],
            },
            "baz notin (norf,qux),foo=bar",
        ),
        (
            {
                "matchLabels": {"foo": "bar"},
                "matchExpressions": [
                    {"key": "baz", "operator": "Exists"},
                    {"key": "qux", "operator": "DoesNotExist", "values": []},
                ],
            },
            "baz,foo=bar,!qux",
        ),
    ],
)
def test_from_label_selector(selector: dict[str, object], expect: str) -> None:
    assert str(Selector.from_label_selector(selector)) == expect


def test_from_label_selector_nil_and_errors() -> None:
    assert Selector.from_label_selector(None) == Selector.nothing()
    assert Selector.from_label_selector({}) == Selector.everything()
    bad_operator = {"matchExpressions": [{"key": "baz", "operator": "Gt", "values": ["1"]}]}
    with pytest.raises(SelectorError, match='"Gt" is not a valid label selector operator'):
        Selector.from_label_selector(bad_operator)
    with pytest.raises(SelectorError, match="values set can't be empty"):
        Selector.from_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]})
    with pytest.raises(SelectorError, match="matchLabels"):
        Selector.from_label_selector({"matchLabels": {"a": 1}})


class _Expression:
    def __init__(self, key: str, operator: str, values: tuple[str, ...] = ()) -> None:
        self.key, self.operator, self.values = key, operator, values


class _LabelSelector:
    def __init__(self, labels: dict[str, str], expressions: tuple[_Expression, ...]) -> None:
        self.match_labels, self.match_expressions = labels, expressions


def test_from_typed_label_selector() -> None:
    typed = _LabelSelector({"app": "web"}, (_Expression("env", "In", ("qa", "prod")),))
    selector = Selector.from_label_selector(typed)
    assert str(selector) == "app=web,env in (prod,qa)"
    assert selector.matches({"app": "web", "env": "qa"})
    assert not selector.matches({"app": "web"})


# -- field selectors ----------------------------------------------------------------------------


def test_field_selectors() -> None:
    selector = FieldSelector.parse("metadata.name=web-0,metadata.namespace!=kube-system")
    assert selector.matches({"metadata.name": "web-0", "metadata.namespace": "default"})
    assert not selector.matches({"metadata.name": "web-0", "metadata.namespace": "kube-system"})
    assert selector.matches_meta(name="web-0", namespace="default")
    assert not selector.matches_meta(name="web-1", namespace="default")
    assert selector.requires_exact_match("metadata.name") == "web-0"
    assert selector.requires_exact_match("metadata.namespace") is None
    assert str(selector) == "metadata.name=web-0,metadata.namespace!=kube-system"
    assert str(FieldSelector.parse("metadata.name==a")) == "metadata.name=a"
    assert FieldSelector.parse("").is_empty()
    assert FieldSelector.parse("").matches({})
    assert FieldSelector.everything() == FieldSelector.parse("")
    assert FieldSelector.parse("metadata.name=").matches({})


def test_field_selector_escapes() -> None:
    """fields/selector_test.go: \\, \\= and \\\\ escape; anything else is an error."""
    selector = FieldSelector.parse(r"metadata.name=a\,b\=c\\d")
    assert selector.requires_exact_match("metadata.name") == "a,b=c\\d"
    assert str(selector) == r"metadata.name=a\,b\=c\\d"
    for bad in [r"metadata.name=a\x", "metadata.name=a\\", "metadata.name=a=b"]:
        with pytest.raises(SelectorError, match="invalid field selector"):
            FieldSelector.parse(bad)
    with pytest.raises(SelectorError, match=r"can't understand 'metadata\.name'"):
        FieldSelector.parse("metadata.name")


def test_unsupported_field() -> None:
    with pytest.raises(FieldSelectorNotSupported) as error:
        FieldSelector.parse("spec.nodeName=node-1")
    assert error.value.field == "spec.nodeName"
    assert str(error.value) == (
        '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
    assert isinstance(error.value, SelectorError)


# -- properties ---------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "app", "example.com/tier", "in", "notin", "x-1"])
VALUES = st.sampled_from(["", "a", "b", "web", "in", "1", "2", "10", "x.y_z"])
LABELS = st.dictionaries(KEYS, st.one_of(VALUES, st.sampled_from(["-3", "+4", "9x"])), max_size=5)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(KEYS)
    op = draw(st.sampled_from(list(Operator)))
    if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        return Requirement(key, op)
    if op in (Operator.GREATER_THAN, Operator.LESS_THAN):
        return Requirement(key, op, (str(draw(st.integers(0, 15))),))
    if op in (Operator.IN, Operator.NOT_IN):
        return Requirement(key, op, tuple(draw(st.lists(VALUES, min_size=1, max_size=3))))
    return Requirement(key, op, (draw(VALUES),))


SELECTORS = st.builds(Selector, st.lists(requirements(), max_size=4))


@given(SELECTORS, st.lists(LABELS, min_size=1, max_size=8))
def test_parse_of_str_selects_the_same_label_sets(
    selector: Selector, label_sets: list[dict[str, str]]
) -> None:
    reparsed = Selector.parse(str(selector))
    assert str(Selector.parse(str(reparsed))) == str(reparsed)
    for labels in label_sets:
        assert reparsed.matches(labels) == selector.matches(labels)


@given(SELECTORS, LABELS)
def test_selector_is_the_and_of_its_requirements(
    selector: Selector, labels: dict[str, str]
) -> None:
    assert selector.matches(labels) == all(r.matches(labels) for r in selector.requirements)
    assert not Selector.nothing().matches(labels)


@given(st.dictionaries(KEYS, VALUES, max_size=5))
def test_from_set_matches_its_own_labels(labels: dict[str, str]) -> None:
    assert Selector.from_set(labels).matches(labels)
    assert Selector.parse(str(Selector.from_set(labels))) == Selector.from_set(labels)


@given(st.text(alphabet="abxy=!(), in", max_size=20))
def test_parse_never_fails_with_a_foreign_error(text: str) -> None:
    try:
        selector = Selector.parse(text)
    except SelectorError:
        return
    assert Selector.parse(str(selector)) == selector
