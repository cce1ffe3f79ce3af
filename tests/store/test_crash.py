"""Reopen-after-kill: a child process writes to a SQLite log and is SIGKILLed, again and again.

The child (`tests/store/crash_writer.py`) runs writer tasks at once, so the store group-commits
their writes, and journals each write before submitting it (intent) and after it was
acknowledged (ack). It is killed two ways:

- at random moments (`CYCLES` times on one file): while it opens or recovers the file, before
  it even starts, or after a random number of acknowledged writes;
- before each SQL statement in turn, counted from its start (the child kills itself from a
  SQLite trace callback): every statement of creating a fresh file, its first writes and its
  close, each on a new file; then every statement of reopening a file with history, writing
  and closing. These sweeps need no timing luck to land inside a schema creation or a commit.

After each kill the parent reopens the log and checks:

- every acknowledged write is in the log with its revision, key, type and value;
- revisions are dense, 1..head, and nothing acknowledged before the kill went missing;
- every event is a write some writer submitted, at most once; each writer's writes are there
  in order up to the one in flight at the kill, which is there whole or not at all; a refused
  write is never there; every value decodes and its checksum holds (no torn value);
- each event's prev_value, cause and time are those of the write, replaying the events gives
  the state `range` and `get` serve, at the head and at the latest earlier heads (MVCC),
  and a watch replays the history as `events()` does;
- writing resumes at head + 1, both in the parent and in the next child run.

This is a process-level test, so it polls the child's journal on real time; it asserts
nothing about timing. The random kill schedule comes from a seeded generator; where a kill
lands within the child's work still varies from run to run, which is the point, and every
check holds wherever it lands.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

import store
from tests.store.crash_writer import KEY_PREFIX, decode_value, encode_value

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SEED = 20240611
CYCLES = 24  # kill/reopen cycles of one file, each one SIGKILL of a child
MAX_STATEMENTS = 200  # a child writing 2 x 2 values and closing runs fewer SQL statements
WRITERS = 8
PARENT_PREFIX = "/crash/p/"
HANG_GUARD = 60.0  # seconds; only ever reached if the child hangs, never a timing assertion
POLL = 0.002
MVCC_HEADS = 3  # range(at=) is checked at this many of the latest checked heads


# ---------------------------------------------------------------- what the parent knows


@dataclass(frozen=True)
class Intent:
    """A submitted write, from the child's intents file (or the parent's own write)."""

    seq: str
    key: str
    op: str  # create | update | delete | refused
    expected: int  # the mod_revision the writer believed the key had; 0 for a create

    @property
    def writer(self) -> str:
        """The writer: "run.w" for a child's writer; each parent write is its own writer."""
        return self.seq.rpartition(".")[0] if self.seq.count(".") == 2 else self.seq

    @property
    def time(self) -> float:
        return float(self.seq.rpartition(".")[2]) if self.seq.count(".") == 2 else 0.0


@dataclass(frozen=True)
class Ack:
    """An acknowledged write: the store returned `rev` for it."""

    rev: int
    key: str
    op: str
    seq: str


@dataclass
class History:
    """Everything submitted and acknowledged so far, over all runs."""

    intents: dict[str, Intent] = field(default_factory=dict)
    by_writer: dict[str, list[Intent]] = field(default_factory=dict)
    acks: dict[str, Ack] = field(default_factory=dict)
    heads: list[int] = field(default_factory=list)  # heads checked so far (after parent writes)

    def add_intent(self, intent: Intent) -> None:
        assert intent.seq not in self.intents, f"seq {intent.seq} submitted twice"
        self.intents[intent.seq] = intent
        self.by_writer.setdefault(intent.writer, []).append(intent)

    def add_ack(self, ack: Ack) -> None:
        assert ack.seq not in self.acks, f"seq {ack.seq} acknowledged twice"
        intent = self.intents.get(ack.seq)
        assert intent is not None, f"ack without intent: {ack}"
        assert (intent.key, intent.op) == (ack.key, ack.op), f"{ack} does not match {intent}"
        self.acks[ack.seq] = ack

    def load_run(self, directory: Path, run: int) -> list[Ack]:
        """Read one run's journal files; return its acks."""
        for line in _complete_lines(directory / f"intents-{run}.txt"):
            seq, key, op, expected = line.split(" ")
            self.add_intent(Intent(seq, key, op, int(expected)))
        acks = []
        for line in _complete_lines(directory / f"acks-{run}.txt"):
            rev, key, op, seq = line.split(" ")
            acks.append(Ack(int(rev), key, op, seq))
            self.add_ack(acks[-1])
        return acks


