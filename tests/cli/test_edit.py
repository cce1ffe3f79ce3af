"""`cpemu scale`, `set image` and `patch`, in-process on a temporary state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_main import SEED, run


@pytest.fixture
def applied(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    state = str(tmp_path / "state.db")
    code, out, _ = run(capsys, state, "apply", "-f", str(SEED))
    assert (code, out) == (0, "deployment.apps/myapp-deploy created\n")
    return state


def ready(capsys: pytest.CaptureFixture[str], state: str) -> str:
    _, out, _ = run(capsys, state, "get", "deploy", "myapp-deploy")
    return out.splitlines()[1].split()[1]


def test_scale_settles_to_new_replicas(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "scale", "deployment/myapp-deploy", "--replicas", "5")
    assert (code, out, err) == (0, "deployment.apps/myapp-deploy scaled\n", "")
    assert ready(capsys, applied) == "5/5"


def test_scale_missing_is_not_found(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "scale", "deploy", "nope", "--replicas", "1")
    assert (code, out) == (1, "")
    assert err == 'Error from server (NotFound): deployments.apps "nope" not found\n'


def test_set_image_rolls_out_new_replica_set(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, err = run(capsys, applied, "set", "image", "deploy/myapp-deploy", "myapp=web:v2")
    assert (code, out, err) == (0, "deployment.apps/myapp-deploy image updated\n", "")
    _, out, _ = run(capsys, applied, "get", "rs")
    counts = sorted(line.split()[1] for line in out.splitlines()[1:])
    assert counts == ["0", "3"]


def test_set_image_unknown_container(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "set", "image", "deploy/myapp-deploy", "nope=x:1")
    assert (code, out, err) == (1, "", 'error: unable to find container named "nope"\n')


def test_patch_strategic_then_no_change(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    body = '{"spec":{"replicas":2}}'
    code, out, _ = run(capsys, applied, "patch", "deploy", "myapp-deploy", "-p", body)
    assert (code, out) == (0, "deployment.apps/myapp-deploy patched\n")
    assert ready(capsys, applied) == "2/2"
    code, out, _ = run(
        capsys, applied, "patch", "deploy/myapp-deploy", "-p", body, "--type", "merge"
    )
    assert (code, out) == (0, "deployment.apps/myapp-deploy patched (no change)\n")


def test_patch_json_and_bad_body(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    ops = '[{"op":"replace","path":"/spec/replicas","value":1}]'
    code, out, _ = run(
        capsys, applied, "patch", "deploy", "myapp-deploy", "--type", "json", "-p", ops
    )
    assert (code, out) == (0, "deployment.apps/myapp-deploy patched\n")
    assert ready(capsys, applied) == "1/1"
    code, out, err = run(capsys, applied, "patch", "deploy", "myapp-deploy", "-p", "x")
    assert (code, out) == (1, "")
    assert err.startswith("error: unable to parse 'x'")


def test_set_image_takes_kind_name_as_the_seed_writes_it(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, _ = run(
        capsys, applied, "set", "image", "deployment", "myapp-deploy", "myapp=web:v9"
    )
    assert (code, out) == (0, "deployment.apps/myapp-deploy image updated\n")
    _, yaml_out, _ = run(capsys, applied, "get", "deploy", "myapp-deploy", "-o", "yaml")
    assert "image: web:v9" in yaml_out
    code, _, err = run(capsys, applied, "set", "image", "deployment", "myapp-deploy")
    assert (code, err) == (1, "error: at least one image update is required\n")


def test_patch_without_dash_p_gets_kubectls_error(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, err = run(capsys, applied, "patch", "deploy", "myapp-deploy", '{"spec":{}}')
    assert (code, out) == (1, "")
    assert err == (
        "error: must specify --patch or --patch-file containing the contents of the patch\n"
    )
