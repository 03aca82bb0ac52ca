"""`scrapy COMMAND -h` of the project's commands reads as written at any terminal width: Scrapy's
help formatter takes a help line ending in ":" for a heading (title-cased and underlined), so an
option's help must never wrap there."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.replica.harness import REPO

# Below about 55 columns Scrapy's own global options wrap at their colons too.
WIDTHS = (64, 80, 100)


def help_text(command: str, width: int) -> str:
    done = subprocess.run([sys.executable, "-m", "scrapy", command, "-h"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "COLUMNS": str(width)})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command, helps", [
    ("report", ["the crawl output to report on (default OUTPUT_DIR)",
                "the HTML file to write (default OUTPUT_DIR/report.html)"]),
    ("schedule", ["the crawl plan (default the SCHEDULE_PLAN setting)", "with run, start what is due, wait, exit",
                  "with systemd, where to write the units", "with status, how many days back to look (default 7)"]),
])
def test_the_help_of_a_project_command_keeps_its_headings_and_its_words(command: str, helps: list[str]):
    for width in WIDTHS:
        text = help_text(command, width)
        lines = text.splitlines()
        headings = [lines[i - 1] for i, line in enumerate(lines) if i and re.fullmatch(r"[=-]+", line)]
        assert headings == ["Usage", "Options", "Global Options"], (width, text)
        words = " ".join(text.split())
        for words_of_help in helps:
            assert words_of_help in words, (width, text)
