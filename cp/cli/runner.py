"""The runner of one `cpemu` invocation: what the verb modules see (`cp.cli.common.Runner`).

`Run.mutate()` opens the plane for a mutating verb: the state file's lock, the command record
in the log (`cp.cli.record`), recovery from an interrupted command, the user's writes, then a
settle on the virtual clock (`--no-wait` skips it) with progress and warnings
(`cp.cli.settling`). `Run.read(at)` is a read-only view: no lock, no write, no controller.
`ReplayRun` is the same runner fed from a command record, on a log the replay owns (`replay
--verify`). `report_error` prints an error in kubectl's words.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

from msgspec.structs import replace

import store
from cp.api.codec import ManifestError
from cp.api.errors import ApiError
from cp.cli.common import CliError
from cp.cli.manifests import Document, load, read_files
from cp.cli.record import CommandRecord, Inputs, read_record, write_record
from cp.cli.state import ReadView, StateFile, StateInUse, last_event_time
from cp.client.causality import acting_as

if TYPE_CHECKING:  # the plane and its controllers load only when a verb runs them
    from cp.cli.settling import Outcome
    from cp.plane import ControlPlane

__all__ = ["SETTLE_SECONDS", "SETTLE_WALL_SECONDS", "ReplayRun", "Run", "report_error"]

#: How far `settle` may run the virtual clock after a mutating verb.
SETTLE_SECONDS: Final = 3600.0
#: How long (wall seconds) a settle may take before the command stops waiting.
SETTLE_WALL_SECONDS: Final = 300.0


class Run:
    """One invocation: parsed arguments, the state file, the exit status so far, and what the
    command read from outside the cluster (recorded in the log by `mutate`)."""

    def __init__(self, args: argparse.Namespace, argv: Sequence[str] = ()) -> None:
        self.args = args
        self.argv = tuple(argv)
        self.state = StateFile(args.state)
        self.namespace: str | None = args.namespace
        self.failed = False
        self._files: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self._edits: list[str] = []

    def out(self, text: str) -> None:
        sys.stdout.write(text)

    def error(self, message: str) -> None:
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        self.failed = True

    def note(self, message: str) -> None:
        """A line on stderr that is not an error (progress, warnings)."""
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def server_error(self, exc: ApiError, action: str = "") -> None:
        where = f"{action}: " if action else ""
        self.error(f"Error from server ({exc.reason}): {where}{exc.message}")

    # inputs ------------------------------------------------------------------------------------

    def documents(self, paths: Sequence[str]) -> list[Document]:
        return load(paths, self.namespace, read=self._read_files)

    def _read_files(self, path: str) -> list[tuple[str, str]]:
        pairs = read_files(path)
        self._files.append((path, tuple(pairs)))
        return pairs

    def edit_text(self, text: str, *, suffix: str = ".yaml") -> str:
        from cp.cli.editor import run_editor  # the editor is rare: imported when used

        edited = run_editor(text, suffix=suffix)
        self._edits.append(edited)
        return edited

    def _inputs(self) -> Inputs:
        return Inputs(files=tuple(self._files), edits=tuple(self._edits))

    # state -------------------------------------------------------------------------------------

    def _lock(self) -> None:
        self.state.acquire(create=True)

    def _open_log(self) -> AbstractAsyncContextManager[store.EventLog]:
        return store.open_log(f"{self.state.url}?durability=deferred")

    def _profile(self, previous: CommandRecord | None) -> str | None:
        """The simulation profile's text: `--profile FILE`, else the one the last command used."""
        path = self.args.profile
        if path is None:
            return previous.profile if previous is not None else None
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f'error reading the profile "{path}": {exc}') from None

    @asynccontextmanager
    async def mutate(
        self, *, catch_up: bool = True, report: bool = True
    ) -> AsyncIterator[ControlPlane]:
        self._lock()
        async with self._open_log() as log:
            last = await read_record(log)
            previous, previous_revision = last if last is not None else (None, None)
            profile = self._profile(previous)
            record = CommandRecord(argv=self.argv, inputs=self._inputs(), profile=profile)
            now = await last_event_time(log)
            start = await write_record(log, record, time=now, expected=previous_revision)
            from cp.plane import ControlPlane  # heavy: only mutating verbs load it

            async with ControlPlane.on_log(log, clock="virtual", profile=profile) as plane:
                if previous is not None and not previous.done:
                    self.note(
                        f"cpemu: the previous command ({previous.command_line}) was "
                        "interrupted; letting the controllers finish what it started"
                    )
                    await self._settle(plane, report=False)
                elif previous is not None and not previous.settled and catch_up:
                    # after --no-wait: the cluster catches up first
                    await self._settle(plane, report=False)
                settled = False
                try:
                    with acting_as("user", cause=start):
                        yield plane
                    if not self.args.no_wait:
                        await self._settle(plane, report=report)
                        settled = True
                except Exception:  # the command ended (in error): done; a crash leaves it open
                    await self._done(plane, record, start, settled)
                    raise
                await self._done(plane, record, start, settled)

    async def _done(
        self, plane: ControlPlane, record: CommandRecord, start: int, settled: bool
    ) -> None:
        record = replace(record, inputs=self._inputs(), done=True, settled=settled)
        await write_record(plane.log, record, time=plane.clock.now(), expected=start)

    @asynccontextmanager
    async def read(self, at: int | None = None) -> AsyncIterator[ReadView]:
        # read-only: no lock, a snapshot even while another process writes
        async with self.state.reader(at) as view:
            last = await read_record(view.server.log) if at is None else None
            if last is not None and not last[0].done:
                command = last[0].command_line
                if self.state.busy():
                    self.note(
                        f"note: {command} is running on this state file; this is the cluster "
                        f"as of revision {view.server.log.revision}"
                    )
                else:
                    self.note(
                        f"warning: the last command ({command}) was interrupted; this is the "
                        "cluster as it left it (the next command that changes the cluster "
                        "lets the controllers finish first)"
                    )
            yield view

    async def settle(self, plane: ControlPlane) -> None:
        """Settle now (verbs that wait in the middle, such as `rollout status`)."""
        await self._settle(plane)

    async def _settle(self, plane: ControlPlane, *, report: bool = True) -> Outcome:
        """Settle, then warn on stderr if the cluster did not converge or holds objects short
        of their spec (unless `report` is False: the command's own settle will)."""
        from cp.cli import settling  # loads the controllers

        outcome = await settling.settle(
            plane,
            max_seconds=SETTLE_SECONDS,
            wall_seconds=self.args.settle_timeout,
            progress=self._progress,
        )
        if not report:
            return outcome
        stuck = settling.stuck_objects(plane)
        if outcome.timed_out:
            head = (
                f"warning: stopped settling after {self.args.settle_timeout:g}s of wall time "
                f"({outcome.events:,} events, virtual time +{outcome.seconds:,.0f}s)"
            )
        elif not outcome.converged:
            head = (
                f"warning: the cluster did not settle within {SETTLE_SECONDS:.0f}s of virtual time"
            )
        elif stuck:
            head = "warning: the cluster settled with objects short of their spec"
        else:
            return outcome
        if stuck:
            self.note(f"{head}:\n{settling.stuck_report(stuck).rstrip()}")
        else:
            self.note(head)
        return outcome

    def _progress(self, line: str) -> None:
        self.note(f"cpemu: {line}")


