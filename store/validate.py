"""Argument checks shared by every backend: a refused call raises `InvalidArgument` at once."""

from __future__ import annotations

import math

from store.errors import InvalidArgument
from store.types import MAX_VALUE_BYTES

__all__ = [
    "check_key",
    "check_prefix",
    "check_revision",
    "check_text",
    "check_value",
    "check_write_meta",
]


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise InvalidArgument(f"key must be str, not {type(key).__name__}")
    if not key:
        raise InvalidArgument("key must not be empty")
    return check_text("key", key)


def check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str):
        raise InvalidArgument(f"prefix must be str, not {type(prefix).__name__}")
    return check_text("prefix", prefix)


def check_text(name: str, text: str) -> str:
    """Text the log stores must be valid Unicode (UTF-8 encodable: no lone surrogates)."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError as exc:
            raise InvalidArgument(
                f"{name} {text!r} is not valid Unicode: {exc.reason} at index {exc.start}"
            ) from None
    return text


def check_value(key: str, value: object) -> bytes:
    if not isinstance(value, bytes):
        raise InvalidArgument(f"value of key {key!r} must be bytes, not {type(value).__name__}")
    if len(value) > MAX_VALUE_BYTES:
        raise InvalidArgument(
            f"value of key {key!r} is {len(value)} bytes, over the limit of {MAX_VALUE_BYTES}"
        )
    return value


def check_revision(name: str, revision: object) -> int:
    """A revision argument: an int >= 0 (bool is refused)."""
    if type(revision) is not int:
        raise InvalidArgument(f"{name} must be an int revision, not {type(revision).__name__}")
    if revision < 0:
        raise InvalidArgument(f"{name} must not be negative, got {revision}")
    return revision


def check_write_meta(actor: object, cause: object, time: object) -> None:
    if not isinstance(actor, str):
        raise InvalidArgument(f"actor must be str, not {type(actor).__name__}")
    check_text("actor", actor)
    check_revision("cause", cause)
    if type(time) is not float and type(time) is not int:
        raise InvalidArgument(f"time must be a number, not {type(time).__name__}")
    if not math.isfinite(time):
        raise InvalidArgument(f"time must be finite, got {time}")
