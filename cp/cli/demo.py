"""`cpemu demo [--keep DIR]`: the seed walkthrough, played end to end as a tutorial.

The walkthrough (`/work/shared/seed/README.md`: a Deployment rolled v1 -> v2 -> v3 and back, a
StatefulSet with a headless Service, one with a claim per pod, replicated MySQL) is a list of
`Part`s, each a heading, a line of explanation and its `Step`s. A step is one `cpemu` command
as a user types it (paths relative to the folder holding `examples/`); it runs in-process
through `cp.cli.main.main`, in the demo's folder, on the state file `state.db` there
(`--state` is added, never shown), and its stdout and stderr are printed under `$ cpemu ...`
as a terminal would show them. Exit codes are kubectl's (and `host`'s: 1 for NXDOMAIN).

The manifests come from `cp.cli.demo_manifests` (a copy of the repository's `examples/`),
written into the demo's folder first, so the demo needs no checkout. The folder is a
temporary one, removed at the end; `--keep DIR` plays in DIR instead and leaves the state
file (`DIR/state.db`) and `DIR/examples/` there to carry on by hand.

A step that ends with another exit code than it expects is flagged under its output; the
demo carries on, and exits 1 at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

import anyio.to_thread

from cp.cli.common import CliError, Runner
from cp.cli.demo_manifests import MANIFESTS

__all__ = ["PARTS", "Part", "Step", "add_parsers", "demo", "play"]

#: The folder (under the demo's own) the manifests are written into, as in the repository.
EXAMPLES: Final = "examples"
_STATE: Final = "state.db"
_DEPLOY_V = "examples/deployment/myapp-deploy-v{}.yaml"
_STS = "examples/statefulset/"


@dataclass(frozen=True, slots=True)
class Step:
    """One command, `argv` as the user types it after `cpemu`, and the exit code it ends with
    (`host` of an unknown name exits 1, as the real `host` does)."""

    argv: tuple[str, ...]
    expect: int = 0


@dataclass(frozen=True, slots=True)
class Part:
    """A heading, what to look at (one or two lines), and the commands."""

    title: str
    text: str
    steps: tuple[Step, ...]


def _s(line: str, expect: int = 0) -> Step:
    return Step(tuple(line.split()), expect)


PARTS: Final = (
    Part(
        "1. A Deployment: myapp-deploy v1",
        "Three replicas of go-myweb:v1.0 (minReadySeconds 20, maxSurge 1, maxUnavailable 1):\n"
        "Deployment -> ReplicaSet -> Pods. Each command settles the cluster on the virtual\n"
        "clock, so the 20 seconds take no wall time. The profile serves the nfs-client class.",
        (
            _s(f"--profile examples/profile.yaml apply -f {_DEPLOY_V.format(1)}"),
            _s("get deploy,rs,pods -o wide"),
        ),
    ),
    Part(
        "2. Rolling update to v2",
        "A new pod template (image v2.0) makes a new ReplicaSet; pods are replaced step by\n"
        "step, never edited. --no-wait returns at once; rollout status waits, as kubectl does.",
        (
            _s(f"apply -f {_DEPLOY_V.format(2)} --no-wait"),
            _s("rollout status deployment myapp-deploy"),
            _s("get rs"),
        ),
    ),
    Part(
        "3. v3 with a change-cause, history, and undo",
        "The kubernetes.io/change-cause annotation shows in the history; undo to revision 2\n"
        "reuses the v2 ReplicaSet, which becomes revision 4.",
        (
            _s(f"apply -f {_DEPLOY_V.format(3)}"),
            _s("rollout history deployment myapp-deploy"),
            _s("rollout undo deployment myapp-deploy --to-revision 2"),
            _s("rollout history deployment myapp-deploy"),
        ),
    ),
    Part(
        "4. The seed's typos",
        "The walkthrough mistypes a few commands (`set deployment`, `deploy.sepc`); cpemu\n"
        "answers in kubectl's words, with a suggestion, and writes nothing.",
        (
            _s("set deployment myapp-deploy myapp=ghcr.io/c1t1d0s7/go-myweb:v2.0", 1),
            _s("explain deploy.sepc", 1),
            _s("explain deploy.spec.strategy"),
        ),
    ),
    Part(
        "5. A StatefulSet and its headless Service",
        "Pods named by ordinal, created in order; DNS (as `host` inside a pod of the namespace)\n"
        "answers the Service with every pod and each pod by name. A deleted pod comes back\n"
        "with the same name.",
        (
            _s(f"create -f {_STS}myapp-sts.yaml -f {_STS}myapp-svc-headless.yaml"),
            _s("get sts,svc,ep"),
            _s("get sts,pods -o wide"),
            _s("host myapp-svc-headless"),
            _s("host myapp-sts-0.myapp-svc-headless"),
            _s("delete pod myapp-sts-0"),
            _s("get pods -l app=myapp-sts -o wide"),
        ),
    ),
    Part(
        "6. A claim per pod",
        "volumeClaimTemplates give each pod its own PVC, provisioned into its own PV by the\n"
        "nfs-client class. Scaling down keeps the claims; scaling up again re-attaches them.",
        (
            _s(f"create -f {_STS}storageclass-nfs-client.yaml -f {_STS}myapp-sts-vol.yaml"),
            _s("get pvc,pv"),
            _s("scale sts myapp-sts-vol --replicas 4"),
            _s("scale sts myapp-sts-vol --replicas 2"),
            _s("get pods,pvc -l app=myapp-sts-vol"),
        ),
    ),
    Part(
        "7. Replicated MySQL",
        "Init containers run in order before each pod starts (the emulator runs no MySQL, only\n"
        "the pod lifecycle). The seed's mistakes show: mydb-read selects\n"
        "app.kubernetes.io/name=mysql, which no pod carries, and mtdb-0.mydb is a typo.",
        (
            _s("create -f examples/mysql/"),
            _s("get svc"),
            _s("get pods,pvc -l app=mydb"),
            _s("get endpoints mydb-read"),
            _s("describe service mydb-read"),
            _s("host mydb"),
            _s("host mydb-read"),
            _s("host mtdb-0.mydb", expect=1),
        ),
    ),
    Part(
        "8. Replay: what happened, and why",
        "Every write is in the log with who made it and what caused it: the replica counts of\n"
        "each ReplicaSet over the rollouts, and the chain that recreated myapp-sts-0.",
        (
            _s("timeline deployment/myapp-deploy"),
            _s("why pod myapp-sts-0"),
        ),
    ),
)


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    """The `demo` subcommand."""
    text = "play the seed walkthrough (Deployments, StatefulSets) on a throwaway cluster"
    sub = verbs.add_parser("demo", help=text, description=text)
    sub.add_argument(
        "--keep",
        default=None,
        metavar="DIR",
        help="play in DIR (a new or empty folder) and keep its state.db and examples/",
    )
    sub.set_defaults(handler=demo)


async def demo(run: Runner) -> None:
    """The `demo` verb: `play` in a worker thread (each step runs its own event loop)."""
    failed = await anyio.to_thread.run_sync(partial(play, run.out, keep=run.args.keep))
    if failed:
        run.error(f"error: {failed} step(s) of the demo did not end as expected")


def play(out: Callable[[str], None], *, keep: str | None = None) -> int:
    """Play `PARTS`, writing the transcript with `out`; the number of steps that went wrong."""
    if keep is None:
        folder = Path(tempfile.mkdtemp(prefix="cpemu-demo-"))
    else:
        folder = Path(keep).expanduser().absolute()
        if folder.exists() and any(folder.iterdir()):
            raise CliError(f"{folder} is not empty: --keep needs a new or empty folder")
        folder.mkdir(parents=True, exist_ok=True)
    try:
        for path, text in MANIFESTS.items():
            target = folder / EXAMPLES / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return _play(out, folder, kept=keep is not None)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _play(out: Callable[[str], None], folder: Path, *, kept: bool) -> int:
    out(
        "The seed walkthrough on an emulated cluster: each command runs as you would type it,\n"
        "from a folder holding examples/ (the repository has one).\n"
    )
    failed = 0
    for part in PARTS:
        out(f"\n== {part.title} ==\n{part.text}\n")
        for step in part.steps:
            out(f"\n$ cpemu {shlex.join(step.argv)}\n")
            code, text = _run(step.argv, folder)
            out(text)
            if code != step.expect:
                failed += 1
                out(f"[exit code {code}, expected {step.expect}]\n")
    if kept:
        out(
            f"\nThe cluster is kept in {folder / _STATE}; carry on from there, e.g.:\n"
            f"  cd {folder} && cpemu --state {_STATE} get pods\n"
        )
    return failed


def _run(argv: Sequence[str], folder: Path) -> tuple[int, str]:
    """Run `cpemu --state state.db ARGV` in-process in `folder` (so the command the log
    records is the one shown); its exit code and what it wrote (stdout, then stderr)."""
    from cp.cli.main import main  # here: cp.cli.main imports this module

    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.chdir(folder),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        code = main(["--state", _STATE, *argv])
    return code, stdout.getvalue() + stderr.getvalue()
