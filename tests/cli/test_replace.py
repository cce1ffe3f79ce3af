"""`cpemu replace -f` and `cpemu edit`, in-process on a temporary state file with the seed's
Deployment. The editor is a small Python script (`$EDITOR` / `$KUBE_EDITOR`) that saves a copy
of each file it is given and applies the next scripted change."""

from __future__ import annotations

import json
import re
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from cp.cli.replace import HEADER, manual_strip, merge_diff
from tests.cli.test_main import SEED, revision, run

NAME = "myapp-deploy"
WHAT = f'deployments.apps "{NAME}"'


@pytest.fixture
def applied(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    state = str(tmp_path / "state.db")
    code, out, _ = run(capsys, state, "apply", "-f", str(SEED))
    assert (code, out) == (0, f"deployment.apps/{NAME} created\n")
    return state


@pytest.fixture(autouse=True)
def temp_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Temporary files (the editor's, the kept copies) under tmp_path."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.delenv("KUBE_EDITOR", raising=False)
    return folder


def ready(capsys: pytest.CaptureFixture[str], state: str) -> str:
    _, out, _ = run(capsys, state, "get", "deploy", NAME)
    return out.splitlines()[1].split()[1]


def live(capsys: pytest.CaptureFixture[str], state: str) -> dict[str, Any]:
    code, out, _ = run(capsys, state, "get", "deploy", NAME, "-o", "json")
    assert code == 0
    obj: dict[str, Any] = json.loads(out)
    return obj


# -- replace ----------------------------------------------------------------------------------


def manifest(tmp_path: Path, text: str, name: str = "web.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_replace_puts_the_whole_object(
    capsys: pytest.CaptureFixture[str], applied: str, tmp_path: Path
) -> None:
    path = manifest(tmp_path, SEED.read_text().replace("replicas: 3", "replicas: 5"))
    code, out, err = run(capsys, applied, "replace", "-f", path)
    assert (code, out, err) == (0, f"deployment.apps/{NAME} replaced\n", "")
    assert ready(capsys, applied) == "5/5"


def test_replace_keeps_the_status(
    capsys: pytest.CaptureFixture[str], applied: str, tmp_path: Path
) -> None:
    before = live(capsys, applied)
    code, out, _ = run(capsys, applied, "replace", "--no-wait", "-f", str(SEED))
    assert (code, out) == (0, f"deployment.apps/{NAME} replaced\n")
    after = live(capsys, applied)
    assert after["status"] == before["status"]
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert ready(capsys, applied) == "3/3"


def test_replace_missing_object_is_not_found(
    capsys: pytest.CaptureFixture[str], applied: str, tmp_path: Path
) -> None:
    path = manifest(tmp_path, SEED.read_text().replace(f"name: {NAME}", "name: nope"))
    code, out, err = run(capsys, applied, "replace", "-f", path)
    assert (code, out) == (1, "")
    assert err == (
        f'Error from server (NotFound): error when replacing "{path}": '
        'deployments.apps "nope" not found\n'
    )


def test_replace_resource_version_is_a_precondition(
    capsys: pytest.CaptureFixture[str], applied: str, tmp_path: Path
) -> None:
    current = live(capsys, applied)["metadata"]["resourceVersion"]
    text = SEED.read_text().replace(
        f"  name: {NAME}\n", f'  name: {NAME}\n  resourceVersion: "1"\n'
    )
    code, out, err = run(capsys, applied, "replace", "-f", manifest(tmp_path, text, "stale.yaml"))
    assert (code, out) == (1, "")
    assert err == (
        f'Error from server (Conflict): error when replacing "{tmp_path / "stale.yaml"}": '
        f"Operation cannot be fulfilled on {WHAT}: the object has been modified; please apply "
        "your changes to the latest version and try again\n"
    )
    text = text.replace('resourceVersion: "1"', f'resourceVersion: "{current}"')
    text = text.replace("replicas: 3", "replicas: 2")
    code, out, _ = run(capsys, applied, "replace", "-f", manifest(tmp_path, text, "fresh.yaml"))
    assert (code, out) == (0, f"deployment.apps/{NAME} replaced\n")
    assert ready(capsys, applied) == "2/2"


def test_replace_goes_on_after_a_failed_document(
    capsys: pytest.CaptureFixture[str], applied: str, tmp_path: Path
) -> None:
    missing = SEED.read_text().replace(f"name: {NAME}", "name: nope")
    changed = SEED.read_text().replace("replicas: 3", "replicas: 4")
    path = manifest(tmp_path, f"{missing}\n---\n{changed}")
    code, out, err = run(capsys, applied, "replace", "-f", path)
    assert (code, out) == (1, f"deployment.apps/{NAME} replaced\n")
    assert err.startswith("Error from server (NotFound): ")
    assert ready(capsys, applied) == "4/4"


# -- edit -------------------------------------------------------------------------------------

_EDITOR = """
import json, pathlib, sys
log = pathlib.Path({log!r})
steps = json.loads({steps!r})
n = len(list(log.glob("seen-*")))
path = pathlib.Path(sys.argv[-1])
text = path.read_text()
(log / f"seen-{{n}}").write_text(text)
step = steps[min(n, len(steps) - 1)]
if "exit" in step:
    sys.exit(step["exit"])
text = step.get("write", text)
for old, new in step.get("sub", []):
    assert old in text, (old, text)
    text = text.replace(old, new)
path.write_text(text)
"""


class Editor:
    """A scripted editor: step N (the last one repeats) applies `sub` replacements, or writes
    `write`, or exits with `exit`; `seen(N)` is the file as the Nth launch got it."""

    def __init__(self, folder: Path, steps: list[dict[str, Any]]) -> None:
        self.log = folder / "log"
        self.log.mkdir(parents=True)
        script = folder / "editor.py"
        script.write_text(_EDITOR.format(log=str(self.log), steps=json.dumps(steps)))
        self.command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"

    @property
    def launches(self) -> int:
        return len(list(self.log.glob("seen-*")))

    def seen(self, n: int) -> str:
        return (self.log / f"seen-{n}").read_text()


def editor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *steps: dict[str, Any]) -> Editor:
    ed = Editor(tmp_path / f"editor{len(list(tmp_path.glob('editor*')))}", list(steps))
    monkeypatch.setenv("EDITOR", ed.command)
    return ed


def kept(err: str, temp_dir: Path) -> str:
    """The path a `A copy of your changes ...` line names, checked to be a kept file."""
    found = re.search(r'"(.*cpemu-edit-[^"]*\.yaml)"', err)
    assert found, err
    assert Path(found[1]).parent == temp_dir
    return found[1]


def test_edit_changes_replicas(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ed = editor(monkeypatch, tmp_path, {"sub": [["replicas: 3", "replicas: 1"]]})
    code, out, err = run(capsys, applied, "edit", "deployment", NAME)
    assert (code, out, err) == (0, f"deployment.apps/{NAME} edited\n", "")
    assert ed.launches == 1
    assert ed.seen(0).startswith(HEADER + "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n")
    assert ready(capsys, applied) == "1/1"


def test_edit_image_rolls_out(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    editor(monkeypatch, tmp_path, {"sub": [["go-myweb:v1.0", "go-myweb:v2.0"]]})
    code, out, _ = run(capsys, applied, "edit", f"deploy/{NAME}")
    assert (code, out) == (0, f"deployment.apps/{NAME} edited\n")
    spec = live(capsys, applied)["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == "ghcr.io/c1t1d0s7/go-myweb:v2.0"
    _, out, _ = run(capsys, applied, "get", "rs")
    assert sorted(line.split()[1] for line in out.splitlines()[1:]) == ["0", "3"]


def test_edit_unchanged_or_comments_only_is_cancelled(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = revision(applied)
    editor(monkeypatch, tmp_path, {})
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out, err) == (0, "", "Edit cancelled, no changes made.\n")
    editor(monkeypatch, tmp_path, {"sub": [["kind: Deployment\n", "# mine\nkind: Deployment\n"]]})
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out, err) == (0, "", "Edit cancelled, no changes made.\n")
    assert revision(applied) == before


def test_edit_invalid_yaml_reopens_then_cancels(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temp_dir: Path,
) -> None:
    before = revision(applied)
    ed = editor(monkeypatch, tmp_path, {"write": "spec: [\n"})
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out) == (1, "")
    path = kept(err, temp_dir)
    assert err == (
        f"error: {WHAT} is invalid\n"
        f'A copy of your changes has been stored to "{path}"\n'
        "error: Edit cancelled, no valid changes were saved.\n"
    )
    assert Path(path).read_text() == "spec: [\n"
    assert ed.launches == 2  # reopened once with the error on top, saved unchanged: cancelled
    assert ed.seen(1) == (
        HEADER + f"# {WHAT} was not valid:\n"
        '# * <nil>: Invalid value: "The edited file failed validation": error converting YAML '
        "to JSON: yaml: line 2: expected the node content, but found '<stream end>'\n"
        "#\n"
        "spec: [\n"
    )
    assert revision(applied) == before


def test_edit_rejected_by_the_server_reopens_and_the_fix_is_saved(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ed = editor(
        monkeypatch,
        tmp_path,
        {"sub": [["replicas: 3", "replicas: -1"]]},
        {"sub": [["replicas: -1", "replicas: 2"]]},
    )
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out, err) == (
        0,
        f"deployment.apps/{NAME} edited\n",
        f"error: {WHAT} is invalid\n",
    )
    assert ed.launches == 2
    reopened = ed.seen(1)
    assert reopened.startswith(
        HEADER + f"# {WHAT} was not valid:\n"
        "# * spec.replicas: Invalid value: -1: must be greater than or equal to 0\n"
        "#\n"
        "apiVersion: apps/v1\n"
    )
    assert reopened == _header_of(reopened) + manual_strip(
        ed.seen(0).replace("replicas: 3", "replicas: -1")
    )
    assert ready(capsys, applied) == "2/2"


def _header_of(text: str) -> str:
    lines = text.split("\n")
    count = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return "\n".join(lines[:count]) + "\n"


def test_edit_changed_name_is_refused(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temp_dir: Path,
) -> None:
    before = revision(applied)
    old = f"  name: {NAME}\n  namespace: default\n"
    editor(monkeypatch, tmp_path, {"sub": [[old, old.replace(NAME, "other")]]})
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out) == (1, "")
    assert err == (
        f'A copy of your changes has been stored to "{kept(err, temp_dir)}"\n'
        "error: At least one of apiVersion, kind and name was changed\n"
    )
    assert revision(applied) == before


def test_edit_unknown_kind_reopens_as_a_syntax_error(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ed = editor(monkeypatch, tmp_path, {"sub": [["kind: Deployment\n", "kind: Foo\n"]]}, {})
    code, _, err = run(capsys, applied, "edit", "deploy", NAME)
    assert code == 1
    assert err.endswith("error: Edit cancelled, no valid changes were saved.\n")
    assert ed.seen(1).startswith(
        HEADER + "# The edited file had a syntax error: unable to recognize "
        '"edited-file": no matches for kind "Foo" in version "apps/v1"\n#\napiVersion: apps/v1\n'
    )


def test_edit_editor_failure(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ed = editor(monkeypatch, tmp_path, {"exit": 1})
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out) == (1, "")
    assert err == f'error: there was a problem with the editor "{ed.command}"\n'
    monkeypatch.setenv("EDITOR", str(tmp_path / "no-such-editor"))
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out) == (1, "")
    assert err == f'error: unable to launch the editor "{tmp_path / "no-such-editor"}"\n'


def test_edit_kube_editor_wins_and_json_output(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    editor(monkeypatch, tmp_path, {"exit": 1})  # $EDITOR, not used
    ed = Editor(tmp_path / "kube", [{"sub": [['"replicas": 3', '"replicas": 2']]}])
    monkeypatch.setenv("KUBE_EDITOR", ed.command)
    code, out, err = run(capsys, applied, "edit", "deploy", NAME, "-o", "json")
    assert (code, out, err) == (0, f"deployment.apps/{NAME} edited\n", "")
    assert ed.seen(0).startswith(HEADER + '{\n    "apiVersion": "apps/v1",\n')
    assert ready(capsys, applied) == "2/2"


def test_edit_missing_object(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ed = editor(monkeypatch, tmp_path, {})
    code, out, err = run(capsys, applied, "edit", "deploy", "nope")
    assert (code, out) == (1, "")
    assert err == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    assert ed.launches == 0


def test_merge_diff_and_manual_strip() -> None:
    original = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}
    edited = {"a": 1, "b": {"c": 5}, "e": [1], "f": None}
    assert merge_diff(original, edited) == {"b": {"c": 5, "d": None}, "e": [1], "f": None}
    assert manual_strip("# x\na: 1\n  # y\n#!keep\nb: 2\n# z") == "a: 1\n#!keep\nb: 2\n"


def test_edit_stale_resource_version_is_a_conflict(
    capsys: pytest.CaptureFixture[str],
    applied: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    temp_dir: Path,
) -> None:
    before = revision(applied)
    rv = live(capsys, applied)["metadata"]["resourceVersion"]
    changes = [[f"resourceVersion: '{rv}'", "resourceVersion: '1'"], ["replicas: 3", "replicas: 2"]]
    editor(monkeypatch, tmp_path, {"sub": changes})
    code, out, err = run(capsys, applied, "edit", "deploy", NAME)
    assert (code, out) == (1, "")
    path = re.search(r"`cpemu replace -f (\S+)`", err)
    assert path
    assert Path(path[1]).parent == temp_dir
    assert "replicas: 2" in Path(path[1]).read_text()
    assert err == (
        f"error: {WHAT} could not be patched: Operation cannot be fulfilled on {WHAT}: the "
        "object has been modified; please apply your changes to the latest version and try "
        "again\n"
        f"You can run `cpemu replace -f {path[1]}` to try this update again.\n"
    )
    assert revision(applied) == before
