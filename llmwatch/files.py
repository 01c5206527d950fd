"""Writing report files (everything under ``reports_dir``): whole or not at all, and
world-readable.

Reports are static files that a web server, often running as another user, serves:
each is written to a temporary file in the same folder and renamed over the old one
(a reader never sees half a page), with mode 0644 whatever the process's umask, in
folders with mode 0755 when this creates them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

FILE_MODE = 0o644
DIR_MODE = 0o755


def public_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents, each readable by everyone."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another run created it meanwhile
            folder.mkdir()
            folder.chmod(DIR_MODE)
    return path


def write_public_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, mode 0644."""
    public_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes it 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
