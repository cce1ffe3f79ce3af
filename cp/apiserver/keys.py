"""Storage keys, generated names, timestamps and the store-error mapping of the API server.

Keys follow kube-apiserver's etcd layout: `/registry/<plural>/<namespace>/<name>` for
namespaced kinds and `/registry/<plural>/<name>` for cluster-scoped ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import store
from cp.api.errors import AlreadyExists, ApiError, BadRequest, Conflict, Expired, NotFound
from cp.api.kinds import KindInfo
from cp.api.times import rfc3339

__all__ = [
    "GENERATED_SUFFIX_LENGTH",
    "MAX_GENERATED_NAME_LENGTH",
    "generate_name",
    "key_of",
    "prefix_of",
    "rfc3339",
    "store_errors",
]

#: upstream `names.SimpleNameGenerator`: base truncated to 63 - 5 characters, then 5 random ones.
GENERATED_SUFFIX_LENGTH = 5
MAX_GENERATED_NAME_LENGTH = 63 - GENERATED_SUFFIX_LENGTH
#: `utilrand.String`'s alphabet: no vowels (no words), no confusable 0/1/3.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def key_of(info: KindInfo, namespace: str, name: str) -> str:
    """The storage key of one object."""
    if info.namespaced:
        return f"/registry/{info.plural}/{namespace}/{name}"
    return f"/registry/{info.plural}/{name}"


def prefix_of(info: KindInfo, namespace: str | None) -> str:
    """The key prefix of a kind, or of one namespace of it (ignored for cluster-scoped kinds)."""
    if info.namespaced and namespace:
        return f"/registry/{info.plural}/{namespace}/"
    return f"/registry/{info.plural}/"


def generate_name(base: str, seed: str) -> str:
    """`base` (cut to 58 characters) plus 5 characters drawn from a source seeded by `seed`."""
    rng = random.Random(seed)
    suffix = "".join(rng.choice(_ALPHABET) for _ in range(GENERATED_SUFFIX_LENGTH))
    return base[:MAX_GENERATED_NAME_LENGTH] + suffix


@contextmanager
def store_errors(info: KindInfo, name: str = "") -> Iterator[None]:
    """Turn the store's errors into API errors (the one place this happens)."""
    try:
        yield
    except store.KeyExists:
        raise AlreadyExists.of(info.plural, info.group, name) from None
    except store.KeyNotFound:
        raise NotFound.of(info.plural, info.group, name) from None
    except store.RevisionMismatch:
        raise Conflict.of(info.plural, info.group, name) from None
    except store.Compacted as exc:
        raise Expired.too_old(exc.requested, exc.compacted) from None
    except store.FutureRevision as exc:
        message = f"Too large resource version: {exc.requested}, current: {exc.head}"
        raise BadRequest(message) from None
    except store.InvalidArgument as exc:
        raise BadRequest(str(exc)) from None
    except store.StoreError as exc:
        raise ApiError(str(exc)) from None
