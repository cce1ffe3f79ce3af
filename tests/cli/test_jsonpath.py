"""`get -o jsonpath=` and `-o custom-columns=`: client-go's JSONPath and kubectl's printers.

Golden strings are what kubectl 1.32 prints for the same data (client-go `jsonpath_test.go`,
cli-runtime `jsonpath_test.go`, kubectl `customcolumn_test.go` cover the same cases)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cp.cli import main
from cp.cli.gotext import go_float, go_json, go_quote, go_sprint
from cp.cli.jsonpath import JsonPathError, relaxed_expression, render_jsonpath
from cp.cli.output_formats import parse_output, render_custom_columns, render_output

SEED = Path(__file__).parent.parent / "api" / "manifests" / "myapp-deploy-v1.yaml"


def pod(name: str, phase: str, ip: str | None, node: str | None, restarts: int) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "containerStatuses": [{"name": "myapp", "ready": phase == "Running"}],
    }
    status["containerStatuses"][0]["restartCount"] = restarts
    if ip is not None:
        status["podIP"] = ip
    spec: dict[str, Any] = {
        "containers": [
            {"name": "myapp", "image": "ghcr.io/c1t1d0s7/go-myweb:v1.0"},
            {"name": "sidecar", "image": "busybox:1.36"},
        ]
    }
    if node is not None:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"app": "myapp-deploy", "app.kubernetes.io/name": "myweb"},
        },
        "spec": spec,
        "status": status,
    }


POD_A = pod("myapp-deploy-7d9f-abcde", "Running", "10.244.1.5", "node-1", 0)
POD_B = pod("myapp-deploy-7d9f-fghij", "Running", "10.244.2.7", "node-2", 2)
POD_C = pod("myapp-deploy-7d9f-klmno", "Pending", None, None, 0)
PODS: dict[str, Any] = {
    "apiVersion": "v1",
    "items": [POD_A, POD_B, POD_C],
    "kind": "List",
    "metadata": {"resourceVersion": "42"},
}
DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "myapp-deploy", "generation": 2, "annotations": {"note": "<a&b>"}},
    "spec": {
        "replicas": 3,
        "minReadySeconds": 20,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1},
        },
        "template": {
            "spec": {"containers": [{"name": "myapp", "image": "ghcr.io/c1t1d0s7/go-myweb:v1.0"}]}
        },
    },
    "status": {"replicas": 3, "readyReplicas": 3, "ratio": 0.75, "paused": False},
}


# -- template syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # fields, text around actions, literals
        ("{.metadata.name}", "myapp-deploy"),
        ("name={.metadata.name} gen={.metadata.generation}", "name=myapp-deploy gen=2"),
        ("{.spec.strategy.rollingUpdate.maxSurge}", "1"),
        ('{.metadata.name}{"\\n"}', "myapp-deploy\n"),
        ('{\'single\'}{"\\t"}{"x\\u00e9"}', "single\txé"),
        ("{$.kind}/{@.metadata.name}", "Deployment/myapp-deploy"),
        (r"{.metadata.name}\n", "myapp-deploy\\n"),  # text outside `{}` is verbatim
        # numbers, booleans, floats as Go prints them
        ("{.status.ratio} {.status.paused} {.spec.replicas}", "0.75 false 3"),
        # maps and lists as compact JSON, sorted keys, HTML-escaped
        (
            "{.spec.strategy}",
            '{"rollingUpdate":{"maxSurge":1,"maxUnavailable":1},"type":"RollingUpdate"}',
        ),
        ("{.metadata.annotations}", '{"note":"\\u003ca\\u0026b\\u003e"}'),
        ("{.metadata.annotations.note}", "<a&b>"),
        (
            "{.spec.template.spec.containers}",
            '[{"image":"ghcr.io/c1t1d0s7/go-myweb:v1.0","name":"myapp"}]',
        ),
        # missing keys print nothing (kubectl's get allows them)
        ("[{.metadata.nope}]", "[]"),
        ("[{.nope.deeper[0].x}]", "[]"),
        # a whole object
        ("{.status}", '{"paused":false,"ratio":0.75,"readyReplicas":3,"replicas":3}'),
    ],
)
def test_jsonpath_on_one_object(template: str, expected: str) -> None:
    assert render_jsonpath(template, DEPLOY) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{.items[*].metadata.name}",
            "myapp-deploy-7d9f-abcde myapp-deploy-7d9f-fghij myapp-deploy-7d9f-klmno",
        ),
        ("{.items[*].status.podIP}", "10.244.1.5 10.244.2.7"),
        ("{.items[0].metadata.name}", "myapp-deploy-7d9f-abcde"),
        ("{.items[-1].metadata.name}", "myapp-deploy-7d9f-klmno"),
        ("{.items[-1:].metadata.name}", "myapp-deploy-7d9f-klmno"),
        ("{.items[1:].status.phase}", "Running Pending"),
        ("{.items[0:3:2].metadata.name}", "myapp-deploy-7d9f-abcde myapp-deploy-7d9f-klmno"),
        ("{.items[:1].spec.nodeName}", "node-1"),
        ("{.items[1:1].metadata.name}", ""),
        # escaped dots in a key
        (r"{.items[0].metadata.labels.app\.kubernetes\.io/name}", "myweb"),
        ("{.items[0].metadata.labels['app']}", "myapp-deploy"),
        # filters
        (
            '{.items[?(@.status.phase=="Running")].metadata.name}',
            "myapp-deploy-7d9f-abcde myapp-deploy-7d9f-fghij",
        ),
        ("{.items[?(@.status.phase!='Running')].metadata.name}", "myapp-deploy-7d9f-klmno"),
        (
            "{.items[?(@.status.containerStatuses[0].restartCount > 0)].metadata.name}",
            "myapp-deploy-7d9f-fghij",
        ),
        ("{.items[?(@.status.containerStatuses[0].restartCount>=2)].spec.nodeName}", "node-2"),
        ("{.items[?(@.status.containerStatuses[0].restartCount<1)].spec.nodeName}", "node-1"),
        (
            "{.items[?(@.status.containerStatuses[0].restartCount<=0)].status.phase}",
            "Running Pending",
        ),
        ("{.items[?(@.spec.nodeName)].spec.nodeName}", "node-1 node-2"),
        (
            "{.items[?(@.status.containerStatuses[0].ready==true)].status.podIP}",
            "10.244.1.5 10.244.2.7",
        ),
        (
            '{.items[0].spec.containers[?(@.name=="sidecar")].image}',
            "busybox:1.36",
        ),
        # unions
        (
            "{.items[0].spec.containers[*]['name','image']}",
            "myapp sidecar ghcr.io/c1t1d0s7/go-myweb:v1.0 busybox:1.36",
        ),
        ("{.items[0,2].metadata.name}", "myapp-deploy-7d9f-abcde myapp-deploy-7d9f-klmno"),
        # recursive descent and wildcards
        ("{..nodeName}", "node-1 node-2"),
        ("{.items[2]..name}", "myapp-deploy-7d9f-klmno myapp sidecar myapp"),
        (
            "{.items[0].status.*}",
            'Running [{"name":"myapp","ready":true,"restartCount":0}] 10.244.1.5',
        ),
        ("{.metadata.*}", "42"),
        # range
        (
            '{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}',
            "myapp-deploy-7d9f-abcde\tRunning\nmyapp-deploy-7d9f-fghij\tRunning\n"
            "myapp-deploy-7d9f-klmno\tPending\n",
        ),
        (
            "{range .items[*]}{.metadata.name}:"
            '{range .spec.containers[*]} {.name}{end}{"\\n"}{end}',
            "myapp-deploy-7d9f-abcde: myapp sidecar\nmyapp-deploy-7d9f-fghij: myapp sidecar\n"
            "myapp-deploy-7d9f-klmno: myapp sidecar\n",
        ),
        ("{range .items[5:5]}x{end}after", "after"),
        ("{range .items[?(@.nope)]}{.x}{end}{.kind}", "List"),
        ("{range .items[*]}[{.status.podIP}]", "[10.244.1.5][10.244.2.7][][]"),
        # the list itself
        ("{.kind} {.metadata.resourceVersion}", "List 42"),
        ("{@.apiVersion}", "v1"),
    ],
)
def test_jsonpath_on_a_list(template: str, expected: str) -> None:
    assert render_jsonpath(template, PODS) == expected


def test_jsonpath_null_and_empty_values() -> None:
    data = {"a": None, "b": [], "c": {}, "d": "", "e": [None, 1.5e-7, 1e21]}
    assert render_jsonpath("{.a}|{.b}|{.c}|{.d}|{.e}", data) == "<nil>|[]|{}||[null,1.5e-7,1e+21]"


def test_jsonpath_as_json_prints_each_result_list_as_an_indented_array() -> None:
    got = render_jsonpath("{.items[*].spec.nodeName}{.kind}", PODS, as_json=True)
    assert got == '[\n    "node-1",\n    "node-2"\n]\n[\n    "List"\n]\n'
    assert render_jsonpath("{.nope}", PODS, as_json=True) == "[]\n"


@given(st.text())
def test_a_string_field_prints_as_itself(text: str) -> None:
    assert render_jsonpath("{.a}", {"a": text}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="{")))
def test_text_outside_actions_is_copied_verbatim(text: str) -> None:
    assert render_jsonpath(text, {"a": 1}) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.0, "3"),
        (0.5, "0.5"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-10, "-2.5e-10"),
        (1e100, "1e+100"),
        (0.0, "0"),
    ],
)
def test_floats_print_as_go_percent_v(value: float, expected: str) -> None:
    assert go_float(value) == expected
    assert render_jsonpath("{.x}", {"x": value}) == expected


def test_go_json_and_sprint_forms() -> None:
    value = {"b": [1, 2.0, "x\n\u2028"], "a": {"z": None, "y": True}}
    assert go_json(value) == '{"a":{"y":true,"z":null},"b":[1,2,"x\\n\\u2028"]}'
    assert go_sprint(value) == "map[a:map[y:true z:<nil>] b:[1 2 x\n\u2028]]"
    assert go_json(1e20) == "100000000000000000000"
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.metadata.name", "unclosed action"),
        ("{.items[0}", "unterminated array"),
        ("{.items[?(@.a==1}", "unterminated filter"),
        ("{.items[?(@.a==1)}", "unclosed array expect ]"),
        ('{"abc}', "unterminated quoted string"),
        ("{.items[x]}", "invalid array index x"),
        ("{..a..b}", ""),  # two descents apart are fine
        ("{....a}", "invalid multiple recursive descent"),
        ("{.a#}", ""),
        ("{#}", "unrecognized character in action: U+0023 '#'"),
        ("{1.2.3}", "cannot parse number 1.2.3"),
        ('{"\\q"}', 'unquote string "\\q" error invalid syntax'),
    ],
)
def test_parse_errors_read_as_kubectl(template: str, message: str) -> None:
    if not message:
        render_jsonpath(template, DEPLOY)
        return
    with pytest.raises(JsonPathError) as caught:
        render_jsonpath(template, DEPLOY)
    assert str(caught.value) == f"error parsing jsonpath {template}, {message}"


@pytest.mark.parametrize(
    ("template", "cause"),
    [
        ("{.items[5].metadata.name}", "array index out of bounds: index 5, length 1"),
        ("{.items[0:9]}", "array index out of bounds: index 8, length 1"),
        ("{.items[0:1:0]}", "step must be > 0"),
        ("{.kind[0]}", "string is not array or slice"),
        ("{.items[0][0]}", "map[string]interface {} is not array or slice"),
        ("{.kind[?(@.a)]}", "List is not array or slice and cannot be filtered"),
        ("{.items[?(@.n<'x')]}", "incompatible types for comparison"),
        ("{.items[?(@.n<true)]}", "incompatible types for comparison"),
        ("{.items[?(@.b<true)]}", "invalid type for comparison"),
        ("{.items[?(@.n=3)]}", "unrecognized filter operator ="),
        ("{.items[?(@.*==3)]}", "can only compare one element at a time"),
        ("{end}", "not in range, nothing to end"),
        ("{range .items[*]}{end}{end}", "not in range, nothing to end"),
        ("{foo}", "unrecognized identifier foo"),
    ],
)
def test_execution_errors_read_as_kubectl(template: str, cause: str) -> None:
    data = {"kind": "List", "items": [{"n": 1, "b": True}]}
    with pytest.raises(JsonPathError) as caught:
        render_jsonpath(template, data)
    assert str(caught.value) == (
        f'error executing jsonpath "{template}": Error executing template: {cause}. '
        "Printing more information for debugging the template:\n"
        f"\ttemplate was:\n\t\t{template}\n"
        "\tobject given to jsonpath engine was:\n"
        '\t\tmap[string]interface {}{"items":[]interface {}{map[string]interface {}'
        '{"b":true, "n":1}}, "kind":"List"}\n\n\n'
    )


def test_tuples_are_arrays() -> None:
    """`msgspec.to_builtins` of a frozen struct keeps its tuples."""
    data = {"items": ({"a": (1, 2)},)}
    assert render_jsonpath("{.items[0].a[-1]} {.items[0]}", data) == '2 {"a":[1,2]}'
    assert render_custom_columns("A:.a[*]", data["items"]) == "A\n1,2\n"


def test_missing_keys_fail_when_not_allowed() -> None:
    with pytest.raises(JsonPathError, match=r"Error executing template: nope is not found\. "):
        render_jsonpath("{.nope}", {"a": 1}, allow_missing_keys=False)
    assert render_jsonpath("{.a}", {"a": 1}, allow_missing_keys=False) == "1"


# -- custom columns ----------------------------------------------------------------------------


IMAGES = "ghcr.io/c1t1d0s7/go-myweb:v1.0,busybox:1.36"


def test_custom_columns_golden_table() -> None:
    spec = (
        "NAME:.metadata.name,IP:.status.podIP,NODE:spec.nodeName,"
        "IMAGES:{.spec.containers[*].image},RESTARTS:.status.containerStatuses[0].restartCount"
    )
    assert render_custom_columns(spec, PODS["items"]) == (
        "NAME                      IP           NODE     IMAGES" + " " * 40 + "RESTARTS\n"
        f"myapp-deploy-7d9f-abcde   10.244.1.5   node-1   {IMAGES}   0\n"
        f"myapp-deploy-7d9f-fghij   10.244.2.7   node-2   {IMAGES}   2\n"
        f"myapp-deploy-7d9f-klmno   <none>       <none>   {IMAGES}   0\n"
    )


def test_custom_columns_print_maps_as_go_does_and_keep_headers_as_given() -> None:
    got = render_custom_columns("name:.metadata.name,Labels:.metadata.labels", [POD_A])
    assert got == (
        "name                      Labels\n"
        "myapp-deploy-7d9f-abcde   map[app:myapp-deploy app.kubernetes.io/name:myweb]\n"
    )


def test_custom_columns_without_objects_print_the_header_only() -> None:
    assert render_custom_columns("NAME:.metadata.name", []) == "NAME\n"
    assert render_custom_columns("NAME:.metadata.name", [], no_headers=True) == ""
    assert render_custom_columns("NAME:.metadata.name", [DEPLOY], no_headers=True) == (
        "myapp-deploy\n"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "NAME:.metadata.name,.spec.nodeName",
            "unexpected custom-columns spec: .spec.nodeName, expected <header>:<json-path-expr>",
        ),
        ("", "custom-columns format specified but no custom columns given"),
        (
            "A:{.a}{.b}",
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or "
            "'{name1.name2}' or '{.name1.name2}'",
        ),
    ],
)
def test_custom_columns_errors(spec: str, message: str) -> None:
    with pytest.raises(JsonPathError) as caught:
        render_custom_columns(spec, [DEPLOY])
    assert str(caught.value) == message


def test_relaxed_expression() -> None:
    for form in ("metadata.name", ".metadata.name", "{metadata.name}", "{.metadata.name}"):
        assert relaxed_expression(form) == "{.metadata.name}"
    assert relaxed_expression("") == ""


def test_output_values() -> None:
    assert parse_output("jsonpath={.a}") == ("jsonpath", "{.a}")
    assert parse_output("jsonpath-as-json={.a}") == ("jsonpath-as-json", "{.a}")
    assert parse_output("custom-columns=A:.a=b") == ("custom-columns", "A:.a=b")
    assert parse_output("custom-columns") == ("custom-columns", "")
    assert parse_output("wide") is None
    assert parse_output("json") is None
    assert render_output("jsonpath={.kind}", PODS) == "List"
    assert render_output("custom-columns=K:.kind", PODS) == "K\nPod\nPod\nPod\n"
    assert render_output("custom-columns=K:.kind", DEPLOY) == "K\nDeployment\n"
    with pytest.raises(JsonPathError, match=r"^template format specified but no template given$"):
        render_output("jsonpath=", PODS)


# -- end to end, through `cpemu get` (needs the lead to wire `render_output` into `get`) -------


@pytest.fixture
def applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    state = str(tmp_path / "state.db")
    assert main(["--state", state, "apply", "-f", str(SEED)]) == 0
    capsys.readouterr()
    return state


def get(capsys: pytest.CaptureFixture[str], state: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--state", state, "get", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_get_pods_jsonpath_pod_ips(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    _, listing, _ = get(capsys, applied, "pods", "-o", "json")
    ips = [item["status"]["podIP"] for item in json.loads(listing)["items"]]
    assert len(ips) == 3
    assert get(capsys, applied, "pods", "-o", "jsonpath={.items[*].status.podIP}") == (
        0,
        " ".join(ips),
        "",
    )


def test_get_deploy_jsonpath_image(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    template = "jsonpath={.spec.template.spec.containers[0].image}"
    assert get(capsys, applied, "deploy", "myapp-deploy", "-o", template) == (
        0,
        "ghcr.io/c1t1d0s7/go-myweb:v1.0",
        "",
    )


def test_get_pods_custom_columns(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    _, listing, _ = get(capsys, applied, "pods", "-o", "json")
    items = json.loads(listing)["items"]
    code, out, err = get(
        capsys, applied, "pods", "-o", "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName"
    )
    assert (code, err) == (0, "")
    width = max(len(item["metadata"]["name"]) for item in items) + 3
    expected = "NAME".ljust(width) + "NODE\n"
    for item in items:
        expected += item["metadata"]["name"].ljust(width) + item["spec"]["nodeName"] + "\n"
    assert out == expected


def test_get_jsonpath_error_goes_to_stderr(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, err = get(capsys, applied, "deploy", "myapp-deploy", "-o", "jsonpath={.spec")
    assert (code, out) == (1, "")
    assert err == "error: error parsing jsonpath {.spec, unclosed action\n"
