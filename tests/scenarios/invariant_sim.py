"""`Sim`: synthetic event logs for the invariant checker's tests — encoded `cp.api` objects
written to a memory store under the API server's keys, each write attributed to the actor a real
controller would have (see `tests/scenarios/test_invariants.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from msgspec.structs import replace

import store
from cp.api.apps import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    ReplicaSet,
    ReplicaSetSpec,
    RollingUpdateDeployment,
)
from cp.api.codec import encode
from cp.api.core_pod import Container, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec
from cp.api.kinds import KINDS
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta, OwnerReference
from cp.apiserver.keys import key_of
from tests.scenarios.invariants import (
    REVISION_ANNOTATION,
    Violation,
)

NS = "default"
DEPLOY = "controller/deployment"
RSCTL = "controller/replicaset"
KUBELET = "kubelet/node-1"
USER = "user"
DEP_UID = "uid-dep-web"


# -- objects -------------------------------------------------------------------------------------


def _template(image: str) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": "web"}),
        spec=PodSpec(containers=(Container(name="web", image=image),)),
    )


def _controller_refs(kind: str, uid: str, count: int) -> tuple[OwnerReference, ...]:
    """`count` controller references, the first to `uid`."""
    return tuple(
        OwnerReference(
            api_version="apps/v1",
            kind=kind,
            name=f"owner-{i}",
            uid=uid if i == 0 else f"{uid}-other-{i}",
            controller=True,
            block_owner_deletion=True,
        )
        for i in range(count)
    )


def _deployment(
    replicas: int,
    surge: int | str | None,
    unavailable: int | str | None,
    *,
    strategy: str = "RollingUpdate",
    image: str = "nginx:1",
) -> Deployment:
    rolling = (
        RollingUpdateDeployment(max_surge=surge, max_unavailable=unavailable)
        if strategy == "RollingUpdate"
        else None
    )
    return Deployment(
        metadata=ObjectMeta(name="web", namespace=NS, uid=DEP_UID, generation=1),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels={"app": "web"}),
            template=_template(image),
            strategy=DeploymentStrategy(type=strategy, rolling_update=rolling),
        ),
    )


def _key(obj: ApiStruct) -> str:
    info = KINDS.lookup(type(obj).__name__)
    assert info is not None
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return key_of(info, meta.namespace, meta.name)


class Sim:
    """Writes a Deployment's story to a log, one revision per call; returns that revision."""

    def __init__(self, log: store.EventLog) -> None:
        self.log = log
        self.revs: dict[str, int] = {}
        self.dep: Deployment | None = None
        self.rs: dict[str, ReplicaSet] = {}
        self.pods: dict[str, Pod] = {}
        self._serial = 0

    async def put(self, obj: ApiStruct, actor: str) -> int:
        key = _key(obj)
        value = encode(obj)
        if key in self.revs:
            rev = await self.log.update(key, value, expected=self.revs[key], actor=actor)
        else:
            rev = await self.log.create(key, value, actor=actor)
        self.revs[key] = rev
        return rev

    async def remove(self, obj: ApiStruct, actor: str) -> int:
        key = _key(obj)
        rev = await self.log.delete(key, expected=self.revs.pop(key), actor=actor)
        return rev

    # Deployment

    async def deployment(
        self,
        replicas: int = 3,
        surge: int | str | None = 1,
        unavailable: int | str | None = 1,
        **kw: Any,
    ) -> int:
        self.dep = _deployment(replicas, surge, unavailable, **kw)
        return await self.put(self.dep, USER)

    async def edit(self, actor: str = USER, **spec: Any) -> int:
        assert self.dep is not None
        self.dep = replace(self.dep, spec=replace(self.dep.spec, **spec))
        return await self.put(self.dep, actor)

    async def image(self, image: str) -> int:
        return await self.edit(template=_template(image))

    async def annotate(self, revision: str, actor: str = DEPLOY) -> int:
        assert self.dep is not None
        meta = self.dep.metadata
        annotations = {**meta.annotations, REVISION_ANNOTATION: revision}
        self.dep = replace(self.dep, metadata=replace(meta, annotations=annotations))
        return await self.put(self.dep, actor)

    async def deleting(self) -> int:
        assert self.dep is not None
        meta = replace(self.dep.metadata, deletion_timestamp="2023-11-14T22:13:20Z")
        self.dep = replace(self.dep, metadata=meta)
        return await self.put(self.dep, USER)

    # ReplicaSets

    async def scale(
        self, name: str, replicas: int, actor: str = DEPLOY, *, controllers: int = 1
    ) -> int:
        rs = self.rs.get(name)
        if rs is None:
            rs = ReplicaSet(
                metadata=ObjectMeta(
                    name=name,
                    namespace=NS,
                    uid=f"uid-{name}-{self._next()}",
                    owner_references=_controller_refs("Deployment", DEP_UID, controllers),
                ),
                spec=ReplicaSetSpec(
                    replicas=replicas,
                    selector=LabelSelector(match_labels={"app": "web", "hash": name}),
                    template=_template(name),
                ),
            )
        else:
            rs = replace(rs, spec=replace(rs.spec, replicas=replicas))
        self.rs[name] = rs
        return await self.put(rs, actor)

    async def release(self, name: str, actor: str = DEPLOY) -> int:
        """Remove the ReplicaSet's ownerReferences (orphaned, as upstream's release does)."""
        rs = self.rs[name]
        rs = replace(rs, metadata=replace(rs.metadata, owner_references=()))
        self.rs[name] = rs
        return await self.put(rs, actor)

    async def delete_rs(self, name: str, actor: str = DEPLOY) -> int:
        return await self.remove(self.rs.pop(name), actor)

    # Pods

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    async def add_pod(
        self, rs_name: str, actor: str = RSCTL, *, controllers: int = 1
    ) -> tuple[str, int]:
        rs = self.rs[rs_name]
        name = f"{rs_name}-p{self._next()}"
        pod = Pod(
            metadata=ObjectMeta(
                name=name,
                namespace=NS,
                uid=f"uid-{name}",
                owner_references=_controller_refs("ReplicaSet", rs.metadata.uid, controllers),
            ),
            spec=PodSpec(containers=(Container(name="web", image=rs_name),)),
            status=PodStatus(phase="Pending"),
        )
        self.pods[name] = pod
        return name, await self.put(pod, actor)

    async def status(
        self, name: str, *, phase: str = "Running", ready: bool = True, actor: str = KUBELET
    ) -> int:
        pod = self.pods[name]
        condition = PodCondition(type="Ready", status="True" if ready else "False")
        pod = replace(pod, status=PodStatus(phase=phase, conditions=(condition,)))
        self.pods[name] = pod
        return await self.put(pod, actor)

    async def terminate(self, name: str, actor: str = RSCTL) -> int:
        pod = self.pods[name]
        meta = replace(pod.metadata, deletion_timestamp="2023-11-14T22:13:50Z")
        pod = replace(pod, metadata=meta)
        self.pods[name] = pod
        return await self.put(pod, actor)

    async def gone(self, name: str, actor: str = KUBELET) -> int:
        return await self.remove(self.pods.pop(name), actor)

    async def ready_pods(self, rs_name: str, count: int) -> list[str]:
        """Create `count` pods of the ReplicaSet and make each Running and Ready."""
        names = []
        for _ in range(count):
            name, _rev = await self.add_pod(rs_name)
            await self.status(name)
            names.append(name)
        return names

    def pods_of(self, rs_name: str) -> list[str]:
        uid = self.rs[rs_name].metadata.uid
        return [
            n
            for n, p in self.pods.items()
            if p.metadata.owner_references and p.metadata.owner_references[0].uid == uid
        ]


def _run(test: Callable[[Sim], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """Run `test` on a fresh memory log (with a guard against hangs)."""

    async def wrapper() -> None:
        with anyio.fail_after(10):
            async with store.open_log("memory://") as log:
                await test(Sim(log))

    return wrapper


def _found(violations: list[Violation]) -> list[tuple[int, str]]:
    return [(v.revision, v.rule) for v in violations]
