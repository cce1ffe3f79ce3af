"""`manageReplicas`: create or delete pods so a ReplicaSet has `spec.replicas` active pods.

Follows upstream `pkg/controller/replicaset/replica_set.go` (`manageReplicas`, `slowStartBatch`,
`getPodsToDelete`, `getPodKeys`) and `pkg/controller/controller_utils.go`
(`RealPodControl.CreatePods`/`DeletePod`, `GetPodFromTemplate`).

With `diff = len(active owned pods) - spec.replicas`:

- diff < 0: create `n = min(-diff, BURST_REPLICAS)` pods, after `expect_creations(key, n)`,
  in slow-start batches of 1, 2, 4, 8 ... (each at most what remains), the pods of one batch
  concurrently. The first failed batch stops the run: the creates that failed or never ran
  are "observed" at once (they will never show up in the informer) and the first error is
  raised, so the ReplicaSet is retried with backoff.
  Worked example, 10 missing replicas, the 3rd create of the batch of 4 fails: batches 1, 2, 4
  (the 4 run together) -> 6 created; 1 failed + 3 skipped lower the expectation by 4, so it
  waits for the 6 ADDs, then the next sync creates the missing 4 (1, 2, 1).
- diff > 0: delete `n = min(diff, BURST_REPLICAS)` pods chosen by `get_pods_to_delete`, after
  `expect_deletions(key, their keys)`, all concurrently; a failed delete is "observed" at once
  and, unless NotFound, its error is raised after the others finished.

Pods are built from the template (labels, annotations, finalizers and spec, shared, never
copied) with `generateName: "<rs-name>-"` (the API server adds 5 seeded random characters) and
the controllerRef. Events (on the ReplicaSet): Normal SuccessfulCreate "Created pod: <name>",
Warning FailedCreate "Error creating: <err>", Normal SuccessfulDelete "Deleted pod: <name>",
Warning FailedDelete "Error deleting: <err>".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import anyio

from controllers.common.expectations import UIDTrackingExpectations
from controllers.common.pods import first_for_deletion, node_ranks
from controllers.common.refmanager import controller_ref
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod
from cp.api.errors import NotFound
from cp.api.meta import ApiStruct, ObjectMeta
from cp.client import Client
from cp.informer import key_of
from cp.runtime import Clock

__all__ = [
    "BURST_REPLICAS",
    "SLOW_START_INITIAL_BATCH_SIZE",
    "EventSink",
    "ManageDeps",
    "desired_replicas",
    "get_pods_to_delete",
    "manage_replica_count",
    "manage_replicas",
    "pod_from_template",
    "pod_key",
    "rs_key",
    "slow_start_batch",
]

#: upstream `BurstReplicas`: at most this many creates or deletes per sync.
BURST_REPLICAS: Final = 500
#: upstream `controller.SlowStartInitialBatchSize`.
SLOW_START_INITIAL_BATCH_SIZE: Final = 1

EVENT_NORMAL: Final = "Normal"
EVENT_WARNING: Final = "Warning"


class EventSink(Protocol):
    """What the controller records events with (`cp.client.events.EventRecorder`)."""

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> object: ...


@dataclass(frozen=True, slots=True)
class ManageDeps:
    """What `manage_replicas` needs: the client, the expectations, events and the clock."""

    client: Client
    expectations: UIDTrackingExpectations
    recorder: EventSink
    clock: Clock
    burst_replicas: int = BURST_REPLICAS


def rs_key(meta: ObjectMeta) -> str:
    """The expectations key of a ReplicaSet (`namespace/name`)."""
    return key_of(meta.namespace, meta.name)


def pod_key(pod: Pod) -> str:
    """`controller.PodKey`: `namespace/name`."""
    return key_of(pod.metadata.namespace, pod.metadata.name)


def desired_replicas(rs: ReplicaSet) -> int:
    """`spec.replicas`, 1 when unset (the API default)."""
    return 1 if rs.spec.replicas is None else rs.spec.replicas


def pod_from_template(rs: ReplicaSet) -> Pod:
    """A new pod of `rs` (`GetPodFromTemplate`): template labels, annotations, finalizers and
    spec, `generateName: "<rs>-"`, the ReplicaSet's namespace and its controllerRef."""
    template = rs.spec.template
    meta = ObjectMeta(
        generate_name=f"{rs.metadata.name}-",
        namespace=rs.metadata.namespace,
        labels=template.metadata.labels,
        annotations=template.metadata.annotations,
        finalizers=template.metadata.finalizers,
        owner_references=(controller_ref(rs),),
    )
    return Pod(metadata=meta, spec=template.spec)


