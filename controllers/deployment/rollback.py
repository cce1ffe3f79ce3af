"""kubectl's client side of `rollout undo`, `rollout history` and `rollout status`.

Follows `staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollback.go`
(`DeploymentRollbacker.Rollback`, `deploymentRevision`), `history.go`
(`DeploymentHistoryViewer`) and `rollout_status.go` (`DeploymentStatusViewer.Status`).

    deployment, message = await undo(client, "web", "default", to_revision=0)
    print(message)              # "deployment.apps/web rolled back" (or "... skipped rollback")
    for revision, (rs, cause) in (await history(client, "web", "default")).items(): ...
    message, done = rollout_status(deployment)    # kubectl's line, with its trailing newline

Errors (messages exactly kubectl's, without its `error: ` prefix), rooted at `RolloutError`:
    RolloutError
    ├── RevisionNotFound       unable to find specified revision N in history
    ├── NoRolloutHistory       no rollout history found for deployment "x"
    ├── PausedRollback         you cannot rollback a paused deployment; resume it first ...
    ├── RollbackFailed         failed restoring revision N: <api error>
    ├── RevisionMismatch       desired revision (N) is different from the running revision (M)
    └── DeadlineExceeded       deployment "x" exceeded its progress deadline
API errors of the reads (NotFound of the Deployment) propagate unchanged.
"""

from __future__ import annotations

from msgspec import to_builtins

from controllers.deployment import util as du
from cp.api.apps import Deployment, DeploymentStatus, ReplicaSet
from cp.api.errors import ApiError
from cp.api.selectors import Selector
from cp.client import Client

__all__ = [
    "DeadlineExceeded",
    "NoRolloutHistory",
    "PausedRollback",
    "RevisionMismatch",
    "RevisionNotFound",
    "RollbackFailed",
    "RolloutError",
    "format_history",
    "history",
    "owned_replica_sets",
    "rollout_status",
    "undo",
]

ROLLBACK_SUCCESS = "rolled back"
ROLLBACK_SKIPPED = "skipped rollback"


class RolloutError(Exception):
    """Root of the rollout errors; `str(err)` is kubectl's message."""


class RevisionNotFound(RolloutError):
    def __init__(self, revision: int) -> None:
        super().__init__(f"unable to find specified revision {revision} in history")
        self.revision = revision


class NoRolloutHistory(RolloutError):
    def __init__(self, name: str) -> None:
        super().__init__(f'no rollout history found for deployment "{name}"')


class PausedRollback(RolloutError):
    def __init__(self) -> None:
        super().__init__(
            "you cannot rollback a paused deployment; resume it first with "
            "'kubectl rollout resume' and try again"
        )


class RollbackFailed(RolloutError):
    def __init__(self, revision: int, err: ApiError) -> None:
        super().__init__(f"failed restoring revision {revision}: {err}")
        self.cause = err


class RevisionMismatch(RolloutError):
    def __init__(self, desired: int, running: int) -> None:
        super().__init__(
            f"desired revision ({desired}) is different from the running revision ({running})"
        )


class DeadlineExceeded(RolloutError):
    def __init__(self, name: str) -> None:
        super().__init__(f'deployment "{name}" exceeded its progress deadline')


async def owned_replica_sets(client: Client, d: Deployment) -> list[ReplicaSet]:
    """kubectl's `GetAllReplicaSets`: the RSs matching the selector that `d` controls."""
    selector = Selector.from_label_selector(d.spec.selector)
    listed = await client.list("ReplicaSet", d.metadata.namespace, label_selector=str(selector))
    owned: list[ReplicaSet] = []
    for rs in listed.items:
        if not isinstance(rs, ReplicaSet):
            continue
        ref = next((r for r in rs.metadata.owner_references if r.controller), None)
        if ref is not None and ref.uid == d.metadata.uid:
            owned.append(rs)
    return owned


def _parsed_revision(rs: ReplicaSet) -> int | None:
    """`deploymentutil.Revision`: None when the annotation is missing or not a number."""
    text = rs.metadata.annotations.get(du.REVISION_ANNOTATION, "")
    return int(text) if text.isdigit() else None


def _target(d: Deployment, rss: list[ReplicaSet], to_revision: int) -> ReplicaSet:
    """kubectl's `deploymentRevision`: revision N, or the second newest for N == 0."""
    if to_revision < 0:
        raise RevisionNotFound(to_revision)
    ranked: list[tuple[int, ReplicaSet]] = []
    for rs in rss:
        rev = _parsed_revision(rs)
        if rev is None:
            continue
        if to_revision > 0 and rev == to_revision:
            return rs
        ranked.append((rev, rs))
    if to_revision > 0:
        raise RevisionNotFound(to_revision)
    latest: tuple[int, ReplicaSet] | None = None
    previous: tuple[int, ReplicaSet] | None = None
    for rev, rs in ranked:  # as kubectl's loop: ties keep the first seen
        if latest is None or latest[0] < rev:
            previous, latest = latest, (rev, rs)
        elif previous is None or previous[0] < rev:
            previous = (rev, rs)
    if previous is None:
        raise NoRolloutHistory(d.metadata.name)
    return previous[1]


