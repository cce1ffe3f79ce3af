"""The PersistentVolume binder and dynamic provisioner (upstream
`pkg/controller/volume/persistentvolume`).

    binder = PersistentVolumeController(client, informers, clock=clock, activity=activity,
                                        ids=ids, served_provisioners=("nfs-client",))
    manager.add(binder.controller)   # name "persistentvolume-binder"
    await client.create(default_storage_class())   # `standard`, cpemu.io/hostpath, default

- `controller.py`: handlers, claim and volume sync, provisioning, reclaim;
- `writes.py`: the bind / phase / unbind writes;
- `index.py`: `VolumeIndex`, available volumes per class and access-mode set, by size;
- `util.py`: annotations, matching rules, `provisioned_volume`, `default_storage_class`,
  and `claims_bound`, the scheduler's VolumeBinding check.
"""

from controllers.volume.controller import (
    EVENT_SOURCE,
    PV_BINDER_NAME,
    EventSink,
    PersistentVolumeController,
    claim_request,
    volume_request,
)
from controllers.volume.index import VolumeIndex, is_available
from controllers.volume.util import (
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_DEFAULT_CLASS,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    DEFAULT_CLASS_NAME,
    HOSTPATH_PROVISIONER,
    HOSTPATH_ROOT,
    UNBOUND_IMMEDIATE,
    claims_bound,
    default_storage_class,
    pick_default_class,
    provisioned_volume,
)

__all__ = [
    "ANN_BIND_COMPLETED",
    "ANN_BOUND_BY_CONTROLLER",
    "ANN_DEFAULT_CLASS",
    "ANN_DYNAMICALLY_PROVISIONED",
    "ANN_SELECTED_NODE",
    "ANN_STORAGE_PROVISIONER",
    "DEFAULT_CLASS_NAME",
    "EVENT_SOURCE",
    "HOSTPATH_PROVISIONER",
    "HOSTPATH_ROOT",
    "PV_BINDER_NAME",
    "UNBOUND_IMMEDIATE",
    "EventSink",
    "PersistentVolumeController",
    "VolumeIndex",
    "claim_request",
    "claims_bound",
    "default_storage_class",
    "is_available",
    "pick_default_class",
    "provisioned_volume",
    "volume_request",
]
