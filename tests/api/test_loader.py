"""`load_manifests`: every seed manifest loads and re-encodes to exactly what it says; malformed
manifests are refused with messages that name the source, the object and the field path.

The seed manifests are copied verbatim from /work/shared/seed (see `manifests/`), except
`myapp-deploy-v3.yaml`, whose spec the walkthrough elides (see the comment in the file).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from cp.api import (
    MAX_VALUES,
    ConfigMap,
    Deployment,
    ManifestError,
    ObjectMeta,
    PersistentVolume,
    Service,
    StatefulSet,
    UnknownKindError,
    dump_json,
    dump_yaml,
    load_manifests,
)

MANIFESTS = Path(__file__).parent / "manifests"
SEED = sorted(MANIFESTS.glob("*.yaml"))


def _json(value: object) -> Any:
    """Tuples and lists alike, as JSON sees them."""
    return json.loads(json.dumps(value))


def _load_one(text: str) -> object:
    (obj,) = load_manifests(text, source="t.yaml")
    return obj


# -- the seed -------------------------------------------------------------------------------


def test_the_seed_is_all_here() -> None:
    assert [path.name for path in SEED] == [
        "myapp-deploy-v1.yaml",
        "myapp-deploy-v3.yaml",
        "myapp-sts-vol.yaml",
        "myapp-sts.yaml",
        "myapp-svc-headless.yaml",
        "mydb-cm-mysql.yaml",
        "mydb-sts-mysql.yaml",
        "mydb-svc-read.yaml",
        "mydb-svc-write.yaml",
    ]


@pytest.mark.parametrize("path", SEED, ids=lambda path: path.name)
def test_seed_manifest_loads_and_round_trips(path: Path) -> None:
    text = path.read_text()
    objects = load_manifests(text, source=path.name)
    assert [_json(msgspec.to_builtins(obj)) for obj in objects] == list(yaml.safe_load_all(text))


@pytest.mark.parametrize("path", SEED, ids=lambda path: path.name)
def test_seed_manifest_dumps_back_to_itself(path: Path) -> None:
    (obj,) = load_manifests(path.read_text(), source=path.name)
    assert load_manifests(dump_yaml(obj)) == (obj,)
    assert load_manifests(dump_json(obj)) == (obj,)


def test_seed_folder_as_one_stream() -> None:
    text = "\n---\n".join(path.read_text() for path in SEED)
    kinds = [type(obj).__name__ for obj in load_manifests(text, source="seed")]
    assert kinds == [
        "Deployment",
        "Deployment",
        "StatefulSet",
        "StatefulSet",
        "Service",
        "ConfigMap",
        "StatefulSet",
        "Service",
        "Service",
    ]


def test_seed_fields_land_in_typed_attributes() -> None:
    deployment = _load_one((MANIFESTS / "myapp-deploy-v1.yaml").read_text())
    assert isinstance(deployment, Deployment)
    assert deployment.spec.replicas == 3
    assert deployment.spec.min_ready_seconds == 20
    assert deployment.spec.strategy is not None
    assert deployment.spec.strategy.rolling_update is not None
    assert deployment.spec.strategy.rolling_update.max_surge == 1
    assert deployment.spec.template.spec.containers[0].ports[0].container_port == 8080

    mydb = _load_one((MANIFESTS / "mydb-sts-mysql.yaml").read_text())
    assert isinstance(mydb, StatefulSet)
    spec = mydb.spec.template.spec
    assert [c.name for c in spec.init_containers] == ["init-mysql", "clone-mysql"]
    probe = spec.containers[0].readiness_probe
    assert probe is not None
    assert probe.exec is not None
    assert probe.exec.command == ("mysql", "-h", "127.0.0.1", "-e", "SELECT 1")
    assert (probe.initial_delay_seconds, probe.period_seconds, probe.timeout_seconds) == (5, 2, 1)
    assert spec.containers[0].env[0].value == "1"
    assert spec.volumes[0].empty_dir is not None
    assert mydb.spec.volume_claim_templates[0].spec.storage_class_name is None

    vol = _load_one((MANIFESTS / "myapp-sts-vol.yaml").read_text())
    assert isinstance(vol, StatefulSet)
    claim = vol.spec.volume_claim_templates[0]
    assert claim.spec.resources is not None
    assert claim.spec.resources.requests == {"storage": "1Gi"}
    assert claim.spec.storage_class_name == "nfs-client"

    headless = _load_one((MANIFESTS / "myapp-svc-headless.yaml").read_text())
    assert isinstance(headless, Service)
    assert headless.spec.cluster_ip == "None"

    config = _load_one((MANIFESTS / "mydb-cm-mysql.yaml").read_text())
    assert isinstance(config, ConfigMap)
    assert config.data["primary.cnf"].startswith("[mysqld]\n")


# -- streams, lists and JSON ----------------------------------------------------------------

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_empty_documents_are_skipped() -> None:
    text = "---\n" + CONFIG_MAP.format(name="a") + "---\n---\n" + CONFIG_MAP.format(name="b")
    names = [obj.metadata.name for obj in load_manifests(text) if isinstance(obj, ConfigMap)]
    assert names == ["a", "b"]
    assert load_manifests("") == ()


def test_v1_list_is_flattened() -> None:
    text = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"resourceVersion": "12"},
            "items": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}},
            ],
        }
    )
    assert load_manifests(text) == (
        ConfigMap(metadata=ObjectMeta(name="a")),
        ConfigMap(metadata=ObjectMeta(name="b")),
    )


def test_typed_list_items_inherit_api_version_and_kind() -> None:
    text = "apiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata: {name: a}\n  data: {k: v}\n"
    (obj,) = load_manifests(text)
    assert isinstance(obj, ConfigMap)
    assert (obj.api_version, obj.kind, obj.data) == ("v1", "ConfigMap", {"k": "v"})


def test_json_document() -> None:
    obj = _load_one('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}')
    assert isinstance(obj, ConfigMap)
    assert obj.metadata.name == "j"


def test_timestamps_stay_strings() -> None:
    text = CONFIG_MAP.format(name="a") + "  creationTimestamp: 2024-01-02T03:04:05Z\n"
    obj = _load_one(text)
    assert isinstance(obj, ConfigMap)
    assert obj.metadata.creation_timestamp == "2024-01-02T03:04:05Z"


def test_numeric_quantities_become_strings() -> None:
    text = (
        "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv1}\n"
        "spec:\n  capacity: {storage: 1024, cpu: 0.5}\n  hostPath: {path: /tmp}\n"
    )
    obj = _load_one(text)
    assert isinstance(obj, PersistentVolume)
    assert obj.spec.capacity == {"storage": "1024", "cpu": "0.5"}


# -- malformed manifests --------------------------------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp-deploy
spec:
  replicas: 3
  selector:
    matchLabels: {{app: a}}
  template:
    metadata:
      labels: {{app: a}}
    spec:
      containers:
      - name: myapp
        image: ghcr.io/c1t1d0s7/go-myweb:v1.0
        {extra}
"""