async def undo(
    client: Client, name: str, namespace: str, to_revision: int = 0
) -> tuple[Deployment, str]:
    """`kubectl rollout undo deployment/NAME [--to-revision=N]`: (Deployment, message).

    Copies the target RS's template (minus pod-template-hash) into the Deployment with a JSON
    patch that also replaces the annotations: the Deployment's own skip-list annotations plus
    the RS's others (its change-cause). The message is kubectl's output line (no newline):
    `deployment.apps/NAME rolled back`, or `deployment.apps/NAME skipped rollback (current
    template already matches revision N)` with N as given (0 for the default, as kubectl)."""
    if to_revision < 0:
        raise RevisionNotFound(to_revision)
    got = await client.get("Deployment", name, namespace)
    assert isinstance(got, Deployment)
    d = got
    target = _target(d, await owned_replica_sets(client, d), to_revision)
    if d.spec.paused:
        raise PausedRollback()
    if du.equal_ignore_hash(target.spec.template, d.spec.template):
        skipped = f"{ROLLBACK_SKIPPED} (current template already matches revision {to_revision})"
        return d, f"deployment.apps/{name} {skipped}"
    template = target.spec.template
    labels = {k: v for k, v in template.metadata.labels.items() if k != du.POD_TEMPLATE_HASH_LABEL}
    template_json = to_builtins(template)
    template_json.setdefault("metadata", {})["labels"] = labels
    if not labels:
        del template_json["metadata"]["labels"]
    annotations = {
        k: v for k, v in d.metadata.annotations.items() if k in du.ANNOTATIONS_TO_SKIP
    } | {k: v for k, v in target.metadata.annotations.items() if k not in du.ANNOTATIONS_TO_SKIP}
    ops: list[object] = [
        {"op": "replace", "path": "/spec/template", "value": template_json},
        {
            "op": "replace" if d.metadata.annotations else "add",
            "path": "/metadata/annotations",
            "value": annotations,
        },
    ]
    try:
        patched = await client.patch("Deployment", name, ops, "json", namespace)
    except ApiError as err:
        raise RollbackFailed(to_revision, err) from err
    assert isinstance(patched, Deployment)
    return patched, f"deployment.apps/{name} {ROLLBACK_SUCCESS}"


async def history(client: Client, name: str, namespace: str) -> dict[int, tuple[ReplicaSet, str]]:
    """`kubectl rollout history`: revision -> (ReplicaSet, change-cause or ""), by revision.
    RSs without a numeric revision annotation are left out, as kubectl does."""
    got = await client.get("Deployment", name, namespace)
    assert isinstance(got, Deployment)
    entries: dict[int, tuple[ReplicaSet, str]] = {}
    for rs in await owned_replica_sets(client, got):
        rev = _parsed_revision(rs)
        if rev is not None:
            entries[rev] = (rs, rs.metadata.annotations.get(du.CHANGE_CAUSE_ANNOTATION, ""))
    return dict(sorted(entries.items()))


def format_history(name: str, entries: dict[int, tuple[ReplicaSet, str]]) -> str:
    """`kubectl rollout history deployment/NAME` output, byte for byte: the name line (with
    its trailing space), the tabwriter table (padding 2, `<none>` for no change-cause) and
    the final empty line; `No rollout history found.` without revisions."""
    if not entries:
        return f"deployment.apps/{name} \nNo rollout history found.\n"
    rows = [("REVISION", "CHANGE-CAUSE")]
    rows += [(str(rev), cause or "<none>") for rev, (_, cause) in sorted(entries.items())]
    width = max(len(rev) for rev, _ in rows) + 2
    table = "".join(f"{rev.ljust(width)}{cause}\n" for rev, cause in rows)
    return f"deployment.apps/{name} \n{table}\n"


def rollout_status(d: Deployment, revision: int = 0) -> tuple[str, bool]:
    """kubectl's `DeploymentStatusViewer.Status`: (message, done); raises `RevisionMismatch`
    (with `revision` > 0) or `DeadlineExceeded`. Messages end with kubectl's newline."""
    name = d.metadata.name
    if revision > 0:
        running = du.revision(d.metadata.annotations)
        if running != revision:
            raise RevisionMismatch(revision, running)
    status = d.status or DeploymentStatus()
    if d.metadata.generation > status.observed_generation:
        return "Waiting for deployment spec update to be observed...\n", False
    cond = du.get_condition(status, du.PROGRESSING)
    if cond is not None and cond.reason == du.TIMED_OUT_REASON:
        raise DeadlineExceeded(name)
    prefix = f'Waiting for deployment "{name}" rollout to finish:'
    if d.spec.replicas is not None and status.updated_replicas < d.spec.replicas:
        return (
            f"{prefix} {status.updated_replicas} out of {d.spec.replicas} new replicas "
            "have been updated...\n",
            False,
        )
    if status.replicas > status.updated_replicas:
        old = status.replicas - status.updated_replicas
        return f"{prefix} {old} old replicas are pending termination...\n", False
    if status.available_replicas < status.updated_replicas:
        return (
            f"{prefix} {status.available_replicas} of {status.updated_replicas} updated "
            "replicas are available...\n",
            False,
        )
    return f'deployment "{name}" successfully rolled out\n', True
