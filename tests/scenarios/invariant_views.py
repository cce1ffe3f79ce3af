"""The views the invariant checker decodes stored objects into: only the fields its rules
read (msgspec skips every other field), so replaying a long log stays cheap."""

from __future__ import annotations

from typing import Final

import msgspec


class _Ref(msgspec.Struct, frozen=True, gc=False):
    uid: str = ""
    controller: bool | None = None


class _Meta(msgspec.Struct, frozen=True, rename="camel", gc=False):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    annotations: dict[str, str] = {}
    owner_references: tuple[_Ref, ...] = ()
    deletion_timestamp: str | None = None


class _RollingUpdate(msgspec.Struct, frozen=True, rename="camel", gc=False):
    max_surge: int | str | None = None
    max_unavailable: int | str | None = None


class _Strategy(msgspec.Struct, frozen=True, rename="camel", gc=False):
    type: str = ""
    rolling_update: _RollingUpdate | None = None


class _DeploymentSpec(msgspec.Struct, frozen=True, gc=False):
    replicas: int | None = None
    strategy: _Strategy | None = None


class _DeploymentView(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta = _Meta()
    spec: msgspec.Raw = msgspec.Raw(b"{}")


class _ReplicaSetSpec(msgspec.Struct, frozen=True, gc=False):
    replicas: int | None = None


class _ReplicaSetView(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta = _Meta()
    spec: _ReplicaSetSpec = _ReplicaSetSpec()


class _Condition(msgspec.Struct, frozen=True, gc=False):
    type: str = ""
    status: str = ""


class _PodStatus(msgspec.Struct, frozen=True, gc=False):
    phase: str = ""
    conditions: tuple[_Condition, ...] = ()


class _PodView(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta = _Meta()
    status: _PodStatus | None = None


class _Ordinals(msgspec.Struct, frozen=True, gc=False):
    start: int = 0


class _RetentionPolicy(msgspec.Struct, frozen=True, rename="camel", gc=False):
    when_deleted: str = "Retain"
    when_scaled: str = "Retain"


class _ClaimTemplateMeta(msgspec.Struct, frozen=True, gc=False):
    name: str = ""


class _ClaimTemplate(msgspec.Struct, frozen=True, gc=False):
    metadata: _ClaimTemplateMeta = _ClaimTemplateMeta()


class _StatefulSetSpec(msgspec.Struct, frozen=True, rename="camel", gc=False):
    pod_management_policy: str | None = None
    ordinals: _Ordinals | None = None
    persistent_volume_claim_retention_policy: _RetentionPolicy | None = None
    volume_claim_templates: tuple[_ClaimTemplate, ...] = ()


class _StatefulSetView(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta = _Meta()
    spec: _StatefulSetSpec = _StatefulSetSpec()


class _ClaimSpec(msgspec.Struct, frozen=True, rename="camel", gc=False):
    volume_name: str = ""


class _ClaimStatus(msgspec.Struct, frozen=True, gc=False):
    phase: str = ""


class _ClaimView(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta = _Meta()
    spec: _ClaimSpec = _ClaimSpec()
    status: _ClaimStatus | None = None


class _ClaimRef(msgspec.Struct, frozen=True, gc=False):
    namespace: str = ""
    name: str = ""
    uid: str = ""


class _VolumeSpec(msgspec.Struct, frozen=True, rename="camel", gc=False):
    claim_ref: _ClaimRef | None = None


class _VolumeView(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta = _Meta()
    spec: _VolumeSpec = _VolumeSpec()


class _ServiceSpec(msgspec.Struct, frozen=True, rename="camel", gc=False):
    cluster_ip: str = msgspec.field(default="", name="clusterIP")
    cluster_ips: tuple[str, ...] = msgspec.field(default=(), name="clusterIPs")


class _ServiceView(msgspec.Struct, frozen=True, gc=False):
    spec: _ServiceSpec = _ServiceSpec()


_DECODE_DEPLOYMENT: Final = msgspec.json.Decoder(_DeploymentView).decode
_DECODE_DEPLOYMENT_SPEC: Final = msgspec.json.Decoder(_DeploymentSpec).decode
_DECODE_REPLICASET: Final = msgspec.json.Decoder(_ReplicaSetView).decode
_DECODE_POD: Final = msgspec.json.Decoder(_PodView).decode
_DECODE_STATEFULSET: Final = msgspec.json.Decoder(_StatefulSetView).decode
_DECODE_CLAIM: Final = msgspec.json.Decoder(_ClaimView).decode
_DECODE_VOLUME: Final = msgspec.json.Decoder(_VolumeView).decode
_DECODE_SERVICE: Final = msgspec.json.Decoder(_ServiceView).decode