async def slow_start_batch(
    count: int, initial_batch_size: int, fn: Callable[[], Awaitable[None]]
) -> tuple[int, Exception | None]:
    """Call `fn` `count` times in batches of 1, 2, 4 ... (`slowStartBatch`).

    Each batch runs concurrently; a batch with any failure ends the run. Returns (the number
    of successful calls, the first error or None)."""
    remaining = count
    successes = 0
    batch = min(remaining, initial_batch_size)
    while batch > 0:
        errors = await _run_concurrently([fn] * batch)
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


async def _run_concurrently(calls: Sequence[Callable[[], Awaitable[None]]]) -> list[Exception]:
    """Run `calls` concurrently (started in order); their errors, in call order."""
    errors: list[Exception | None] = [None] * len(calls)

    async def run(index: int) -> None:
        try:
            await calls[index]()
        except Exception as err:  # reported to the caller, never lost
            errors[index] = err

    if len(calls) == 1:
        await run(0)
    else:
        async with anyio.create_task_group() as tg:
            for index in range(len(calls)):
                tg.start_soon(run, index)
    return [err for err in errors if err is not None]


def get_pods_to_delete(
    active: Sequence[Pod], related: Sequence[Pod], diff: int, now: float
) -> list[Pod]:
    """The `diff` pods of `active` to delete first (`getPodsToDelete`): no sorting when all go;
    otherwise ranked by co-located `related` pods and ordered by `sort_for_deletion` (the
    first `diff` only: `first_for_deletion`)."""
    if diff < len(active):
        return first_for_deletion(active, node_ranks(active, related), now, diff)
    return list(active[:diff])


async def manage_replicas(
    deps: ManageDeps,
    rs: ReplicaSet,
    active: Sequence[Pod],
    related: Callable[[], Sequence[Pod]],
) -> None:
    """Create or delete pods towards `spec.replicas` (see the module doc); raises the first
    write error. `active` are the active pods `rs` controls; `related()` the pods ranked
    against on scale-down (only called then)."""
    await manage_replica_count(deps, rs, len(active), lambda: active, related)


async def manage_replica_count(
    deps: ManageDeps,
    rs: ReplicaSet,
    active_count: int,
    active: Callable[[], Sequence[Pod]],
    related: Callable[[], Sequence[Pod]],
) -> None:
    """`manage_replicas` given the number of active pods: `active()` (which must return that
    many pods) and `related()` are called only on scale-down, both before the first write, so
    a caller may build them lazily from the cache it counted."""
    key = rs_key(rs.metadata)
    diff = active_count - desired_replicas(rs)
    if diff < 0:
        await _create_pods(deps, rs, key, min(-diff, deps.burst_replicas))
    elif diff > 0:
        victims = get_pods_to_delete(
            active(), related(), min(diff, deps.burst_replicas), deps.clock.now()
        )
        await _delete_pods(deps, rs, key, victims)


async def _create_pods(deps: ManageDeps, rs: ReplicaSet, key: str, count: int) -> None:
    deps.expectations.expect_creations(key, count)
    template = pod_from_template(rs)

    async def create() -> None:
        try:
            pod = await deps.client.create(template)
        except Exception as err:
            await deps.recorder.event(rs, EVENT_WARNING, "FailedCreate", f"Error creating: {err}")
            raise
        await deps.recorder.event(
            rs, EVENT_NORMAL, "SuccessfulCreate", f"Created pod: {pod.metadata.name}"
        )

    successes, error = await slow_start_batch(count, SLOW_START_INITIAL_BATCH_SIZE, create)
    for _ in range(count - successes):  # never observed: they were not created
        deps.expectations.creation_observed(key)
    if error is not None:
        raise error


async def _delete_pods(deps: ManageDeps, rs: ReplicaSet, key: str, victims: list[Pod]) -> None:
    deps.expectations.expect_deletions(key, [pod_key(pod) for pod in victims])

    def deleter(pod: Pod) -> Callable[[], Awaitable[None]]:
        async def delete() -> None:
            meta = pod.metadata
            try:
                await deps.client.delete("Pod", meta.name, meta.namespace)
            except Exception as err:
                deps.expectations.deletion_observed(key, pod_key(pod))
                if isinstance(err, NotFound):
                    return
                message = f"Error deleting: {err}"
                await deps.recorder.event(rs, EVENT_WARNING, "FailedDelete", message)
                raise
            await deps.recorder.event(
                rs, EVENT_NORMAL, "SuccessfulDelete", f"Deleted pod: {meta.name}"
            )

        return delete

    errors = await _run_concurrently([deleter(pod) for pod in victims])
    if errors:
        raise errors[0]
