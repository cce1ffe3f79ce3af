"""One conformance suite for every store backend (memory and SQLite), per store/__init__.py.

Names say what each test checks (kine style). Watch delivery is awaited by reading an
expected number of events under `anyio.fail_after`, which only guards against a hang.
"""

from __future__ import annotations

import anyio
import pytest
from anyio.abc import TaskGroup

import store
from store import (
    Compacted,
    Event,
    EventLog,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RangeResult,
    RevisionMismatch,
)
from tests.store import (
    BIG_GUARD,
    HANG_GUARD,
    all_events,
    create_many,
    fill,
    keys,
    raises_on_call_or_iteration,
    take,
)

pytestmark = pytest.mark.anyio

# --- basics -----------------------------------------------------------------------------


async def test_empty_log_starts_at_revision_zero(log: EventLog) -> None:
    assert (log.revision, log.compacted_revision) == (0, 0)
    assert await log.get("/a") is None
    assert await log.range("") == RangeResult([], 0)
    assert await all_events(log) == []


async def test_create_get_update_delete_revisions_and_versions(log: EventLog) -> None:
    assert await log.create("/k", b"v1") == 1
    assert log.revision == 1
    assert await log.get("/k") == KeyValue("/k", b"v1", 1, 1, 1)
    assert await log.create("/other", b"o") == 2
    assert await log.update("/k", b"v2", expected=1) == 3
    assert await log.get("/k") == KeyValue("/k", b"v2", 1, 3, 2)
    assert await log.update("/k", b"v3", expected=3) == 4
    assert await log.get("/k") == KeyValue("/k", b"v3", 1, 4, 3)
    assert await log.delete("/k", expected=4) == 5
    assert (log.revision, await log.get("/k")) == (5, None)
    assert await log.get("/other") == KeyValue("/other", b"o", 2, 2, 1)


async def test_create_after_delete_resets_version_and_create_revision(log: EventLog) -> None:
    await log.create("/k", b"v1")
    await log.update("/k", b"v2", expected=1)
    assert await log.delete("/k", expected=None) == 3  # unconditional
    assert await log.create("/k", b"again") == 4
    assert await log.get("/k") == KeyValue("/k", b"again", 4, 4, 1)
    assert await log.update("/k", b"again2", expected=4) == 5
    assert await log.get("/k") == KeyValue("/k", b"again2", 4, 5, 2)


async def test_create_of_live_key_raises_key_exists(log: EventLog) -> None:
    await log.create("/k", b"v1")
    await log.update("/k", b"v2", expected=1)
    with pytest.raises(KeyExists) as info:
        await log.create("/k", b"dup")
    assert info.value.key == "/k"
    assert info.value.revision == 2
    assert log.revision == 2
    assert await log.get("/k") == KeyValue("/k", b"v2", 1, 2, 2)


async def test_empty_value_is_stored_as_empty_bytes(log: EventLog) -> None:
    await log.create("/k", b"")
    await log.update("/k", b"x", expected=1)
    assert await log.get("/k", at=1) == KeyValue("/k", b"", 1, 1, 1)
    events = await all_events(log)
    assert [(ev.value, ev.prev_value) for ev in events] == [(b"", None), (b"x", b"")]


async def test_value_of_exactly_max_bytes_is_accepted(log: EventLog) -> None:
    value = b"x" * store.MAX_VALUE_BYTES
    await log.create("/big", value)
    assert await log.get("/big") == KeyValue("/big", value, 1, 1, 1)


# --- compare-and-swap ---------------------------------------------------------------------


async def test_cas_conflict_on_stale_update(log: EventLog) -> None:
    await log.create("/k", b"v1")
    await log.update("/k", b"v2", expected=1)
    with pytest.raises(RevisionMismatch) as info:
        await log.update("/k", b"stale", expected=1)
    assert (info.value.key, info.value.expected, info.value.actual) == ("/k", 1, 2)
    with pytest.raises(RevisionMismatch):
        await log.update("/k", b"future", expected=99)
    assert log.revision == 2
    assert await log.get("/k") == KeyValue("/k", b"v2", 1, 2, 2)
    assert len(await all_events(log)) == 2