class ReplayRun(Run):
    """A recorded command run again on `log` (a memory log shared by the whole replay): the
    inputs come from the record, output is kept (not printed), no lock is taken."""

    def __init__(
        self, args: argparse.Namespace, record: CommandRecord, log: store.EventLog
    ) -> None:
        super().__init__(args, record.argv)
        self._record = record
        self._log = log
        self._recorded_files = list(record.inputs.files)
        self._recorded_edits = list(record.inputs.edits)
        self.output = io.StringIO()

    def out(self, text: str) -> None:
        self.output.write(text)

    def error(self, message: str) -> None:
        self.output.write(message if message.endswith("\n") else message + "\n")
        self.failed = True

    def note(self, message: str) -> None:
        self.output.write(message + "\n")

    def _lock(self) -> None:
        pass

    @asynccontextmanager
    async def _borrowed(self) -> AsyncIterator[store.EventLog]:
        yield self._log  # the replay owns the log: a command never closes it

    def _open_log(self) -> AbstractAsyncContextManager[store.EventLog]:
        return self._borrowed()

    def _profile(self, previous: CommandRecord | None) -> str | None:
        return self._record.profile

    def _read_files(self, path: str) -> list[tuple[str, str]]:
        for i, (recorded, pairs) in enumerate(self._recorded_files):
            if recorded == path:
                del self._recorded_files[i]
                self._files.append((path, pairs))
                return list(pairs)
        raise CliError(f'the record holds no input read from "{path}"')

    def edit_text(self, text: str, *, suffix: str = ".yaml") -> str:
        if not self._recorded_edits:
            raise CliError("the record holds no further edit")
        edited = self._recorded_edits.pop(0)
        self._edits.append(edited)
        return edited

    def _progress(self, line: str) -> None:
        pass


def report_error(run: Run, exc: BaseException) -> bool:
    """Print a command's error as kubectl would; False when it is not one (a bug: re-raise).
    An error raised inside the running plane arrives wrapped in its task groups' exception
    groups: a group of one is unwrapped."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, CliError | StateInUse | ManifestError):
        run.error(f"error: {exc}")
    elif isinstance(exc, ApiError):
        run.server_error(exc)
    elif isinstance(exc, store.StoreError):
        text = str(exc)  # named after the state file, unless the store already did
        path = str(run.state.path)
        run.error(f"error: {text}" if text.startswith(path) else f"error: {path}: {text}")
    else:
        return False
    return True
