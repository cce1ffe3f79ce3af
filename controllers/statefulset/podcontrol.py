"""The writes of the StatefulSet controller on pods and claims, and their Events.

Follows upstream `pkg/controller/statefulset/stateful_pod_control.go` (`StatefulPodControl`:
`CreateStatefulPod`, `UpdateStatefulPod`, `DeleteStatefulPod`, `ClaimsMatchRetentionPolicy`,
`UpdatePodClaimForRetentionPolicy`, `PodClaimIsStale`, `createMissingPersistentVolumeClaims`,
`createPersistentVolumeClaims`, `recordPodEvent`, `recordClaimEvent`).

Events (source `statefulset-controller`), on the StatefulSet:

- `SuccessfulCreate` "create Pod web-0 in StatefulSet web successful" /
  `FailedCreate` "create Pod web-0 in StatefulSet web failed error: <err>";
- `SuccessfulCreate` "create Claim data-web-0 Pod web-0 in StatefulSet web success" /
  `FailedCreate` "create Claim data-web-0 for Pod web-0 in StatefulSet web failed error: <err>";
- `SuccessfulDelete` / `FailedDelete`, `SuccessfulUpdate` / `FailedUpdate` likewise for pods.

Claims are read from the informer cache (upstream's `pvcLister`). Difference from upstream: a
claim create answered AlreadyExists (the cache was behind our own create) counts as done
instead of failing the sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from controllers.statefulset.identity import (
    has_stale_owner_ref,
    has_unexpected_controller,
    identity_matches,
    parent_and_ordinal,
    persistent_volume_claims,
    retention_policy,
    storage_matches,
    update_claim_owner_refs,
    update_identity,
    update_storage,
)
from cp.api.apps import StatefulSet
from cp.api.core import PersistentVolumeClaim
from cp.api.core_pod import Pod
from cp.api.errors import AlreadyExists
from cp.api.meta import ApiStruct
from cp.client import Client
from cp.informer import Lister

__all__ = ["ClaimBeingDeleted", "EventSink", "StatefulPodControl"]


class EventSink(Protocol):
    """What the controller records Events with (`cp.client.events.EventRecorder`)."""

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> object: ...


class ClaimBeingDeleted(Exception):
    """A pod's claim exists but has a deletionTimestamp: the pod must wait for it to go."""


