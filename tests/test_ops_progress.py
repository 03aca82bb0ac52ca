"""Progress of a running crawl (crawler/ops/progress.py): a live line on a terminal (a pty here), plain
periodic log lines when stderr is a pipe."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from crawler.ops.progress import CLEAR_LINE, Estimate, describe, estimate
from tests.replica.harness import REPLICA_CRAWL_SETTINGS, REPO, crawl_env, crawl_stats, run_crawl

LINE = re.compile(r"(\d+) pages \| (\d+) items \| (\d+) new stories \| \d+ copies merged \| (\d+) rejected \| "
                  r"(\d+) failed \| ([\d.]+) pages/s")


@pytest.mark.integration
def test_off_a_terminal_progress_is_a_log_line_every_interval(replica_300: str, tmp_path: Path):
    done = run_crawl(replica_300, tmp_path, "hebei", "-a", "full=1", settings={"PROGRESS_INTERVAL": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if "[crawler.ops.progress] INFO: progress: " in line]
    assert len(lines) >= 2
    found = [LINE.search(line) for line in lines]
    assert all(found), lines  # every line, the first too, has a rate
    pages = [int(m.group(1)) for m in found]  # type: ignore[union-attr]
    assert pages == sorted(pages) and pages[-1] <= crawl_stats(done.stderr)["downloader/response_count"]
    # the first line's rate is measured since the crawl opened, not a 0.0 from a single sample
    first_pages, first_rate = pages[0], float(found[0].group(6))  # type: ignore[union-attr]
    assert first_pages > 0 and first_rate > 0, lines[0]
    assert CLEAR_LINE not in done.stderr


def read_all(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed
            return
        if not chunk:
            return
        into.extend(chunk)


@pytest.mark.integration
def test_on_a_terminal_progress_is_one_live_line(replica_300: str, tmp_path: Path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    settings = {**REPLICA_CRAWL_SETTINGS, "OUTPUT_DIR": str(tmp_path)}
    crawl = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "hebei", "-a", "full=1",
                              *(a for k, v in settings.items() for a in ("-s", f"{k}={v}"))],
                             cwd=REPO, env=crawl_env(replica_300), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    screen = bytearray()
    reader = threading.Thread(target=read_all, args=(master, screen))
    reader.start()
    assert crawl.wait(timeout=300) == 0
    reader.join(timeout=30)
    os.close(master)
    text = screen.decode("utf-8", "replace")

    frames = [frame for frame in text.split(CLEAR_LINE) if LINE.match(frame)]
    assert len(frames) >= 3  # redrawn twice a second over a crawl of some seconds
    assert all(len(frame.split("\r\n")[0]) < 160 for frame in frames)  # never wider than the terminal
    # a full crawl shows its estimate; the line's tail may be cut at the terminal's width
    assert any(re.search(r"\| listings \d+/\d+ known, ~\d+% of the known work", frame) for frame in frames)
    final = LINE.match(frames[-1])
    assert final is not None and int(final.group(3)) == 300  # the last frame stays, with the end figures
    assert "[crawler.ops.progress] INFO" not in text  # no periodic log lines on a terminal


def test_the_estimate_needs_a_full_crawl_and_known_pagers():
    stats = {"crawl/mode": "full", "listing/pages": 10, "item_scraped_count": 100}
    guess = estimate(stats, {"hbyw": 39}, articles_asked=150, elapsed=30.0)
    # 40 listing pages in all; 15 articles per page so far: ~600 articles, 100 done
    assert guess == Estimate(10, 40, 100 / 600, 150.0)
    assert "listings 10/40 known, ~17% of the known work done, >= 2:30 left" in describe(stats, 5.0, guess)
    assert estimate({**stats, "crawl/mode": "incremental"}, {"hbyw": 39}, 150, 30.0) is None  # stops early
    assert estimate(stats, {}, 150, 30.0) is None  # no pager read yet


def test_a_line_without_a_measured_rate_prints_none():
    stats = {"downloader/response_count": 12}
    assert describe(stats, None, None) == "12 pages | 0 items | 0 new stories | 0 copies merged | 0 rejected | 0 failed"
    assert describe(stats, 0.0, None).endswith(" | 0.0 pages/s")  # a rate measured as nothing is one
