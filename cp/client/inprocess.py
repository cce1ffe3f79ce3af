"""`InProcessClient`: the `Client` over an `ApiServer` in the same process.

Every write passes the `actor` and `cause` current in `cp.client.causality` to the server, so
the event log records who wrote and why. `patch` is done here, as kube-apiserver's patch
handler does it: read, apply the patch to the object's JSON, decode strictly, and update with
the resourceVersion read; a Conflict (someone wrote in between) re-reads and re-applies, a few
times, unless the patch itself set metadata.resourceVersion (then it is a real precondition).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, TypeVar

from cp.api.core_pod import Pod
from cp.api.errors import Conflict, NotFound
from cp.api.kinds import KINDS, KindInfo
from cp.api.meta import ApiStruct
from cp.apiserver import ApiServer
from cp.client.causality import current_actor, current_cause
from cp.client.protocol import (
    Client,
    ListResult,
    PatchBody,
    PatchType,
    WatchStream,
    apply_patch,
    parse_patch_body,
)

__all__ = ["PATCH_RETRIES", "InProcessClient"]

_T = TypeVar("_T", bound=ApiStruct)

#: Attempts of a patch that keeps losing compare-and-swap races (upstream retries on conflict
#: for up to a few seconds; this emulator's writers are few).
PATCH_RETRIES: Final = 5


def _info(kind: str) -> KindInfo:
    info = KINDS.lookup(kind)
    if info is None:
        raise NotFound(f'the server doesn\'t have a resource type "{kind}"')
    return info


class InProcessClient:
    """`Client` calling an `ApiServer` directly (no serialization beyond the store's)."""

    __slots__ = ("_server",)

    def __init__(self, server: ApiServer) -> None:
        self._server = server

    @property
    def server(self) -> ApiServer:
        return self._server

    async def get(self, kind: str, name: str, namespace: str | None = None) -> ApiStruct:
        return await self._server.get(kind, name, namespace)

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        at: int | None = None,
    ) -> ListResult:
        items, revision = await self._server.list(
            kind, namespace, label_selector=label_selector, field_selector=field_selector, at=at
        )
        return ListResult(items, str(revision))

    async def create(self, obj: _T) -> _T:
        return await self._server.create(obj, actor=current_actor(), cause=current_cause())

    async def update(self, obj: _T) -> _T:
        return await self._server.update(obj, actor=current_actor(), cause=current_cause())

    async def update_status(self, obj: _T) -> _T:
        return await self._server.update_status(obj, actor=current_actor(), cause=current_cause())

    async def patch(
        self,
        kind: str,
        name: str,
        body: PatchBody,
        patch_type: PatchType = "strategic",
        namespace: str | None = None,
    ) -> ApiStruct:
        info = _info(kind)
        parsed = parse_patch_body(body, patch_type)
        actor, cause = current_actor(), current_cause()
        for attempt in range(PATCH_RETRIES):
            current = await self._server.get(info.kind, name, namespace)
            patched, explicit = apply_patch(info, current, parsed, patch_type)
            try:
                return await self._server.update(patched, actor=actor, cause=cause)
            except Conflict:
                if explicit or attempt + 1 == PATCH_RETRIES:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def bind(
        self,
        name: str,
        node_name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Pod:
        return await self._server.bind(
            name,
            node_name,
            namespace,
            uid=uid,
            resource_version=resource_version,
            annotations=annotations,
            actor=current_actor(),
            cause=current_cause(),
        )

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Background",
        *,
        grace_period_seconds: int | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> ApiStruct:
        return await self._server.delete(
            kind,
            name,
            namespace,
            actor=current_actor(),
            cause=current_cause(),
            precondition_rv=resource_version,
            precondition_uid=uid,
            propagation=propagation,
            grace_period_seconds=grace_period_seconds,
        )

    def watch(
        self, kind: str, namespace: str | None = None, resource_version: str | None = None
    ) -> WatchStream:
        return self._server.watch(kind, namespace, resource_version=resource_version)


if TYPE_CHECKING:

    def _conforms(server: ApiServer) -> Client:
        return InProcessClient(server)
