"""The `cpemu` console script itself, in subprocesses: what a user at a shell gets (exit codes,
stdout/stderr), a second process on a busy state file, and a SIGKILL in the middle of a settle."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_main import SEED

CPEMU = Path(sys.executable).parent / "cpemu"
BIG = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: big}
spec:
  replicas: 1500
  selector: {matchLabels: {app: big}}
  template:
    metadata: {labels: {app: big}}
    spec: {containers: [{name: web, image: web:v1}]}
"""


def cpemu(state: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CPEMU), "--state", str(state), *argv],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "cluster" / "state.db"


def test_console_script_round_trip(state: Path) -> None:
    done = cpemu(state, "apply", "-f", str(SEED))
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "deployment.apps/myapp-deploy created\n",
        "",
    )
    got = cpemu(state, "get", "deploy", "myapp-deploy", "-o", "name")
    assert (got.returncode, got.stdout) == (0, "deployment.apps/myapp-deploy\n")
    piped = cpemu(state, "apply", "-f", "-", stdin=SEED.read_text())
    assert (piped.returncode, piped.stdout) == (0, "deployment.apps/myapp-deploy unchanged\n")


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["get", "nonsense"], 'error: the server doesn\'t have a resource type "nonsense"\n'),
        (
            ["get", "deploy", "missing"],
            'Error from server (NotFound): deployments.apps "missing" not found\n',
        ),
        (
            ["delete", "deploy", "missing"],
            'Error from server (NotFound): deployments.apps "missing" not found\n',
        ),
    ],
)
def test_console_errors_exit_1(state: Path, argv: list[str], stderr: str) -> None:
    done = cpemu(state, *argv)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", stderr)


def test_invalid_manifest_writes_nothing(state: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SEED.read_text().replace("replicas: 3", "replicas: three"))
    done = cpemu(state, "apply", "-f", str(bad))
    assert done.returncode == 1
    assert done.stderr.startswith(f'error: {bad}: Deployment "myapp-deploy": spec.replicas')
    assert not state.exists()


