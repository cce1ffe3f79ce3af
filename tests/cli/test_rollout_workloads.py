"""`cpemu rollout ...` for StatefulSets and DaemonSets, in-process on a temporary state file
(kubectl 1.32's `polymorphichelpers` messages, compared exactly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from msgspec.structs import replace

from cp.api.apps import (
    RollingUpdateStatefulSetStrategy,
    StatefulSet,
    StatefulSetSpec,
    StatefulSetStatus,
    StatefulSetUpdateStrategy,
)
from cp.api.core_pod import PodSpec, PodTemplateSpec
from cp.api.meta import LabelSelector, ObjectMeta
from cp.cli.rollout_workloads import statefulset_status
from tests.cli.test_main import run

STS_YAML = Path(__file__).parent.parent.parent / "examples" / "statefulset" / "myapp-sts.yaml"
STS = "sts/myapp-sts"
DS = "daemonset/myapp-ds"
OLD = "ghcr.io/c1t1d0s7/go-myweb:alpine"
DS_YAML = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: myapp-ds
spec:
  selector:
    matchLabels:
      app: myapp-ds
  template:
    metadata:
      labels:
        app: myapp-ds
    spec:
      containers:
      - name: myapp
        image: ghcr.io/c1t1d0s7/go-myweb:v1.0
"""


def _images(capsys: pytest.CaptureFixture[str], state: str, selector: str) -> list[str]:
    code, out, _ = run(capsys, state, "get", "pods", "-l", selector, "-o", "json")
    assert code == 0
    return [p["spec"]["containers"][0]["image"] for p in json.loads(out)["items"]]


@pytest.fixture
def sts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    """The seed StatefulSet (2 replicas), then `myapp=web:v2` (not yet settled)."""
    state = str(tmp_path / "sts.db")
    assert run(capsys, state, "apply", "-f", str(STS_YAML))[0] == 0
    code, out, _ = run(capsys, state, "set", "image", STS, "myapp=web:v2", "--no-wait")
    assert (code, out) == (0, "statefulset.apps/myapp-sts image updated\n")
    return state


@pytest.fixture
def ds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    """A DaemonSet on the three nodes, then `myapp=web:v2` (not yet settled)."""
    manifest = tmp_path / "ds.yaml"
    manifest.write_text(DS_YAML)
    state = str(tmp_path / "ds.db")
    assert run(capsys, state, "apply", "-f", str(manifest))[0] == 0
    assert run(capsys, state, "set", "image", DS, "myapp=web:v2", "--no-wait")[0] == 0
    return state


def test_sts_status_after_set_image(capsys: pytest.CaptureFixture[str], sts: str) -> None:
    code, out, err = run(capsys, sts, "rollout", "status", STS)
    assert (code, err) == (0, "")
    # defaulted RollingUpdate has partition 0: kubectl's partitioned messages; pods are
    # replaced from the highest ordinal down, each waited for before the next
    assert out.splitlines() == [
        "Waiting for statefulset spec update to be observed...",
        "Waiting for partitioned roll out to finish: 0 out of 2 new pods have been updated...",
        "Waiting for 1 pods to be ready...",
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
        "Waiting for 1 pods to be ready...",
        "partitioned roll out complete: 2 new pods have been updated...",
    ]
    assert _images(capsys, sts, "app=myapp-sts") == ["web:v2", "web:v2"]
    # done already: the one line
    assert run(capsys, sts, "rollout", "status", STS)[:2] == (
        0,
        "partitioned roll out complete: 2 new pods have been updated...\n",
    )


