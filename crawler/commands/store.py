"""`scrapy store write | verify | repair | rebuild`: the partition files written from the state,
checked against it, and mended.

- `write` writes every pending partition from the state, under the writer's flock
  (pipelines/store.py, `partitions_writer`), as a run does at its end. With `--follow` it goes on,
  every `STORE_WRITE_SECONDS`, until SIGTERM or SIGINT: the one writer of an OUTPUT_DIR whose
  crawls only record, the workers of a job (docs/distributed.md, "Who writes the files"). It is
  safe to stop at any moment (a file is old or new, the kernel drops the lock) and to run twice
  (the flock makes the second wait).

- `verify` compares every partition file with the state (docs/data.md, "Verify and repair"): files
  missing, stale (other lines than the state's), lines that are not the state's or not JSON,
  files the state does not know or holds no story for, a story on disk in two partitions; and the
  state's own integrity (SQLite: `PRAGMA integrity_check` and its cross-references; Redis: every
  partition's story set against the stories). One line per problem; exit status 0 when there is
  none, 1 otherwise.
- `repair` rewrites from the state, whole and atomically under the partitions lock as a run does,
  every partition `verify` finds wrong and every pending one, removes the files of partitions
  the state holds no story for, then verifies again. A damaged state is rebuilt first.
- `rebuild` sets the state aside (kept, under a dated name) and builds a new one from the lines of
  the partition files, then repairs: for a state that is damaged or lost. No run may be alive.

`-s OUTPUT_DIR=...`, `-s STATE_BACKEND=...` (and `STATE_REDIS_URL`) choose what is checked.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler.output import OutputDir
from pipelines.dedupe import partition_of
from pipelines.runs import lock_held
from pipelines.state import StateStore, open_state
from pipelines.state.protocol import StateDamaged, StateError, damaged
from pipelines.store import partitions_writer, rewrite_behind
from pipelines.validate import find_problems

SHOWN = 5  # ids named in one problem line
REBUILD_RUN = "rebuild"  # the `created_run` of a rebuilt story


@dataclass
class Findings:
    """What `verify` found: one plain line per problem, and the partitions a repair rewrites."""

    problems: list[str] = field(default_factory=list)
    wrong: set[str] = field(default_factory=set)
    partitions: int = 0
    stories: int = 0
    pending: int = 0


@dataclass(frozen=True)
class PartitionFile:
    """A partition file as it is on disk."""

    lines: list[str]  # every line, without its newline (undecodable bytes replaced)
    invalid: list[int]  # the numbers (from 1) of the lines that are not a JSON story
    ids: dict[str, str]  # each valid line's story id
    complete: bool  # the last line ends with a newline

    @classmethod
    def read(cls, path: Path) -> PartitionFile:
        data = path.read_bytes()
        parts = data.split(b"\n")
        lines, invalid, ids = [], [], {}
        for number, raw in enumerate(parts[:-1] if not parts[-1] else parts, 1):
            line = raw.decode("utf-8", errors="replace")
            lines.append(line)
            story = story_of(raw)
            if story is None:
                invalid.append(number)
            else:
                ids[line] = story["id"]
        return cls(lines, invalid, ids, not parts[-1])


def story_of(raw: bytes) -> dict[str, Any] | None:
    """A line's story, or None when the line is not one (not UTF-8, not JSON, not a valid story)."""
    try:
        story = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return story if isinstance(story, dict) and not find_problems(story) else None


def plural(count: int, word: str, words: str = "") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def named(ids: set[str]) -> str:
    shown = ", ".join(sorted(ids)[:SHOWN])
    return f"{shown} and {len(ids) - SHOWN} more" if len(ids) > SHOWN else shown


def relative(output: OutputDir, partition: str) -> str:
    return output.partition(partition).relative_to(output.root).as_posix()


def compare(output: OutputDir, name: str, found: PartitionFile, expected: list[str] | None) -> list[str]:
    """How a partition's file differs from the state's lines for it (None: it is pending, and only
    its lines' validity can be judged)."""
    where = relative(output, name)
    problems = []
    if found.invalid:
        numbers = ", ".join(map(str, found.invalid[:SHOWN])) + (", ..." if len(found.invalid) > SHOWN else "")
        problems.append(f"{where}: {plural(len(found.invalid), 'invalid line')} (not a JSON story: line {numbers})")
    if not found.complete:
        problems.append(f"{where}: the last line has no end (a write cut short)")
    if expected is None or (found.lines == expected and found.complete):
        return problems
    have, want = Counter(line for line in found.lines if line in found.ids), Counter(expected)
    extra = {found.ids[line] for line in have - want}
    absent = {json.loads(line)["id"] for line in want - have}
    if extra & absent:
        problems.append(f"{where}: stale: the state's line differs for "
                        f"{plural(len(extra & absent), 'story', 'stories')} ({named(extra & absent)})")
    if extra - absent:
        problems.append(f"{where}: {plural(len(extra - absent), 'line')} the state does not hold in this partition "
                        f"(a line twice, or a story of another day: {named(extra - absent)})")
    if absent - extra:
        problems.append(f"{where}: stale: {plural(len(absent - extra), 'story', 'stories')} of the state "
                        f"missing ({named(absent - extra)})")
    if not problems:
        problems.append(f"{where}: stale, the state's lines in another order")
    return problems


