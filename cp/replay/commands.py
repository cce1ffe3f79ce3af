"""The `cpemu` command records the log holds (key `/cpemu/command`), as replay reads them.

Each mutating `cpemu` command writes the key twice as the user: at its start (`done=False`)
and at its end (`done=True`; `settled` unless `--no-wait`). The user's writes name the start
event as their cause, so a causal chain (`why`) ends at the command line that asked for it.
The writing side is `cp.cli.record`.
"""

from __future__ import annotations

import shlex
from typing import Final

import msgspec

__all__ = ["COMMAND_KEY", "CommandRecord", "Inputs", "command_change", "decode_record"]

COMMAND_KEY: Final = "/cpemu/command"


class Inputs(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """What a command read from outside the cluster: `files` maps each `-f PATH` (as given)
    to its (source, text) pairs, in reading order; `edits` are the editor's results."""

    files: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    edits: tuple[str, ...] = ()


class CommandRecord(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One mutating command: `argv` without `--state`/`--profile`, its `inputs`, the
    simulation `profile` (YAML text) the plane ran with, whether it finished (`done`) and
    whether it settled the cluster before it did (`settled`; not with `--no-wait`)."""

    argv: tuple[str, ...]
    inputs: Inputs = Inputs()
    profile: str | None = None
    done: bool = False
    settled: bool = False

    @property
    def command_line(self) -> str:
        """`cpemu apply -f web.yaml`, as the user typed it (arguments shell-quoted)."""
        return shlex.join(("cpemu", *self.argv))


_DECODER: Final = msgspec.json.Decoder(CommandRecord)


def decode_record(value: bytes) -> CommandRecord:
    return _DECODER.decode(value)


def command_change(value: bytes | None) -> tuple[str, str]:
    """(verb, change) of a command record event for the events table and `why`:
    `("start", "cpemu apply -f web.yaml")`, `("end", "cpemu apply ... (settled)")`."""
    if value is None:
        return "delete", ""
    try:
        record = _DECODER.decode(value)
    except msgspec.DecodeError:
        return "update", "(unreadable command record)"
    if not record.done:
        return "start", record.command_line
    how = "settled" if record.settled else "not settled"
    return "end", f"{record.command_line} ({how})"
