"""The child process of the crash test (tests/store/test_crash.py): writes to a SQLite log
until it is SIGKILLed.

    python -m tests.store.crash_writer --url sqlite:///abs/log.db --dir DIR --run N --seed S

Several writer tasks write at once, so the store's writer task group-commits their writes.
Writer `w` owns the keys `KEYS[w::writers]`, so it always knows each key's mod_revision and
its creates, updates and deletes never conflict with another writer's. Each writer has one
write in flight at a time and journals it in two append-only files of DIR, each line one
`os.write` on an O_APPEND descriptor:

    intents-N.txt   "seq key op expected\\n"   written before the write is submitted
    acks-N.txt      "rev key op seq\\n"        written after the awaited write returned

`seq` is "N.w.i", the i-th write of writer w in run N; the event carries it in its `actor`
("crash:SEQ"), its `time` (i) and, for a PUT, inside a self-checking value (see `Payload`), so
the parent can tell every event in the log apart and spot a torn value. `op` is create, update
or delete; `expected` is the mod_revision the writer believes the key has (0 for a create).
A writer also sometimes submits a write the store must refuse (op "refused": an update with a
stale `expected`); such a write must never reach the log. `status-N.txt` gets "opening" just
before `open_log` and "open" once the log is open. With `--writes K` each writer stops after K
writes and the process exits cleanly; otherwise it writes until it is killed. With
`--die-at N` it SIGKILLs itself as its N-th SQL statement begins (see `_die_at_statement`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msgspec

import store

__all__ = [
    "KEYS",
    "KEY_PREFIX",
    "Payload",
    "decode_value",
    "encode_value",
    "main",
]

#: The keys the child writes; the parent writes its own keys outside this prefix.
KEY_PREFIX = "/crash/k/"
KEYS = tuple(f"{KEY_PREFIX}{i:02d}" for i in range(32))

_SMALL = (64, 4096)  # most values: a few pages at most
_LARGE = (32 * 1024, 160 * 1024)  # a few: many pages, so a kill can land inside the commit
_LARGE_SHARE = 0.03
_REFUSED_SHARE = 0.04


class Payload(msgspec.Struct, frozen=True):
    """A self-describing value: a torn or mixed-up value fails `decode_value`."""

    key: str
    seq: str
    data: bytes
    digest: str


def _digest(key: str, seq: str, data: bytes) -> str:
    return hashlib.sha256(f"{key}\0{seq}\0".encode() + data).hexdigest()


def encode_value(key: str, seq: str, data: bytes) -> bytes:
    """The value of the write `seq` of `key`, carrying `data` and a checksum of all three."""
    return msgspec.msgpack.encode(Payload(key, seq, data, _digest(key, seq, data)))


def decode_value(value: bytes) -> Payload:
    """Decode and verify a value made by `encode_value`; raise ValueError if it is damaged."""
    try:
        payload = msgspec.msgpack.decode(value, type=Payload)
    except msgspec.DecodeError as e:
        raise ValueError(f"undecodable value of {len(value)} bytes: {e}") from e
    if payload.digest != _digest(payload.key, payload.seq, payload.data):
        raise ValueError(f"checksum mismatch in value of {payload.key} seq {payload.seq}")
    return payload


@dataclass
class _Journal:
    """The append-only files of one run; each line is one os.write on an O_APPEND fd."""

    intents: int
    acks: int
    status: int

    @classmethod
    def open(cls, directory: Path, run: int) -> _Journal:
        def fd(name: str) -> int:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            return os.open(directory / f"{name}-{run}.txt", flags, 0o644)

        return cls(intents=fd("intents"), acks=fd("acks"), status=fd("status"))

    def intent(self, seq: str, key: str, op: str, expected: int) -> None:
        os.write(self.intents, f"{seq} {key} {op} {expected}\n".encode())

    def ack(self, rev: int, key: str, op: str, seq: str) -> None:
        os.write(self.acks, f"{rev} {key} {op} {seq}\n".encode())

    def stage(self, name: str) -> None:
        os.write(self.status, f"{name}\n".encode())


def _die_at_statement(journal: _Journal, n: int) -> None:
    """SIGKILL this process as the n-th SQL statement (over all connections) begins.

    aiosqlite opens its connections with `sqlite3.connect`; each gets a trace callback, which
    SQLite calls as a statement starts running (every BEGIN and COMMIT included)."""
    connect = sqlite3.connect
    seen = [0]

    def trace(sql: str) -> None:
        seen[0] += 1
        if seen[0] >= n:
            journal.stage(f"dying at statement {seen[0]}: {' '.join(sql.split())[:120]}")
            os.kill(os.getpid(), signal.SIGKILL)

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = connect(*args, **kwargs)
        connection.set_trace_callback(trace)
        return connection

    sqlite3.connect = traced_connect  # type: ignore[assignment]


@dataclass
class _Writer:
    """One writer task: its keys, their mod_revisions (absent: not live), its random stream."""

    log: store.EventLog
    journal: _Journal
    run: int
    index: int
    rng: random.Random
    live: dict[str, int]
    keys: tuple[str, ...]
    count: int = field(default=0)

    def _data(self) -> bytes:
        low, high = _LARGE if self.rng.random() < _LARGE_SHARE else _SMALL
        return self.rng.randbytes(self.rng.randint(low, high))

    async def write_one(self) -> None:
        seq = f"{self.run}.{self.index}.{self.count}"
        key = self.rng.choice(self.keys)
        mod = self.live.get(key)
        actor, time = f"crash:{seq}", float(self.count)
        self.count += 1
        if mod is not None and self.rng.random() < _REFUSED_SHARE:
            self.journal.intent(seq, key, "refused", mod)
            value = encode_value(key, seq, b"refused")
            try:
                await self.log.update(key, value, expected=mod + 10**9, actor=actor, time=time)
            except store.RevisionMismatch:
                return
            raise AssertionError(f"update of {key} with a stale expected was not refused")
        if mod is None:
            self.journal.intent(seq, key, "create", 0)
            value = encode_value(key, seq, self._data())
            rev = await self.log.create(key, value, actor=actor, cause=0, time=time)
            op = "create"
        elif self.rng.random() < 0.75:
            self.journal.intent(seq, key, "update", mod)
            value = encode_value(key, seq, self._data())
            rev = await self.log.update(key, value, expected=mod, actor=actor, cause=mod, time=time)
            op = "update"
        else:
            self.journal.intent(seq, key, "delete", mod)
            expected = mod if self.rng.random() < 0.8 else None
            rev = await self.log.delete(key, expected=expected, actor=actor, cause=mod, time=time)
            op = "delete"
        self.journal.ack(rev, key, op, seq)
        if op == "delete":
            del self.live[key]
        else:
            self.live[key] = rev

    async def run_writes(self, limit: int | None) -> None:
        while limit is None or self.count < limit:
            await self.write_one()


async def _run(args: argparse.Namespace) -> None:
    journal = _Journal.open(Path(args.dir), args.run)
    if args.die_at is not None:
        _die_at_statement(journal, args.die_at)
    journal.stage("opening")
    async with store.open_log(args.url) as log:
        journal.stage("open")
        state = await log.range(KEY_PREFIX)
        live = {kv.key: kv.mod_revision for kv in state.items}
        writers = [
            _Writer(
                log=log,
                journal=journal,
                run=args.run,
                index=w,
                rng=random.Random(f"{args.seed}/{args.run}/{w}"),
                live=live,
                keys=KEYS[w :: args.writers],
            )
            for w in range(args.writers)
        ]
        async with anyio.create_task_group() as tg:
            for writer in writers:
                tg.start_soon(writer.run_writes, args.writes)
    journal.stage("closed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True, help="sqlite:///abs/path.db")
    parser.add_argument("--dir", required=True, help="directory for the journal files")
    parser.add_argument("--run", type=int, required=True, help="run number, part of each seq")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--writes", type=int, default=None, help="writes per writer, then exit")
    parser.add_argument("--die-at", type=int, default=None, help="SIGKILL at SQL statement N")
    anyio.run(_run, parser.parse_args(argv))


if __name__ == "__main__":
    main()
