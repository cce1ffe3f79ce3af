"""Manifests named by `-f PATH...`: files, folders of `*.yaml`/`*.yml`/`*.json`, or `-` (stdin),
decoded into typed objects with `-n` applied. All documents or an error: a refused input writes
nothing. Reading goes through a `read_files` callable so the runner can record what was read
(and `replay --verify` can hand the recorded texts back)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import msgspec
from msgspec.structs import replace

from cp.api.codec import CODEC
from cp.api.kinds import KINDS, KindInfo
from cp.api.meta import ApiStruct, ObjectMeta
from cp.cli.errors import CliError

__all__ = ["Document", "ReadFiles", "add_filename_argument", "load", "read_files"]

_MANIFEST_SUFFIXES: Final = (".yaml", ".yml", ".json")

#: `-f PATH` -> (source name, text) of each manifest it names.
ReadFiles = Callable[[str], list[tuple[str, str]]]


def add_filename_argument(sub: argparse.ArgumentParser, *, required: bool = True) -> None:
    """`-f/--filename PATH` (repeatable), as kubectl's manifest-reading verbs take it."""
    sub.add_argument(
        "-f",
        "--filename",
        action="append",
        required=required,
        default=None,
        metavar="PATH",
        help="a manifest file, a folder of *.yaml/*.yml/*.json, or - for stdin",
    )


def read_files(path: str) -> list[tuple[str, str]]:
    """(source name, text) of each manifest `-f PATH` names."""
    return list(_manifest_files(path))


def _manifest_files(path: str) -> Iterator[tuple[str, str]]:
    if path == "-":
        yield "STDIN", sys.stdin.read()
        return
    target = Path(path)
    if target.is_dir():
        files = sorted(p for p in target.iterdir() if p.suffix in _MANIFEST_SUFFIXES)
        if not files:
            raise CliError(f'error reading "{path}": no manifest files (*.yaml, *.yml, *.json)')
    elif target.exists():
        files = [target]
    else:
        raise CliError(f'the path "{path}" does not exist')
    for file in files:
        try:
            yield str(file) if target.is_dir() else path, file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f'error reading "{file}": {exc}') from None


class Document(msgspec.Struct, frozen=True):
    """One object of a manifest: where it came from, its kind, typed and as written."""

    source: str
    info: KindInfo
    obj: ApiStruct
    raw: dict[str, Any]

    @property
    def meta(self) -> ObjectMeta:
        meta: ObjectMeta = self.obj.metadata  # type: ignore[attr-defined]
        return meta


def load(
    paths: Sequence[str], namespace: str | None, read: ReadFiles = read_files
) -> list[Document]:
    """Every object of every manifest, with `-n` filled in; all of them or an error."""
    documents = []
    for path in paths:
        for source, text in read(path):
            for obj, raw in CODEC.load_documents(text, source=source):
                info = KINDS.for_api_version(obj.api_version, obj.kind)  # type: ignore[attr-defined]
                assert info is not None  # load_documents only decodes known kinds
                meta: ObjectMeta = obj.metadata  # type: ignore[attr-defined]
                if info.namespaced and namespace is not None:
                    if meta.namespace and meta.namespace != namespace:
                        raise CliError(
                            f'the namespace from the provided object "{meta.namespace}" does '
                            f'not match the namespace "{namespace}". You must pass '
                            f"'--namespace={meta.namespace}' to perform this operation."
                        )
                    if not meta.namespace:
                        obj = replace(obj, metadata=replace(meta, namespace=namespace))
                        metadata = dict(raw.get("metadata") or {})
                        metadata["namespace"] = namespace
                        raw = {**raw, "metadata": metadata}
                documents.append(Document(source, info, obj, raw))
    return documents