def verify(state: StateStore, output: OutputDir) -> Findings:
    """The state's integrity (StateDamaged when it fails), then every partition file against the
    state, as the writer (no file changes meanwhile)."""
    damage = state.integrity()
    if damage:
        raise damaged(state.location, damage)
    findings = Findings()
    with partitions_writer(output):
        known = state.partitions()
        pending = set(state.pending_partitions())
        files = {path.parent.name: path for path in output.partition_files()}
        places: dict[str, list[str]] = {}  # story id -> the partitions whose file holds it
        for name in sorted(known.keys() | files.keys()):
            problems = check_partition(state, output, name, known.get(name), files.get(name), name in pending, places)
            findings.problems += problems
            if problems:
                findings.wrong.add(name)
    for story, names in sorted(places.items()):
        if len(set(names)) > 1:
            findings.problems.append(f"story {story} is on disk in {len(set(names))} partitions: "
                                     + ", ".join(relative(output, name) for name in sorted(set(names))))
            findings.wrong.update(names)
    findings.partitions, findings.stories, findings.pending = len(known), sum(known.values()), len(pending)
    return findings


def check_partition(state: StateStore, output: OutputDir, name: str, stories: int | None, path: Path | None,
                    pending: bool, places: dict[str, list[str]]) -> list[str]:
    """One partition: its file (if any) against what the state holds for it (None: not known)."""
    where = relative(output, name)
    if path is None:
        return [f"{where}: missing, the state holds {plural(stories, 'story', 'stories')} of it"
                ] if stories and not pending else []
    found = PartitionFile.read(path)
    for story in found.ids.values():
        places.setdefault(story, []).append(name)
    lines = plural(len(found.lines), "line")
    if stories is None:
        return [f"{where}: a partition the state does not know ({lines})"]
    if not stories and not pending:
        return [f"{where}: the state holds no story of this day, the file should not be there ({lines})"]
    if pending:  # behind the state by design: a run is writing it, or the next one will
        return compare(output, name, found, None)
    return compare(output, name, found, state.snapshot(name).lines)


def report(findings: Findings, out: Callable[[str], None]) -> int:
    """Print the findings; the exit status: 0 when all is well."""
    if findings.pending:
        out(f"{findings.pending} partitions are pending (a run is writing them, or the next one will): "
            "their lines were not compared")
    if not findings.problems:
        out(f"all well: {findings.partitions} partitions, {findings.stories} stories, every file as the state holds it")
        return 0
    out(f"{plural(len(findings.problems), 'problem')}:")
    for problem in findings.problems:
        out(f"  {problem}")
    out("run `scrapy store repair`: it rewrites these partitions from the state")
    return 1


def mend(state: StateStore, output: OutputDir, out: Callable[[str], None]) -> int:
    """Rewrite from the state every partition `verify` finds wrong and every pending one (a file
    of a partition without stories goes), then verify again."""
    findings = verify(state, output)
    if findings.wrong:
        state.mark_pending(findings.wrong)
    pending = set(state.pending_partitions())
    state.make_durable()
    written = rewrite_behind(state, output, pending, state.moved_together(pending), recovering=True)
    out(f"rewrote {plural(written, 'partition file')} from the state (or removed them: no story)"
        if written else "nothing to rewrite")
    return report(verify(state, output), out)


def runs_alive(output: OutputDir) -> list[str]:
    """The runs that have not ended and whose process lives (it holds its liveness lock)."""
    return [manifest["run_id"] for _, manifest in output.manifests()
            if manifest.get("end") is None and not manifest.get("finish_reason")
            and lock_held(output.run_lock(manifest["run_id"]))]


def stories_on_disk(output: OutputDir) -> Iterator[dict[str, Any]]:
    """Every story the partition files hold, once: of the lines of one id, the first one filed in
    the partition of its own day (another is a leftover of a move), else the first one."""
    chosen: dict[str, tuple[bool, dict[str, Any]]] = {}
    for path in output.partition_files():
        for raw in path.read_bytes().split(b"\n"):
            story = story_of(raw)
            if story is None:
                continue
            at_home = partition_of(story["timestamp"]) == path.parent.name
            if story["id"] not in chosen or (at_home and not chosen[story["id"]][0]):
                chosen[story["id"]] = (at_home, story)
    for _, story in chosen.values():
        yield story