def _complete_lines(path: Path) -> list[str]:
    """The lines of a journal file, without a trailing line the kill may have torn."""
    if not path.exists():
        return []
    data = path.read_bytes()
    return data[: data.rfind(b"\n") + 1].decode().splitlines()


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


# ---------------------------------------------------------------- checking the reopened log


@dataclass
class Replay:
    """The log replayed from its events: the state at the head and at each checked head."""

    state: dict[str, store.KeyValue] = field(default_factory=dict)
    snapshots: dict[int, dict[str, store.KeyValue]] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)  # seq -> revision
    ever: set[str] = field(default_factory=set)  # every key ever written


def _apply(replay: Replay, ev: store.Event, history: History) -> None:
    """Check one event against the write that made it and the state before it; apply it."""
    seq = ev.actor.removeprefix("crash:")
    intent = history.intents.get(seq)
    where = f"event {ev.revision} ({ev.type} {ev.key} by {ev.actor!r})"
    assert intent is not None, f"{where}: no writer submitted it"
    assert seq not in replay.present, f"{where}: seq already at {replay.present.get(seq)}"
    assert intent.op != "refused", f"{where}: a refused write reached the log"
    assert ev.key == intent.key, f"{where}: submitted for {intent.key}"
    assert ev.type == ("DELETE" if intent.op == "delete" else "PUT"), f"{where}: {intent.op}"
    assert (ev.cause, ev.time) == (intent.expected, intent.time), f"{where}: cause/time"
    prev = replay.state.get(ev.key)
    if intent.op == "create":
        assert prev is None, f"{where}: create of a live key"
        assert ev.prev_value is None, f"{where}: create with a prev_value"
    else:
        assert prev is not None, f"{where}: {intent.op} of a key that is not live"
        assert prev.mod_revision == intent.expected, f"{where}: key was at {prev.mod_revision}"
        assert ev.prev_value == prev.value, f"{where}: prev_value is not the previous value"
    replay.present[seq] = ev.revision
    replay.ever.add(ev.key)
    if ev.type == "DELETE":
        assert ev.value is None, f"{where}: DELETE with a value"
        del replay.state[ev.key]
        return
    assert ev.value is not None, f"{where}: PUT without a value"
    try:
        payload = decode_value(ev.value)
    except ValueError as e:
        raise AssertionError(f"{where}: torn value: {e}") from e
    assert (payload.key, payload.seq) == (ev.key, seq), f"{where}: value of {payload.seq}"
    replay.state[ev.key] = store.KeyValue(
        key=ev.key,
        value=ev.value,
        create_revision=ev.revision if prev is None else prev.create_revision,
        mod_revision=ev.revision,
        version=1 if prev is None else prev.version + 1,
    )


def _replay(events: list[store.Event], history: History, head: int) -> Replay:
    revisions = [ev.revision for ev in events]
    assert revisions == list(range(1, head + 1)), "revisions are not dense 1..head"
    replay = Replay()
    checkpoints = set(history.heads[-MVCC_HEADS:])
    for ev in events:
        _apply(replay, ev, history)
        if ev.revision in checkpoints:
            replay.snapshots[ev.revision] = dict(replay.state)
    return replay


def _check_writers(replay: Replay, history: History) -> None:
    """Acked writes are there at their revision; each writer's writes form a prefix."""
    for ack in history.acks.values():
        rev = replay.present.get(ack.seq)
        assert rev == ack.rev, f"acknowledged {ack} is {'at ' + str(rev) if rev else 'missing'}"
    for writer, intents in history.by_writer.items():
        for i, intent in enumerate(intents):
            if intent.op == "refused" or i == len(intents) - 1:
                continue  # the last one may have been in flight at the kill: all or nothing
            assert intent.seq in replay.present, (
                f"writer {writer}: {intent} is missing although a later write was submitted"
            )
        revs = [replay.present[i.seq] for i in intents if i.seq in replay.present]
        assert revs == sorted(revs), f"writer {writer}: its writes are out of order"


def _fingerprint(kvs: list[store.KeyValue]) -> list[tuple[str, int, int, int, str]]:
    return [(kv.key, kv.create_revision, kv.mod_revision, kv.version, _sha(kv.value)) for kv in kvs]


def _sha(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:16]


