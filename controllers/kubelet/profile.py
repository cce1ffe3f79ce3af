"""The kubelet simulation profile: how long images take and how they fail, per image pattern.

    profile = load_profile("profiles/stuck-rollout.yaml")   # a path, or the YAML text itself
    settings = profile.settings_for("ghcr.io/c1t1d0s7/go-myweb:v2.0")

The format (YAML, read with the safe loader; unknown keys are errors naming their path)::

    defaults:                 # optional: what every rule leaves unset
      startSeconds: 1         # pull + create + start of a container, until it runs
      initSeconds: 2          # each init container, from start to exit 0
      stopSeconds: 1          # SIGTERM to exit, capped by the pod's grace period
      jitter: 0               # each duration times 1 + u * jitter, u in [-1, 1) (seeded)
    rules:                    # matched in order against the image (glob); first match wins
      - image: "*:broken"
        pullError: true       # ErrImagePull / ImagePullBackOff forever; the pod never runs
      - image: "example.com/crashy*"
        crashLoop: {afterSeconds: 5, exitCode: 1}   # exits, restarts with CrashLoopBackOff
      - image: "*/flaky:*"
        neverReady: true      # runs, but readiness never succeeds
      - image: "mysql:*"
        startSeconds: 8
    storage:                  # optional: StorageClass provisioners served besides
      provisioners: [nfs-client]   # cpemu.io/hostpath (claims of other classes stay Pending)

Built-in defaults (`Profile.default()`, also what a rule and `defaults` leave unset):
`startSeconds: 1`, `initSeconds: 2`, `stopSeconds: 1`, `jitter: 0`, no failure. With no jitter
every duration is exact, so a run is reproducible to the second; jitter draws are seeded from
the plane seed, the pod uid and the container name (`controllers.kubelet.timeline`), never
from the order in which pods are reconciled.

Errors: `ProfileError` (a `ValueError`): unreadable file, bad YAML, unknown key, wrong type,
out-of-range value; the message names the source and the path (`rules[1].crashLoop.exitCode`).
"""

from __future__ import annotations

import fnmatch
import re
from os import PathLike
from pathlib import Path
from typing import Annotated, Final

import msgspec
import yaml

__all__ = [
    "DEFAULT_INIT_SECONDS",
    "DEFAULT_START_SECONDS",
    "DEFAULT_STOP_SECONDS",
    "MAX_PROFILE_BYTES",
    "CrashLoop",
    "ImageSettings",
    "Profile",
    "ProfileError",
    "Rule",
    "RuleDefaults",
    "Storage",
    "load_profile",
]

DEFAULT_START_SECONDS: Final = 1.0
DEFAULT_INIT_SECONDS: Final = 2.0
DEFAULT_STOP_SECONDS: Final = 1.0
#: Profiles are small; anything larger is refused before parsing.
MAX_PROFILE_BYTES: Final = 1 << 20

_Seconds = Annotated[float, msgspec.Meta(ge=0, le=86400 * 365)]
_Jitter = Annotated[float, msgspec.Meta(ge=0, lt=1)]
_ExitCode = Annotated[int, msgspec.Meta(ge=0, le=255)]
_Pattern = Annotated[str, msgspec.Meta(min_length=1)]


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the source and the field path."""


class CrashLoop(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """The container exits `after_seconds` after each start, with `exit_code`."""

    after_seconds: _Seconds
    exit_code: _ExitCode = 1


class RuleDefaults(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Timings every rule falls back to (`defaults:`); unset means the built-in default."""

    start_seconds: _Seconds | None = None
    init_seconds: _Seconds | None = None
    stop_seconds: _Seconds | None = None
    jitter: _Jitter | None = None


class Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One `rules[]` entry: an image glob and what it changes."""

    image: _Pattern
    start_seconds: _Seconds | None = None
    init_seconds: _Seconds | None = None
    stop_seconds: _Seconds | None = None
    jitter: _Jitter | None = None
    pull_error: bool = False
    crash_loop: CrashLoop | None = None
    never_ready: bool = False


class Storage(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """`storage:` — the StorageClass provisioners the emulated cluster serves besides
    `cpemu.io/hostpath` (e.g. the seed's `nfs-client`)."""

    provisioners: tuple[str, ...] = ()


class _Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    defaults: RuleDefaults = RuleDefaults()
    rules: tuple[Rule, ...] = ()
    storage: Storage = Storage()


class ImageSettings(msgspec.Struct, frozen=True, gc=False):
    """What the simulator does with one image: the first matching rule over the defaults."""

    start_seconds: float = DEFAULT_START_SECONDS
    init_seconds: float = DEFAULT_INIT_SECONDS
    stop_seconds: float = DEFAULT_STOP_SECONDS
    jitter: float = 0.0
    pull_error: bool = False
    crash_loop: CrashLoop | None = None
    never_ready: bool = False


_NO_RULE: Final = Rule(image="*")


def _pick(*values: float | None) -> float:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last value is never None")  # pragma: no cover


class Profile:
    """Rules in order, first match wins; `settings_for(image)` is cached per image."""

    __slots__ = ("_cache", "_defaults", "_patterns", "_rules", "source", "storage")

    def __init__(
        self,
        rules: tuple[Rule, ...] = (),
        defaults: RuleDefaults | None = None,
        *,
        source: str = "<default>",
        storage: Storage | None = None,
    ) -> None:
        self.storage = storage if storage is not None else Storage()
        self._rules = rules
        self._defaults = defaults if defaults is not None else RuleDefaults()
        self._patterns = tuple(re.compile(fnmatch.translate(r.image)) for r in rules)
        self._cache: dict[str, ImageSettings] = {}
        self.source = source

    @classmethod
    def default(cls) -> Profile:
        """No rules: every image starts in `DEFAULT_START_SECONDS` and never fails."""
        return cls()

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    @property
    def defaults(self) -> RuleDefaults:
        return self._defaults

    def rule_for(self, image: str) -> Rule | None:
        """The first rule whose glob matches `image` (case-sensitive), or None."""
        for rule, pattern in zip(self._rules, self._patterns, strict=True):
            if pattern.match(image):
                return rule
        return None

    def settings_for(self, image: str) -> ImageSettings:
        cached = self._cache.get(image)
        if cached is not None:
            return cached
        rule = self.rule_for(image) or _NO_RULE
        d = self._defaults
        settings = ImageSettings(
            start_seconds=_pick(rule.start_seconds, d.start_seconds, DEFAULT_START_SECONDS),
            init_seconds=_pick(rule.init_seconds, d.init_seconds, DEFAULT_INIT_SECONDS),
            stop_seconds=_pick(rule.stop_seconds, d.stop_seconds, DEFAULT_STOP_SECONDS),
            jitter=_pick(rule.jitter, d.jitter, 0.0),
            pull_error=rule.pull_error,
            crash_loop=rule.crash_loop,
            never_ready=rule.never_ready,
        )
        self._cache[image] = settings
        return settings


_PATH_IN_MESSAGE = re.compile(r"^(?P<detail>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)


def _error(source: str, exc: msgspec.ValidationError) -> ProfileError:
    """`source: rules[0].crashLoop: Object contains unknown field `x``, path first."""
    match = _PATH_IN_MESSAGE.match(str(exc))
    assert match is not None
    path = (match.group("path") or "").lstrip(".")
    where = f"{source}: {path}: " if path else f"{source}: "
    return ProfileError(where + match.group("detail"))


def _read(source: str | PathLike[str]) -> tuple[str, str]:
    """(text, name for messages). A `PathLike`, or a str naming an existing file, is read;
    any other str is the YAML itself."""
    text = isinstance(source, str) and (
        "\n" in source or len(source) >= 4096 or not Path(source).is_file()
    )
    if isinstance(source, str) and text:
        if len(source.encode()) > MAX_PROFILE_BYTES:
            raise ProfileError(f"<profile>: larger than {MAX_PROFILE_BYTES} bytes")
        return source, "<profile>"
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise ProfileError(f"{path}: larger than {MAX_PROFILE_BYTES} bytes")
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc}") from None


def load_profile(source: str | PathLike[str]) -> Profile:
    """Parse a profile from a path or from YAML text (see the module doc); `ProfileError`."""
    text, name = _read(source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{name}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        hint = "" if isinstance(source, PathLike) else " (or the path of a file that exists)"
        raise ProfileError(f"{name}: a profile is a mapping with `defaults` and `rules`{hint}")
    try:
        doc = msgspec.convert(data, _Document, strict=True)
    except msgspec.ValidationError as exc:
        raise _error(name, exc) from None
    for i, rule in enumerate(doc.rules):
        if rule.pull_error and rule.crash_loop is not None:
            raise ProfileError(f"{name}: rules[{i}]: pullError and crashLoop exclude each other")
    return Profile(doc.rules, doc.defaults, source=name, storage=doc.storage)
