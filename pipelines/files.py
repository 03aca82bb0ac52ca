"""Durable file writes: a reader sees the old file or the new one, never a mix, even after a crash."""

from __future__ import annotations

import ctypes
import fcntl
import os
from collections.abc import Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias, TypeVar

TEMP_SUFFIX = ".tmp"
# Linux `syncfs(fd)`: flushes one filesystem, one journal commit for many files. None elsewhere.
_SYNCFS = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)


def fsync_dir(directory: Path) -> None:
    """Make a rename or an unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path, durable: bool = True) -> None:
    """Create `directory` and its missing parents, each entry made durable in its parent (unless
    not `durable`: the caller flushes the whole filesystem before anything depends on them)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        if durable:
            fsync_dir(new.parent)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created, with its folders, if missing), waiting for it.
    It has no expiry: a holder that stalls keeps it, and the kernel drops it when the holder dies."""
    make_dirs(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


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


def remove_stale_temps(directory: Path, name: str) -> None:
    """Temp files of `name` left by a killed process (call while holding the file's lock)."""
    if directory.is_dir():
        for temp in directory.glob(f".{name}.*{TEMP_SUFFIX}"):
            temp.unlink(missing_ok=True)


def _syncfs(root: Path) -> None:
    fd = os.open(root, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:  # type: ignore[misc]
            raise OSError(ctypes.get_errno(), "syncfs failed", str(root))
    finally:
        os.close(fd)


# Files replaced per round of `replace_files`. Bounded because a filesystem flush that follows
# thousands of new files costs more than several that follow a few dozen each (measured on ext4:
# docs/data.md, Performance).
REPLACE_CHUNK = 64
# Characters of lines read into memory per round of rewrites, at most (some 0.5 MiB as str; the
# lines go to their files one by one, never joined or encoded whole): a round holds fewer
# partitions when they are large (a busy day, an archive of many stories a day). The two
# partitions of a move, or one partition larger than this, make a round of their own. Small
# enough that a round is a small share of the crawl's memory (bench/scale.py --where-peak: a
# round of 1 Mi characters, joined, made the largest single rises); large enough that a
# round's two filesystem flushes are few.
REPLACE_CHARS = 1 << 18
Name = TypeVar("Name", bound=Hashable)  # what `rounds` groups: paths, partition names
# A file's new content: its lines (each written with a newline after it, one at a time: no
# second copy of the whole in memory), or None (the file goes).
Content: TypeAlias = list[str] | None


def rounds(names: Iterable[Name], together: Iterable[tuple[Name, Name]] = (), size: int = REPLACE_CHUNK
           ) -> list[list[Name]]:
    """`names` in order, in rounds of at most `size`, the two names of each pair of `together`
    in one round (linked names beyond `size` make one larger round)."""
    leader = {name: name for name in names}

    def group_of(name: Name) -> Name:
        while leader[name] != name:
            name = leader[name]
        return name

    for first, second in together:
        if first in leader and second in leader:
            leader[group_of(second)] = group_of(first)
    groups: dict[Name, list[Name]] = {}
    for name in leader:
        groups.setdefault(group_of(name), []).append(name)
    planned: list[list[Name]] = []
    for group in groups.values():
        if not planned or len(planned[-1]) + len(group) > size:
            planned.append([])
        planned[-1] += group
    return planned


def replace_files(root: Path, files: Mapping[Path, Content], together: Iterable[tuple[Path, Path]] = ()) -> None:
    """Replace many files under `root` with their lines, each atomically (None: remove it),
    `REPLACE_CHUNK` at a time, the two files of each pair of `together` in the same round (a story
    moving between two partitions leaves one and enters the other at once). A crash leaves each file old or new,
    never a mix; when this returns, all are durable."""
    for names in rounds(files, together):
        _replace_files(root, {path: files[path] for path in names})


def _replace_files(root: Path, files: Mapping[Path, Content]) -> None:
    """One round of `replace_files`: every temp file is written and made durable, then renamed
    over its file, then the renames are made durable. Where `syncfs` exists, two flushes of the
    filesystem do the work of an fsync per file and per directory (half the CPU, a quarter of
    the time, measured with a thousand partitions); the first flush also makes new directories
    durable, before any file is renamed into them."""
    temps = {}
    for path, lines in files.items():
        if lines is None:
            continue
        temp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
        try:
            handle = open(temp, "w", encoding="utf-8")
        except FileNotFoundError:
            make_dirs(path.parent, durable=_SYNCFS is None)
            handle = open(temp, "w", encoding="utf-8")
        with handle:
            handle.writelines(line + "\n" for line in lines)
            if _SYNCFS is None:
                handle.flush()
                os.fdatasync(handle.fileno())
        temps[path] = temp
    if _SYNCFS is not None:
        _syncfs(root)
    for path in files:
        if path in temps:
            os.replace(temps[path], path)
        elif path.exists():
            path.unlink()
    if _SYNCFS is not None:
        _syncfs(root)
    else:
        for directory in {path.parent for path in files}:
            fsync_dir(directory)