PREFIX = 'myapp-deploy-v1.yaml: Deployment "myapp-deploy": '


def _deployment(extra: str = "", *, old: str = "", new: str = "") -> str:
    """The Deployment above with `extra` added to its container and `old` replaced by `new`."""
    text = DEPLOYMENT.format(extra=extra)
    return text.replace(old, new) if old else text


MALFORMED = [
    pytest.param(
        _deployment("imagee: x"),
        PREFIX + "spec.template.spec.containers[0].imagee: unknown field",
        id="unknown-field-in-container",
    ),
    pytest.param(
        _deployment(old="  replicas: 3", new="  replicas: 3\n  stragy: {}"),
        PREFIX + "spec.stragy: unknown field",
        id="unknown-field-in-spec",
    ),
    pytest.param(
        _deployment(old="spec:\n  replicas", new="sepc: {}\nspec:\n  replicas"),
        PREFIX + "sepc: unknown field",
        id="unknown-field-at-top",
    ),
    pytest.param(
        _deployment("ports: [{containerPort: 80, protocl: TCP}]"),
        PREFIX + "spec.template.spec.containers[0].ports[0].protocl: unknown field",
        id="unknown-field-in-port",
    ),
    pytest.param(
        _deployment("readinessProbe: {exec: {commands: [x]}}"),
        PREFIX + "spec.template.spec.containers[0].readinessProbe.exec.commands: unknown field",
        id="unknown-field-in-probe",
    ),
    pytest.param(
        _deployment(old="replicas: 3", new='replicas: "3"'),
        PREFIX + "spec.replicas: expected int, got str",
        id="replicas-as-string",
    ),
    pytest.param(
        _deployment("ports: [{containerPort: http}]"),
        PREFIX + "spec.template.spec.containers[0].ports[0].containerPort: expected int, got str",
        id="port-as-string",
    ),
    pytest.param(
        _deployment("command: echo hi"),
        PREFIX + "spec.template.spec.containers[0].command: expected array, got str",
        id="command-not-a-list",
    ),
    pytest.param(
        _deployment("env: [{name: X, value: 1}]"),
        PREFIX + "spec.template.spec.containers[0].env[0].value: expected str, got int",
        id="env-value-as-int",
    ),
    pytest.param(
        _deployment(old="labels: {app: a}", new="labels: {app: a, tier: 2}"),
        PREFIX + "spec.template.metadata.labels[tier]: expected str, got int",
        id="label-value-as-int",
    ),
    pytest.param(
        _deployment("livenessProbe: {tcpSocket: {port: 1.5}}"),
        PREFIX
        + "spec.template.spec.containers[0].livenessProbe.tcpSocket.port: "
        + "expected int | str, got float",
        id="int-or-string-as-float",
    ),
    pytest.param(
        _deployment(old="  selector:\n    matchLabels: {app: a}\n", new=""),
        PREFIX + "spec.selector: missing required field",
        id="missing-selector",
    ),
    pytest.param(
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{name: http}]}\n",
        'myapp-deploy-v1.yaml: Service "s": spec.ports[0].port: missing required field',
        id="missing-port",
    ),
    pytest.param(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: c-}\ndata: [a]\n",
        "myapp-deploy-v1.yaml: ConfigMap (document 1): data: expected object, got array",
        id="unnamed-object",
    ),
    pytest.param(
        CONFIG_MAP.format(name="a") + "---\nmetadata: {name: b}\n",
        'myapp-deploy-v1.yaml: document 2: missing field "apiVersion"',
        id="missing-api-version",
    ),
    pytest.param(
        "apiVersion: v1\nmetadata: {name: b}\n",
        'myapp-deploy-v1.yaml: document 1: missing field "kind"',
        id="missing-kind",
    ),
    pytest.param(
        "apiVersion: v1\nkind: 3\n",
        "myapp-deploy-v1.yaml: document 1: kind: expected str, got int",
        id="kind-not-a-string",
    ),
    pytest.param(
        "- a\n- b\n",
        "myapp-deploy-v1.yaml: document 1: expected a mapping, got list",
        id="not-a-mapping",
    ),
    pytest.param(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Widget\n",
        'myapp-deploy-v1.yaml: document 1 items[0]: no matches for kind "Widget" in version "v1"',
        id="unknown-kind-in-list",
    ),
    pytest.param(
        "spec: [\n",
        "myapp-deploy-v1.yaml: invalid YAML: did not find expected node content"
        " at line 2, column 1",
        id="invalid-yaml",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_manifest_message(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifests(text, source="myapp-deploy-v1.yaml")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("apps/v1", "Deploymnet"), ("v1", "Deployment"), ("apps/v1beta1", "Deployment")],
)
def test_unknown_kind_names_api_version_and_kind(api_version: str, kind: str) -> None:
    text = f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x}}\n"
    with pytest.raises(UnknownKindError) as caught:
        load_manifests(text, source="x.yaml")
    assert str(caught.value) == (
        f'x.yaml: document 1: no matches for kind "{kind}" in version "{api_version}"'
    )


