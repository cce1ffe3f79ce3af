"""The `storage.k8s.io/v1` kinds: StorageClass."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from cp.api.meta import ApiStruct, ObjectMeta

__all__ = ["StorageClass"]


class StorageClass(ApiStruct, frozen=True, kw_only=True):
    """The annotation `storageclass.kubernetes.io/is-default-class: "true"` marks the default.

    `reclaimPolicy` defaults to Delete and `volumeBindingMode` to Immediate (the other value is
    WaitForFirstConsumer); both are pointers upstream, hence None when unset.
    """

    api_version: str = msgspec.field(default_factory=lambda: "storage.k8s.io/v1")
    kind: str = msgspec.field(default_factory=lambda: "StorageClass")
    metadata: ObjectMeta = ObjectMeta()
    provisioner: str
    parameters: Mapping[str, str] = {}
    reclaim_policy: str | None = None
    mount_options: tuple[str, ...] = ()
    allow_volume_expansion: bool | None = None
    volume_binding_mode: str | None = None
