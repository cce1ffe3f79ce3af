"""The command record in the log: `replay`, `replay --verify`, recovery from an interrupted
command, catch-up after `--no-wait`, the settle's warnings, `--profile`, `get --at`, typos."""

from __future__ import annotations

import fcntl
import json
import sqlite3
import sys
from pathlib import Path

import anyio
import msgspec
import pytest

from cp.cli import settling
from cp.cli.record import COMMAND_KEY, CommandRecord
from cp.plane import ControlPlane
from tests.cli.test_main import SEED, head, run

MANIFESTS = SEED.parent
D = "deployment/myapp-deploy"
NEVER_READY = "rules:\n- image: 'web:bad*'\n  neverReady: true\n"


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state.db")


def records(state: str) -> list[tuple[int, CommandRecord]]:
    with sqlite3.connect(state) as db:
        rows = db.execute(
            "SELECT rev, value FROM log WHERE key = ? ORDER BY rev", (COMMAND_KEY,)
        ).fetchall()
    return [(rev, msgspec.json.decode(value, type=CommandRecord)) for rev, value in rows]


def ok(capsys: pytest.CaptureFixture[str], state: str, *argv: str) -> str:
    code, out, err = run(capsys, state, *argv)
    assert code == 0, err
    return out


def test_each_mutating_command_is_recorded_with_its_inputs(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    ok(capsys, state, "apply", "-f", str(SEED))
    ok(capsys, state, "scale", D, "--replicas", "2", "--no-wait")
    ok(capsys, state, "get", "pods")  # read-only: not recorded
    (first, r1), (second, r2), (third, r3), (_, r4) = records(state)
    assert (r1.done, r2.done, r2.settled) == (False, True, True)
    assert r1.argv == ("apply", "-f", str(SEED)) == r2.argv
    ((path, ((source, text),)),) = r2.inputs.files
    assert (path, source, text) == (str(SEED), str(SEED), SEED.read_text())
    assert (r3.argv, r3.done, r4.done, r4.settled) == (
        ("scale", D, "--replicas", "2", "--no-wait"),
        False,
        True,
        False,
    )
    # the user's writes name the command's start record as their cause
    with sqlite3.connect(state) as db:
        causes = {
            cause
            for (cause,) in db.execute(
                "SELECT cause FROM log WHERE actor = 'user' AND key != ?", (COMMAND_KEY,)
            )
        }
    assert causes == {first, third}
    assert second > first


def test_replay_lists_commands_and_verify_reproduces_the_log(
    capsys: pytest.CaptureFixture[str], state: str, tmp_path: Path
) -> None:
    ok(capsys, state, "apply", "-f", str(SEED))
    ok(capsys, state, "set", "image", D, "myapp=web:v2", "--no-wait")
    ok(capsys, state, "rollout", "status", D)
    ok(capsys, state, "rollout", "undo", D)
    ok(capsys, state, "patch", "deploy", "myapp-deploy", "-p", '{"spec":{"replicas":4}}')
    ok(capsys, state, "apply", "-f", str(MANIFESTS / "myapp-svc-headless.yaml"))
    ok(capsys, state, "delete", "deploy", "myapp-deploy")
    listing = ok(capsys, state, "replay").splitlines()
    assert listing[0].split() == ["REVISION", "TIME", "COMMAND", "ENDED"]
    assert len(listing) == 8
    assert "cpemu set image deployment/myapp-deploy myapp=web:v2 --no-wait" in listing[2]
    assert listing[2].endswith("not settled (--no-wait)")
    out = ok(capsys, state, "replay", "--verify")
    assert out == f"replay --verify: identical: {head(state):,} events from 7 commands\n"


def test_verify_reports_the_first_difference(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    ok(capsys, state, "apply", "-f", str(SEED))
    ok(capsys, state, "scale", D, "--replicas", "5")
    with sqlite3.connect(state) as db:
        (rev,) = db.execute(
            "SELECT min(rev) FROM log WHERE actor = 'controller/replicaset' AND rev > 40"
        ).fetchone()
        db.execute("UPDATE log SET actor = 'someone/else' WHERE rev = ?", (rev,))
    code, out, err = run(capsys, state, "replay", "--verify")
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == (
        f"replay --verify: the logs differ at revision {rev} (actor), during command 2 "
        f"(cpemu scale {D} --replicas 5)"
    )
    assert lines[1].startswith(f"  recorded: {rev} ")
    assert " someone/else " in lines[1]
    assert lines[2].startswith(f"  replayed: {rev} ")
    assert " controller/replicaset " in lines[2]


def test_an_interrupted_command_is_finished_by_the_next(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    ok(capsys, state, "apply", "-f", str(SEED), "--no-wait")
    # what a crash in the middle of that command leaves: its start record, not its end
    with sqlite3.connect(state) as db:
        (last,) = db.execute("SELECT max(rev) FROM log WHERE key = ?", (COMMAND_KEY,)).fetchone()
        db.execute("DELETE FROM log WHERE rev >= ?", (last,))
        db.execute("DELETE FROM state")
        db.execute("UPDATE meta SET value = 0 WHERE name = 'state_rev'")
    assert records(state)[-1][1].done is False
    code, _, err = run(capsys, state, "get", "deploy")
    assert (code, err) == (
        0,
        f"warning: the last command (cpemu apply -f {SEED} --no-wait) was interrupted; this is "
        "the cluster as it left it (the next command that changes the cluster lets the "
        "controllers finish first)\n",
    )
    with open(f"{state}.lock", "ab") as lock:  # as while the command still runs
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        _, _, err = run(capsys, state, "get", "deploy")
    assert err == (
        f"note: cpemu apply -f {SEED} --no-wait is running on this state file; this is the "
        f"cluster as of revision {head(state)}\n"
    )
    code, out, err = run(capsys, state, "scale", D, "--replicas", "4")
    assert (code, out) == (0, "deployment.apps/myapp-deploy scaled\n")
    assert err == (
        f"cpemu: the previous command (cpemu apply -f {SEED} --no-wait) was interrupted; "
        "letting the controllers finish what it started\n"
    )
    listing = ok(capsys, state, "get", "deploy")
    assert "myapp-deploy   4/4     4            4" in listing
    replay = ok(capsys, state, "replay").splitlines()
    assert replay[1].endswith("interrupted")
    out = ok(capsys, state, "replay", "--verify")
    assert out.startswith("note: command 1 (cpemu apply -f ")
    assert "was interrupted; verified up to revision 0 only" in out


def test_no_wait_then_the_next_command_catches_up_first(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    ok(capsys, state, "apply", "-f", str(SEED), "--no-wait")
    pods = ok(capsys, state, "get", "pods", "-o", "name")
    assert pods == ""  # nothing ran after the write
    ok(capsys, state, "apply", "-f", str(MANIFESTS / "myapp-svc-headless.yaml"))
    assert len(ok(capsys, state, "get", "pods", "-o", "name").splitlines()) == 3


def test_a_stuck_rollout_is_named_with_its_reason(
    capsys: pytest.CaptureFixture[str], state: str, tmp_path: Path
) -> None:
    profile = tmp_path / "never-ready.yaml"
    profile.write_text(NEVER_READY)
    ok(capsys, state, "--profile", str(profile), "apply", "-f", str(SEED))
    # the next command keeps the profile the state file recorded
    code, out, err = run(capsys, state, "set", "image", D, "myapp=web:bad1")
    assert (code, out) == (0, "deployment.apps/myapp-deploy image updated\n")
    lines = err.splitlines()
    assert lines[0] == "warning: the cluster settled with objects short of their spec:"
    rs = json.loads(ok(capsys, state, "get", "rs", "-o", "json"))["items"]
    new = next(r["metadata"]["name"] for r in rs if "bad1" in json.dumps(r["spec"]))
    assert lines[1] == (
        f'  deployment/myapp-deploy: ProgressDeadlineExceeded: ReplicaSet "{new}" has timed '
        "out progressing."
    )
    assert all(line.endswith(": Running, not Ready") for line in lines[2:])
    assert len(lines) == 4  # maxUnavailable 1, maxSurge 1: two new pods, never Ready


def test_wall_time_guard_and_progress(
    capsys: pytest.CaptureFixture[str], state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, state, "--settle-timeout", "0", "apply", "-f", str(SEED))
    assert code == 0
    assert err.startswith("warning: stopped settling after 0s of wall time (")
    monkeypatch.setattr(settling, "PROGRESS_AFTER", 0.0)
    code, _, err = run(capsys, state, "scale", D, "--replicas", "6")
    assert code == 0
    assert err.startswith("cpemu: settling: ")
    assert "events, virtual time +" in err


def test_get_at_a_revision_shows_the_past(capsys: pytest.CaptureFixture[str], state: str) -> None:
    ok(capsys, state, "apply", "-f", str(SEED))
    before = head(state)
    ok(capsys, state, "set", "image", D, "myapp=web:v2")
    then = json.loads(
        ok(capsys, state, "get", "deploy", "myapp-deploy", "-o", "json", "--at", str(before))
    )
    now = json.loads(ok(capsys, state, "get", "deploy", "myapp-deploy", "-o", "json"))
    image = "spec", "template", "spec", "containers"
    assert then[image[0]][image[1]][image[2]][image[3]][0]["image"].endswith("go-myweb:v1.0")
    assert now[image[0]][image[1]][image[2]][image[3]][0]["image"] == "web:v2"
    listing = json.loads(ok(capsys, state, "get", "pods", "-o", "json", "--at", str(before)))
    assert listing["metadata"]["resourceVersion"] == str(before)
    assert len(listing["items"]) == 3
    code, _, err = run(capsys, state, "get", "pods", "--at", "999999")
    assert code == 1
    assert "revision 999999 is in the future" in err


@pytest.mark.parametrize(
    ("argv", "message", "suggestion"),
    [
        (["set", "deployment", "x"], 'unknown command "deployment" for "cpemu set"', "image"),
        (["gte", "pods"], 'unknown command "gte" for "cpemu"', "get"),
        (["rollout", "stauts", D], 'unknown command "stauts" for "cpemu rollout"', "status"),
    ],
)
def test_mistyped_commands_get_suggestions(
    capsys: pytest.CaptureFixture[str], state: str, argv: list[str], message: str, suggestion: str
) -> None:
    code, out, err = run(capsys, state, *argv)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == f"error: {message}"
    assert lines[1:3] == ["", "Did you mean this?"]
    assert lines[3] == f"\t{suggestion}"


def test_mistyped_kind_gets_a_suggestion(capsys: pytest.CaptureFixture[str], state: str) -> None:
    code, _, err = run(capsys, state, "get", "deploymnt")
    assert code == 1
    assert err == (
        'error: the server doesn\'t have a resource type "deploymnt"\n\n'
        "Did you mean this?\n\tdeployment\n"
    )
    code, _, err = run(capsys, state, "get", "zzz")
    assert err == 'error: the server doesn\'t have a resource type "zzz"\n'


def test_events_why_and_history_name_the_command(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    ok(capsys, state, "apply", "-f", str(SEED))
    ok(capsys, state, "set", "image", D, "myapp=web:v2")
    (start, _), *_ = records(state)[2:]
    rows = [
        r for r in json.loads(ok(capsys, state, "events", "-o", "json")) if r["kind"] == "Command"
    ]
    assert [(r["verb"], r["change"]) for r in rows] == [
        ("start", f"cpemu apply -f {SEED}"),
        ("end", f"cpemu apply -f {SEED} (settled)"),
        ("start", f"cpemu set image {D} myapp=web:v2"),
        ("end", f"cpemu set image {D} myapp=web:v2 (settled)"),
    ]
    new_rs = next(
        r["metadata"]["name"]
        for r in json.loads(ok(capsys, state, "get", "rs", "-o", "json"))["items"]
        if r["spec"]["replicas"] == 3
    )
    chain = ok(capsys, state, "why", "rs", new_rs).splitlines()
    assert chain[-2].endswith(f" the user ran: cpemu set image {D} myapp=web:v2")
    assert chain[-2].startswith(f"  <- caused by #{start} ")
    assert chain[-1] == f"(started by the user's command at revision {start})"
    history = ok(capsys, state, "rollout", "history", D, "--all").splitlines()
    assert history[0].split()[-1] == "COMMAND"
    assert history[2].split()[-6:] == ["myapp=web:v2", "cpemu", "set", "image", D, "myapp=web:v2"]


def test_verify_replays_the_editor_and_replace_inputs(
    capsys: pytest.CaptureFixture[str],
    state: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('replicas: 3', 'replicas: 4'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("KUBE_EDITOR", raising=False)
    ok(capsys, state, "apply", "-f", str(SEED))
    assert ok(capsys, state, "edit", "deploy", "myapp-deploy") == (
        "deployment.apps/myapp-deploy edited\n"
    )
    replacement = tmp_path / "replacement.yaml"
    replacement.write_text(SEED.read_text().replace("replicas: 3", "replicas: 2"))
    ok(capsys, state, "replace", "-f", str(replacement))
    replacement.unlink()  # the replay reads the recorded text, not the file
    (edit_end,) = [r for _, r in records(state) if r.argv[0] == "edit" and r.done]
    assert len(edit_end.inputs.edits) == 1
    assert "replicas: 4" in edit_end.inputs.edits[0]
    out = ok(capsys, state, "replay", "--verify")
    assert out == f"replay --verify: identical: {head(state):,} events from 3 commands\n"


def test_verify_refuses_a_log_not_started_by_a_command(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    async def embed() -> None:  # the embedding API on the same file, before any command
        async with ControlPlane.open(store=f"sqlite:///{state}") as plane:
            await plane.settle()

    anyio.run(embed)
    written = head(state)
    ok(capsys, state, "apply", "-f", str(SEED))
    code, out, err = run(capsys, state, "replay", "--verify")
    assert (code, out) == (1, "")
    assert err == (
        f"replay --verify: revisions 1..{written} were not written by cpemu commands: there "
        "is nothing to re-run them from\n"
    )
