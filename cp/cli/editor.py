"""The user's editor, as `kubectl edit` launches it: `$KUBE_EDITOR`, else `$EDITOR`, else `vi`,
on a temporary file holding the text; the file's content once the editor exits is the result.

Follows kubectl's `staging/src/k8s.io/kubectl/pkg/cmd/util/editor/editor.go` (`NewDefaultEditor`,
`Launch`, `LaunchTempFile`), with one difference: the variable is split with `shlex` (quotes
and backslashes as a POSIX shell reads them) instead of handing a quoted command line to
`$SHELL -c`; the file path is always the last argument. The editor inherits the terminal
(stdin, stdout, stderr). The temporary file (`cpemu-edit-XXXX.yaml` in the temp folder, mode
0600) is removed afterwards.

    edited = run_editor("# Please edit ...\\napiVersion: apps/v1\\n...")
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cp.cli.errors import CliError

__all__ = ["DEFAULT_EDITOR", "EDITOR_VARIABLES", "editor_command", "run_editor"]

#: The variables naming the editor, in the order kubectl reads them (`editorEnvs`).
EDITOR_VARIABLES: Final = ("KUBE_EDITOR", "EDITOR")
#: kubectl's `defaultEditor` on Linux.
DEFAULT_EDITOR: Final = "vi"


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The editor's command line (without the file): the first non-empty variable of
    `EDITOR_VARIABLES`, split as a shell would, else `vi`. CliError if it does not split."""
    env = os.environ if environ is None else environ
    value = next((env[name] for name in EDITOR_VARIABLES if env.get(name, "").strip()), "")
    if not value:
        return [DEFAULT_EDITOR]
    try:
        words = shlex.split(value)
    except ValueError:
        raise CliError(f'there was a problem with the editor "{value}"') from None
    return words or [DEFAULT_EDITOR]


def run_editor(text: str, *, suffix: str = ".yaml") -> str:
    """`text` as the user left it: written to a temporary file, the editor run on it (the path
    last), the file read back. CliError (`unable to launch the editor "X"` when the program is
    not found, `there was a problem with the editor "X"` when it fails or exits non-zero)."""
    command = editor_command()
    shown = " ".join(command)
    fd, name = tempfile.mkstemp(prefix="cpemu-edit-", suffix=suffix, text=True)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        try:
            completed = subprocess.run([*command, str(path)], check=False)
        except FileNotFoundError:
            raise CliError(f'unable to launch the editor "{shown}"') from None
        except OSError:
            raise CliError(f'there was a problem with the editor "{shown}"') from None
        if completed.returncode != 0:
            raise CliError(f'there was a problem with the editor "{shown}"')
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f'error reading the edited file "{path}": {exc}') from None
    finally:
        path.unlink(missing_ok=True)
