"""Read-only replay verbs over the state file's event log (`cp.replay`): `cpemu events`,
`cpemu diff KIND NAME --from REV --to REV`, `cpemu why KIND NAME [--at REV]`,
`cpemu timeline deployment/NAME [--svg FILE]`, `cpemu rollout history deployment/NAME --all`."""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from cp.api.kinds import KINDS
from cp.cli.common import CliError, Runner, split_target
from cp.replay import (
    ReplayError,
    diff,
    events,
    format_events,
    format_events_json,
    format_history_all,
    format_timeline,
    format_why,
    rollout_history_all,
    timeline,
    timeline_svg,
    why,
)

__all__ = [
    "add_parsers",
    "history_all",
    "show_diff",
    "show_events",
    "show_timeline",
    "show_why",
]


def _bound(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    sub = verbs.add_parser("events", parents=[common], help="the event log, filtered")
    sub.add_argument("--kind", default=None)
    sub.add_argument("--name", default=None)
    sub.add_argument("--actor", default=None)
    sub.add_argument("--since", type=_bound, default=None, help="revision or RFC 3339 time")
    sub.add_argument("--until", type=_bound, default=None, help="revision or RFC 3339 time")
    sub.add_argument("-o", "--output", choices=("json",), default=None)
    sub.set_defaults(handler=show_events)

    sub = verbs.add_parser("diff", parents=[common], help="an object between two revisions")
    sub.add_argument("kind", metavar="KIND")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("--from", dest="from_rev", type=int, required=True, metavar="REV")
    sub.add_argument("--to", dest="to_rev", type=int, required=True, metavar="REV")
    sub.set_defaults(handler=show_diff)

    sub = verbs.add_parser("why", parents=[common], help="the causal chain of an object")
    sub.add_argument("kind", metavar="KIND")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("--at", type=int, default=None, metavar="REV")
    sub.set_defaults(handler=show_why)

    sub = verbs.add_parser("timeline", parents=[common], help="replica counts of a rollout")
    sub.add_argument("target", nargs="+", metavar="deployment/NAME")
    sub.add_argument("--svg", default=None, metavar="FILE", help="also write an SVG chart")
    sub.set_defaults(handler=show_timeline)


def _namespace(run: Runner, kind: str) -> str | None:
    info = KINDS.lookup(kind)
    return None if info is not None and not info.namespaced else (run.namespace or "default")


async def show_events(run: Runner) -> None:
    args = run.args
    async with run.read() as view:
        try:
            rows = await events(
                view.server.log,
                kind=args.kind,
                name=args.name,
                namespace=run.namespace,
                actor=args.actor,
                since=args.since,
                until=args.until,
            )
        except ReplayError as exc:
            run.error(f"error: {exc}")
            return
    run.out(format_events_json(rows) if args.output == "json" else format_events(rows))


async def show_diff(run: Runner) -> None:
    args = run.args
    async with run.read() as view:
        try:
            text = await diff(
                view.server.log,
                args.kind,
                args.name,
                _namespace(run, args.kind),
                args.from_rev,
                args.to_rev,
            )
        except ReplayError as exc:
            run.error(f"error: {exc}")
            return
    run.out(text)


async def show_why(run: Runner) -> None:
    args = run.args
    async with run.read() as view:
        try:
            steps = await why(
                view.server.log, args.kind, args.name, _namespace(run, args.kind), args.at
            )
        except ReplayError as exc:
            run.error(f"error: {exc}")
            return
    run.out(format_why(steps))


def _deployment(run: Runner, words: list[str], verb: str) -> str:
    info, name = split_target(words, verb)
    if info.kind != "Deployment":
        raise CliError(f'{verb} works on deployments only, not on kind "{info.kind}"')
    return name


async def show_timeline(run: Runner) -> None:
    name = _deployment(run, run.args.target, "timeline")
    async with run.read() as view:
        try:
            line = await timeline(view.server.log, name, run.namespace or "default")
        except ReplayError as exc:
            run.error(f"error: {exc}")
            return
    run.out(format_timeline(line))
    if run.args.svg:
        try:
            await anyio.Path(run.args.svg).write_text(timeline_svg(line), encoding="utf-8")
        except OSError as exc:
            raise CliError(f'error writing "{run.args.svg}": {exc}') from None


async def history_all(run: Runner) -> None:
    """`rollout history deployment/NAME --all`: every template the log has seen."""
    name = _deployment(run, run.args.target, "rollout history")
    async with run.read() as view:
        try:
            entries = await rollout_history_all(view.server.log, name, run.namespace or "default")
        except ReplayError as exc:
            run.error(f"error: {exc}")
            return
    run.out(format_history_all(entries))
