"""`cpemu` verbs end to end, in-process: `main([...])` on a temporary state file."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from cp.cli import main
from cp.cli.state import StateFile

SEED = Path(__file__).parent.parent / "api" / "manifests" / "myapp-deploy-v1.yaml"


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "nested" / "state.db")


def run(capsys: pytest.CaptureFixture[str], state: str, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--state", state, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def revision(state: str) -> int:
    """The last revision that changed the cluster (the command records are not objects)."""
    with sqlite3.connect(state) as db:
        ((rev,),) = db.execute("SELECT max(rev) FROM log WHERE key != '/cpemu/command'").fetchall()
    return int(rev)


def head(state: str) -> int:
    with sqlite3.connect(state) as db:
        ((rev,),) = db.execute("SELECT max(rev) FROM log").fetchall()
    return int(rev)


@pytest.fixture
def applied(capsys: pytest.CaptureFixture[str], state: str) -> str:
    code, out, err = run(capsys, state, "apply", "-f", str(SEED))
    assert (code, out, err) == (0, "deployment.apps/myapp-deploy created\n", "")
    return state


def test_apply_then_get_deploy_shows_ready_replicas(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, err = run(capsys, applied, "get", "deploy")
    assert code == 0
    assert err == ""
    header, row = out.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert re.fullmatch(r"myapp-deploy   3/3     3            3           \d+s", row)


def test_get_pods_name_lists_three_pods(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, _ = run(capsys, applied, "get", "pods", "-o", "name")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("pod/myapp-deploy-") for line in lines)


def test_reapply_is_unchanged_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    before = revision(applied)
    code, out, _ = run(capsys, applied, "apply", "-f", str(SEED))
    assert (code, out) == (0, "deployment.apps/myapp-deploy unchanged\n")
    assert revision(applied) == before


def test_apply_changed_manifest_is_configured(
    capsys: pytest.CaptureFixture[str], applied: str, tmp_path: Path
) -> None:
    changed = tmp_path / "manifests"
    changed.mkdir()
    (changed / "deploy.yaml").write_text(SEED.read_text().replace("replicas: 3", "replicas: 2"))
    code, out, _ = run(capsys, applied, "apply", "-f", str(changed))
    assert (code, out) == (0, "deployment.apps/myapp-deploy configured\n")
    _, out, _ = run(capsys, applied, "get", "deploy", "myapp-deploy")
    assert out.splitlines()[1].split()[1] == "2/2"


def test_get_missing_object_is_not_found(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "get", "deploy", "nope")
    assert (code, out) == (1, "")
    assert err == 'Error from server (NotFound): deployments.apps "nope" not found\n'


def test_unknown_kind(capsys: pytest.CaptureFixture[str], state: str) -> None:
    code, _, err = run(capsys, state, "get", "foo")
    assert (code, err) == (1, 'error: the server doesn\'t have a resource type "foo"\n')


def test_unknown_verb(capsys: pytest.CaptureFixture[str], state: str) -> None:
    code, _, err = run(capsys, state, "frob")
    assert code == 1
    assert err.startswith('error: unknown command "frob" for "cpemu"\n')


def test_get_on_missing_state_is_empty_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], state: str
) -> None:
    code, out, err = run(capsys, state, "get", "deploy")
    assert (code, out, err) == (0, "", "No resources found in default namespace.\n")
    assert not Path(state).parent.exists()


def test_delete_then_get_is_not_found(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, _ = run(capsys, applied, "delete", "deploy", "myapp-deploy")
    assert (code, out) == (0, 'deployment.apps "myapp-deploy" deleted\n')
    code, _, err = run(capsys, applied, "get", "deployment/myapp-deploy")
    assert code == 1
    assert "NotFound" in err
    code, out, err = run(capsys, applied, "get", "rs,pods")
    assert (code, out, err) == (0, "", "No resources found in default namespace.\n")


def test_delete_from_file_and_missing(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, _ = run(capsys, applied, "delete", "-f", str(SEED))
    assert (code, out) == (0, 'deployment.apps "myapp-deploy" deleted\n')
    code, out, err = run(capsys, applied, "delete", "-f", str(SEED))
    assert (code, out) == (1, "")
    assert err == 'Error from server (NotFound): deployments.apps "myapp-deploy" not found\n'


def test_create_twice_is_already_exists(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, err = run(capsys, applied, "create", "-f", str(SEED))
    assert (code, out) == (1, "")
    assert err == (
        f'Error from server (AlreadyExists): error when creating "{SEED}": '
        'deployments.apps "myapp-deploy" already exists\n'
    )


def test_invalid_manifest_names_file_and_field_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], state: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SEED.read_text().replace("replicas: 3", "replicas: three"))
    code, out, err = run(capsys, state, "apply", "-f", str(bad))
    assert (code, out) == (1, "")
    assert err.startswith(f'error: {bad}: Deployment "myapp-deploy": spec.replicas')
    assert not Path(state).exists()


def test_json_list_carries_resource_version(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, _ = run(capsys, applied, "get", "deploy", "-o", "json")
    assert code == 0
    listing = json.loads(out)
    assert listing["kind"] == "List"
    assert listing["apiVersion"] == "v1"
    assert listing["metadata"]["resourceVersion"] == str(head(applied))
    (item,) = listing["items"]
    assert item["metadata"]["name"] == "myapp-deploy"
    code, out, _ = run(capsys, applied, "get", "deploy", "myapp-deploy", "-o", "json")
    assert json.loads(out)["kind"] == "Deployment"


def test_get_is_read_only(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    before = revision(applied)
    data = Path(applied).read_bytes()
    for argv in (("get", "deploy,rs,pods", "-o", "wide"), ("get", "nodes"), ("get", "po", "-A")):
        code, out, _ = run(capsys, applied, *argv)
        assert code == 0
        assert out
    assert revision(applied) == before
    assert Path(applied).read_bytes() == data


def test_namespace_flag(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, _ = run(capsys, applied, "-n", "other", "apply", "-f", str(SEED), "--no-wait")
    assert (code, out) == (0, "deployment.apps/myapp-deploy created\n")
    code, out, err = run(capsys, applied, "get", "deploy", "-n", "nothing")
    assert (code, out, err) == (0, "", "No resources found in nothing namespace.\n")
    code, out, _ = run(capsys, applied, "get", "deploy", "-A")
    assert [line.split()[0] for line in out.splitlines()] == ["NAMESPACE", "default", "other"]


def test_lock_refuses_a_second_writer_but_not_a_reader(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    with StateFile(applied) as holder:
        holder.acquire(create=False)
        code, out, err = run(capsys, applied, "apply", "-f", str(SEED))
        assert (code, out) == (1, "")
        assert err == (
            f"error: the state file {Path(applied).absolute()} is in use by another cpemu process\n"
        )
        # readers take no lock: they read the committed log read-only
        code, out, _ = run(capsys, applied, "get", "deploy", "-o", "name")
        assert (code, out) == (0, "deployment.apps/myapp-deploy\n")
    code, _, _ = run(capsys, applied, "apply", "-f", str(SEED))
    assert code == 0


def test_read_only_verbs_leave_the_state_file_untouched(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    db, wal = Path(applied), Path(f"{applied}-wal")

    def snapshot() -> tuple[bytes, int, bytes]:
        # SQLite may create an empty -wal beside the file to read it; its content must not grow
        return db.read_bytes(), db.stat().st_mtime_ns, wal.read_bytes() if wal.exists() else b""

    before = snapshot()
    pod = run(capsys, applied, "get", "pods", "-o", "name")[1].splitlines()[0]
    for argv in (
        ("get", "deploy,rs,pods", "-o", "wide"),
        ("get", "deploy", "--at", "5", "-o", "yaml"),
        ("describe", "deploy", "myapp-deploy"),
        ("events", "--kind", "Deployment"),
        ("why", *pod.split("/")),
        ("diff", "deploy", "myapp-deploy", "--from", "6", "--to", "9"),
        ("timeline", "deployment/myapp-deploy"),
        ("rollout", "history", "deployment/myapp-deploy"),
        ("replay",),
    ):
        code, _, err = run(capsys, applied, *argv)
        assert code == 0, (argv, err)
    assert snapshot() == before


def test_get_all_lists_kubectls_all_category(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, err = run(capsys, applied, "get", "all")
    assert (code, err) == (0, "")
    blocks = [block.splitlines() for block in out.split("\n\n")]
    # kubectl's order: pods, services, (daemonsets,) deployments, replicasets: empty kinds
    # print nothing; each name carries its kind, as when one `get` prints several kinds
    assert [block[0].split()[0] for block in blocks] == ["NAME"] * 4
    assert [line.split()[0].split("/")[0] for line in blocks[0][1:]] == ["pod"] * 3
    assert blocks[1][1].split()[:3] == ["service/kubernetes", "ClusterIP", "10.96.0.1"]
    assert blocks[2][1].split()[:2] == ["deployment.apps/myapp-deploy", "3/3"]
    assert blocks[3][1].startswith("replicaset.apps/myapp-deploy-")


def test_get_show_labels_and_no_headers(capsys: pytest.CaptureFixture[str], applied: str) -> None:
    code, out, _ = run(capsys, applied, "get", "deploy", "--show-labels")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "LABELS"]
    assert row.split()[-1] == "app=myapp-deploy"
    code, out, _ = run(capsys, applied, "get", "deploy", "--no-headers")
    assert code == 0
    assert re.fullmatch(r"myapp-deploy   3/3   3     3     \d+s\n", out)


def test_a_file_that_is_not_a_state_file_is_refused_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    for argv in (("get", "pods"), ("apply", "-f", str(SEED))):
        code, out, err = run(capsys, str(notes), *argv)
        assert (code, out) == (1, "")
        assert err == f"error: {notes}: not a SQLite database, so not a cpemu log\n"
    assert notes.read_text() == "not a database\n"


def test_nodes_report_a_kubelet_version_and_system_info(
    capsys: pytest.CaptureFixture[str], applied: str
) -> None:
    code, out, _ = run(capsys, applied, "get", "nodes", "-o", "wide")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [row.split()[0] for row in rows] == ["node-1", "node-2", "node-3"]
    assert all(row.split()[4] == "v1.32.0" for row in rows)
    assert all(row.endswith("containerd://1.7.24") for row in rows)
    info = [
        json.loads(run(capsys, applied, "get", "node", f"node-{i}", "-o", "json")[1])["status"][
            "nodeInfo"
        ]
        for i in (1, 2)
    ]
    assert info[0]["machineID"] != info[1]["machineID"]  # one per node
    assert (info[0]["operatingSystem"], info[0]["architecture"]) == ("linux", "amd64")