async def test_cas_conflict_on_stale_delete(log: EventLog) -> None:
    await log.create("/k", b"v1")
    await log.update("/k", b"v2", expected=1)
    with pytest.raises(RevisionMismatch) as info:
        await log.delete("/k", expected=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    with pytest.raises(RevisionMismatch):
        await log.delete("/k", expected=3)
    assert log.revision == 2
    assert await log.get("/k") == KeyValue("/k", b"v2", 1, 2, 2)


async def test_update_or_delete_of_missing_or_deleted_key_raises_key_not_found(
    log: EventLog,
) -> None:
    with pytest.raises(KeyNotFound) as info:
        await log.update("/missing", b"v", expected=0)
    assert info.value.key == "/missing"
    with pytest.raises(KeyNotFound):
        await log.delete("/missing")
    with pytest.raises(KeyNotFound):
        await log.delete("/missing", expected=1)
    assert log.revision == 0
    await log.create("/k", b"v1")
    await log.delete("/k")
    with pytest.raises(KeyNotFound):
        await log.update("/k", b"v2", expected=1)
    with pytest.raises(KeyNotFound):
        await log.update("/k", b"v2", expected=2)
    with pytest.raises(KeyNotFound):
        await log.delete("/k")
    assert log.revision == 2


# --- reads at old revisions ---------------------------------------------------------------


async def test_get_at_old_revisions(log: EventLog) -> None:
    await fill(log)
    assert await log.get("/a/1", at=0) is None
    assert await log.get("/a/1", at=1) == KeyValue("/a/1", b"a1-v1", 1, 1, 1)
    assert await log.get("/a/1", at=2) == KeyValue("/a/1", b"a1-v1", 1, 1, 1)
    assert await log.get("/a/1", at=3) == KeyValue("/a/1", b"a1-v2", 1, 3, 2)
    assert await log.get("/a/2", at=4) == KeyValue("/a/2", b"a2-v1", 2, 2, 1)
    assert await log.get("/a/2", at=5) is None  # deleted at 5
    assert await log.get("/a/2") is None
    assert await log.get("/a/3", at=5) is None  # created later, at 6
    assert await log.get("/a/3", at=6) == KeyValue("/a/3", b"a3-v1", 6, 6, 1)
    assert await log.get("/b/1", at=7) == KeyValue("/b/1", b"b1-v2", 4, 7, 2)


async def test_range_at_old_revisions(log: EventLog) -> None:
    await fill(log)
    a1, a2 = KeyValue("/a/1", b"a1-v2", 1, 3, 2), KeyValue("/a/2", b"a2-v1", 2, 2, 1)
    assert await log.range("/a/", at=4) == RangeResult([a1, a2], 4)
    assert await log.range("/a/", at=6) == RangeResult([a1, KeyValue("/a/3", b"a3-v1", 6, 6, 1)], 6)
    assert await log.range("", at=0) == RangeResult([], 0)


async def test_range_prefix_limit_and_key_order(log: EventLog) -> None:
    for key in ["/r/c", "/r/a", "/s/a", "/r/b", "/r", "/q/z"]:
        await log.create(key, key.encode())
    assert keys(await log.range("/r/")) == ["/r/a", "/r/b", "/r/c"]
    assert (await log.range("/r/")).revision == log.revision == 6
    assert keys(await log.range("/r")) == ["/r", "/r/a", "/r/b", "/r/c"]
    assert keys(await log.range("")) == ["/q/z", "/r", "/r/a", "/r/b", "/r/c", "/s/a"]
    assert await log.range("/r/", limit=2) == RangeResult(
        [KeyValue("/r/a", b"/r/a", 2, 2, 1), KeyValue("/r/b", b"/r/b", 4, 4, 1)], 6
    )
    assert keys(await log.range("/r/", limit=10)) == ["/r/a", "/r/b", "/r/c"]
    assert await log.range("/r/", at=4, limit=1) == RangeResult(
        [KeyValue("/r/a", b"/r/a", 2, 2, 1)], 4
    )
    assert await log.range("/nothing/") == RangeResult([], 6)


async def test_range_prefix_is_literal_and_case_sensitive(log: EventLog) -> None:
    for key in ["/x_1", "/xy1", "/x%1", "/X_1", "/x_2/é", "/x\\1"]:
        await log.create(key, b"v")
    assert keys(await log.range("/x_")) == ["/x_1", "/x_2/é"]
    assert keys(await log.range("/x%")) == ["/x%1"]
    assert keys(await log.range("/X")) == ["/X_1"]
    assert keys(await log.range("/x\\")) == ["/x\\1"]
    assert keys(await log.range("/x_2/é")) == ["/x_2/é"]


async def test_read_above_head_raises_future_revision(log: EventLog) -> None:
    await fill(log)
    with pytest.raises(FutureRevision) as info:
        await log.get("/a/1", at=8)
    assert (info.value.requested, info.value.head) == (8, 7)
    with pytest.raises(FutureRevision):
        await log.range("/a/", at=100)
    assert (await log.range("/a/", at=7)).revision == 7


# --- compaction ---------------------------------------------------------------------------


async def test_read_below_compacted_revision_raises_compacted(log: EventLog) -> None:
    await fill(log)
    await log.compact(5)
    assert log.compacted_revision == 5
    assert log.revision == 7
    with pytest.raises(Compacted) as info:
        await log.get("/a/1", at=4)
    assert (info.value.requested, info.value.compacted) == (4, 5)
    with pytest.raises(Compacted):
        await log.range("/a/", at=0)
    a1, b1 = KeyValue("/a/1", b"a1-v2", 1, 3, 2), KeyValue("/b/1", b"b1-v1", 4, 4, 1)
    assert await log.range("", at=5) == RangeResult([a1, b1], 5)
    assert await log.get("/a/2", at=5) is None
    assert await log.get("/b/1", at=6) == KeyValue("/b/1", b"b1-v1", 4, 4, 1)


async def test_compact_keeps_latest_versions_readable(log: EventLog) -> None:
    await log.create("/old", b"never-changed")
    for i in range(5):
        await log.create(f"/n/{i}", b"v")
    await log.compact(log.revision)
    assert await log.get("/old") == KeyValue("/old", b"never-changed", 1, 1, 1)
    assert await log.get("/old", at=6) == KeyValue("/old", b"never-changed", 1, 1, 1)
    assert len((await log.range("")).items) == 6
    assert await log.update("/old", b"changed", expected=1) == 7
    assert await log.get("/old") == KeyValue("/old", b"changed", 1, 7, 2)


async def test_compact_bounds(log: EventLog) -> None:
    await fill(log)
    with pytest.raises(FutureRevision):
        await log.compact(8)
    assert log.compacted_revision == 0
    await log.compact(4)
    await log.compact(4)  # compacting at the compacted revision again is allowed
    with pytest.raises(Compacted):
        await log.compact(3)
    assert log.compacted_revision == 4
    await log.compact(6)
    assert log.compacted_revision == 6
    assert log.revision == 7  # compaction writes no event
    assert await log.create("/next", b"n") == 8
    assert [ev.revision for ev in await all_events(log, after=6)] == [7, 8]


# --- watch --------------------------------------------------------------------------------


async def test_watch_from_zero_replays_full_history(log: EventLog) -> None:
    await fill(log)
    async with log.watch("", after=0) as w:
        events = await take(w, 7)
    assert [ev.revision for ev in events] == list(range(1, 8))
    assert [(ev.type, ev.key, ev.value, ev.prev_value) for ev in events] == [
        ("PUT", "/a/1", b"a1-v1", None),
        ("PUT", "/a/2", b"a2-v1", None),
        ("PUT", "/a/1", b"a1-v2", b"a1-v1"),  # an update carries the previous value
        ("PUT", "/b/1", b"b1-v1", None),
        ("DELETE", "/a/2", None, b"a2-v1"),  # a delete carries the last state
        ("PUT", "/a/3", b"a3-v1", None),
        ("PUT", "/b/1", b"b1-v2", b"b1-v1"),
    ]
    assert events == await all_events(log)


async def test_watch_from_the_middle(log: EventLog) -> None:
    await fill(log)
    async with log.watch("", after=4) as w:
        assert await take(w, 3) == (await all_events(log))[4:]


async def test_delete_event_carries_last_state_after_updates(log: EventLog) -> None:
    await log.create("/k", b"v1")
    await log.update("/k", b"v2", expected=1)
    await log.delete("/k")
    await log.create("/k", b"new")
    events = await all_events(log)
    assert events[2] == Event(3, "DELETE", "/k", None, b"v2", "user", 0, 0.0)
    assert events[3] == Event(4, "PUT", "/k", b"new", None, "user", 0, 0.0)


async def test_events_carry_actor_cause_and_time(log: EventLog) -> None:
    await log.create("/k", b"v1")
    await log.update("/k", b"v2", expected=1, actor="controller/deployment", cause=1, time=2.5)
    await log.delete("/k", actor="kubelet/node-2", cause=2, time=1e9 + 0.125)
    async with log.watch("/k", after=0) as w:
        watched = await take(w, 3)
    assert watched == [
        Event(1, "PUT", "/k", b"v1", None, "user", 0, 0.0),
        Event(2, "PUT", "/k", b"v2", b"v1", "controller/deployment", 1, 2.5),
        Event(3, "DELETE", "/k", None, b"v2", "kubelet/node-2", 2, 1e9 + 0.125),
    ]
    assert await all_events(log) == watched


async def test_watch_at_head_receives_live_writes(log: EventLog) -> None:
    await fill(log)
    async with log.watch("", after=log.revision) as w:
        await log.create("/live/1", b"l1")
        await log.update("/live/1", b"l2", expected=8)
        events = await take(w, 2)
    assert events == [
        Event(8, "PUT", "/live/1", b"l1", None, "user", 0, 0.0),
        Event(9, "PUT", "/live/1", b"l2", b"l1", "user", 0, 0.0),
    ]


async def test_watch_with_prefix_filter(log: EventLog) -> None:
    await fill(log)
    async with log.watch("/b/", after=0) as wb, log.watch("/a/", after=3) as wa:
        await log.create("/b/2", b"b2")
        await log.create("/c/1", b"c1")
        await log.delete("/a/1")
        b_events = await take(wb, 3)
        a_events = await take(wa, 3)
    assert [(ev.revision, ev.key) for ev in b_events] == [(4, "/b/1"), (7, "/b/1"), (8, "/b/2")]
    assert [(ev.revision, ev.type, ev.key) for ev in a_events] == [
        (5, "DELETE", "/a/2"),
        (6, "PUT", "/a/3"),
        (10, "DELETE", "/a/1"),
    ]


async def test_watch_above_head_waits_for_it(log: EventLog) -> None:
    await log.create("/k/0", b"v")
    async with log.watch("", after=3) as w:
        for i in range(1, 5):
            await log.create(f"/k/{i}", b"v")
        events = await take(w, 2)
    assert [ev.revision for ev in events] == [4, 5]


async def test_watch_across_history_live_seam_while_writing(log: EventLog) -> None:
    """Watches opened at moments while four writers run see a dense, duplicate-free stream."""
    preload, writers, per_writer = 100, 4, 100
    total = preload + writers * per_writer
    for i in range(preload):
        await log.create(f"/pre/{i}", b"p")
    seen: list[tuple[int, list[Event]]] = []

    async def watch_until_total(after: int) -> None:
        async with log.watch("", after=after) as w:
            seen.append((after, await take(w, total - after)))

    async def writer(n: int, tg: TaskGroup) -> None:
        for i in range(per_writer):
            await log.create(f"/w/{n}/{i:03}", b"w")
            if n == 0 and i % 20 == 10:
                # open a watch mid-stream, reaching back into history
                tg.start_soon(watch_until_total, max(0, log.revision - 37))

    with anyio.fail_after(BIG_GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch_until_total, 0)
            tg.start_soon(watch_until_total, preload)
            for n in range(writers):
                tg.start_soon(writer, n, tg)
    assert log.revision == total
    full = await all_events(log)
    assert [ev.revision for ev in full] == list(range(1, total + 1))
    assert len(seen) == 7
    for after, events in seen:
        assert events == full[after:], f"watch after={after}"


async def test_watch_below_compacted_revision_raises_compacted(log: EventLog) -> None:
    await fill(log)
    await log.compact(5)
    with pytest.raises(Compacted) as info:
        log.watch("", after=4)
    assert (info.value.requested, info.value.compacted) == (4, 5)
    async with log.watch("", after=5) as w:
        events = await take(w, 2)
    assert [ev.revision for ev in events] == [6, 7]


async def test_watcher_created_before_compaction_keeps_reading(log: EventLog) -> None:
    await fill(log)
    async with log.watch("", after=0) as caught_up, log.watch("", after=0) as mid:
        assert len(await take(caught_up, 7)) == 7
        assert [ev.revision for ev in await take(mid, 4)] == [1, 2, 3, 4]
        await log.compact(4)
        await log.compact(7)  # caught_up's position is not compacted away
        for i in range(3):
            await log.create(f"/after/{i}", b"v")
        assert [ev.revision for ev in await take(caught_up, 3)] == [8, 9, 10]
        await log.create("/after/3", b"v")
        assert [ev.revision for ev in await take(caught_up, 1)] == [11]


async def test_watchers_that_keep_reading_survive_concurrent_compaction(log: EventLog) -> None:
    writers, per_writer = 8, 100
    total = writers * per_writer
    seen: dict[str, list[Event]] = {}

    async def watcher(prefix: str, count: int) -> None:
        async with log.watch(prefix, after=0) as w:
            seen[prefix] = await take(w, count, guard=BIG_GUARD)

    async def writer(n: int) -> None:
        await create_many(log, f"/cc/{n}/", per_writer)
        if n % 2 == 0:  # compact at the head while others still write and watchers read
            await log.compact(log.revision)

    with anyio.fail_after(BIG_GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(watcher, "", total)
            tg.start_soon(watcher, "/cc/3/", per_writer)
            for n in range(writers):
                tg.start_soon(writer, n)
    assert [ev.revision for ev in seen[""]] == list(range(1, total + 1))
    assert [ev.key for ev in seen["/cc/3/"]] == [f"/cc/3/{i:05}" for i in range(per_writer)]
    assert log.compacted_revision > 0


async def test_closed_watch_does_not_block_writers(log: EventLog) -> None:
    w = log.watch("", after=0)
    await log.create("/k/0", b"v")
    assert len(await take(w, 1)) == 1
    await w.aclose()
    with anyio.fail_after(HANG_GUARD):
        for i in range(1, 200):
            await log.create(f"/k/{i}", b"v")
    assert log.revision == 200


async def test_concurrent_writers_get_dense_revisions_and_watchers_see_all(
    log: EventLog,
) -> None:
    writers, n = 64, 10
    total = writers * n
    revisions: list[int] = []
    seen: list[list[Event]] = []

    async def writer(i: int) -> None:
        key = f"/c/{i:02}"
        rev = await log.create(key, b"0")
        revisions.append(rev)
        for j in range(1, n):
            rev = await log.update(key, str(j).encode(), expected=rev, actor=f"w{i}", cause=j)
            revisions.append(rev)

    async def watcher(prefix: str, count: int) -> None:
        async with log.watch(prefix, after=0) as w:
            seen.append(await take(w, count, guard=BIG_GUARD))

    with anyio.fail_after(BIG_GUARD):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(watcher, "", total)
            tg.start_soon(watcher, "/c/07", n)
            for i in range(writers):
                tg.start_soon(writer, i)
    assert sorted(revisions) == list(range(1, total + 1))
    assert log.revision == total
    full = await all_events(log)
    assert [ev.revision for ev in full] == list(range(1, total + 1))
    for events in seen:
        if len(events) == total:
            assert events == full
        else:
            assert events == [ev for ev in full if ev.key == "/c/07"]
            assert [ev.value for ev in events] == [str(j).encode() for j in range(n)]
    for i in range(writers):
        kv = await log.get(f"/c/{i:02}")
        assert kv is not None
        assert (kv.value, kv.version) == (str(n - 1).encode(), n)


async def test_slow_watcher_catches_up_without_blocking_writers(log: EventLog) -> None:
    tasks, per_task = 50, 240  # 12000 events, beyond any watcher's in-memory window
    total = 1 + tasks * per_task
    await log.create("/slow/start", b"s")
    async with log.watch("", after=0) as slow, log.watch("/slow/7/", after=1) as slow_prefix:
        assert [ev.revision for ev in await take(slow, 1)] == [1]

        async def writer(t: int) -> None:
            for i in range(per_task):
                await log.create(f"/slow/{t}/{i:04}", b"x" * 16)

        with anyio.fail_after(BIG_GUARD):  # writers must finish while nobody reads
            async with anyio.create_task_group() as tg:
                for t in range(tasks):
                    tg.start_soon(writer, t)
        assert log.revision == total
        await log.compact(1)  # the slow watchers' positions are not compacted away
        rest = await take(slow, total - 1, guard=BIG_GUARD)
        prefixed = await take(slow_prefix, per_task, guard=BIG_GUARD)
    assert [ev.revision for ev in rest] == list(range(2, total + 1))
    assert rest == await all_events(log, after=1)
    assert [ev.key for ev in prefixed] == [f"/slow/7/{i:04}" for i in range(per_task)]


# --- events() -----------------------------------------------------------------------------


async def test_events_yields_raw_log_with_after_until_prefix(log: EventLog) -> None:
    await fill(log)
    full = await all_events(log)
    assert [ev.revision for ev in full] == list(range(1, 8))
    assert [ev.revision for ev in await all_events(log, after=2, until=5)] == [3, 4, 5]
    assert [ev.revision for ev in await all_events(log, after=5)] == [6, 7]
    assert [ev.revision for ev in await all_events(log, until=7)] == list(range(1, 8))
    assert await all_events(log, after=7) == []
    assert await all_events(log, after=3, until=3) == []
    assert [ev.revision for ev in await all_events(log, prefix="/a/")] == [1, 2, 3, 5, 6]
    assert [ev.revision for ev in await all_events(log, prefix="/a/", after=2, until=5)] == [3, 5]
    assert full[4] == Event(5, "DELETE", "/a/2", None, b"a2-v1", "user", 0, 0.0)


async def test_events_until_defaults_to_head_at_call(log: EventLog) -> None:
    await fill(log)
    it = log.events(after=5)
    await log.create("/later", b"v")
    got = [ev.revision async for ev in it]
    assert got == [6, 7]


async def test_events_bounds_raise_compacted_and_future_revision(log: EventLog) -> None:
    await fill(log)
    await raises_on_call_or_iteration(FutureRevision, lambda: log.events(until=8))
    await raises_on_call_or_iteration(FutureRevision, lambda: log.events(after=9))
    await log.compact(4)
    await raises_on_call_or_iteration(Compacted, lambda: log.events(after=3))
    await raises_on_call_or_iteration(Compacted, lambda: log.events())
    assert [ev.revision for ev in await all_events(log, after=4)] == [5, 6, 7]
