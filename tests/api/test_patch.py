"""cp.api.patch: RFC 7386 appendix A and RFC 6902 appendix A examples, errors and properties."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cp.api.errors import BadRequest
from cp.api.patch import PatchError, json_patch, merge_patch, parse_pointer

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


# --- RFC 7386 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "expect"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386_appendix_a(target: object, patch: object, expect: object) -> None:
    assert merge_patch(target, patch) == expect


def test_merge_patch_scale_body() -> None:
    scale = {"spec": {"replicas": 1}, "status": {"replicas": 1, "selector": "app=db"}}
    got = merge_patch(scale, {"spec": {"replicas": 4}})
    assert got == {"spec": {"replicas": 4}, "status": {"replicas": 1, "selector": "app=db"}}


def test_merge_patch_result_shares_nothing_with_inputs() -> None:
    target: dict[str, object] = {"a": {"b": [1]}}
    patch: dict[str, object] = {"c": {"d": [2]}}
    got = merge_patch(target, patch)
    assert isinstance(got, dict)
    got["a"]["b"].append(9)
    got["c"]["d"].append(9)
    assert target == {"a": {"b": [1]}}
    assert patch == {"c": {"d": [2]}}


@given(JSON_VALUES, JSON_VALUES)
def test_merge_patch_never_mutates_inputs(target: object, patch: object) -> None:
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    merge_patch(target, patch)
    assert target == before_target
    assert patch == before_patch


@given(st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=5))
def test_merge_patch_is_idempotent(patch: dict[str, object]) -> None:
    once = merge_patch({}, patch)
    assert merge_patch(once, patch) == once


# --- RFC 6902 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "ops", "expect"),
    [
        # A.1 adding an object member
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"baz": "qux", "foo": "bar"},
        ),
        # A.2 adding an array element
        (
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
        ),
        # A.3 removing an object member
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        # A.4 removing an array element
        (
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
        ),
        # A.5 replacing a value
        (
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
        ),
        # A.6 moving a value
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        # A.7 moving an array element
        (
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
        ),
        # A.8 testing a value: success
        (
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            {"baz": "qux", "foo": ["a", 2, "c"]},
        ),
        # A.10 adding a nested member object
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
        ),
        # A.11 ignoring unrecognized elements
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
        ),
        # A.14 ~ escape ordering
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
        # A.16 adding an array value
        (
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
        ),
        # copy, and replace of the whole document
        (
            {"a": {"b": 1}},
            [{"op": "copy", "from": "/a", "path": "/c"}],
            {"a": {"b": 1}, "c": {"b": 1}},
        ),
        ({"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1]),
        ({"a/b": 1}, [{"op": "remove", "path": "/a~1b"}], {}),
    ],
)
def test_json_patch_rfc6902_appendix_a(doc: object, ops: list[object], expect: object) -> None:
    before = copy.deepcopy(doc)
    assert json_patch(doc, ops) == expect
    assert doc == before


@pytest.mark.parametrize(
    ("doc", "ops"),
    [
        # A.9 testing a value: error
        ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
        # A.12 adding to a nonexistent target
        ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),
        # A.15 comparing strings and numbers
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}]),
        ({"a": 1}, [{"op": "test", "path": "/a", "value": True}]),
        ({"a": [1]}, [{"op": "remove", "path": "/a/1"}]),
        ({"a": [1]}, [{"op": "remove", "path": "/a/-"}]),
        ({"a": [1, 2]}, [{"op": "replace", "path": "/a/01", "value": 3}]),
        ({"a": [1]}, [{"op": "add", "path": "/a/2", "value": 3}]),
        ({"a": 1}, [{"op": "replace", "path": "/b", "value": 3}]),
        ({"a": 1}, [{"op": "remove", "path": "a"}]),
        ({"a": 1}, [{"op": "frobnicate", "path": "/a"}]),
        ({"a": 1}, [{"op": "add", "path": "/b"}]),
        ({"a": 1}, [{"path": "/b", "value": 1}]),
        ({"a": 1}, [{"op": "move", "from": "/missing", "path": "/b"}]),
        ({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}]),
        ({"a": 1}, ["not an op"]),
    ],
)
def test_json_patch_errors(doc: object, ops: list[object]) -> None:
    before = copy.deepcopy(doc)
    with pytest.raises(PatchError) as info:
        json_patch(doc, ops)
    assert info.value.index == 0
    assert isinstance(info.value, BadRequest)
    assert info.value.code == 400
    assert doc == before


def test_json_patch_error_carries_the_operation_index_and_is_atomic() -> None:
    doc = {"a": 1}
    ops: list[object] = [
        {"op": "add", "path": "/b", "value": 2},
        {"op": "test", "path": "/a", "value": 2},
    ]
    with pytest.raises(PatchError) as info:
        json_patch(doc, ops)
    assert info.value.index == 1
    assert "test failed" in info.value.message
    assert doc == {"a": 1}


def test_json_patch_must_be_a_list() -> None:
    with pytest.raises(PatchError):
        json_patch({}, {"op": "add"})  # type: ignore[arg-type]


def test_json_patch_rollout_undo_body() -> None:
    """kubectl rollout undo: replace /spec/template and /metadata/annotations wholesale."""
    deploy = {
        "metadata": {"name": "web", "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "n", "image": "b"}]}},
        },
    }
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "n"}]}}
    ops: list[object] = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {"x": "3"}},
    ]
    got = json_patch(deploy, ops)
    assert got == {
        "metadata": {"name": "web", "annotations": {"x": "3"}},
        "spec": {"replicas": 3, "template": template},
    }


def test_parse_pointer() -> None:
    assert parse_pointer("") == []
    assert parse_pointer("/") == [""]
    assert parse_pointer("/a~1b/~0c/~01") == ["a/b", "~c", "~1"]
    with pytest.raises(PatchError):
        parse_pointer("a")


@given(
    st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=5),
    st.text(max_size=4),
    JSON_VALUES,
)
def test_json_patch_add_then_remove_round_trips(
    doc: dict[str, object], key: str, value: object
) -> None:
    doc.pop(key, None)
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    before = copy.deepcopy(doc)
    added = json_patch(doc, [{"op": "add", "path": pointer, "value": value}])
    assert isinstance(added, dict)
    assert added[key] == value
    assert json_patch(added, [{"op": "remove", "path": pointer}]) == before
    assert doc == before


@given(st.lists(JSON_VALUES, max_size=5), st.data())
def test_json_patch_array_insert_then_remove_round_trips(
    items: list[object], data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(items)))
    value = data.draw(JSON_VALUES)
    doc = {"items": items}
    before = copy.deepcopy(doc)
    added = json_patch(doc, [{"op": "add", "path": f"/items/{index}", "value": value}])
    assert isinstance(added, dict)
    assert added["items"][index] == value
    assert json_patch(added, [{"op": "remove", "path": f"/items/{index}"}]) == before
    assert doc == before
