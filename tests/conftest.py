"""Shared fixtures: the replica of 长城网 served by a real process on loopback."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.replica.site import Site, build_site

REPO = Path(__file__).resolve().parents[1]


@dataclass
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
def replica(default_site: Site) -> Iterator[Replica]:
    proc, address = start_replica()
    yield Replica(address, default_site, proc)
    proc.terminate()
    proc.wait(timeout=10)
