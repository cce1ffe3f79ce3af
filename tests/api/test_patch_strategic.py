"""cp.api.patch_strategic: the patch bodies kubectl sends (kubectl-http-surface.md), the
directives of apimachinery's strategicpatch, and the three-way patch of `kubectl apply`."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cp.api.patch import PatchError, merge_patch
from cp.api.patch_strategic import field_meta, strategic_merge_patch, three_way_merge


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "finalizers": ["a/x", "b/y"],
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"keep": "me"}},
                "spec": {
                    "containers": [
                        {
                            "name": "myapp",
                            "image": "x:v1",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            "imagePullPolicy": "IfNotPresent",
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                },
            },
        },
        "status": {
            "replicas": 3,
            "conditions": [
                {"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True"},
            ],
        },
    }


def smp(target: dict[str, Any], patch: dict[str, Any], kind: str = "Deployment") -> Any:
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    got = strategic_merge_patch(target, patch, kind)
    assert target == before_target
    assert patch == before_patch
    return got


# --- kubectl's patch bodies ---------------------------------------------------------------


def test_set_image_keeps_other_containers_and_fields() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "myapp", "image": "x:v2"}]}}}}
    got = smp(deployment(), patch)
    expect = deployment()
    expect["spec"]["template"]["spec"]["containers"][0]["image"] = "x:v2"
    assert got == expect


def test_set_image_with_set_element_order_and_record() -> None:
    patch = {
        "metadata": {"annotations": {"kubernetes.io/change-cause": "kubectl set image ..."}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "myapp"}, {"name": "sidecar"}],
                    "containers": [{"image": "x:v2", "name": "myapp"}],
                }
            }
        },
    }
    got = smp(deployment(), patch)
    expect = deployment()
    expect["spec"]["template"]["spec"]["containers"][0]["image"] = "x:v2"
    expect["metadata"]["annotations"]["kubernetes.io/change-cause"] = "kubectl set image ..."
    assert got == expect


def test_rollout_restart_adds_template_annotation() -> None:
    stamp = "2026-11-27T14:00:00Z"
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}
        }
    }
    got = smp(deployment(), patch)
    assert got["spec"]["template"]["metadata"]["annotations"] == {
        "keep": "me",
        "kubectl.kubernetes.io/restartedAt": stamp,
    }
    assert got["spec"]["template"]["spec"] == deployment()["spec"]["template"]["spec"]


def test_rollout_pause_and_resume() -> None:
    paused = smp(deployment(), {"spec": {"paused": True}})
    assert paused["spec"]["paused"] is True
    assert paused["spec"]["replicas"] == 3
    resumed = smp(paused, {"spec": {"paused": None}})
    assert resumed == deployment()


def test_scale_body() -> None:
    got = smp(deployment(), {"spec": {"replicas": 4}})
    assert got["spec"]["replicas"] == 4
    assert got["status"]["replicas"] == 3
    scale = {"spec": {"replicas": 1}, "status": {"replicas": 1, "selector": "app=db"}}
    assert smp(scale, {"spec": {"replicas": 4}}, "Scale")["spec"] == {"replicas": 4}


def test_statefulset_undo_replaces_the_template() -> None:
    sts = {"spec": {"replicas": 2, "template": deployment()["spec"]["template"]}}
    new_template = {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db"}]}}
    got = smp(sts, {"spec": {"template": {**new_template, "$patch": "replace"}}}, "StatefulSet")
    assert got == {"spec": {"replicas": 2, "template": new_template}}


def test_kubectl_apply_bodies_in_sequence() -> None:
    """The three real apply bodies of the reference, applied one after the other."""
    live = deployment()
    live["spec"]["template"]["spec"]["containers"] = [{"name": "nginx", "image": "nginx:1.19"}]
    live = smp(
        live,
        {
            "spec": {
                "replicas": 4,
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "nginx"}],
                        "containers": [{"image": "nginx:1.20", "name": "nginx"}],
                    }
                },
            }
        },
    )
    assert live["spec"]["replicas"] == 4
    assert live["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.20"}
    ]
    live = smp(
        live,
        {
            "spec": {
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "side"}],
                        "containers": [
                            {"env": [{"name": "A", "value": "1"}], "name": "nginx"},
                            {"image": "busybox", "name": "side"},
                        ],
                    }
                },
            }
        },
    )
    assert live["spec"]["strategy"] == {"type": "Recreate"}
    assert live["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.20", "env": [{"name": "A", "value": "1"}]},
        {"name": "side", "image": "busybox"},
    ]
    live = smp(
        live,
        {
            "spec": {
                "strategy": None,
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "nginx"}],
                        "containers": [
                            {"env": None, "name": "nginx"},
                            {"$patch": "delete", "name": "side"},
                        ],
                    }
                },
            }
        },
    )
    assert "strategy" not in live["spec"]
    assert live["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.20"}
    ]


# --- directives and merge keys ------------------------------------------------------------


def test_patch_delete_on_a_container() -> None:
    patch = {
        "spec": {"template": {"spec": {"containers": [{"$patch": "delete", "name": "sidecar"}]}}}
    }
    got = smp(deployment(), patch)
    assert [c["name"] for c in got["spec"]["template"]["spec"]["containers"]] == ["myapp"]


def test_delete_element_needs_its_merge_key() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}
    with pytest.raises(PatchError):
        smp(deployment(), patch)


def test_element_without_merge_key_is_rejected() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}
    with pytest.raises(PatchError, match="merge key"):
        smp(deployment(), patch)


def test_replace_element_replaces_the_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]}
            }
        }
    }
    got = smp(deployment(), patch)
    assert got["spec"]["template"]["spec"]["containers"] == [{"name": "only", "image": "o"}]


def test_map_patch_directives() -> None:
    got = smp(
        deployment(), {"spec": {"selector": {"$patch": "replace", "matchLabels": {"x": "y"}}}}
    )
    assert got["spec"]["selector"] == {"matchLabels": {"x": "y"}}
    got = smp(deployment(), {"spec": {"strategy": {"$patch": "delete"}}})
    assert got["spec"]["strategy"] == {}
    got = smp(deployment(), {"spec": {"strategy": {"$patch": "merge", "type": "Recreate"}}})
    assert got["spec"]["strategy"]["type"] == "Recreate"
    assert "rollingUpdate" in got["spec"]["strategy"]
    with pytest.raises(PatchError, match="invalid"):
        smp(deployment(), {"spec": {"$patch": "bogus"}})
    with pytest.raises(PatchError, match="cannot yet"):
        smp(deployment(), {"metadata": {"ownerReferences": [{"$patch": "merge", "uid": "u"}]}})


def test_set_element_order_reorders() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "myapp"}]}
            }
        }
    }
    got = smp(deployment(), patch)
    assert [c["name"] for c in got["spec"]["template"]["spec"]["containers"]] == [
        "sidecar",
        "myapp",
    ]
    assert (
        got["spec"]["template"]["spec"]["containers"][1]
        == deployment()["spec"]["template"]["spec"]["containers"][0]
    )


def test_set_element_order_with_a_new_element() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "new"},
                        {"name": "myapp"},
                        {"name": "sidecar"},
                    ],
                    "containers": [{"name": "new", "image": "n"}],
                }
            }
        }
    }
    got = smp(deployment(), patch)
    assert [c["name"] for c in got["spec"]["template"]["spec"]["containers"]] == [
        "new",
        "myapp",
        "sidecar",
    ]


def test_delete_from_primitive_list_finalizers() -> None:
    got = smp(deployment(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/x"]}})
    assert got["metadata"]["finalizers"] == ["b/y"]
    both = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["b/y"], "finalizers": ["c/z", "a/x"]}
    }
    assert smp(deployment(), both)["metadata"]["finalizers"] == ["a/x", "c/z"]


def test_finalizers_merge_as_a_set() -> None:
    got = smp(deployment(), {"metadata": {"finalizers": ["b/y", "c/z"]}})
    assert got["metadata"]["finalizers"] == ["a/x", "b/y", "c/z"]


def test_null_deletes_a_key() -> None:
    got = smp(
        deployment(), {"metadata": {"annotations": {"deployment.kubernetes.io/revision": None}}}
    )
    assert got["metadata"]["annotations"] == {}
    assert "status" not in smp(deployment(), {"status": None})


def test_retain_keys() -> None:
    got = smp(deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert got["spec"]["strategy"] == {"type": "Recreate"}
    with pytest.raises(PatchError, match="retainKeys"):
        smp(deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}})
    with pytest.raises(PatchError):
        smp(deployment(), {"spec": {"strategy": {"$retainKeys": "type"}}})


def test_nested_lists_merge_by_their_keys() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "myapp",
                            "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                            "ports": [
                                {"containerPort": 80, "name": "http"},
                                {"containerPort": 443},
                            ],
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/data", "readOnly": True}
                            ],
                        }
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                    "tolerations": [{"key": "b", "operator": "Exists"}],
                }
            }
        }
    }
    got = smp(deployment(), patch)
    pod = got["spec"]["template"]["spec"]
    app = pod["containers"][0]
    assert app["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    assert app["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 443},
    ]
    assert app["volumeMounts"] == [{"name": "data", "mountPath": "/data", "readOnly": True}]
    assert [v["name"] for v in pod["volumes"]] == ["data", "cache"]
    assert pod["tolerations"] == [{"key": "b", "operator": "Exists"}]  # no merge key: replaced


def test_match_expressions_are_replaced() -> None:
    target = {"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}}}
    patch = {"spec": {"selector": {"matchExpressions": [{"key": "b", "operator": "Exists"}]}}}
    assert smp(target, patch) == patch


def test_pod_paths_and_status_conditions() -> None:
    pod = {
        "metadata": {"ownerReferences": [{"uid": "u1", "name": "rs"}]},
        "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    patch = {
        "metadata": {"ownerReferences": [{"uid": "u2", "name": "other"}]},
        "spec": {"containers": [{"name": "b", "image": "3"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Scheduled"}]},
    }
    got = smp(pod, patch, "Pod")
    assert got["spec"]["containers"] == [{"name": "a", "image": "1"}, {"name": "b", "image": "3"}]
    assert [o["uid"] for o in got["metadata"]["ownerReferences"]] == ["u1", "u2"]
    assert got["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Scheduled"},
    ]


def test_service_ports_merge_by_port() -> None:
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    got = smp(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, "Service")
    assert got["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_unknown_kind_replaces_lists() -> None:
    target = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    patch = {"spec": {"containers": [{"name": "c"}]}}
    assert smp(target, patch, "ConfigMap") == patch


def test_new_values_are_stripped_of_directives() -> None:
    target: dict[str, Any] = {"spec": {}}
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "a", "env": None}, {"$patch": "delete", "name": "z"}]
                }
            }
        }
    }
    got = smp(target, patch)
    assert got == {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}


def test_field_meta_table() -> None:
    assert field_meta("Deployment", ("spec", "template", "spec", "containers")) == ("merge", "name")
    assert field_meta("Pod", ("spec", "containers", "ports")) == ("merge", "containerPort")
    assert (
        field_meta("CronJob", ("spec", "jobTemplate", "spec", "template", "spec", "volumes"))[1]
        == "name"
    )
    assert field_meta("Service", ("spec", "ports")) == ("merge", "port")
    assert field_meta("StatefulSet", ("spec", "volumeClaimTemplates")) == ("replace", None)
    assert field_meta("Deployment", ("spec", "template", "spec", "tolerations")) == ("", None)
    assert field_meta("Deployment", ("spec", "template", "metadata", "finalizers")) == (
        "merge",
        None,
    )


def test_patch_must_be_an_object() -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch({}, [], "Deployment")


# --- three-way merge ----------------------------------------------------------------------


def manifest() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.19"}]},
            },
        },
    }


def live_of(applied: dict[str, Any]) -> dict[str, Any]:
    """What the server holds after creating `applied`: defaults and controller fields added."""
    live = copy.deepcopy(applied)
    live["metadata"].update(uid="u", resourceVersion="7")
    live["spec"]["replicas"] = 1
    live["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    for c in live["spec"]["template"]["spec"]["containers"]:
        c["imagePullPolicy"] = "IfNotPresent"
    live["status"] = {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    return live


def apply(original: Any, modified: dict[str, Any], current: dict[str, Any]) -> Any:
    before = copy.deepcopy((original, modified, current))
    patch: Any = three_way_merge(original, modified, current, "Deployment")
    assert (original, modified, current) == before
    return patch, smp(current, patch)


def test_unchanged_manifest_gives_an_empty_patch() -> None:
    m = manifest()
    assert three_way_merge(m, m, live_of(m), "Deployment") == {}


def test_image_and_replicas_change_matches_kubectl() -> None:
    m = manifest()
    live = live_of(m)
    edited = manifest()
    edited["spec"]["replicas"] = 4
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.20"
    patch, got = apply(m, edited, live)
    assert patch == {
        "spec": {
            "replicas": 4,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"image": "nginx:1.20", "name": "nginx"}],
                }
            },
        }
    }
    assert got["spec"]["template"]["spec"]["containers"][0] == {
        "name": "nginx",
        "image": "nginx:1.20",
        "imagePullPolicy": "IfNotPresent",
    }


def test_add_and_remove_container_and_strategy_match_kubectl() -> None:
    m = manifest()
    live = live_of(m)
    edited = manifest()
    edited["spec"]["strategy"] = {"type": "Recreate"}
    containers = edited["spec"]["template"]["spec"]["containers"]
    containers[0]["env"] = [{"name": "A", "value": "1"}]
    containers.append({"name": "side", "image": "busybox"})
    patch, live2 = apply(m, edited, live)
    assert patch == {
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "side"}],
                    "containers": [
                        {"env": [{"name": "A", "value": "1"}], "name": "nginx"},
                        {"image": "busybox", "name": "side"},
                    ],
                }
            },
        }
    }
    assert live2["spec"]["strategy"] == {"type": "Recreate"}
    patch, live3 = apply(edited, m, live2)
    assert patch == {
        "spec": {
            "strategy": None,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [
                        {"env": None, "name": "nginx"},
                        {"$patch": "delete", "name": "side"},
                    ],
                }
            },
        }
    }
    assert "strategy" not in live3["spec"]
    assert live3["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.19", "imagePullPolicy": "IfNotPresent"}
    ]


def test_field_removed_from_manifest_is_removed() -> None:
    m = manifest()
    live = live_of(m)
    edited = manifest()
    del edited["metadata"]["labels"]["tier"]
    patch, got = apply(m, edited, live)
    assert patch == {"metadata": {"labels": {"tier": None}}}
    assert got["metadata"]["labels"] == {"app": "web"}


def test_controller_fields_absent_from_manifest_are_kept() -> None:
    m = manifest()
    live = live_of(m)
    live["spec"]["replicas"] = 5  # kubectl scale
    live["status"]["replicas"] = 5
    live["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    edited = manifest()
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.21"
    _, got = apply(m, edited, live)
    assert got["spec"]["replicas"] == 5
    assert got["status"] == live["status"]
    assert got["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "2"}
    assert got["spec"]["strategy"] == live["spec"]["strategy"]


def test_field_in_manifest_changed_by_someone_else_is_reset() -> None:
    m = manifest()
    m["spec"]["replicas"] = 2
    live = live_of(m)
    live["spec"]["replicas"] = 5
    patch, got = apply(m, m, live)
    assert patch == {"spec": {"replicas": 2}}
    assert got["spec"]["replicas"] == 2


def test_list_element_added_and_removed_by_name() -> None:
    m = manifest()
    m["spec"]["template"]["spec"]["containers"].append({"name": "old", "image": "o"})
    live = live_of(m)
    live["spec"]["template"]["spec"]["containers"].append({"name": "injected", "image": "i"})
    edited = manifest()
    edited["spec"]["template"]["spec"]["containers"].append({"name": "new", "image": "n"})
    patch, got = apply(m, edited, live)
    spec = patch["spec"]["template"]["spec"]
    assert spec["$setElementOrder/containers"] == [{"name": "nginx"}, {"name": "new"}]
    assert spec["containers"] == [
        {"name": "new", "image": "n"},
        {"$patch": "delete", "name": "old"},
    ]
    names = [c["name"] for c in got["spec"]["template"]["spec"]["containers"]]
    assert names == ["nginx", "injected", "new"]


def test_primitive_merge_list_three_way() -> None:
    m = manifest()
    m["metadata"]["finalizers"] = ["a", "b"]
    live = live_of(m)
    live["metadata"]["finalizers"].append("controller")
    edited = manifest()
    edited["metadata"]["finalizers"] = ["a", "c"]
    patch, got = apply(m, edited, live)
    assert patch["metadata"] == {
        "$deleteFromPrimitiveList/finalizers": ["b"],
        "$setElementOrder/finalizers": ["a", "c"],
        "finalizers": ["c"],
    }
    assert got["metadata"]["finalizers"] == ["a", "controller", "c"]


def test_first_apply_without_last_applied() -> None:
    live = live_of(manifest())
    live["metadata"]["labels"]["extra"] = "x"
    patch, got = apply(None, manifest(), live)
    assert patch == {}
    assert got == live


def test_three_way_needs_an_object() -> None:
    with pytest.raises(PatchError):
        three_way_merge({}, [], {}, "Deployment")


@given(st.sampled_from(["nginx:1", "nginx:2"]), st.integers(1, 5), st.booleans())
def test_apply_reaches_the_manifest(image: str, replicas: int, side: bool) -> None:
    m = manifest()
    live = live_of(m)
    edited = manifest()
    edited["spec"]["replicas"] = replicas
    containers = edited["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = image
    if side:
        containers.append({"name": "side", "image": "s"})
    _, got = apply(m, edited, live)
    assert got["spec"]["replicas"] == replicas
    assert [c.get("image") for c in got["spec"]["template"]["spec"]["containers"]] == [
        c["image"] for c in containers
    ]
    _, back = apply(edited, m, got)
    assert [c["name"] for c in back["spec"]["template"]["spec"]["containers"]] == ["nginx"]


_KEYS = st.text("abc", max_size=2)
_MAPS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(_KEYS, _MAPS, max_size=4), st.dictionaries(_KEYS, _MAPS, max_size=4))
def test_without_lists_or_directives_smp_is_a_merge_patch(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    assert smp(target, patch, "ConfigMap") == merge_patch(target, patch)
