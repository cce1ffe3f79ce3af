"""The kubelet simulator (DESIGN.md, "Kubelet simulator"): pod lifecycles on emulated nodes.

    kubelet = Kubelet(client, informers, clock=clock, activity=activity, ids=ids, profile=None)
    manager.add(kubelet.controller)      # controller "kubelet", writes as "kubelet/<node>"

- `kubelet` — the controller: admission (pod IP, hostIP, startTime), status writes, graceful
  deletion.
- `status`, `timeline` — the pure model: a pod's status as a function of its spec, the
  profile, the seed and time.
- `profile` — the simulation profile (YAML): timings and failures per image glob.
- `ipam` — per-node address pools (lowest free host address of the node's podCIDR).
"""

from controllers.kubelet.ipam import AddressPool
from controllers.kubelet.kubelet import KUBELET_NAME, Kubelet, host_ip_of, kubelet_actor
from controllers.kubelet.profile import (
    CrashLoop,
    ImageSettings,
    Profile,
    ProfileError,
    Rule,
    RuleDefaults,
    load_profile,
)

__all__ = [
    "KUBELET_NAME",
    "AddressPool",
    "CrashLoop",
    "ImageSettings",
    "Kubelet",
    "Profile",
    "ProfileError",
    "Rule",
    "RuleDefaults",
    "host_ip_of",
    "kubelet_actor",
    "load_profile",
]