def set_state_aside(settings: BaseSettings) -> str | None:
    """Move the state out of the way, kept; returns where it went (None: there was none)."""
    if settings.get("STATE_BACKEND") == "redis":
        from pipelines.state.redis import set_aside as set_redis_aside

        prefix = set_redis_aside(settings.get("STATE_REDIS_URL"))
        return f"its keys renamed to {prefix}*" if prefix else None
    from pipelines.state.sqlite import set_aside as set_sqlite_aside

    moved = set_sqlite_aside(OutputDir.of(settings).state())
    return str(moved) if moved else None


def rebuild(settings: BaseSettings, out: Callable[[str], None]) -> int:
    output = OutputDir.of(settings)
    alive = runs_alive(output)
    if alive:
        out(f"runs {', '.join(alive)} are alive: a rebuild would replace the state under them; let them end first")
        return 1
    stories = list(stories_on_disk(output))
    moved = set_state_aside(settings)
    out(f"the state was set aside: {moved}" if moved else "there was no state")
    state = open_state(settings)
    try:
        out(f"rebuilt the state from the partition files: {state.restore_stories(stories, REBUILD_RUN)} stories")
        return mend(state, output, out)
    finally:
        state.close()


def verify_command(settings: BaseSettings, out: Callable[[str], None]) -> int:
    try:
        state = open_state(settings)
        try:
            return report(verify(state, OutputDir.of(settings)), out)
        finally:
            state.close()
    except StateDamaged as error:
        out(str(error))
        for problem in error.problems[1:]:
            out(f"  {problem}")
        return 1


def repair(settings: BaseSettings, out: Callable[[str], None]) -> int:
    try:
        state = open_state(settings)
        try:
            return mend(state, OutputDir.of(settings), out)
        finally:
            state.close()
    except StateDamaged as error:
        out(str(error))
    return rebuild(settings, out)


def write_pending(state: StateStore, output: OutputDir) -> int:
    """Every pending partition, from the state (and, in the same round, the other partition of
    a story that moved)."""
    pending = set(state.pending_partitions())
    if not pending:
        return 0
    state.make_durable()
    return rewrite_behind(state, output, pending, state.moved_together(pending), recovering=True)


def write(settings: BaseSettings, out: Callable[[str], None], follow: bool = False) -> int:
    """Write the pending partitions; with `follow`, again every STORE_WRITE_SECONDS until
    SIGTERM or SIGINT."""
    stop = threading.Event()
    if follow:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    output = OutputDir.of(settings)
    state = open_state(settings)
    try:
        while True:
            written = write_pending(state, output)
            if written or not follow:
                out(f"wrote {plural(written, 'partition file')} from the state" if written else "nothing pending")
            if not follow or stop.wait(settings.getfloat("STORE_WRITE_SECONDS")):
                return 0
    finally:
        state.close()


ACTIONS: dict[str, Callable[[BaseSettings, Callable[[str], None]], int]] = {
    "write": write, "verify": verify_command, "repair": repair, "rebuild": rebuild}


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "write [--follow] | verify | repair | rebuild"

    def short_desc(self) -> str:
        return ("Write the pending partitions (write), check the partition files against the state (verify), "
                "mend them (repair), rebuild the state")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--follow", action="store_true",
                            help="write: go on, every STORE_WRITE_SECONDS, until SIGTERM or SIGINT")

    def long_desc(self) -> str:
        return ("write writes every pending partition from the state; with --follow it goes on every "
                "STORE_WRITE_SECONDS, the one writer of an OUTPUT_DIR whose crawls only record (the workers of a "
                "job, docs/distributed.md). verify compares every partition file with the state, and the state with itself; it exits "
                "with status 1 when anything is wrong. repair rewrites from the state every partition "
                "verify finds wrong (a damaged state is rebuilt first), then verifies. rebuild sets the "
                "state aside and builds a new one from the partition files. See docs/data.md, "
                "\"Verify and repair\".")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1 or args[0] not in ACTIONS:
            raise UsageError(f"give one of: {', '.join(ACTIONS)}")
        assert self.settings is not None
        if opts.follow and args[0] != "write":
            raise UsageError("--follow goes with write")
        try:
            if args[0] == "write":
                self.exitcode = write(self.settings, lambda line: print(line, flush=True), follow=opts.follow)
            else:
                self.exitcode = ACTIONS[args[0]](self.settings, print)
        except StateError as error:
            print(error)
            self.exitcode = 1