async def _check_reads(log: store.EventLog, replay: Replay, history: History, head: int) -> None:
    """range/get at the head and at earlier heads serve the replayed state; watch replays."""
    expected = sorted(replay.state.values(), key=lambda kv: kv.key)
    res = await log.range("")
    assert res.revision == head
    assert _fingerprint(res.items) == _fingerprint(expected), "range('') differs from replay"
    res = await log.range(KEY_PREFIX)
    children = [kv for kv in expected if kv.key.startswith(KEY_PREFIX)]
    assert _fingerprint(res.items) == _fingerprint(children), f"range({KEY_PREFIX!r})"
    for key in sorted(replay.ever):
        got, want = await log.get(key), replay.state.get(key)
        assert _fingerprint([got] if got else []) == _fingerprint([want] if want else []), key
    for rev, snapshot in sorted(replay.snapshots.items()):
        res = await log.range("", at=rev)
        want_items = sorted(snapshot.values(), key=lambda kv: kv.key)
        assert _fingerprint(res.items) == _fingerprint(want_items), f"range at={rev}"
    start = max(0, head - 40)
    tail = [ev async for ev in log.events(after=start)]
    if head > start:
        seen: list[store.Event] = []
        watch = log.watch("", after=start)
        try:
            with anyio.fail_after(HANG_GUARD):
                async for ev in watch:
                    seen.append(ev)
                    if ev.revision == head:
                        break
        finally:
            await watch.aclose()
        assert seen == tail, f"watch(after={start}) differs from events(after={start})"


async def _reopen_and_check(url: str, history: History, cycle: int) -> int:
    """Reopen the log, check it against the history, write once; return the new head."""
    async with store.open_log(url) as log:
        head = log.revision
        assert log.compacted_revision == 0
        assert not history.heads or head >= history.heads[-1], "acknowledged writes went missing"
        events = [ev async for ev in log.events()]
        replay = _replay(events, history, head)
        _check_writers(replay, history)
        await _check_reads(log, replay, history, head)
        # Writing resumes at the next revision.
        key, seq = f"{PARENT_PREFIX}{cycle:03d}", f"p.{cycle}"
        history.add_intent(Intent(seq, key, "create", 0))
        value = encode_value(key, seq, random.Random(seq).randbytes(256))
        rev = await log.create(key, value, actor=f"crash:{seq}", cause=0, time=0.0)
        assert rev == head + 1, f"the first write after reopening got {rev}, head was {head}"
        assert log.revision == rev
        history.add_ack(Ack(rev, key, "create", seq))
        [ev] = [ev async for ev in log.events(after=head)]
        assert (ev.revision, ev.key, ev.value) == (rev, key, value)
    history.heads.append(rev)
    return rev


# ---------------------------------------------------------------- running and killing the child


