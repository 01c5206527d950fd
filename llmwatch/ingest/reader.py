"""Reading input files: discovery, fingerprints, and lines of bounded size."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")
_CHUNK = 1 << 20
# Editors on Windows start UTF-8 files with a byte order mark; it is not data.
BOM = b"\xef\xbb\xbf"


class UnreadableFile(Exception):
    """A file that cannot be read to its end: an I/O error, a corrupt or cut gzip."""


def discover(paths: Iterable[Path]) -> list[Path]:
    """The input files named, folders expanded recursively, in a stable order.

    In a folder, only files with a known suffix are taken, so a recorder's open
    ``*.part`` file or stray notes are left alone; a file named explicitly is taken
    whatever its name.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
            )
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


SIGNALS = "signals"


def is_signal_file(path: Path, root: Path | None = None) -> bool:
    """A file of user signals by its name: ``signals`` in the file name, or a folder
    named ``signals`` between ``root`` (the folder given) and the file - the recorder's
    layout. A file given by itself is also one when its own folder is ``signals``.

    Only what lies inside ``root`` counts, so a project folder called ``signals-x``
    does not turn every file under it into signals.
    """
    if SIGNALS in path.name.lower():
        return True
    folders = path.relative_to(root).parts[:-1] if root is not None else (path.parent.name,)
    return any(part.lower() == SIGNALS for part in folders)


def discover_kinds(paths: Iterable[Path], signals: bool = False) -> list[tuple[Path, bool]]:
    """(file, holds signals) for every input file under ``paths`` (see ``discover``);
    with ``signals`` every file is taken as signals, else ``is_signal_file`` decides."""
    paths = list(paths)
    for path in paths:  # every path must exist before anything is read
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    found: list[tuple[Path, bool]] = []
    for path in paths:
        root = path if path.is_dir() else None
        found.extend((f, signals or is_signal_file(f, root)) for f in discover([path]))
    return found


def fingerprint(path: Path) -> tuple[str, int]:
    """sha256 of the file's bytes as stored, and its size."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def open_bytes(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]  # it is an IO[bytes]
    return path.open("rb")


def bounded_lines(handle: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line without its newline) for each line; None for an oversized one.

    An oversized line is skipped chunk by chunk, so a runaway line of gigabytes costs
    no more memory than ``max_bytes``.
    """
    line_no = 0
    while True:
        line = handle.readline(max_bytes + 1)
        if not line:
            return
        line_no += 1
        if line_no == 1 and line.startswith(BOM):
            line = line[len(BOM) :]
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:
                rest = handle.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield line_no, None
            continue
        yield line_no, line.rstrip(b"\r\n")