@dataclass(frozen=True, slots=True)
class StatefulPodControl:
    """Pod and claim writes for one controller: the client, the Event sink, the claim cache."""

    client: Client
    recorder: EventSink
    claims: Lister[PersistentVolumeClaim]

    # -- events -------------------------------------------------------------------------------

    async def _pod_event(
        self, verb: str, sts: StatefulSet, pod: Pod, err: Exception | None
    ) -> None:
        """`recordPodEvent`."""
        name, set_name = pod.metadata.name, sts.metadata.name
        if err is None:
            message = f"{verb} Pod {name} in StatefulSet {set_name} successful"
            await self.recorder.event(sts, "Normal", f"Successful{verb.title()}", message)
        else:
            message = f"{verb} Pod {name} in StatefulSet {set_name} failed error: {err}"
            await self.recorder.event(sts, "Warning", f"Failed{verb.title()}", message)

    async def _claim_event(
        self,
        verb: str,
        sts: StatefulSet,
        pod: Pod,
        claim: PersistentVolumeClaim,
        err: Exception | None,
    ) -> None:
        """`recordClaimEvent`."""
        names = (claim.metadata.name, pod.metadata.name, sts.metadata.name)
        if err is None:
            message = "{} Claim {} Pod {} in StatefulSet {} success".format(verb, *names)
            await self.recorder.event(sts, "Normal", f"Successful{verb.title()}", message)
        else:
            message = "{} Claim {} for Pod {} in StatefulSet {} failed error: {}".format(
                verb, *names, err
            )
            await self.recorder.event(sts, "Warning", f"Failed{verb.title()}", message)

    # -- claims -------------------------------------------------------------------------------

    def _claim(self, namespace: str, name: str) -> PersistentVolumeClaim | None:
        return self.claims.get(namespace, name)

    async def create_claims(self, sts: StatefulSet, pod: Pod) -> None:
        """`createPersistentVolumeClaims`: create each missing claim of the pod (an event each);
        a claim being deleted is an error. Tries them all, then raises the first error."""
        errors: list[Exception] = []
        ordinal = parent_and_ordinal(pod.metadata.name)[1]
        for _, claim in persistent_volume_claims(sts, ordinal):
            existing = self._claim(claim.metadata.namespace, claim.metadata.name)
            if existing is not None:
                if existing.metadata.deletion_timestamp is not None:
                    errors.append(ClaimBeingDeleted(f"pvc {claim.metadata.name} is being deleted"))
                continue
            try:
                await self.client.create(claim)
            except AlreadyExists:
                continue  # created by an earlier sync; the cache has not seen it yet
            except Exception as err:  # recorded, collected, the first raised below
                errors.append(err)
                await self._claim_event("create", sts, pod, claim, err)
                continue
            await self._claim_event("create", sts, pod, claim, None)
        if errors:
            raise errors[0]

    async def create_missing_claims(self, sts: StatefulSet, pod: Pod) -> None:
        """`createMissingPersistentVolumeClaims`: for a Pending pod, create its missing claims
        and set their references for the retention policy."""
        await self.create_claims(sts, pod)
        try:
            await self.update_claims_for_retention(sts, pod)
        except Exception as err:
            await self._pod_event("update", sts, pod, err)
            raise

    def claims_match_retention(self, sts: StatefulSet, pod: Pod) -> bool:
        """`ClaimsMatchRetentionPolicy`: every existing claim of the pod has the references the
        policy wants (a missing claim is picked up by a later sync)."""
        ordinal = parent_and_ordinal(pod.metadata.name)[1]
        for _, wanted in persistent_volume_claims(sts, ordinal):
            claim = self._claim(wanted.metadata.namespace, wanted.metadata.name)
            if claim is not None and update_claim_owner_refs(claim, sts, pod) is not None:
                return False
        return True

    async def update_claims_for_retention(self, sts: StatefulSet, pod: Pod) -> None:
        """`UpdatePodClaimForRetentionPolicy`: update each existing claim whose references
        disagree with the policy (a Warning `ConflictingController` for a claim controlled by
        someone else). A stale cached claim fails with Conflict (the sync retries)."""
        ordinal = parent_and_ordinal(pod.metadata.name)[1]
        for _, wanted in persistent_volume_claims(sts, ordinal):
            claim = self._claim(wanted.metadata.namespace, wanted.metadata.name)
            if claim is None:
                continue
            if has_unexpected_controller(claim, sts, pod):
                message = (
                    f"PersistentVolumeClaim {claim.metadata.name} has a conflicting "
                    "OwnerReference that acts as a managing controller, the retention policy "
                    "is ignored for this claim"
                )
                await self.recorder.event(sts, "Warning", "ConflictingController", message)
            fixed = update_claim_owner_refs(claim, sts, pod)
            if fixed is not None:
                await self.client.update(fixed)

    def pod_claim_is_stale(self, sts: StatefulSet, pod: Pod) -> bool:
        """`PodClaimIsStale`: with whenScaled Delete, a claim of the pod still referencing an
        earlier pod of that name (it is about to be garbage collected: wait for it)."""
        if retention_policy(sts)[0] == "Retain":
            return False
        ordinal = parent_and_ordinal(pod.metadata.name)[1]
        for _, wanted in persistent_volume_claims(sts, ordinal):
            claim = self._claim(wanted.metadata.namespace, wanted.metadata.name)
            if claim is not None and has_stale_owner_ref(claim, pod.metadata):
                return True
        return False

    # -- pods ---------------------------------------------------------------------------------

    async def create_pod(self, sts: StatefulSet, pod: Pod) -> Pod:
        """`CreateStatefulPod`: the claims first, then the pod (AlreadyExists is raised without
        an event), then the claims' retention references; returns the created pod."""
        try:
            await self.create_claims(sts, pod)
        except Exception as err:
            await self._pod_event("create", sts, pod, err)
            raise
        try:
            created = await self.client.create(pod)
        except AlreadyExists:
            raise
        except Exception as err:
            await self._pod_event("create", sts, pod, err)
            raise
        try:
            await self.update_claims_for_retention(sts, created)
        except Exception as err:
            await self._pod_event("update", sts, created, err)
            raise
        await self._pod_event("create", sts, created, None)
        return created

    async def delete_pod(self, sts: StatefulSet, pod: Pod) -> None:
        """`DeleteStatefulPod`: delete (graceful for a bound pod), with the cached pod's uid as
        a precondition (upstream sends none), and record the event."""
        meta = pod.metadata
        try:
            await self.client.delete("Pod", meta.name, meta.namespace, uid=meta.uid or None)
        except Exception as err:
            await self._pod_event("delete", sts, pod, err)
            raise
        await self._pod_event("delete", sts, pod, None)

    async def update_pod(self, sts: StatefulSet, pod: Pod) -> None:
        """`UpdateStatefulPod`: fix identity (labels) and storage (volumes, creating missing
        claims) and the claims' retention references; the pod is written only when it changed
        (the apiserver skips a no-op update). An event is recorded as upstream: whenever
        something was inconsistent. A Conflict is raised (the sync retries from the cache)."""
        consistent = True
        fixed = pod
        err: Exception | None = None
        try:
            if not identity_matches(sts, fixed):
                fixed = update_identity(sts, fixed)
                consistent = False
            if not storage_matches(sts, fixed):
                fixed = update_storage(sts, fixed)
                consistent = False
                await self.create_claims(sts, fixed)
            if not self.claims_match_retention(sts, fixed):
                await self.update_claims_for_retention(sts, fixed)
                consistent = False
            if consistent:
                return
            if fixed != pod:
                await self.client.update(fixed)
        except Exception as exc:
            err = exc
        await self._pod_event("update", sts, fixed, err)
        if err is not None:
            raise err
