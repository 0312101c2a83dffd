"""Atomic file writes (temp file in the same folder + ``os.replace``) and the overwrite guard."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


class OutputExistsError(ValueError):
    """An output file exists and ``force`` was not given."""


class OutputFolderError(ValueError):
    """The output folder cannot be created or written."""


def check_outputs(paths: Iterable[str | Path], force: bool = False) -> list[Path]:
    """Check every path before writing any: refuse existing files unless ``force``; make the folders."""
    out = [Path(p) for p in paths]
    for p in out:
        if p.exists() and not force:
            raise OutputExistsError(f"{p} already exists; pass --force (force=True) to overwrite it")
        if p.exists() and p.is_dir():
            raise OutputExistsError(f"{p} is a folder; choose a file name")
    for folder in {p.parent for p in out}:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(
                f"cannot create output folder {folder}: {exc.strerror}; choose a writable location"
            ) from exc
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputFolderError(f"output folder {folder} is not writable; choose a writable location")
    return out


def atomic_write(path: str | Path, write: Callable[[str], object], force: bool = True) -> Path:
    """Call ``write(tmp)`` to fill a temp file beside ``path``, then rename it onto ``path``, so readers never
    see a partial file and a failed write leaves nothing behind. ``force=False`` refuses an existing file."""
    (path,) = check_outputs([path], force=force)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputFolderError(
            f"cannot write in {path.parent}: {exc.strerror}; choose a writable location"
        ) from exc
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        if path.exists() and not force:  # created by someone else meanwhile
            raise OutputExistsError(f"{path} already exists; pass --force (force=True) to overwrite it")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes, force: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temp file + rename, so readers never see a partial file."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), force=force)
