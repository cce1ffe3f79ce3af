"""kubectl's `rollout undo`, `rollout history` and `rollout status` over a FakeClient."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.deployment import (
    DeadlineExceeded,
    NoRolloutHistory,
    PausedRollback,
    RevisionMismatch,
    RevisionNotFound,
    RolloutError,
    format_history,
    history,
    rollout_status,
    undo,
)
from controllers.deployment import util as du
from cp.api.apps import Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet

from .harness import Harness
from .helpers import deployment, name_of, owner_ref, replica_set

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def three_revisions(**kwargs: object) -> Harness:
    d = deployment(2, image="v3", annotations={du.REVISION_ANNOTATION: "3"}, **kwargs)  # type: ignore[arg-type]
    return Harness(
        d,
        replica_set(
            "web-r1", 0, image="v1", revision=1, annotations={du.CHANGE_CAUSE_ANNOTATION: "one"}
        ),
        replica_set(
            "web-r2", 0, image="v2", revision=2, annotations={du.CHANGE_CAUSE_ANNOTATION: "two"}
        ),
        replica_set("web-r3", 2, image="v3", revision=3, available=2),
        _owned_by_another(replica_set("web-other", 0, image="v9", revision=9, owned=False)),
    )


def _owned_by_another(rs: ReplicaSet) -> ReplicaSet:
    refs = (owner_ref(uid="other-uid", name="other"),)
    return replace(rs, metadata=replace(rs.metadata, owner_references=refs))


async def test_history_lists_owned_revisions_with_change_cause() -> None:
    h = three_revisions()
    got = await history(h.client, "web", "default")
    assert [(rev, name_of(rs), cause) for rev, (rs, cause) in got.items()] == [
        (1, "web-r1", "one"),
        (2, "web-r2", "two"),
        (3, "web-r3", ""),
    ]


async def test_undo_to_revision_patches_template_and_annotations() -> None:
    h = three_revisions()
    h.client.clear_actions()
    d, message = await undo(h.client, "web", "default", to_revision=1)
    assert message == "deployment.apps/web rolled back"
    patches = list(h.client.writes())
    assert [(a.verb, a.name) for a in patches] == [("patch", "web")]
    assert d.spec.template.spec.containers[0].image == "v1"
    assert du.POD_TEMPLATE_HASH_LABEL not in d.spec.template.metadata.labels
    assert d.metadata.annotations == {
        du.REVISION_ANNOTATION: "3",
        du.CHANGE_CAUSE_ANNOTATION: "one",
    }


async def test_undo_defaults_to_the_previous_revision() -> None:
    h = three_revisions()
    d, message = await undo(h.client, "web", "default")
    assert message == "deployment.apps/web rolled back"
    assert d.spec.template.spec.containers[0].image == "v2"


async def test_undo_to_the_current_template_is_skipped() -> None:
    h = three_revisions()
    h.client.clear_actions()
    _, message = await undo(h.client, "web", "default", to_revision=3)
    assert message == (
        "deployment.apps/web skipped rollback (current template already matches revision 3)"
    )
    assert h.client.writes() == []


@pytest.mark.parametrize("revision", [7, -1])
async def test_undo_to_an_unknown_revision(revision: int) -> None:
    h = three_revisions()
    with pytest.raises(RevisionNotFound) as info:
        await undo(h.client, "web", "default", to_revision=revision)
    assert str(info.value) == f"unable to find specified revision {revision} in history"
    assert isinstance(info.value, RolloutError)


async def test_undo_without_history() -> None:
    d = deployment(1, annotations={du.REVISION_ANNOTATION: "1"})
    h = Harness(d, replica_set("web-r1", 1, revision=1))
    with pytest.raises(NoRolloutHistory) as info:
        await undo(h.client, "web", "default")
    assert str(info.value) == 'no rollout history found for deployment "web"'


async def test_undo_of_a_paused_deployment_is_refused() -> None:
    h = three_revisions(paused=True)
    with pytest.raises(PausedRollback) as info:
        await undo(h.client, "web", "default", to_revision=1)
    assert str(info.value) == (
        "you cannot rollback a paused deployment; resume it first with "
        "'kubectl rollout resume' and try again"
    )


async def test_undo_then_the_controller_renumbers() -> None:
    # History 1, 2, 3; undo to 2: revisions 1, 3, 4 and revision-history "2" on web-r2.
    h = three_revisions()
    await undo(h.client, "web", "default", to_revision=2)
    h.sync()
    await h.reconcile()
    await h.reconcile()
    got = await history(h.client, "web", "default")
    assert [(rev, name_of(rs)) for rev, (rs, _) in got.items()] == [
        (1, "web-r1"),
        (3, "web-r3"),
        (4, "web-r2"),
    ]
    reused = h.get("ReplicaSet", "web-r2")
    assert isinstance(reused, ReplicaSet)
    assert reused.metadata.annotations[du.REVISION_HISTORY_ANNOTATION] == "2"
    stored = h.get("Deployment", "web")
    assert isinstance(stored, Deployment)
    assert stored.metadata.annotations[du.REVISION_ANNOTATION] == "4"
    assert stored.metadata.annotations[du.CHANGE_CAUSE_ANNOTATION] == "two"


WAIT = 'Waiting for deployment "web" rollout to finish:'


def _status_of(
    replicas: int,
    *,
    generation: int = 1,
    observed: int = 1,
    current: int = 0,
    updated: int = 0,
    available: int = 0,
    reason: str = "",
) -> Deployment:
    conds = (
        (DeploymentCondition(type="Progressing", status="False", reason=reason),) if reason else ()
    )
    status = DeploymentStatus(
        observed_generation=observed,
        replicas=current,
        updated_replicas=updated,
        available_replicas=available,
        conditions=conds,
    )
    return deployment(replicas, generation=generation, status=status)


@pytest.mark.parametrize(
    ("d", "message", "done"),
    [
        (
            _status_of(3, generation=2, observed=1),
            "Waiting for deployment spec update to be observed...\n",
            False,
        ),
        (
            _status_of(3, current=3, updated=1),
            f"{WAIT} 1 out of 3 new replicas have been updated...\n",
            False,
        ),
        (
            _status_of(3, current=4, updated=3),
            f"{WAIT} 1 old replicas are pending termination...\n",
            False,
        ),
        (
            _status_of(3, current=3, updated=3, available=2),
            f"{WAIT} 2 of 3 updated replicas are available...\n",
            False,
        ),
        (
            _status_of(3, current=3, updated=3, available=3),
            'deployment "web" successfully rolled out\n',
            True,
        ),
    ],
)
def test_rollout_status_messages(d: Deployment, message: str, done: bool) -> None:
    assert rollout_status(d) == (message, done)


def test_rollout_status_deadline_exceeded() -> None:
    d = _status_of(3, current=3, updated=1, reason="ProgressDeadlineExceeded")
    with pytest.raises(DeadlineExceeded) as info:
        rollout_status(d)
    assert str(info.value) == 'deployment "web" exceeded its progress deadline'


def test_rollout_status_revision_mismatch() -> None:
    d = _status_of(3, current=3, updated=3, available=3)
    d = replace(d, metadata=replace(d.metadata, annotations={du.REVISION_ANNOTATION: "2"}))
    assert rollout_status(d, revision=2)[1]
    with pytest.raises(RevisionMismatch) as info:
        rollout_status(d, revision=3)
    assert str(info.value) == "desired revision (3) is different from the running revision (2)"


async def test_format_history_as_kubectl_prints_it() -> None:
    h = three_revisions()
    entries = await history(h.client, "web", "default")
    assert format_history("web", entries) == (
        "deployment.apps/web \n"
        "REVISION  CHANGE-CAUSE\n"
        "1         one\n"
        "2         two\n"
        "3         <none>\n"
        "\n"
    )
    assert format_history("web", {}) == "deployment.apps/web \nNo rollout history found.\n"
