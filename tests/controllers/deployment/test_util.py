"""Helpers on API objects against upstream's tables (`deployment_util_test.go`)."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.deployment import util as du
from cp.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentSpec,
    DeploymentStatus,
    DeploymentStrategy,
    RollingUpdateDeployment,
)
from cp.api.core_pod import PodTemplateSpec
from cp.api.meta import LabelSelector, ObjectMeta

from .helpers import deployment, replica_set, template


def _with(replicas: int, max_unavailable: int | str, max_surge: int | str = 1) -> Deployment:
    return deployment(replicas, max_surge=max_surge, max_unavailable=max_unavailable)


def _recreate(replicas: int = 10) -> Deployment:
    return deployment(replicas, recreate=True)


@pytest.mark.parametrize(
    ("d", "expected"),
    [  # TestMaxUnavailable
        (_with(10, 5), 5),
        (_with(10, 10), 10),
        (_with(5, 10), 5),
        (_with(0, 10), 0),
        (_recreate(), 0),
        (_with(10, "50%"), 5),
        (_with(10, "100%"), 10),
        (_with(5, "100%"), 5),
    ],
)
def test_max_unavailable(d: Deployment, expected: int) -> None:
    assert du.max_unavailable(d) == expected


@pytest.mark.parametrize(
    ("d", "expected"),
    [  # TestMinAvailable
        (_with(10, 5), 5),
        (_with(10, 10), 0),
        (_with(5, 10), 0),
        (_with(0, 10), 0),
        (_recreate(), 0),
        (_with(10, "60%"), 4),
        (_with(10, "100%"), 0),
        (_with(5, "100%"), 0),
    ],
)
def test_min_available(d: Deployment, expected: int) -> None:
    assert du.min_available(d) == expected


def test_max_surge_is_not_clamped_and_zero_for_recreate() -> None:
    assert du.max_surge(deployment(2, max_surge=5, max_unavailable=0)) == 5
    assert du.max_surge(_recreate()) == 0


def test_new_rs_new_replicas_recreate_goes_to_replicas() -> None:
    # TestNewRSNewReplicas "recreate - to depReplicas"
    d = deployment(3, recreate=True)
    new = replica_set("web-new", 1)
    assert du.new_rs_new_replicas(d, [replica_set("web-other", 5), new], new) == 3


def _status(current: int, updated: int, ready: int, available: int) -> DeploymentStatus:
    return DeploymentStatus(
        replicas=current,
        updated_replicas=updated,
        ready_replicas=ready,
        available_replicas=available,
    )


@pytest.mark.parametrize(
    ("desired", "current", "updated", "available", "max_unavailable", "max_surge", "expected"),
    [  # TestDeploymentComplete
        (5, 5, 5, 4, 1, 0, False),
        (5, 5, 5, 3, 1, 0, False),
        (5, 5, 5, 5, 0, 0, True),
        (5, 5, 4, 5, 0, 0, False),
        (1, 2, 1, 1, 0, 1, False),
        (1, 1, 1, 0, 1, 1, False),
    ],
)
def test_deployment_complete(
    desired: int,
    current: int,
    updated: int,
    available: int,
    max_unavailable: int,
    max_surge: int,
    expected: bool,
) -> None:
    d = deployment(desired, max_surge=max_surge, max_unavailable=max_unavailable, generation=0)
    status = _status(current, updated, 0, available)
    assert du.deployment_complete(d, status) is expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [  # TestDeploymentProgressing
        ((10, 4, 4, 4), (10, 6, 4, 4), True),
        ((10, 4, 4, 4), (10, 4, 4, 4), False),
        ((10, 4, 6, 6), (8, 4, 6, 6), True),
        ((10, 7, 3, 3), (10, 6, 3, 3), False),
        ((10, 4, 7, 7), (8, 8, 5, 5), True),
        ((10, 10, 9, 8), (10, 10, 10, 8), True),
        ((10, 10, 10, 9), (10, 10, 10, 10), True),
    ],
)
def test_deployment_progressing(
    old: tuple[int, int, int, int], new: tuple[int, int, int, int], expected: bool
) -> None:
    d = deployment(10, status=_status(*old))
    assert du.deployment_progressing(d, _status(*new)) is expected


T0 = 1451606400.0  # 2016-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("deadline", "reason", "updated_at", "now", "expected"),
    [  # TestDeploymentTimedOut
        (None, "", T0 + 69, T0 + 80, False),
        (2**31 - 1, "", T0 + 69, T0 + 80, False),
        (10, "", T0 + 69, T0 + 80, True),  # 11 s since the last update
        (10, "", T0 + 71, T0 + 80, False),  # 9 s
        (None, du.NEW_RS_AVAILABLE_REASON, 0.0, T0, False),
    ],
)
def test_deployment_timed_out(
    deadline: int | None, reason: str, updated_at: float, now: float, expected: bool
) -> None:
    cond = DeploymentCondition(
        type=du.PROGRESSING, status="True", reason=reason, last_update_time=du.rfc3339(updated_at)
    )
    status = DeploymentStatus(conditions=(cond,))
    d = deployment(1, deadline=deadline, status=status)
    assert du.deployment_timed_out(d, status, now) is expected


def _pts(
    name: str, node: str, annotations: dict[str, str], labels: dict[str, str]
) -> PodTemplateSpec:
    base = template()
    meta = ObjectMeta(name=name, annotations=annotations, labels=labels)
    return replace(base, metadata=meta, spec=replace(base.spec, node_name=node))


H = du.POD_TEMPLATE_HASH_LABEL


@pytest.mark.parametrize(
    ("former", "latter", "expected"),
    [  # TestEqualIgnoreHash
        (
            _pts("foo", "foo-node", {}, {H: "value-1", "something": "else"}),
            _pts("foo", "foo-node", {}, {H: "value-1", "something": "else"}),
            True,
        ),
        (
            _pts("foo", "foo-node", {}, {H: "value-1", "something": "else"}),
            _pts("foo", "foo-node", {}, {H: "value-2", "something": "else"}),
            True,
        ),
        (
            _pts("foo", "foo-node", {}, {"something": "else"}),
            _pts("foo", "foo-node", {}, {H: "value-2", "something": "else"}),
            True,
        ),
        (
            _pts("foo", "foo-node", {}, {"something": "else"}),
            _pts("foo", "foo-node", {}, {H: "value-2"}),
            False,
        ),
        (
            _pts("foo", "foo-node", {}, {H: "value-1"}),
            _pts("foo", "foo-node", {}, {H: "value-1", "something": "else"}),
            False,
        ),
        (
            _pts("foo", "foo-node", {"former": "value"}, {H: "value-1", "something": "else"}),
            _pts("foo", "foo-node", {"latter": "value"}, {H: "value-1", "something": "else"}),
            False,
        ),
        (
            _pts("foo-1", "foo-node", {}, {H: "value-1", "something": "else"}),
            _pts("foo-2", "foo-node", {}, {H: "value-2", "something": "else"}),
            False,
        ),
        (
            _pts("foo", "foo-node-1", {}, {"something": "else"}),
            _pts("foo", "foo-node-2", {}, {"nothing": "else"}),
            False,
        ),
    ],
)
def test_equal_ignore_hash(
    former: PodTemplateSpec, latter: PodTemplateSpec, expected: bool
) -> None:
    assert du.equal_ignore_hash(former, latter) is expected
    assert du.equal_ignore_hash(latter, former) is expected


def test_equal_ignore_hash_compares_defaulted_templates() -> None:
    bare = template()
    defaulted = replace(bare, spec=replace(bare.spec, restart_policy="Always"))
    assert du.equal_ignore_hash(bare, defaulted)


def test_compute_hash_is_deterministic_and_uses_the_safe_alphabet() -> None:
    first = du.compute_hash(template(), None)
    assert first == du.compute_hash(template(), None)
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert 1 <= len(first) <= 10
    assert du.compute_hash(template("nginx:2.0"), None) != first
    assert du.compute_hash(template(), 1) != first
    assert du.compute_hash(template(), 1) != du.compute_hash(template(), 2)
    # the pod-template-hash label itself does not count
    labelled = template(labels={"app": "web", H: first})
    assert du.compute_hash(labelled, None) == first


def test_safe_encode_maps_digits_as_upstream() -> None:
    assert du.safe_encode("0123456789") == "456789bcdf"


def test_find_new_replica_set_prefers_the_oldest_match() -> None:
    d = deployment(1)
    newer = replica_set("web-b", 1, created="2024-01-01T00:01:00Z")
    older = replica_set("web-a", 1, created="2024-01-01T00:00:00Z")
    other = replica_set("web-c", 1, image="other")
    assert du.find_new_replica_set(d, [newer, other, older]) is older
    assert du.find_new_replica_set(d, [other]) is None
    required, old = du.find_old_replica_sets(d, [newer, other, older])
    assert [r.metadata.name for r in old] == ["web-b", "web-c"]
    assert [r.metadata.name for r in required] == ["web-b", "web-c"]


def test_set_new_replica_set_annotations_keeps_a_bounded_history() -> None:
    # TestAnnotationUtils "SetNewReplicaSetAnnotations" (history limited to 5 characters)
    d = deployment(1, annotations={du.REVISION_ANNOTATION: "1"})
    rs = replica_set("web-a", 1)
    for i in range(10, 20):
        rs, changed = du.set_new_replica_set_annotations(
            d, rs, i + 1, exists=True, max_history_chars=5
        )
        assert changed
        if i >= 12:
            assert rs.metadata.annotations[du.REVISION_HISTORY_ANNOTATION] == f"{i - 1},{i}"
        assert rs.metadata.annotations[du.REVISION_ANNOTATION] == str(i + 1)


def test_set_new_replica_set_annotations_copies_and_skips() -> None:
    d = deployment(
        4,
        max_surge=1,
        annotations={
            du.CHANGE_CAUSE_ANNOTATION: "kubectl set image",
            du.REVISION_ANNOTATION: "7",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    )
    rs, changed = du.set_new_replica_set_annotations(d, replica_set("web-a", 0), 3, exists=False)
    assert changed
    assert rs.metadata.annotations == {
        du.CHANGE_CAUSE_ANNOTATION: "kubectl set image",
        du.REVISION_ANNOTATION: "3",
        du.DESIRED_REPLICAS_ANNOTATION: "4",
        du.MAX_REPLICAS_ANNOTATION: "5",
    }
    again, changed = du.set_new_replica_set_annotations(d, rs, 3, exists=True)
    assert not changed
    assert again is rs


def test_replicas_annotations_need_update() -> None:
    # TestReplicasAnnotationsNeedUpdate (desired 10, max 20)
    def rs(notes: dict[str, str]) -> bool:
        return du.replicas_annotations_need_update(
            replica_set("web-a", 1, annotations=notes), 10, 20
        )

    assert rs({})
    assert rs({du.DESIRED_REPLICAS_ANNOTATION: "8", du.MAX_REPLICAS_ANNOTATION: "20"})
    assert rs({du.DESIRED_REPLICAS_ANNOTATION: "10", du.MAX_REPLICAS_ANNOTATION: "16"})
    assert not rs({du.DESIRED_REPLICAS_ANNOTATION: "10", du.MAX_REPLICAS_ANNOTATION: "20"})


def test_is_saturated() -> None:
    d = deployment(1)
    rs = replica_set("web-a", 1, available=1, annotations={du.DESIRED_REPLICAS_ANNOTATION: "1"})
    assert du.is_saturated(d, rs)
    assert not du.is_saturated(d, replace(rs, metadata=replace(rs.metadata, annotations={})))
    assert not du.is_saturated(d, None)


def test_set_condition_keeps_transition_time_and_moves_the_condition_last() -> None:
    avail = du.new_condition(du.AVAILABLE, "True", "A", "", 0.0)
    prog = du.new_condition(du.PROGRESSING, "True", "B", "", 0.0)
    status = DeploymentStatus(conditions=(prog, avail))
    same = du.set_condition(status, du.new_condition(du.PROGRESSING, "True", "B", "", 50.0))
    assert same is status
    moved = du.set_condition(status, du.new_condition(du.PROGRESSING, "True", "C", "", 50.0))
    assert [c.type for c in moved.conditions] == [du.AVAILABLE, du.PROGRESSING]
    assert moved.conditions[1].last_transition_time == du.rfc3339(0.0)
    assert moved.conditions[1].last_update_time == du.rfc3339(50.0)


def test_strategy_defaults_to_rolling_update() -> None:
    d = Deployment(
        spec=DeploymentSpec(
            selector=LabelSelector(match_labels={"a": "b"}),
            template=template(),
            strategy=DeploymentStrategy(rolling_update=RollingUpdateDeployment()),
        )
    )
    assert du.strategy_type(d) == du.ROLLING_UPDATE
    assert du.max_unavailable(d) == 1  # both nil: the fencepost tweak