def test_yaml_alias_bomb_is_refused() -> None:
    levels = "".join(f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10))
    text = CONFIG_MAP.format(name="bomb") + "x0: &a0 [lol, lol, lol]\n" + levels
    with pytest.raises(ManifestError) as caught:
        load_manifests(text, source="b.yaml")
    assert str(caught.value) == (
        f'b.yaml: ConfigMap "bomb": more than {MAX_VALUES} values (YAML aliases expand too far)'
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "d.json: invalid JSON: nested too deeply"),
        (
            "data: " + "[" * 5000 + "]" * 5000,
            "d.json: invalid YAML: exceeded maximum nesting depth",
        ),
    ],
    ids=["json", "yaml"],
)
def test_deep_nesting_is_refused(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=f"^{re.escape(message)}"):
        load_manifests(text, source="d.json")


def test_default_source_is_stdin() -> None:
    with pytest.raises(ManifestError, match=r"^<stdin>: document 1: "):
        load_manifests("apiVersion: v1\n")


# -- output ---------------------------------------------------------------------------------


def test_dump_yaml_is_block_style_like_kubectl() -> None:
    obj = _load_one((MANIFESTS / "myapp-svc-headless.yaml").read_text())
    assert isinstance(obj, Service)
    assert dump_yaml(obj) == (
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  name: myapp-svc-headless\n"
        "  labels:\n"
        "    app: myapp-svc-headless\n"
        "spec:\n"
        "  ports:\n"
        "  - name: http\n"
        "    port: 80\n"
        "  selector:\n"
        "    app: myapp-sts\n"
        "  clusterIP: None\n"
    )


def test_dump_yaml_writes_multiline_strings_as_literal_blocks() -> None:
    obj = ConfigMap(data={"script": "set -ex\necho hi\n"})
    assert "  script: |\n    set -ex\n    echo hi\n" in dump_yaml(obj)
    assert load_manifests(dump_yaml(obj)) == (obj,)


def test_dump_json_is_indented_like_kubectl() -> None:
    obj = ConfigMap(data={"a": "b"})
    assert dump_json(obj) == (
        '{\n    "apiVersion": "v1",\n    "kind": "ConfigMap",\n'
        '    "data": {\n        "a": "b"\n    }\n}'
    )
