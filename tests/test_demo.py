"""`make demo`'s job end to end: starts the replica, crawls it, writes JSONL, summarises, stops."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.replica.harness import REPO, read_stories
from tests.replica.site import ERA_2026, build_site

pytestmark = pytest.mark.integration


def test_the_demo_writes_one_line_per_story_and_says_so(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tests.replica.demo", "--scale", "200", "--output", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    stories = read_stories(tmp_path)
    truth = build_site(200, era=ERA_2026).truth()  # both eras: hebei.com.cn and *.hebccw.cn
    assert sorted(s["id"] for s in stories) == sorted(t["id"] for t in truth)
    assert any(".hebccw.cn/" in s["url"] for s in stories) and any(".hebei.com.cn/" in s["url"] for s in stories)
    summary = out.stdout
    assert re.search(rf"stories written: {len(truth)} new, \d+ updated", summary), summary
    assert re.search(r"read by: .*hebccw/v1 \d+", summary) and "fallback" not in summary
    assert re.search(rf"{len(truth)} stories in the output", summary)
    assert re.search(r"failed:\s+0", summary) and re.search(r"rejected:\s+0", summary)
    assert "serving on" not in summary  # the replica's own output is not mixed in
    # the replica was stopped
    port = re.search(r"replica: http://127.0.0.1:(\d+)", summary).group(1)
    probe = subprocess.run([sys.executable, "-c", f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)"],
                           capture_output=True)
    assert probe.returncode != 0
