"""The pure StatefulSet helpers: ordinal bookkeeping (hypothesis), identity, storage, and the
claim-ownership table of `persistentVolumeClaimRetentionPolicy`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from controllers.common.refmanager import controller_ref
from controllers.statefulset.control import split_pods
from controllers.statefulset.identity import (
    claim_name,
    identity_matches,
    new_pod,
    new_versioned_pod,
    parent_and_ordinal,
    persistent_volume_claims,
    pod_name,
    storage_matches,
    update_claim_owner_refs,
)
from cp.api.apps import (
    RollingUpdateStatefulSetStrategy,
    StatefulSet,
    StatefulSetOrdinals,
    StatefulSetStatus,
    StatefulSetUpdateStrategy,
)
from cp.api.core_pod import Pod
from cp.api.meta import OwnerReference
from tests.controllers.statefulset.harness import stateful_set

NAMES = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


def with_start(sts: StatefulSet, start: int) -> StatefulSet:
    return replace(sts, spec=replace(sts.spec, ordinals=StatefulSetOrdinals(start=start)))


@given(NAMES, st.integers(min_value=0, max_value=2**31 - 1))
def test_pod_names_parse_back(name: str, ordinal: int) -> None:
    sts = replace(stateful_set(), metadata=replace(stateful_set().metadata, name=name))
    assert parent_and_ordinal(pod_name(sts, ordinal)) == (name, ordinal)


@pytest.mark.parametrize("name", ["web", "web-", "web-x", "-", ""])
def test_names_without_an_ordinal(name: str) -> None:
    assert parent_and_ordinal(name) == ("", -1)


def test_int32_overflow_is_no_ordinal() -> None:
    assert parent_and_ordinal("web-2147483648") == ("web", -1)


@settings(max_examples=200)
@given(
    replicas=st.integers(min_value=0, max_value=8),
    start=st.integers(min_value=0, max_value=5),
    ordinals=st.sets(st.integers(min_value=0, max_value=15), max_size=12),
    junk=st.sets(st.sampled_from(["web", "web-x", "other", "web-1a"]), max_size=3),
)
def test_split_pods_puts_every_ordinal_in_its_place(
    replicas: int, start: int, ordinals: set[int], junk: set[str]
) -> None:
    sts = with_start(stateful_set(replicas), start)
    pods = [new_pod(sts, o) for o in sorted(ordinals)]
    pods += [replace(pods[0], metadata=replace(pods[0].metadata, name=j)) for j in junk if pods]
    slots, condemned = split_pods(sts, pods)
    assert len(slots) == replicas
    for i, pod in enumerate(slots):
        if start + i in ordinals:
            assert pod is not None
            assert pod.metadata.name == f"web-{start + i}"
        else:
            assert pod is None
    kept = [parent_and_ordinal(p.metadata.name)[1] for p in condemned]
    assert kept == sorted(o for o in ordinals if not start <= o < start + replicas)[::-1]


def test_new_pod_identity_and_storage() -> None:
    sts = with_start(stateful_set(), 3)
    pod = new_pod(sts, 4)
    assert identity_matches(sts, pod)
    assert storage_matches(sts, pod)
    assert pod.metadata.owner_references[0].kind == "StatefulSet"
    broken = replace(pod, metadata=replace(pod.metadata, labels={}))
    assert not identity_matches(sts, broken)
    assert not storage_matches(sts, replace(pod, spec=replace(pod.spec, volumes=())))
    ((template, claim),) = persistent_volume_claims(sts, 4)
    assert (template, claim.metadata.name) == ("data", claim_name("data", sts, 4))
    assert claim.metadata.name == "data-web-4"


def test_versioned_pod_follows_partition_and_current_replicas() -> None:
    partitioned = StatefulSetUpdateStrategy(
        type="RollingUpdate", rolling_update=RollingUpdateStatefulSetStrategy(partition=2)
    )
    sts = stateful_set(4, strategy=partitioned)
    revisions = [
        new_versioned_pod(sts, sts, "cur", "upd", i).metadata.labels["controller-revision-hash"]
        for i in range(4)
    ]
    assert revisions == ["cur", "cur", "upd", "upd"]
    bare = replace(
        sts,
        spec=replace(sts.spec, update_strategy=StatefulSetUpdateStrategy(type="RollingUpdate")),
        status=StatefulSetStatus(replicas=4, current_replicas=1),
    )
    first = new_versioned_pod(bare, bare, "cur", "upd", 0)
    second = new_versioned_pod(bare, bare, "cur", "upd", 1)
    assert first.metadata.labels["controller-revision-hash"] == "cur"
    assert second.metadata.labels["controller-revision-hash"] == "upd"
    on_delete = replace(
        sts, spec=replace(sts.spec, update_strategy=StatefulSetUpdateStrategy(type="OnDelete"))
    )
    assert (
        new_versioned_pod(on_delete, on_delete, "c", "u", 0).metadata.labels[
            "controller-revision-hash"
        ]
        == "u"
    )


def _created(sts: StatefulSet, ordinal: int) -> Pod:
    pod = new_pod(sts, ordinal)
    return replace(pod, metadata=replace(pod.metadata, uid=f"pod-{ordinal}-uid"))


@pytest.mark.parametrize(
    ("scaled", "deleted", "in_range", "owners"),
    [
        ("Retain", "Retain", True, []),
        ("Retain", "Retain", False, []),
        ("Retain", "Delete", True, ["StatefulSet"]),
        ("Retain", "Delete", False, ["StatefulSet"]),
        ("Delete", "Retain", True, []),
        ("Delete", "Retain", False, ["Pod"]),
        ("Delete", "Delete", True, ["StatefulSet"]),
        ("Delete", "Delete", False, ["Pod"]),
    ],
)
def test_claim_owner_table(scaled: str, deleted: str, in_range: bool, owners: list[str]) -> None:
    sts = stateful_set(2, retention=(scaled, deleted))
    ordinal = 1 if in_range else 5
    pod = _created(sts, ordinal)
    ((_, claim),) = persistent_volume_claims(sts, ordinal)
    fixed = update_claim_owner_refs(claim, sts, pod) or claim
    assert [r.kind for r in fixed.metadata.owner_references] == owners
    assert update_claim_owner_refs(fixed, sts, pod) is None  # a fixed point
    # from a claim referencing both, the policy keeps only what it wants
    both = (controller_ref(sts), controller_ref(pod))
    claim = replace(claim, metadata=replace(claim.metadata, owner_references=both))
    fixed = update_claim_owner_refs(claim, sts, pod) or claim
    assert [r.kind for r in fixed.metadata.owner_references] == owners


def test_claim_of_another_controller_is_left_alone() -> None:
    sts = stateful_set(2, retention=("Retain", "Delete"))
    pod = _created(sts, 0)
    ((_, claim),) = persistent_volume_claims(sts, 0)
    other = OwnerReference(api_version="v1", kind="Thing", name="x", uid="x-uid", controller=True)
    claim = replace(claim, metadata=replace(claim.metadata, owner_references=(other,)))
    assert update_claim_owner_refs(claim, sts, pod) is None
