"""The command record: what each mutating `cpemu` command was given, kept in the log itself.

Every mutating command writes the key `/cpemu/command` twice (actor `user`): when it starts
(`done=False`, before the plane runs) and when it ends (`done=True`, after its settle). The
value is a `CommandRecord`: the command line (without `--state`), the manifest texts it read,
the texts the user left in the editor, and the simulation profile in force. So the log holds
the user's inputs beside their effects:

- the user's writes carry the start event's revision as their `cause`, so `why` ends at the
  command that asked for a change;
- a start without its end marks an interrupted command (a crash, a SIGKILL in the middle of a
  settle), an end without `settled` a `--no-wait` one: either way the next command first lets
  the controllers finish (the emulated cluster only runs while a command does);
- `cpemu replay --verify` re-runs the recorded commands on a fresh memory log and compares.

The key lies outside `/registry/`, so no informer, list or controller ever sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import msgspec

import store
from cp.replay.commands import COMMAND_KEY, CommandRecord, Inputs, decode_record

__all__ = [
    "COMMAND_KEY",
    "CommandRecord",
    "Inputs",
    "command_events",
    "decode_record",
    "read_record",
    "write_record",
]

_ENCODER: Final = msgspec.json.Encoder()


async def read_record(log: store.EventLog) -> tuple[CommandRecord, int] | None:
    """The last command record and its revision, or None when no command ever ran."""
    kv = await log.get(COMMAND_KEY)
    if kv is None:
        return None
    return decode_record(kv.value), kv.mod_revision


async def write_record(
    log: store.EventLog, record: CommandRecord, *, time: float, expected: int | None
) -> int:
    """Write `record` as the user at virtual `time`; `expected` is the revision of the key's
    last event (None: the key is new). Returns the new revision."""
    value = _ENCODER.encode(record)
    if expected is None:
        return await log.create(COMMAND_KEY, value, actor="user", time=time)
    return await log.update(COMMAND_KEY, value, expected=expected, actor="user", time=time)


async def command_events(log: store.EventLog) -> AsyncIterator[tuple[store.Event, CommandRecord]]:
    """Every command record event, oldest first, decoded."""
    async for event in log.events(after=0, prefix=COMMAND_KEY):
        if event.value is not None and event.key == COMMAND_KEY:
            yield event, decode_record(event.value)
