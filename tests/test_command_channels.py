"""`scrapy channels` (crawler/commands/channels.py) as an operator runs it, against the registry;
and docs/crawling.md's "Check these first" list against the channels whose path is an assumption."""

from __future__ import annotations

import re
import subprocess
import sys

from crawler.site.channels import CHANNELS
from tests.replica.harness import REPO


def test_scrapy_channels_lists_name_title_start_urls_and_whether_the_path_is_confirmed():
    done = subprocess.run([sys.executable, "-m", "scrapy", "channels"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    header, *rows, summary = done.stdout.splitlines()
    assert header.split() == ["name", "path", "start", "URL", "title"]
    listed: dict[str, tuple[str, list[str], str]] = {}
    name = ""
    for row in rows:
        cells = row.split(None, 3)
        if row.startswith(" "):  # a further start URL of the channel above
            listed[name][1].append(cells[0])
        else:
            name, path, url, title = cells
            listed[name] = (path, [url], title)
    assert listed == {c.name: ("confirmed" if c.confirmed else "assumption", list(c.start_urls), c.title)
                      for c in CHANNELS}
    assumed = sum(not c.confirmed for c in CHANNELS)
    assert summary.startswith(f"{len(CHANNELS)} channels: {len(CHANNELS) - assumed} paths confirmed, {assumed} assumptions")


def test_the_docs_list_every_path_to_check_first():
    text = (REPO / "docs" / "crawling.md").read_text(encoding="utf-8")
    section = text.split("### Check these first", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| \d+ \| `(\w+)` \|", section, re.MULTILINE)
    assert sorted(listed) == sorted(c.name for c in CHANNELS if not c.confirmed)
    assert len(listed) == len(set(listed))
