"""`cpemu demo`: the seed walkthrough played in-process, its transcript, `--keep`, and the
copy of `examples/` it plays from."""

from __future__ import annotations

import contextlib
import io
import shlex
from pathlib import Path

import pytest

from cp.cli import demo
from cp.cli.demo import Part, Step, play
from cp.cli.demo_manifests import MANIFESTS
from cp.cli.main import main

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


@pytest.fixture(scope="module")
def transcript() -> tuple[int, str, str]:
    """One full `cpemu demo` (about a second), shared by the checks below."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["demo"])
    return code, out.getvalue(), err.getvalue()


def _block(text: str, first: str) -> list[str]:
    """The output lines of the step whose command line is `$ cpemu FIRST` (up to the next
    blank-line-then-`$` or heading)."""
    lines = text.splitlines()
    start = lines.index(f"$ cpemu {first}") + 1
    end = start
    while end < len(lines) and not lines[end].startswith(("$ cpemu ", "== ")):
        end += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return lines[start:end]


def test_demo_exits_zero_with_every_step_as_expected(transcript: tuple[int, str, str]) -> None:
    code, out, err = transcript
    assert (code, err) == (0, "")
    assert "[exit code" not in out
    assert "Traceback" not in out
    # the only unknown command is the seed's own typo, answered with a suggestion
    assert out.count("unknown command") == 1
    assert (
        'error: unknown command "deployment" for "cpemu set"\n\nDid you mean this?\n\timage\n'
        in out
    )
    assert 'error: field "sepc" does not exist\n\nDid you mean this?\n\tspec\n' in out
    headings = [line for line in out.splitlines() if line.startswith("== ")]
    assert headings == [f"== {part.title} ==" for part in demo.PARTS]


def test_demo_prints_commands_as_typed(transcript: tuple[int, str, str]) -> None:
    _, out, _ = transcript
    commands = [line for line in out.splitlines() if line.startswith("$ cpemu ")]
    expected = [f"$ cpemu {shlex.join(s.argv)}" for p in demo.PARTS for s in p.steps]
    assert commands == expected
    assert commands[0] == (
        "$ cpemu --profile examples/profile.yaml apply -f examples/deployment/myapp-deploy-v1.yaml"
    )
    assert "--state" not in out


def test_demo_deployment_part(transcript: tuple[int, str, str]) -> None:
    _, out, _ = transcript
    assert _block(
        out, "--profile examples/profile.yaml apply -f examples/deployment/myapp-deploy-v1.yaml"
    ) == ["deployment.apps/myapp-deploy created"]
    wide = _block(out, "get deploy,rs,pods -o wide")
    assert wide[1].split() == [
        "deployment.apps/myapp-deploy",
        "3/3",
        "3",
        "3",
        "21s",
        "myapp",
        "ghcr.io/c1t1d0s7/go-myweb:v1.0",
        "app=myapp-deploy",
    ]
    assert sum(line.startswith("pod/myapp-deploy-774969dcb-") for line in wide) == 3
    assert _block(out, "rollout status deployment myapp-deploy")[-1] == (
        'deployment "myapp-deploy" successfully rolled out'
    )
    assert [line.split()[:4] for line in _block(out, "get rs")] == [
        ["NAME", "DESIRED", "CURRENT", "READY"],
        ["myapp-deploy-685d7cdb6c", "3", "3", "3"],
        ["myapp-deploy-774969dcb", "0", "0", "0"],
    ]


def test_demo_history_and_undo(transcript: tuple[int, str, str]) -> None:
    _, out, _ = transcript
    assert "\n$ cpemu rollout undo deployment myapp-deploy --to-revision 2\n" in out
    assert _block(out, "rollout undo deployment myapp-deploy --to-revision 2") == [
        "deployment.apps/myapp-deploy rolled back"
    ]
    before, after = out.split("$ cpemu rollout undo", 1)
    head = "deployment.apps/myapp-deploy \nREVISION  CHANGE-CAUSE\n"
    assert (
        head + "1         <none>\n2         <none>\n3         My Golang Web App Version 3\n\n"
    ) in before
    assert (
        head + "1         <none>\n3         My Golang Web App Version 3\n4         <none>\n\n"
    ) in after


def test_demo_statefulset_parts(transcript: tuple[int, str, str]) -> None:
    _, out, _ = transcript
    pods = _block(out, "get pods -l app=myapp-sts -o wide")
    assert [line.split()[:3] for line in pods[1:]] == [
        ["myapp-sts-0", "1/1", "Running"],
        ["myapp-sts-1", "1/1", "Running"],
    ]
    assert _block(out, "delete pod myapp-sts-0") == ['pod "myapp-sts-0" deleted']
    # scaled to 4 and back to 2: two pods, four claims kept, all Bound to nfs-client volumes
    kept = _block(out, "get pods,pvc -l app=myapp-sts-vol")
    assert [line.split()[0] for line in kept if line.startswith("pod/")] == [
        "pod/myapp-sts-vol-0",
        "pod/myapp-sts-vol-1",
    ]
    claims = [line.split() for line in kept if line.startswith("persistentvolumeclaim/")]
    assert [c[0] for c in claims] == [
        f"persistentvolumeclaim/myapp-data-myapp-sts-vol-{i}" for i in range(4)
    ]
    assert all(c[1] == "Bound" and c[5] == "nfs-client" for c in claims)


def test_demo_mysql_part(transcript: tuple[int, str, str]) -> None:
    _, out, _ = transcript
    assert _block(out, "create -f examples/mysql/") == [
        "configmap/mydb-config created",
        "statefulset.apps/mydb created",
        "service/mydb-read created",
        "service/mydb created",
    ]
    assert [line.split()[:3] for line in _block(out, "get pods,pvc -l app=mydb")[:3]] == [
        ["NAME", "READY", "STATUS"],
        ["pod/mydb-0", "2/2", "Running"],
        ["pod/mydb-1", "2/2", "Running"],
    ]
    # the seed's mistake: mydb-read selects app.kubernetes.io/name=mysql, no pod has it
    assert _block(out, "get endpoints mydb-read") == [
        "NAME        ENDPOINTS   AGE",
        "mydb-read   <none>      22s",
    ]
    described = _block(out, "describe service mydb-read")
    assert "Selector:                 app=mydb,app.kubernetes.io/name=mysql" in described
    assert "Endpoints:                <none>" in described
    assert described[-1] == (
        'Warning: no pods match the selector of service "mydb-read" '
        "(app=mydb,app.kubernetes.io/name=mysql)"
    )
    # the seed's typo: mtdb-0.mydb
    assert _block(out, "host mtdb-0.mydb") == ["Host mtdb-0.mydb not found: 3(NXDOMAIN)"]


def test_demo_replay_part(transcript: tuple[int, str, str]) -> None:
    _, out, _ = transcript
    timeline = _block(out, "timeline deployment/myapp-deploy")
    assert [line.split()[0] for line in timeline[:3]] == ["RSv1:", "RSv2:", "RSv3:"]
    assert timeline[0].endswith("myapp-deploy-774969dcb ghcr.io/c1t1d0s7/go-myweb:v1.0")
    why = _block(out, "why pod myapp-sts-0")
    assert any("controller/statefulset create pod/myapp-sts-0" in line for line in why)
    assert any("user update pod/myapp-sts-0" in line for line in why)


def test_manifests_are_the_examples_folder() -> None:
    on_disk = {
        str(path.relative_to(EXAMPLES)): path.read_text(encoding="utf-8")
        for path in EXAMPLES.rglob("*.yaml")
    }
    assert on_disk == dict(MANIFESTS)


SHORT = (
    Part(
        "one",
        "Two steps.",
        (
            Step(("apply", "-f", "examples/deployment/myapp-deploy-v1.yaml", "--no-wait")),
            Step(("get", "deploy", "nope"), expect=0),
        ),
    ),
    Part("two", "Not there.", (Step(("no-such-verb",)),)),
)


def test_keep_leaves_the_state_and_examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "PARTS", SHORT)
    kept = tmp_path / "kept"
    code = main(["demo", "--keep", str(kept)])
    out, err = capsys.readouterr()
    # `get deploy nope` fails (NotFound) and `no-such-verb` too, where 0 is expected: both
    # are flagged, the demo goes on, and exits 1
    assert code == 1
    assert err == "error: 2 step(s) of the demo did not end as expected\n"
    assert (
        "\n$ cpemu get deploy nope\n"
        'Error from server (NotFound): deployments.apps "nope" not found\n'
        "[exit code 1, expected 0]\n"
    ) in out
    assert (
        "\n$ cpemu no-such-verb\n"
        'error: unknown command "no-such-verb" for "cpemu"\n'
        "See 'cpemu --help' for usage.\n"
        "[exit code 1, expected 0]\n"
    ) in out
    assert f"The cluster is kept in {kept / 'state.db'}" in out
    assert (kept / "examples" / "mysql" / "mydb-sts-mysql.yaml").is_file()
    assert main(["--state", str(kept / "state.db"), "get", "deploy", "-o", "name"]) == 0
    assert capsys.readouterr().out == "deployment.apps/myapp-deploy\n"

    # a second run refuses the folder, now not empty
    assert main(["demo", "--keep", str(kept)]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {kept} is not empty: --keep needs a new or empty folder\n"
    )


def test_temporary_folder_is_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "PARTS", SHORT[:1])
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    lines: list[str] = []
    assert play(lines.append) == 1
    assert list(tmp_path.iterdir()) == []
    assert "kept" not in "".join(lines)


def test_replay_verify_reproduces_the_demo_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "kept"
    assert main(["demo", "--keep", str(kept)]) == 0
    state = str(kept / "state.db")
    capsys.readouterr()
    assert main(["--state", state, "replay"]) == 0
    listing = capsys.readouterr().out.splitlines()
    commands = len(listing) - 1
    assert commands >= 10  # every mutating step of the walkthrough
    assert all(line.endswith(("settled", "(--no-wait)")) for line in listing[1:])
    assert main(["--state", state, "replay", "--verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("replay --verify: identical: ")
    assert out.endswith(f" events from {commands} commands\n")
