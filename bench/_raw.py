"""The raw limit: plain `sqlite3` `executemany` of the store's rows, 1000 rows a transaction.

Same table layout and row shape as `store/sqlite.py` writes (copied from it: keep in step),
same pragmas (WAL, synchronous=NORMAL), no asyncio and no store logic: what SQLite itself
costs for the appends, so `store rate / raw rate` shows what the store adds on top.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from time import perf_counter

from bench._workload import ACTOR, KeySet

__all__ = ["raw_append_rate"]

# Copied from store/sqlite.py (schema 1: _CREATE_SCHEMA and _INSERT); keep in step with it.
_SCHEMA = (
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID",
    "CREATE TABLE log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL, value BLOB,"
    " prev_rev INTEGER, create_rev INTEGER, version INTEGER,"
    " actor TEXT NOT NULL, cause INTEGER NOT NULL, time REAL NOT NULL)",
    "CREATE TABLE state(key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID",
)
_INSERT = "INSERT INTO log VALUES (?,?,?,?,?,?,?,?,?)"

Row = tuple[int, str, bytes, int, int, int, str, int, float]


def raw_append_rate(path: Path, keys: KeySet, total: int, *, batch: int = 1000) -> float:
    """Append `total` update events over `keys` to a fresh database at `path`; rows/s.

    The rows are the ones the store writes for the same updates after creating the keys at
    revisions 1..len(keys): (rev, key, value, prev_rev, create_rev, version, actor, cause, time).
    Building them is not timed.
    """
    n = len(keys)
    rows: list[Row] = []
    for j in range(total):
        i = j % n
        rev = n + j + 1
        rows.append((rev, keys.keys[i], keys.values[i], rev - n, i + 1, j // n + 2, ACTOR, 0, 0.0))
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            db.execute(statement)
        t0 = perf_counter()
        for start in range(0, total, batch):
            db.execute("BEGIN")
            db.executemany(_INSERT, rows[start : start + batch])
            db.execute("COMMIT")
        elapsed = perf_counter() - t0
    finally:
        db.close()
    return total / elapsed