def _wait_for_rows(state: Path, rows: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the command finished before it could be interrupted"
        if state.exists():
            try:
                with sqlite3.connect(state) as db:
                    (count,) = db.execute("SELECT count(*) FROM log").fetchone()
                if count >= rows:
                    return
            except sqlite3.OperationalError:
                pass  # the schema is being created
        time.sleep(0.02)
    raise AssertionError(f"{state} never reached {rows} rows")


def test_a_second_writer_is_refused_while_one_holds_the_state(state: Path) -> None:
    assert cpemu(state, "apply", "-f", str(SEED)).returncode == 0
    with open(f"{state}.lock", "ab") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running cpemu does
        second = cpemu(state, "scale", "deploy/myapp-deploy", "--replicas", "1")
    assert (second.returncode, second.stdout) == (1, "")
    assert second.stderr == f"error: the state file {state} is in use by another cpemu process\n"
    again = cpemu(state, "scale", "deploy/myapp-deploy", "--replicas", "1")
    assert (again.returncode, again.stdout) == (0, "deployment.apps/myapp-deploy scaled\n")


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_settle_then_recovery(state: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "big.yaml"
    manifest.write_text(BIG)
    state.parent.mkdir(parents=True)
    process = subprocess.Popen(
        [str(CPEMU), "--state", str(state), "apply", "-f", str(manifest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_rows(state, 400, process)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # the next command lets the controllers finish what the killed one started
    after = cpemu(state, "apply", "-f", str(manifest))
    assert after.returncode == 0, after.stderr
    assert after.stdout == "deployment.apps/big unchanged\n"
    assert after.stderr.startswith(
        f"cpemu: the previous command (cpemu apply -f {manifest}) was interrupted; "
    )
    # ... to where an uninterrupted run gets (3 nodes of 110 pods: 330 run, the rest wait)
    clean = tmp_path / "clean" / "state.db"
    assert cpemu(clean, "apply", "-f", str(manifest)).returncode == 0
    recovered, expected = (
        json.loads(cpemu(path, "get", "deploy", "big", "-o", "json").stdout)["status"]
        for path in (state, clean)
    )
    assert recovered["readyReplicas"] == 330
    assert {k: v for k, v in recovered.items() if k != "conditions"} == {
        k: v for k, v in expected.items() if k != "conditions"
    }


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_every_verb_through_the_console_script(state: Path, tmp_path: Path) -> None:
    """One session, every verb of contract 3 as its own `cpemu` process."""

    def ok(*argv: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [str(CPEMU), "--state", str(state), *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **(env or {})},
        )
        assert done.returncode == 0, (argv, done.stderr)
        return done.stdout

    deploy = EXAMPLES / "deployment"
    assert ok(
        "--profile",
        str(EXAMPLES / "profile.yaml"),
        "apply",
        "-f",
        str(deploy / "myapp-deploy-v1.yaml"),
    ) == ("deployment.apps/myapp-deploy created\n")
    assert ok("get", "deploy").splitlines()[1].split()[:4] == ["myapp-deploy", "3/3", "3", "3"]
    assert ok("scale", "deployment/myapp-deploy", "--replicas", "4") == (
        "deployment.apps/myapp-deploy scaled\n"
    )
    assert ok("set", "image", "deployment/myapp-deploy", "myapp=web:v2", "--no-wait") == (
        "deployment.apps/myapp-deploy image updated\n"
    )
    assert ok("rollout", "status", "deployment/myapp-deploy").endswith(
        'deployment "myapp-deploy" successfully rolled out\n'
    )
    assert ok("rollout", "history", "deployment/myapp-deploy").splitlines()[1:4] == [
        "REVISION  CHANGE-CAUSE",
        "1         <none>",
        "2         <none>",
    ]
    assert ok("rollout", "undo", "deployment/myapp-deploy") == (
        "deployment.apps/myapp-deploy rolled back\n"
    )
    assert (
        ok("rollout", "pause", "deployment/myapp-deploy") == "deployment.apps/myapp-deploy paused\n"
    )
    assert ok("rollout", "resume", "deployment/myapp-deploy") == (
        "deployment.apps/myapp-deploy resumed\n"
    )
    assert ok("rollout", "restart", "deployment/myapp-deploy") == (
        "deployment.apps/myapp-deploy restarted\n"
    )
    assert ok(
        "patch", "deployment", "myapp-deploy", "-p", '{"spec":{"replicas":2}}', "--type", "merge"
    ) == ("deployment.apps/myapp-deploy patched\n")
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('replicas: 2', 'replicas: 3'))\n"
    )
    assert (
        ok("edit", "deployment/myapp-deploy", env={"EDITOR": f"{sys.executable} {editor}"})
        == "deployment.apps/myapp-deploy edited\n"
    )
    sts = EXAMPLES / "statefulset"
    assert ok(
        "create", "-f", str(sts / "myapp-sts.yaml"), "-f", str(sts / "myapp-svc-headless.yaml")
    ) == ("statefulset.apps/myapp-sts created\nservice/myapp-svc-headless created\n")
    replaced = tmp_path / "sts.yaml"
    replaced.write_text((sts / "myapp-sts.yaml").read_text().replace("replicas: 2", "replicas: 3"))
    assert ok("replace", "-f", str(replaced)) == "statefulset.apps/myapp-sts replaced\n"
    ips = json.loads(ok("get", "pods", "-l", "app=myapp-sts", "-o", "json"))["items"]
    assert len(ips) == 3
    answer = ok("host", "myapp-sts-2.myapp-svc-headless")
    address = next(p["status"]["podIP"] for p in ips if p["metadata"]["name"] == "myapp-sts-2")
    assert answer == (
        f"myapp-sts-2.myapp-svc-headless.default.svc.cluster.local has address {address}\n"
    )
    assert ok("describe", "sts", "myapp-sts").startswith("Name:               myapp-sts\n")
    assert ok("delete", "pod", "myapp-sts-0") == 'pod "myapp-sts-0" deleted\n'
    assert "myapp-sts-0" in ok("get", "pods", "-o", "name")  # it came back
    rows = json.loads(ok("events", "--kind", "StatefulSet", "--actor", "user", "-o", "json"))
    created, replace_rev = (row["revision"] for row in rows)
    diff = ok("diff", "sts", "myapp-sts", "--from", str(replace_rev - 1), "--to", str(replace_rev))
    assert "\n-  replicas: 2\n+  replicas: 3\n" in diff
    chain = ok("why", "pod", "myapp-sts-0").splitlines()
    assert chain[-2].endswith(" the user ran: cpemu delete pod myapp-sts-0")
    assert ok("timeline", "deployment/myapp-deploy").startswith("RSv1: ")
    assert ok("rollout", "history", "deployment/myapp-deploy", "--all").startswith("TEMPLATE")
    assert ok("get", "sts", "--at", str(created), "-o", "json").count('"replicas": 2') == 1
    assert ok("replay", "--verify").startswith("replay --verify: identical: ")
