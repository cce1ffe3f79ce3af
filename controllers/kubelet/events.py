"""The kubelet's warning events, derived from a status change (pure).

    for type_, reason, message in status_events(pod, old_status, new_status):
        await recorder.event(pod, type_, reason, message)

Only the events that explain a stuck pod are recorded, with upstream's reasons and wording
(`pkg/kubelet/events/event.go`, `images/image_manager.go`, `kuberuntime_manager.go`): when a
container enters `ErrImagePull` (Warning Failed `Failed to pull image "x": ...`, Warning Failed
`Error: ErrImagePull`), `ImagePullBackOff` (Normal BackOff `Back-off pulling image "x"`, Warning
Failed `Error: ImagePullBackOff`) or `CrashLoopBackOff` (Warning BackOff `Back-off restarting
failed container app in pod web_default(uid)`). The routine Pulling / Pulled / Created /
Started / Killing events are not recorded: four more writes per pod would dominate a
10,000-pod rollout, and the status already says all they say.
"""

from __future__ import annotations

from collections.abc import Iterator

from cp.api.core_pod import ContainerStatus, Pod, PodStatus

__all__ = ["FAILED_SANDBOX", "sandbox_failure", "status_events"]

#: Event reason of a pod whose sandbox (here: its address) cannot be made.
FAILED_SANDBOX = "FailedCreatePodSandBox"

Event = tuple[str, str, str]  # (type, reason, message)


def _waiting(status: ContainerStatus | None) -> tuple[str, str]:
    """(reason, message) of a waiting container; empty strings otherwise."""
    if status is None or status.state is None or status.state.waiting is None:
        return "", ""
    return status.state.waiting.reason, status.state.waiting.message


def _statuses(status: PodStatus | None) -> dict[str, ContainerStatus]:
    if status is None:
        return {}
    return {s.name: s for s in (*status.init_container_statuses, *status.container_statuses)}


def status_events(pod: Pod, old: PodStatus | None, new: PodStatus) -> Iterator[Event]:
    """The events a kubelet records as `pod` goes from status `old` to `new`."""
    before = _statuses(old)
    meta = pod.metadata
    for status in (*new.init_container_statuses, *new.container_statuses):
        reason, message = _waiting(status)
        if not reason or reason == _waiting(before.get(status.name))[0]:
            continue
        if reason == "ErrImagePull":
            yield "Warning", "Failed", message
            yield "Warning", "Failed", "Error: ErrImagePull"
        elif reason == "ImagePullBackOff":
            yield "Normal", "BackOff", f'Back-off pulling image "{status.image}"'
            yield "Warning", "Failed", "Error: ImagePullBackOff"
        elif reason == "CrashLoopBackOff":
            pod_ref = f"{meta.name}_{meta.namespace}({meta.uid})"
            text = f"Back-off restarting failed container {status.name} in pod {pod_ref}"
            yield "Warning", "BackOff", text


def sandbox_failure(cidr: str) -> Event:
    """The event of a pod that gets no address: host-local IPAM's range is full."""
    message = (
        'Failed to create pod sandbox: plugin type="host-local" failed (add): failed to '
        f"allocate for range 0: no IP addresses available in range set: {cidr}"
    )
    return "Warning", FAILED_SANDBOX, message
