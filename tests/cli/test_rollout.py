"""`cpemu rollout ...`, in-process on a temporary state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_main import SEED, run

D = "deployment/myapp-deploy"


@pytest.fixture
def rolled(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    """Two revisions: the seed, then `myapp=web:v2` (not yet settled)."""
    state = str(tmp_path / "state.db")
    assert run(capsys, state, "apply", "-f", str(SEED))[0] == 0
    code, _, _ = run(capsys, state, "set", "image", D, "myapp=web:v2", "--no-wait")
    assert code == 0
    return state


def test_status_waits_then_succeeds(capsys: pytest.CaptureFixture[str], rolled: str) -> None:
    code, out, err = run(capsys, rolled, "rollout", "status", D)
    assert (code, err) == (0, "")
    # the set image ran with --no-wait: the controller has not observed it yet; then one line
    # per change the watch sees (maxSurge 1, maxUnavailable 1, minReadySeconds 20)
    waiting = 'Waiting for deployment "myapp-deploy" rollout to finish: '
    assert out.splitlines() == [
        "Waiting for deployment spec update to be observed...",
        f"{waiting}0 out of 3 new replicas have been updated...",
        f"{waiting}2 out of 3 new replicas have been updated...",
        f"{waiting}2 of 3 updated replicas are available...",
        'deployment "myapp-deploy" successfully rolled out',
    ]


def test_status_of_a_stuck_rollout_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("rules:\n- image: 'web:bad'\n  neverReady: true\n")
    state = str(tmp_path / "stuck.db")
    assert run(capsys, state, "--profile", str(profile), "apply", "-f", str(SEED))[0] == 0
    assert run(capsys, state, "set", "image", D, "myapp=web:bad", "--no-wait")[0] == 0
    code, out, err = run(capsys, state, "rollout", "status", D)
    assert code == 1
    assert out.splitlines()[0] == "Waiting for deployment spec update to be observed..."
    assert err.splitlines()[-1] == 'error: deployment "myapp-deploy" exceeded its progress deadline'


def test_status_missing(capsys: pytest.CaptureFixture[str], rolled: str) -> None:
    code, out, err = run(capsys, rolled, "rollout", "status", "deployment/nope")
    assert (code, out) == (1, "")
    assert err == 'Error from server (NotFound): deployments.apps "nope" not found\n'


def test_history_and_revision_detail(capsys: pytest.CaptureFixture[str], rolled: str) -> None:
    run(capsys, rolled, "rollout", "status", D)
    code, out, _ = run(capsys, rolled, "rollout", "history", D)
    assert (code, out) == (
        0,
        "deployment.apps/myapp-deploy \nREVISION  CHANGE-CAUSE\n1         <none>\n"
        "2         <none>\n\n",
    )
    code, out, _ = run(capsys, rolled, "rollout", "history", D, "--revision", "1")
    assert code == 0
    pod_hash = out.split("pod-template-hash=")[1].split("\n")[0]
    # kubectl's printTemplate: DescribePodTemplate through a bare prefix writer (raw tabs)
    assert out == (
        "deployment.apps/myapp-deploy with revision #1\n"
        "Pod Template:\n"
        "  Labels:\tapp=myapp-deploy\n"
        f"\tpod-template-hash={pod_hash}\n"
        "  Containers:\n"
        "   myapp:\n"
        "    Image:\tghcr.io/c1t1d0s7/go-myweb:v1.0\n"
        "    Port:\t8080/TCP\n"
        "    Host Port:\t0/TCP\n"
        "    Environment:\t<none>\n"
        "    Mounts:\t<none>\n"
        "  Volumes:\t<none>\n"
        "  Node-Selectors:\t<none>\n"
        "  Tolerations:\t<none>\n"
        "\n"
    )
    code, _, err = run(capsys, rolled, "rollout", "history", D, "--revision", "9")
    assert (code, err) == (1, "error: unable to find the specified revision\n")


def test_undo_and_bad_revision(capsys: pytest.CaptureFixture[str], rolled: str) -> None:
    code, out, _ = run(capsys, rolled, "rollout", "undo", D)
    assert (code, out) == (0, "deployment.apps/myapp-deploy rolled back\n")
    _, out, _ = run(capsys, rolled, "get", "deploy", "myapp-deploy", "-o", "yaml")
    assert "go-myweb:v1.0" in out
    code, _, err = run(capsys, rolled, "rollout", "undo", D, "--to-revision", "7")
    assert (code, err) == (1, "error: unable to find specified revision 7 in history\n")


def test_pause_resume_restart(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rolled = str(tmp_path / "state.db")
    assert run(capsys, rolled, "apply", "-f", str(SEED))[0] == 0
    assert run(capsys, rolled, "rollout", "pause", D)[:2] == (
        0,
        "deployment.apps/myapp-deploy paused\n",
    )
    code, _, err = run(capsys, rolled, "rollout", "pause", D)
    assert (code, err) == (1, 'error: deployments.apps "myapp-deploy" is already paused\n')
    code, _, err = run(capsys, rolled, "rollout", "restart", D)
    assert code == 1
    assert "can't restart paused deployment" in err
    assert run(capsys, rolled, "rollout", "resume", D)[:2] == (
        0,
        "deployment.apps/myapp-deploy resumed\n",
    )
    code, out, _ = run(capsys, rolled, "rollout", "restart", D)
    assert (code, out) == (0, "deployment.apps/myapp-deploy restarted\n")
    _, out, _ = run(capsys, rolled, "get", "deploy", "myapp-deploy", "-o", "yaml")
    assert "kubectl.kubernetes.io/restartedAt:" in out
    _, out, _ = run(capsys, rolled, "rollout", "history", D)
    assert "2         <none>" in out
