"""Shared fixtures: the replica of 长城网 served by a real process on loopback."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.replica.demo import REPLICA_SETTINGS
from tests.replica.site import Site, build_site

REPO = Path(__file__).resolve().parents[1]


@dataclass(repr=False)
class Replica:
    address: str  # http://127.0.0.1:PORT
    site: Site
    process: subprocess.Popen[str]

    def fetch(self, url: str) -> tuple[int, dict[str, str], bytes]:
        """GET `url` through the replica used as a forward proxy."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": self.address}))
        try:
            with opener.open(url, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


def start_replica(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.replica", "serve", "--port", "0", *args],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("serving on "), line
    return proc, line.removeprefix("serving on ")


@pytest.fixture(scope="session")
def default_site() -> Site:
    return build_site()


@pytest.fixture(scope="session")
def replica_300() -> Iterator[str]:
    """The address of a 300-story replica (no faults: it serves the same answer every time)."""
    proc, address = start_replica("--scale", "300")
    yield address
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def replica(default_site: Site) -> Iterator[Replica]:
    proc, address = start_replica()
    yield Replica(address, default_site, proc)
    proc.terminate()
    proc.wait(timeout=10)


# The demo's settings that lift the live-site politeness limits for the replica (never code
# changes), as `-s` values; INFO, so that Scrapy logs the final stats the tests read.
REPLICA_CRAWL_SETTINGS = {**{k: str(v) for k, v in REPLICA_SETTINGS.items()}, "LOG_LEVEL": "INFO"}


def run_crawl(address: str, output_dir: Path, spider: str = "hebei", *args: str,
              settings: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl SPIDER` as a real process from the repo root, through the replica as a proxy."""
    import os

    env = {**os.environ, "http_proxy": address}
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, *args, "-s", f"OUTPUT_DIR={output_dir}"]
    for key, value in {**REPLICA_CRAWL_SETTINGS, **(settings or {})}.items():
        cmd += ["-s", f"{key}={value}"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def read_stories(output_dir: Path) -> list[dict]:
    """Every line of every date partition under OUTPUT_DIR/articles."""
    import json

    out = []
    for path in sorted((output_dir / "articles").glob("date=*/articles.jsonl")):
        out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return out


def crawl_stats(stderr: str) -> dict:
    """The final stats dict Scrapy logs at the end of a crawl."""
    import ast
    import re

    m = re.search(r"Dumping Scrapy stats:\n(\{.*?\})\n", stderr, re.DOTALL)
    assert m, stderr[-3000:]
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", m.group(1))
    return ast.literal_eval(text)
