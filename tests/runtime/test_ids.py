"""SeededIds: deterministic per seed, different across seeds, valid UUIDs and suffixes."""

from __future__ import annotations

import uuid

import pytest

from cp.runtime import SUFFIX_ALPHABET, SeededIds


def draw(ids: SeededIds) -> tuple[list[str], list[str], list[str]]:
    return (
        [ids.uid() for _ in range(20)],
        [ids.suffix() for _ in range(20)],
        [ids.reconcile_id() for _ in range(20)],
    )


def test_same_seed_same_sequence() -> None:
    assert draw(SeededIds(7)) == draw(SeededIds(7))


def test_different_seeds_differ() -> None:
    a, b = draw(SeededIds(0)), draw(SeededIds(1))
    assert set(a[0]).isdisjoint(b[0])
    assert a[1] != b[1]
    assert set(a[2]).isdisjoint(b[2])


def test_uids_are_valid_version_4_uuid_strings_and_distinct() -> None:
    ids = SeededIds(3)
    uids = [ids.uid() for _ in range(200)]
    reconcile_ids = [ids.reconcile_id() for _ in range(20)]
    for text in uids + reconcile_ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert len(set(uids)) == 200


def test_streams_are_independent() -> None:
    """Drawing reconcile ids or suffixes does not shift the uids an object gets."""
    plain, busy = SeededIds(5), SeededIds(5)
    for _ in range(10):
        busy.reconcile_id()
        busy.suffix()
    assert [plain.uid() for _ in range(5)] == [busy.uid() for _ in range(5)]


def test_suffix_uses_upstream_alphabet() -> None:
    ids = SeededIds(0)
    assert SUFFIX_ALPHABET == "bcdfghjklmnpqrstvwxz2456789"
    suffixes = [ids.suffix() for _ in range(100)]
    assert all(len(s) == 5 and set(s) <= set(SUFFIX_ALPHABET) for s in suffixes)
    assert len(ids.suffix(12)) == 12
    assert ids.suffix(0) == ""


def test_seed_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        SeededIds("0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="suffix length"):
        SeededIds(0).suffix(-1)
