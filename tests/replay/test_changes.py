"""The JSON diff and the one-line change summaries of `cp.replay.changes`."""

from __future__ import annotations

from typing import Any

from cp.replay import diff_json, summarize


def test_scalar_change_is_old_arrow_new() -> None:
    assert summarize({"spec": {"replicas": 3}}, {"spec": {"replicas": 2}}) == "spec.replicas 3→2"


def test_missing_number_reads_as_zero() -> None:
    old: dict[str, Any] = {"status": {}}
    assert summarize(old, {"status": {"readyReplicas": 2}}) == "status.readyReplicas 0→2"
    assert summarize({"status": {"readyReplicas": 1}}, {"status": {"readyReplicas": 2}}) == (
        "status.readyReplicas 1→2"
    )


def test_deletion_timestamp_set_comes_first() -> None:
    old = {"metadata": {"name": "p"}, "status": {"phase": "Running"}}
    new = {
        "metadata": {"name": "p", "deletionTimestamp": "2023-11-14T22:14:11Z"},
        "status": {"phase": "Succeeded"},
    }
    assert summarize(old, new) == ("metadata.deletionTimestamp set, status.phase Running→Succeeded")


def test_bookkeeping_is_ignored() -> None:
    old = {"metadata": {"resourceVersion": "3", "generation": 1}}
    new = {"metadata": {"resourceVersion": "4", "generation": 2}}
    assert diff_json(old, new) == []
    assert summarize(old, new) == "no change"


def test_lists_of_named_items_are_matched_by_name() -> None:
    def containers(image: str) -> dict[str, Any]:
        spec = {"containers": [{"name": "side", "image": "s"}, {"name": "app", "image": image}]}
        return {"spec": {"template": {"spec": spec}}}

    assert summarize(containers("v1"), containers("v2")) == (
        "spec.template.spec.containers[app].image v1→v2"
    )


def test_conditions_are_matched_by_type_and_prose_comes_last() -> None:
    old = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "X"}]}}
    new = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert summarize(old, new) == (
        "status.conditions[Ready].status False→True, status.conditions[Ready].reason unset"
    )


def test_dotted_map_keys_are_bracketed() -> None:
    key = "deployment.kubernetes.io/revision"
    old = {"metadata": {"annotations": {key: "1"}}}
    new = {"metadata": {"annotations": {key: "2"}}}
    assert summarize(old, new) == f"metadata.annotations[{key}] 1→2"


def test_create_delete_and_overflow() -> None:
    created = {"spec": {"replicas": 3, "template": {"spec": {"containers": [{"image": "i"}]}}}}
    assert summarize(None, created) == "created spec.replicas=3 image=i"
    assert summarize(created, None) == "deleted"
    many_old = {"status": {f"f{i}": i for i in range(6)}}
    many_new = {"status": {f"f{i}": i + 1 for i in range(6)}}
    assert summarize(many_old, many_new, limit=2) == "status.f0 0→1, status.f1 1→2 (+4 more)"


def test_long_values_are_cut_and_strings_set_show_their_value() -> None:
    assert summarize({"spec": {}}, {"spec": {"nodeName": "node-1"}}) == "spec.nodeName=node-1"
    text = summarize({"a": "x" * 100}, {"a": "y"})
    assert text.startswith("a ")
    assert "…→y" in text
