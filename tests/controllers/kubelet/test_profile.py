"""The simulation profile: format, defaults, first match wins, errors naming their path."""

from __future__ import annotations

from pathlib import Path

import pytest

from controllers.kubelet import CrashLoop, ImageSettings, Profile, ProfileError, load_profile
from controllers.kubelet.profile import MAX_PROFILE_BYTES

PROFILES = Path(__file__).parent / "profiles"


def test_the_default_profile_is_exact_and_never_fails() -> None:
    settings = Profile.default().settings_for("nginx:1.25")
    assert settings == ImageSettings(
        start_seconds=1.0, init_seconds=2.0, stop_seconds=1.0, jitter=0.0
    )
    assert load_profile("").rules == ()


def test_rules_match_in_order_and_the_first_wins() -> None:
    profile = load_profile(
        """
defaults: {startSeconds: 3}
rules:
  - image: "nginx:1.*"
    neverReady: true
  - image: "nginx:*"
    pullError: true
    stopSeconds: 7
"""
    )
    assert profile.settings_for("nginx:1.25") == ImageSettings(start_seconds=3.0, never_ready=True)
    assert profile.settings_for("nginx:latest") == ImageSettings(
        start_seconds=3.0, stop_seconds=7.0, pull_error=True
    )
    assert profile.settings_for("redis") == ImageSettings(start_seconds=3.0)
    assert profile.rule_for("NGINX:1.25") is None  # globs are case-sensitive


def test_example_profiles_load() -> None:
    stuck = load_profile(PROFILES / "stuck-rollout.yaml")
    assert stuck.settings_for("ghcr.io/c1t1d0s7/go-myweb:v2.0").pull_error
    assert stuck.settings_for("ghcr.io/c1t1d0s7/go-myweb:v1.0").start_seconds == 2.0
    failures = load_profile(str(PROFILES / "failures.yaml"))  # a str path is read too
    assert failures.settings_for("example.com/crashy:1").crash_loop == CrashLoop(
        after_seconds=5, exit_code=1
    )
    assert failures.settings_for("quay.io/flaky:2").never_ready
    mysql = failures.settings_for("mysql:8.0")
    assert (mysql.start_seconds, mysql.init_seconds, mysql.jitter) == (8.0, 4.0, 0.25)
    assert failures.source.endswith("failures.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - image: x\n    startSecs: 1\n",
            "<profile>: rules[0]: Object contains unknown field `startSecs`",
        ),
        (
            "rules:\n  - image: a\n  - image: b\n    crashLoop: {afterSeconds: 1, exit: 2}\n",
            "<profile>: rules[1].crashLoop: Object contains unknown field `exit`",
        ),
        (
            "rules:\n  - image: b\n    crashLoop: {afterSeconds: 1, exitCode: 300}\n",
            "<profile>: rules[0].crashLoop.exitCode: Expected `int` <= 255",
        ),
        ("defaults: {jitter: 1.5}\n", "<profile>: defaults.jitter: Expected `float` < 1.0"),
        (
            "rules:\n  - startSeconds: 1\n",
            "<profile>: rules[0]: Object missing required field `image`",
        ),
        (
            "rules:\n  - image: x\n    startSeconds: soon\n",
            "<profile>: rules[0].startSeconds: Expected `float | null`, got `str`",
        ),
        ("rulez: []\n", "<profile>: Object contains unknown field `rulez`"),
        (
            "rules:\n  - image: x\n    pullError: true\n    crashLoop: {afterSeconds: 1}\n",
            "<profile>: rules[0]: pullError and crashLoop exclude each other",
        ),
        ("- image: x\n", "<profile>: a profile is a mapping"),
        ("rules: [\n", "<profile>: not valid YAML"),
    ],
)
def test_errors_name_the_path(text: str, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(text)
    assert str(info.value).startswith(message), str(info.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - image: x\n    neverready: true\n")
    with pytest.raises(ProfileError, match=r"bad\.yaml: rules\[0\]: .*`neverready`"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="cannot read the profile"):
        load_profile(tmp_path / "missing.yaml")
    huge = tmp_path / "huge.yaml"
    huge.write_text("#" * (MAX_PROFILE_BYTES + 1))
    with pytest.raises(ProfileError, match="larger than"):
        load_profile(huge)


def test_yaml_is_read_with_the_safe_loader() -> None:
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile("rules: !!python/object/apply:os.system ['true']\n")
