"""Durable file writes: a reader sees the old file or the new one, never a mix, even after a crash."""

from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Make a rename or an unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents, each entry made durable in its parent."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        fsync_dir(new.parent)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: a temp file in the same directory, fsync, rename, fsync the
    directory. The temp name carries the pid, so two processes never share one."""
    temp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        handle = open(temp, "w", encoding="utf-8")
    except FileNotFoundError:
        make_dirs(path.parent)
        handle = open(temp, "w", encoding="utf-8")
    with handle:
        handle.write(text)
        handle.flush()
        os.fdatasync(handle.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def remove_durably(path: Path) -> None:
    if path.exists():
        path.unlink()
        fsync_dir(path.parent)


def remove_stale_temps(directory: Path, name: str) -> None:
    """Temp files of `name` left by a killed process (call while holding the file's lock)."""
    if directory.is_dir():
        for temp in directory.glob(f".{name}.*{TEMP_SUFFIX}"):
            temp.unlink(missing_ok=True)
