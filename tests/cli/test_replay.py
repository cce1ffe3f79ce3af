"""`cpemu events`, in-process on a temporary state file (read-only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_main import SEED, revision, run


@pytest.fixture
def applied(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    state = str(tmp_path / "state.db")
    assert run(capsys, state, "apply", "-f", str(SEED))[0] == 0
    return state


def test_events_filtered_table_writes_nothing(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    before = revision(applied)
    code, out, err = run(capsys, applied, "events", "--kind", "deploy", "--actor", "user")
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["REVISION", "TIME", "ACTOR"]
    assert len(rows) == 1
    assert "user" in rows[0]
    assert "create   deployment.apps/myapp-deploy" in rows[0]
    assert revision(applied) == before


def test_events_json(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, _ = run(capsys, applied, "events", "--name", "myapp-deploy", "-o", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows
    assert all("myapp-deploy" in json.dumps(row) for row in rows)


def test_events_unknown_kind(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "events", "--kind", "foo")
    assert (code, out) == (1, "")
    assert err == 'error: the server doesn\'t have a resource type "foo"\n'


def test_diff_between_revisions(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    head = str(revision(applied))
    code, out, err = run(
        capsys, applied, "diff", "deploy", "myapp-deploy", "--from", "1", "--to", head
    )
    assert (code, err) == (0, "")
    assert out.startswith("diff -u -N ")
    assert "+  name: myapp-deploy" in out


def test_diff_missing_object(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "diff", "deploy", "nope", "--from", "1", "--to", "2")
    assert (code, out) == (1, "")
    assert err.startswith("error: ")
    assert "nope" in err


def test_why_pod_ends_at_user(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    _, out, _ = run(capsys, applied, "get", "pods", "-o", "name")
    pod = out.splitlines()[0].removeprefix("pod/")
    code, out, err = run(capsys, applied, "why", "pod", pod)
    assert (code, err) == (0, "")
    assert "<- caused by" in out
    assert out.rstrip().endswith(")")
    assert "user" in out.splitlines()[-1]


def test_why_missing_object(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "why", "deploy", "nope")
    assert (code, out) == (1, "")
    assert err.startswith('error: deployments.apps "nope" not found')


def test_timeline_text_and_svg(
    capsys: pytest.CaptureFixture[str], applied: str, tmp_path: Path
) -> None:
    svg = tmp_path / "t.svg"
    code, out, err = run(capsys, applied, "timeline", "deployment/myapp-deploy", "--svg", str(svg))
    assert (code, err) == (0, "")
    assert out.startswith("RSv1: 3   myapp-deploy-")
    assert svg.read_text().startswith("<svg ")


def test_timeline_missing(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "timeline", "deploy/nope")
    assert (code, out) == (1, "")
    assert err.startswith("error: ")


def test_rollout_history_all(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, _ = run(capsys, applied, "set", "image", "deploy/myapp-deploy", "myapp=web:v2")
    assert code == 0
    code, out, err = run(capsys, applied, "rollout", "history", "deployment/myapp-deploy", "--all")
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split()[:2] == ["TEMPLATE", "REVISION"]
    assert len(rows) == 2
    assert rows[1].endswith("myapp=web:v2")


def test_rollout_history_all_missing(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "rollout", "history", "deploy/nope", "--all")
    assert (code, out) == (1, "")
    assert err == 'error: deployments.apps "nope" not found in the log\n'
