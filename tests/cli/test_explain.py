"""`cpemu explain`: kubectl 1.32's plaintext layout (`pkg/explain/v2/templates/plaintext.tmpl`)
over the typed API Structs, its errors with suggestions, and that it touches no state."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from cp.api.apps import DeploymentSpec, RollingUpdateDeployment
from cp.cli import main
from cp.cli.explain import _type_of


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "state.db"


def explain(capsys: pytest.CaptureFixture[str], state: Path, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--state", str(state), "explain", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


HEADER_APPS = "GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\n"


def test_field_path_lists_the_fields_of_its_type(
    capsys: pytest.CaptureFixture[str], state: Path
) -> None:
    code, out, err = explain(capsys, state, "deploy.spec")
    assert (code, err) == (0, "")
    # FIELD, then the template's two extra newlines; no description: `<empty>`
    assert out.startswith(
        HEADER_APPS + "FIELD: spec <DeploymentSpec>\n\n\nDESCRIPTION:\n    <empty>\nFIELDS:\n"
    )
    for block in (
        "  minReadySeconds\t<integer>\n    <no description>\n\n",
        "  replicas\t<integer>\n    <no description>\n\n",
        "  selector\t<LabelSelector> -required-\n    <no description>\n\n",
        "  strategy\t<DeploymentStrategy>\n    <no description>\n\n",
        "  template\t<PodTemplateSpec> -required-\n    <no description>\n\n",
    ):
        assert block in out
    names = [line.split("\t")[0].strip() for line in out.splitlines() if "\t" in line]
    assert names == sorted(names)  # Go ranges over the properties' sorted keys
    assert len(names) == 8


def test_nested_field_golden(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, err = explain(capsys, state, "deploy.spec.strategy")
    assert (code, err) == (0, "")
    assert (
        out
        == (
            HEADER_APPS + "FIELD: strategy <DeploymentStrategy>\n"
            "\n"
            "\n"
            "DESCRIPTION:\n"
            "    <empty>\n"  # no OpenAPI descriptions: kubectl's word for none
            "FIELDS:\n"
            "  rollingUpdate\t<RollingUpdateDeployment>\n"
            "    <no description>\n"
            "\n"
            "  type\t<string>\n"
            "    <no description>\n"
            "\n"
            "\n"
        )
    )


def test_scalar_field_has_no_fields(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, _ = explain(capsys, state, "deployment.spec.replicas.")  # trailing "." ignored
    assert code == 0
    assert out == HEADER_APPS + ("FIELD: replicas <integer>\n\n\nDESCRIPTION:\n    <empty>\n\n")


def test_field_through_an_array_and_int_or_string(
    capsys: pytest.CaptureFixture[str], state: Path
) -> None:
    _, out, _ = explain(capsys, state, "deploy.spec.template.spec.containers")
    assert "FIELD: containers <[]Container>\n" in out
    assert "  image\t<string>\n" in out
    assert "  name\t<string> -required-\n" in out
    _, out, _ = explain(capsys, state, "deploy.spec.strategy.rollingUpdate")
    assert "  maxSurge\t<IntOrString>\n" in out
    assert "  maxUnavailable\t<IntOrString>\n" in out


def test_typo_in_last_field_suggests_the_field(
    capsys: pytest.CaptureFixture[str], state: Path
) -> None:
    code, out, err = explain(capsys, state, "deploy.sepc")
    assert (code, out) == (1, "")
    assert err == 'error: field "sepc" does not exist\n\nDid you mean this?\n\tspec\n'
    code, out, err = explain(capsys, state, "deploy.spec.stragy")
    assert (code, out) == (1, "")
    assert err == 'error: field "stragy" does not exist\n\nDid you mean this?\n\tstrategy\n'


def test_field_below_a_scalar_does_not_exist(
    capsys: pytest.CaptureFixture[str], state: Path
) -> None:
    code, _, err = explain(capsys, state, "deploy.spec.replicas.foo")
    assert (code, err) == (1, 'error: field "foo" does not exist\n')


def test_unknown_resource_suggests_a_kind(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, err = explain(capsys, state, "stateful")
    assert (code, out) == (1, "")
    assert err == (
        'error: the server doesn\'t have a resource type "stateful"\n\n'
        "Did you mean this?\n\tstatefulset\n"
    )


def test_core_kind_has_no_group_line(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, _ = explain(capsys, state, "pods")
    assert code == 0
    assert out.startswith("KIND:       Pod\nVERSION:    v1\n\nDESCRIPTION:\n    <empty>\nFIELDS:\n")
    assert "  apiVersion\t<string>\n    <no description>\n\n" in out
    assert "  metadata\t<ObjectMeta>\n" in out
    assert out.endswith("  status\t<PodStatus>\n    <no description>\n\n\n")


def test_group_qualified_resource(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    _, qualified, _ = explain(capsys, state, "deployments.apps.spec")
    _, short, _ = explain(capsys, state, "deploy.spec")
    assert qualified == short


def test_recursive_prints_the_tree(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, out, _ = explain(capsys, state, "sts", "--recursive")
    assert code == 0
    assert out.startswith(
        "GROUP:      apps\nKIND:       StatefulSet\nVERSION:    v1\n\n"
        "DESCRIPTION:\n    <empty>\nFIELDS:\n  apiVersion\t<string>\n  kind\t<string>\n"
    )
    assert "<no description>" not in out
    assert (
        "  spec\t<StatefulSetSpec> -required-\n"
        "    minReadySeconds\t<integer>\n"
        "    ordinals\t<StatefulSetOrdinals>\n"
        "      start\t<integer>\n"
    ) in out
    assert (
        "    selector\t<LabelSelector> -required-\n"
        "      matchExpressions\t<[]LabelSelectorRequirement>\n"
        "        key\t<string> -required-\n"
    ) in out
    assert "    volumeClaimTemplates\t<[]PersistentVolumeClaim>\n" in out
    assert "          containerPort\t<integer> -required-\n" in out  # spec.template.spec...
    assert out.endswith("\n\n")
    assert not out.endswith("\n\n\n")


def test_argument_errors(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, _, err = explain(capsys, state)
    assert code == 1
    assert err == (
        "error: You must specify the type of resource to explain. "
        'Use "kubectl api-resources" for a complete list of supported resources.\n'
    )
    code, _, err = explain(capsys, state, "pod", "spec")
    assert (code, err) == (1, "error: We accept only this format: explain RESOURCE\n")


def test_reads_no_state(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    for argv in (("deploy.spec",), ("stateful",), ("sts", "--recursive")):
        explain(capsys, state, *argv)
    assert not state.parent.exists()


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (int, "integer"),
        (bool | None, "boolean"),
        (float, "number"),
        (int | str | None, "IntOrString"),
        (tuple[str, ...], "[]string"),
        (Mapping[str, str], "map[string]string"),
        (Mapping[str, Any] | None, "Object"),
        (tuple[RollingUpdateDeployment, ...], "[]RollingUpdateDeployment"),
        (DeploymentSpec | None, "DeploymentSpec"),
    ],
)
def test_type_names(annotation: Any, expected: str) -> None:
    assert _type_of(annotation).name == expected
