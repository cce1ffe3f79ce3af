"""A FakeClient and a DeploymentController whose informer caches mirror it (STYLE 13)."""

from __future__ import annotations

from dataclasses import dataclass, field

from controllers.deployment import DeploymentController
from cp.api.meta import ApiStruct
from cp.client import Action, FakeClient, acting_as
from cp.informer import SharedInformerFactory, meta_of
from cp.runtime import Activity, Request, Result, SeededIds, VirtualClock
from tests.controllers.fakes import NoApi

KINDS = ("Deployment", "ReplicaSet", "Pod")
START = 1_700_000_000.0


@dataclass
class Events:
    """A recorder keeping (type, reason, message) in order."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)

    async def event(self, obj: ApiStruct, kind: str, reason: str, message: str, /) -> None:
        self.seen.append((kind, reason, message))


class Harness:
    def __init__(self, *objects: ApiStruct) -> None:
        activity = Activity()
        self.clock = VirtualClock(activity, start=START)
        self.client = FakeClient(*objects, clock_now=self.clock.now)
        self.factory = SharedInformerFactory(NoApi(), activity)
        self.events = Events()
        self.dc = DeploymentController(
            self.client,
            self.factory,
            clock=self.clock,
            activity=activity,
            ids=SeededIds(0),
            recorder=self.events,
        )
        self.sync()

    def sync(self) -> None:
        """Make every cache equal the fake's objects (what the informers would do)."""
        for kind in KINDS:
            indexer = self.factory.informer_for(kind).indexer
            for key in indexer.sorted_keys():
                indexer.delete(key)
        for obj in self.client.objects():
            self.factory.informer_for(type(obj).__name__).indexer.upsert(obj)

    async def reconcile(self, name: str = "web") -> tuple[list[Action], Result]:
        """One reconcile; the writes it made (caches re-synced after)."""
        self.client.clear_actions()
        self.events.seen.clear()
        with acting_as("controller/deployment", cause=0):
            result = await self.dc.reconcile(Request("default", name))
        writes = self.client.writes()
        self.sync()
        return writes, result

    def get(self, kind: str, name: str) -> ApiStruct:
        for obj in self.client.objects():
            if type(obj).__name__ == kind and meta_of(obj).name == name:
                return obj
        raise KeyError(f"{kind}/{name}")

    def of_kind(self, kind: str) -> list[ApiStruct]:
        return [o for o in self.client.objects() if type(o).__name__ == kind]
