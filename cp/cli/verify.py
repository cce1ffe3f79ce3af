"""`cpemu replay [--verify]`: the commands recorded in the log, and whether running them again
reproduces the log.

`replay` lists the recorded commands (revision, virtual time, command line, how each ended).
`replay --verify` re-runs them, in order, against a fresh memory log with the same seed, each
through the same verb code as the first time with the inputs it recorded (manifest texts,
editor results, the simulation profile), and compares the two logs event by event: revision,
type, key, value, actor, cause and virtual time. Identical: exit 0. Otherwise the first
difference is shown with the command that produced it, exit 1. A command that was interrupted
(a crash) cannot be reproduced; the comparison stops where it began. Read-only: the state file
is not written.
"""

from __future__ import annotations

import argparse
from typing import Any, Final

import msgspec

import store
from cp.api.times import rfc3339
from cp.cli.common import Runner
from cp.cli.record import COMMAND_KEY, CommandRecord, command_events
from cp.replay.events import event_row

__all__ = ["Command", "add_parsers", "recorded_commands", "replay"]

_EVENT_FIELDS: Final = ("revision", "type", "key", "value", "actor", "cause", "time")


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    sub = verbs.add_parser(
        "replay", parents=[common], help="the recorded commands; --verify re-runs them"
    )
    sub.add_argument(
        "--verify",
        action="store_true",
        help="re-run the recorded commands on a fresh memory log and compare, event by event",
    )
    sub.set_defaults(handler=replay)


class Command(msgspec.Struct, frozen=True, gc=False):
    """One recorded command: the revision and time it started at, the record as it ended
    (`None` for `end` when it never did: interrupted)."""

    start: int
    time: float
    record: CommandRecord
    end: int | None


async def recorded_commands(log: store.EventLog) -> list[Command]:
    """The commands recorded in `log`, oldest first (see `cp.cli.record`)."""
    commands: list[Command] = []
    async for event, record in command_events(log):
        last = commands[-1] if commands else None
        if record.done and last is not None and last.end is None:
            commands[-1] = Command(last.start, last.time, record, event.revision)
        elif not record.done:
            commands.append(Command(event.revision, event.time, record, None))
    return commands


def _how(command: Command) -> str:
    if command.end is None:
        return "interrupted"
    return "settled" if command.record.settled else "not settled (--no-wait)"


async def replay(run: Runner) -> None:
    async with run.read() as view:
        log = view.server.log
        commands = await recorded_commands(log)
        if not commands:
            run.out("No commands recorded.\n")
            return
        if not run.args.verify:
            run.out(_listing(commands))
            return
        original = [event async for event in log.events(after=0)]
    await _verify(run, commands, original)


def _listing(commands: list[Command]) -> str:
    rows = [("REVISION", "TIME", "COMMAND", "ENDED")]
    rows += [(str(c.start), rfc3339(c.time), c.record.command_line, _how(c)) for c in commands]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "   "
        + row[3]
        + "\n"
        for row in rows
    )


def _differs(a: store.Event, b: store.Event) -> str | None:
    for field in _EVENT_FIELDS:
        if getattr(a, field) != getattr(b, field):
            return field
    return None


def _line(event: store.Event) -> str:
    if event.key == COMMAND_KEY:
        return f"{event.revision} {event.actor} command record"
    row = event_row(event)
    return f"{row.revision} {rfc3339(row.time)} {row.actor} {row.verb} {row.object} {row.change}"


async def _verify(run: Runner, commands: list[Command], original: list[store.Event]) -> None:
    from cp.cli.main import rerun  # main imports this module for its parser

    if commands[0].start != 1:  # e.g. a file the embedding API wrote before any command
        run.error(
            f"replay --verify: revisions 1..{commands[0].start - 1} were not written by cpemu "
            "commands: there is nothing to re-run them from"
        )
        return
    checked = 0  # the original's events up to this revision matched
    async with store.open_log("memory://") as fresh:
        for number, command in enumerate(commands, 1):
            if command.end is None:
                run.out(
                    f"note: command {number} ({command.record.command_line}) was interrupted; "
                    f"verified up to revision {checked} only\n"
                )
                break
            await rerun(command.record, fresh)
            upto = command.end if number < len(commands) else len(original)
            replayed = [event async for event in fresh.events(after=checked)]
            mismatch = _first_difference(original[checked:upto], replayed)
            if mismatch is not None:
                _report(run, number, command, mismatch)
                return
            checked = upto
    run.out(
        f"replay --verify: identical: {checked:,} events from "
        f"{sum(c.end is not None for c in commands)} commands\n"
    )


class _Mismatch(msgspec.Struct, frozen=True):
    revision: int
    field: str
    recorded: store.Event | None
    replayed: store.Event | None


def _first_difference(recorded: list[store.Event], replayed: list[store.Event]) -> _Mismatch | None:
    for a, b in zip(recorded, replayed, strict=False):
        field = _differs(a, b)
        if field is not None:
            return _Mismatch(a.revision, field, a, b)
    if len(recorded) != len(replayed):
        shorter = min(len(recorded), len(replayed))
        return _Mismatch(
            shorter + 1,
            "length",
            recorded[shorter] if len(recorded) > shorter else None,
            replayed[shorter] if len(replayed) > shorter else None,
        )
    return None


def _report(run: Runner, number: int, command: Command, mismatch: _Mismatch) -> None:
    run.error(
        f"replay --verify: the logs differ at revision {mismatch.revision} ({mismatch.field}), "
        f"during command {number} ({command.record.command_line})\n"
        f"  recorded: {_line(mismatch.recorded) if mismatch.recorded else '(no event)'}\n"
        f"  replayed: {_line(mismatch.replayed) if mismatch.replayed else '(no event)'}"
    )