def test_sts_status_partitioned(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = str(tmp_path / "part.db")
    assert run(capsys, state, "apply", "-f", str(STS_YAML))[0] == 0
    body = '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}'
    assert run(capsys, state, "patch", STS, "-p", body)[0] == 0
    assert run(capsys, state, "set", "image", STS, "myapp=web:v2", "--no-wait")[0] == 0
    code, out, _ = run(capsys, state, "rollout", "status", STS)
    assert code == 0
    assert out.splitlines()[0] == "Waiting for statefulset spec update to be observed..."
    partitioned = (
        "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated..."
    )
    assert partitioned in out.splitlines()
    assert out.splitlines()[-1] == "partitioned roll out complete: 1 new pods have been updated..."
    assert sorted(_images(capsys, state, "app=myapp-sts")) == [OLD, "web:v2"]


def test_sts_status_without_rolling_update_block() -> None:
    """The branch after the partition one (a RollingUpdate without `rollingUpdate`)."""

    def sts(current: str, update: str) -> StatefulSet:
        return StatefulSet(
            metadata=ObjectMeta(name="web", generation=2),
            spec=StatefulSetSpec(
                replicas=3,
                selector=LabelSelector(match_labels={"app": "web"}),
                template=PodTemplateSpec(spec=PodSpec(containers=())),
                update_strategy=StatefulSetUpdateStrategy(type="RollingUpdate"),
            ),
            status=StatefulSetStatus(
                observed_generation=2,
                replicas=3,
                ready_replicas=3,
                current_replicas=3,
                updated_replicas=1,
                current_revision=current,
                update_revision=update,
            ),
        )

    assert statefulset_status(sts("web-a", "web-b")) == (
        "waiting for statefulset rolling update to complete 1 pods at revision web-b...\n",
        False,
    )
    assert statefulset_status(sts("web-b", "web-b")) == (
        "statefulset rolling update complete 3 pods at revision web-b...\n",
        True,
    )
    partitioned = sts("web-b", "web-b")
    strategy = StatefulSetUpdateStrategy(
        type="RollingUpdate", rolling_update=RollingUpdateStatefulSetStrategy(partition=1)
    )
    partitioned = replace(partitioned, spec=replace(partitioned.spec, update_strategy=strategy))
    assert statefulset_status(partitioned) == (
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...\n",
        False,
    )


def test_sts_history_and_revision_detail(capsys: pytest.CaptureFixture[str], sts: str) -> None:
    run(capsys, sts, "rollout", "status", STS)
    code, out, _ = run(capsys, sts, "rollout", "history", STS)
    assert (code, out) == (0, "statefulset.apps/myapp-sts \nREVISION\n1\n2\n\n")
    code, out, _ = run(capsys, sts, "rollout", "history", STS, "--revision", "1")
    assert code == 0
    # printTemplate of the revision's template: DescribePodTemplate, bare prefix writer
    assert out == (
        "statefulset.apps/myapp-sts with revision #1\n"
        "Pod Template:\n"
        "  Labels:\tapp=myapp-sts\n"
        "  Containers:\n"
        "   myapp:\n"
        f"    Image:\t{OLD}\n"
        "    Port:\t8080/TCP\n"
        "    Host Port:\t0/TCP\n"
        "    Environment:\t<none>\n"
        "    Mounts:\t<none>\n"
        "  Volumes:\t<none>\n"
        "  Node-Selectors:\t<none>\n"
        "  Tolerations:\t<none>\n"
        "\n"
    )
    code, out, err = run(capsys, sts, "rollout", "history", STS, "--revision", "9")
    assert (code, out, err) == (1, "", "error: unable to find the specified revision\n")


def test_sts_undo_converges_to_old_image(capsys: pytest.CaptureFixture[str], sts: str) -> None:
    code, out, err = run(capsys, sts, "rollout", "undo", STS)
    assert (code, out, err) == (0, "statefulset.apps/myapp-sts rolled back\n", "")
    _, out, _ = run(capsys, sts, "get", "sts", "myapp-sts", "-o", "json")
    assert json.loads(out)["spec"]["template"]["spec"]["containers"][0]["image"] == OLD
    assert _images(capsys, sts, "app=myapp-sts") == [OLD, OLD]
    # revision 1 is renumbered 3, as upstream's getStatefulSetRevisions does
    assert run(capsys, sts, "rollout", "history", STS)[1] == (
        "statefulset.apps/myapp-sts \nREVISION\n2\n3\n\n"
    )
    code, out, err = run(capsys, sts, "rollout", "undo", STS, "--to-revision", "3")
    assert (code, out, err) == (
        0,
        "statefulset.apps/myapp-sts skipped rollback (current template already matches "
        "revision 3)\n",
        "",
    )
    code, out, err = run(capsys, sts, "rollout", "undo", STS, "--to-revision", "9")
    assert (code, out, err) == (1, "", "error: unable to find specified revision 9 in history\n")


def test_sts_undo_without_history(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = str(tmp_path / "one.db")
    assert run(capsys, state, "apply", "-f", str(STS_YAML))[0] == 0
    code, out, err = run(capsys, state, "rollout", "undo", STS)
    assert (code, out, err) == (1, "", "error: no last revision to roll back to\n")


def test_sts_restart_pause_resume(capsys: pytest.CaptureFixture[str], sts: str) -> None:
    code, out, err = run(capsys, sts, "rollout", "restart", STS)
    assert (code, out, err) == (0, "statefulset.apps/myapp-sts restarted\n", "")
    _, out, _ = run(capsys, sts, "get", "sts", "myapp-sts", "-o", "json")
    annotations = json.loads(out)["spec"]["template"]["metadata"]["annotations"]
    assert list(annotations) == ["kubectl.kubernetes.io/restartedAt"]
    assert annotations["kubectl.kubernetes.io/restartedAt"].endswith("Z")
    code, out, err = run(capsys, sts, "rollout", "pause", STS)
    assert (code, out, err) == (
        1,
        "",
        'error: statefulsets.apps "myapp-sts" pausing is not supported\n',
    )
    code, out, err = run(capsys, sts, "rollout", "resume", STS)
    assert (code, err) == (1, 'error: statefulsets.apps "myapp-sts" resuming is not supported\n')
    code, out, err = run(capsys, sts, "rollout", "pause", "sts/nope")
    assert (code, err) == (1, 'Error from server (NotFound): statefulsets.apps "nope" not found\n')


def test_sts_on_delete_status_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = str(tmp_path / "ondelete.db")
    assert run(capsys, state, "apply", "-f", str(STS_YAML))[0] == 0
    body = '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}'
    assert run(capsys, state, "patch", STS, "-p", body)[0] == 0
    code, out, err = run(capsys, state, "rollout", "status", STS)
    assert (code, out, err) == (
        1,
        "",
        "error: rollout status is only available for RollingUpdate strategy type\n",
    )


def test_ds_status_history_undo(capsys: pytest.CaptureFixture[str], ds: str) -> None:
    code, out, err = run(capsys, ds, "rollout", "status", DS)
    assert (code, err) == (0, "")
    waiting = 'Waiting for daemon set "myapp-ds" rollout to finish: '
    assert out.splitlines() == [
        "Waiting for daemon set spec update to be observed...",
        f"{waiting}0 out of 3 new pods have been updated...",
        f"{waiting}1 out of 3 new pods have been updated...",
        f"{waiting}2 out of 3 new pods have been updated...",
        f"{waiting}2 of 3 updated pods are available...",
        'daemon set "myapp-ds" successfully rolled out',
    ]
    code, out, _ = run(capsys, ds, "rollout", "history", DS)
    assert (code, out) == (
        0,
        "daemonset.apps/myapp-ds \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n",
    )
    code, out, _ = run(capsys, ds, "rollout", "history", DS, "--revision", "2")
    assert code == 0
    assert out.startswith("daemonset.apps/myapp-ds with revision #2\nPod Template:\n")
    assert "    Image:\tweb:v2\n" in out
    code, out, err = run(capsys, ds, "rollout", "undo", DS, "--to-revision", "1")
    assert (code, out, err) == (0, "daemonset.apps/myapp-ds rolled back\n", "")
    assert _images(capsys, ds, "app=myapp-ds") == ["ghcr.io/c1t1d0s7/go-myweb:v1.0"] * 3
    code, out, err = run(capsys, ds, "rollout", "undo", DS, "--to-revision", "9")
    assert (code, err) == (1, "error: unable to find specified revision 9 in history\n")


def test_ds_on_delete_and_pause(capsys: pytest.CaptureFixture[str], ds: str) -> None:
    body = '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}'
    assert run(capsys, ds, "patch", DS, "-p", body)[0] == 0
    code, out, err = run(capsys, ds, "rollout", "status", DS)
    assert (code, out, err) == (
        1,
        "",
        "error: rollout status is only available for RollingUpdate strategy type\n",
    )
    code, _, err = run(capsys, ds, "rollout", "pause", DS)
    assert (code, err) == (1, 'error: daemonsets.apps "myapp-ds" pausing is not supported\n')
    code, out, _ = run(capsys, ds, "rollout", "restart", DS)
    assert (code, out) == (0, "daemonset.apps/myapp-ds restarted\n")