@dataclass
class Child:
    """One run of the crash writer."""

    directory: Path
    url: str
    run: int
    writes: int | None = None  # per writer, then exit cleanly; None: until killed
    writers: int = WRITERS
    die_at: int | None = None  # SIGKILL itself as this SQL statement begins
    proc: subprocess.Popen[bytes] = field(init=False)

    def start(self) -> None:
        cmd = [sys.executable, "-m", "tests.store.crash_writer", "--url", self.url]
        cmd += ["--dir", str(self.directory), "--run", str(self.run), "--seed", str(SEED)]
        cmd += ["--writers", str(self.writers)]
        if self.writes is not None:
            cmd += ["--writes", str(self.writes)]
        if self.die_at is not None:
            cmd += ["--die-at", str(self.die_at)]
        with self.path("stderr").open("wb") as err:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=err, stderr=err)

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"run {self.run} hung:\n{self.output()}")

    def path(self, name: str) -> Path:
        return self.directory / f"{name}-{self.run}.txt"

    def output(self) -> str:
        return self.path("stderr").read_text(errors="replace")[-4000:]

    def wait_for(self, name: str, lines: int) -> None:
        """Poll the journal file `name` until it has `lines` complete lines."""
        deadline = time.monotonic() + HANG_GUARD
        while _count_lines(self.path(name)) < lines:
            if self.proc.poll() is not None:
                pytest.fail(f"run {self.run} exited with {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"run {self.run} hung before {lines} lines of {name}:\n{self.output()}")
            time.sleep(POLL)

    def kill(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"run {self.run} exited with {self.proc.returncode}:\n{self.output()}")
        self.proc.send_signal(signal.SIGKILL)
        rc = self.proc.wait()
        assert rc == -signal.SIGKILL, f"run {self.run} ended with {rc}:\n{self.output()}"


def _kill_while_opening(child: Child, rng: random.Random) -> str:
    """Kill the child within a few ms of its `open_log` call: creating or recovering the file."""
    child.wait_for("status", 1)
    delay = rng.uniform(0.0, 0.03)
    time.sleep(delay)
    child.kill()
    opened = "open" in _complete_lines(child.path("status"))
    return f"{delay * 1000:.0f} ms after opening began ({'after' if opened else 'before'} open)"


def _kill_at_random(child: Child, rng: random.Random, cycle: int) -> str:
    """Kill the child at a moment drawn from `rng`; describe the moment."""
    roll = rng.random()
    if cycle == 0 or roll < 0.25:
        return _kill_while_opening(child, rng)
    if roll < 0.3:
        child.kill()  # before the interpreter even started
        return "at once"
    acks = rng.choice([rng.randint(1, 8), rng.randint(8, 80), rng.randint(80, 400)])
    child.wait_for("acks", acks)
    delay = rng.uniform(0.0, 0.01)
    time.sleep(delay)
    child.kill()
    return f"{delay * 1000:.0f} ms after ack {acks}"


def _check_run(directory: Path, url: str, history: History, run: int, moment: str) -> None:
    """Check what the killed run `run` journalled against the reopened log."""
    acks = history.load_run(directory, run)
    if acks and history.heads:
        assert min(a.rev for a in acks) > history.heads[-1], f"run {run} reused revisions"
    try:
        anyio.run(_reopen_and_check, url, history, run)
    except BaseException as e:
        e.add_note(f"run {run} of {url}, killed: {moment}")
        raise


def _check_clean_run(directory: Path, url: str, history: History, run: int) -> None:
    """A run that ended by itself: every write it submitted was acknowledged and is there."""
    acks = history.load_run(directory, run)
    submitted = [i for i in history.intents.values() if i.writer.startswith(f"{run}.")]
    assert len(acks) == sum(1 for i in submitted if i.op != "refused")
    anyio.run(_reopen_and_check, url, history, run)


def _run_dying_child(directory: Path, url: str, history: History, run: int, n: int) -> bool:
    """Run a child that SIGKILLs itself as its n-th SQL statement begins, then check the log.
    Return False if the child finished before its n-th statement."""
    child = Child(directory, url, run, writes=2, writers=2, die_at=n)
    child.start()
    rc = child.wait()
    if rc == 0:
        _check_clean_run(directory, url, history, run)
        return False
    assert rc == -signal.SIGKILL, f"run {run} ended with {rc}:\n{child.output()}"
    status = _complete_lines(child.path("status"))
    _check_run(directory, url, history, run, status[-1] if status else "before it began")
    return True


def test_sigkill_loses_no_acknowledged_write_and_leaves_no_partial_one(tmp_path: Path) -> None:
    """CYCLES children write to one file and are killed at random moments."""
    url = f"sqlite://{tmp_path / 'crash.db'}"
    rng = random.Random(SEED)
    history = History()
    for cycle in range(CYCLES):
        child = Child(tmp_path, url, cycle)
        child.start()
        moment = _kill_at_random(child, rng, cycle)
        _check_run(tmp_path, url, history, cycle, moment)
    # A last run ends cleanly: everything it wrote is there, nothing else.
    child = Child(tmp_path, url, CYCLES, writes=20)
    child.start()
    assert child.wait() == 0, child.output()
    _check_clean_run(tmp_path, url, history, CYCLES)


def test_sigkill_at_each_sql_statement_of_a_fresh_log(tmp_path: Path) -> None:
    """Creating a log, its first writes and its close, killed before each SQL statement in
    turn (each time on a new file): the file reopens as a log holding only whole writes."""
    for n in range(1, MAX_STATEMENTS + 1):
        directory = tmp_path / f"at-{n}"
        directory.mkdir()
        url = f"sqlite://{directory / 'fresh.db'}"
        if not _run_dying_child(directory, url, History(), 0, n):
            assert n > 1
            return
    pytest.fail(f"the child never finished within {MAX_STATEMENTS} SQL statements")


def test_sigkill_at_each_sql_statement_of_reopening(tmp_path: Path) -> None:
    """Reopening a log with history, writing and closing, killed before each SQL statement
    in turn, always on the same file."""
    url = f"sqlite://{tmp_path / 'crash.db'}"
    history = History()
    child = Child(tmp_path, url, 0, writes=10)  # ends with a clean close
    child.start()
    assert child.wait() == 0, child.output()
    _check_clean_run(tmp_path, url, history, 0)
    child = Child(tmp_path, url, 1)  # ends killed
    child.start()
    child.wait_for("acks", 100)
    child.kill()
    _check_run(tmp_path, url, history, 1, "after ack 100")
    for n in range(1, MAX_STATEMENTS + 1):
        if not _run_dying_child(tmp_path, url, history, n + 1, n):
            assert n > 1
            return
    pytest.fail(f"the child never finished within {MAX_STATEMENTS} SQL statements")
