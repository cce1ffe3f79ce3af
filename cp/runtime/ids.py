"""Seeded identifiers: uids, generateName suffixes and reconcile ids, never from global state.

Same seed => same sequence, so the same inputs on the virtual clock give a byte-identical
event log (DESIGN.md, embedding contract). Each kind of id draws from its own
`random.Random` stream (seeded from `seed` and the kind's name), so that, for instance,
reconciling more often (more reconcile ids) does not shift the uids given to objects.

    ids = SeededIds(0)
    ids.uid()           # '…-…-4…-[89ab]…-…', an RFC 4122 version-4-looking UUID string
    ids.suffix()        # 5 chars of upstream's alphabet, for metadata.generateName
    ids.reconcile_id()  # a UUID string for the `reconcile_id` log field
"""

from __future__ import annotations

import random
from typing import Final

__all__ = ["SUFFIX_ALPHABET", "SeededIds"]

#: apimachinery `util/rand` alphabet: no vowels (no words), no 0/1/3 (no look-alikes).
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class SeededIds:
    """A deterministic source of uids, name suffixes and reconcile ids for one control plane."""

    __slots__ = ("_reconcile", "_seed", "_suffix", "_uid")

    def __init__(self, seed: int, *, epoch: int = 0) -> None:
        """`epoch`: where the sequence starts (a plane reopening a log passes its head revision,
        so a second process on the same state file never repeats the uids and names the first
        one drew; 0 for a fresh log, the sequence of `SeededIds(seed)`)."""
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(f"epoch must be an int >= 0, not {epoch!r}")
        self._seed = seed
        base = f"{seed}" if epoch == 0 else f"{seed}@{epoch}"
        # str seeds are hashed with SHA-512 by random.Random: stable across runs and platforms.
        self._uid = random.Random(f"{base}/uid")
        self._suffix = random.Random(f"{base}/suffix")
        self._reconcile = random.Random(f"{base}/reconcile")

    @property
    def seed(self) -> int:
        return self._seed

    def uid(self) -> str:
        """The next object uid: 128 seeded bits with the version-4 and RFC 4122 variant bits set."""
        return _uuid4_like(self._uid)

    def suffix(self, n: int = 5) -> str:
        """The next `n`-character generateName suffix (apimachinery `rand.String(n)`)."""
        if n < 0:
            raise ValueError(f"suffix length must be >= 0, not {n}")
        return "".join(self._suffix.choice(SUFFIX_ALPHABET) for _ in range(n))

    def reconcile_id(self) -> str:
        """The next reconcile id (controller-runtime logs a UUID per reconcile)."""
        return _uuid4_like(self._reconcile)


#: `uuid.UUID(int=..., version=4)`: clear the variant and version bits, then set RFC 4122 / 4.
_UUID4_CLEAR: Final = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET: Final = (0x8000 << 48) | (4 << 76)


def _uuid4_like(rng: random.Random) -> str:
    """`str(uuid.UUID(int=rng.getrandbits(128), version=4))`, without building the UUID."""
    h = "%032x" % ((rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
