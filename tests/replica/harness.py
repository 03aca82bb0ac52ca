"""The servers of the tests (the replica, the drifted replica, redis-server) and crawls through the
replica: the one place tests, benchmarks and `make demo` start a server or build a crawl's environment.

A server is a context manager in the manner of Scrapy's tests/mockserver: entering the block starts
the process and reads the address it prints, leaving it stops the process. A session of the fast
loop (`pytest -m "not integration"`) sets NO_SERVERS, and then no server starts.
"""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import redis

from tests.replica.site import Site

REPO = Path(__file__).resolve().parents[2]

# Set (by tests/conftest.py) in a session whose mark expression leaves out `integration`.
NO_SERVERS = "HEBEI_TESTS_NO_SERVERS"

# The replica is ours and on loopback: no politeness delays against it. By default it serves the
# portal as it was until 2024, on hebei.com.cn alone, so the crawl asks nothing of hebccw.cn, and
# its www.hebei.com.cn lists no article, so the crawl leaves out the 2026 home page channel
# (ERA_2026_SETTINGS: both families, the default of PORTAL_DOMAINS, and every channel).
REPLICA_SETTINGS: dict[str, Any] = {
    "PORTAL_DOMAINS": "hebei.com.cn",
    "CRAWL_SKIP_CHANNELS": "home",
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    "LOG_LEVEL": "WARNING",
}
# The same as `-s` values; INFO, so that Scrapy logs the final stats that crawl_stats reads.
REPLICA_CRAWL_SETTINGS = {**{k: str(v) for k, v in REPLICA_SETTINGS.items()}, "LOG_LEVEL": "INFO"}
# The replica of the 2026 portal (`--era 2026`) is both families: run_crawl(settings=ERA_2026_SETTINGS).
ERA_2026_SETTINGS = {"PORTAL_DOMAINS": "hebei.com.cn,hebccw.cn", "CRAWL_SKIP_CHANNELS": ""}


def refuse_in_the_fast_loop(server: str) -> None:
    if markexpr := os.environ.get(NO_SERVERS):
        raise RuntimeError(f"{server}: not started, this session (-m {markexpr!r}) starts no server; "
                           "mark the test that needs it with pytest.mark.integration")


class ServerProcess:
    """A server subprocess that prints `serving on http://HOST:PORT` once it listens."""

    def __init__(self, module: str, *args: str) -> None:
        self.command = [sys.executable, "-m", module, *args]
        self.address = ""  # http://127.0.0.1:PORT, once started

    def __enter__(self) -> Self:
        name = " ".join(self.command[2:])
        refuse_in_the_fast_loop(name)
        self.process = subprocess.Popen(self.command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("serving on "):
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"{name} did not start: {line!r}")
        self.address = line.removeprefix("serving on ")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a large replica (bench/scale.py's 100,000 stories) may take longer
            self.process.kill()
            self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()


class ReplicaServer(ServerProcess):
    """`python -m tests.replica serve` on a free port; `args` as on its command line (--scale, --seed,
    --grow, --faults)."""

    def __init__(self, *args: str) -> None:
        super().__init__("tests.replica", "serve", "--port", "0", *args)


class DriftedReplicaServer(ServerProcess):
    """`python -m tests.drifted_replica` on a free port: the replica after a layout change."""

    def __init__(self, *args: str) -> None:
        super().__init__("tests.drifted_replica", "--port", "0", *args)


@dataclass(repr=False)
class Replica:
    """A running replica and the site it serves."""

    address: str
    site: Site

    def fetch(self, url: str) -> tuple[int, dict[str, str], bytes]:
        """GET `url` through the replica used as a forward proxy."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": self.address}))
        try:
            with opener.open(url, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A real redis-server on a free loopback port, durable like production (AOF, fsync always)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.url = ""  # redis://127.0.0.1:PORT/0, once started

    def __enter__(self) -> Self:
        refuse_in_the_fast_loop("redis-server")
        port = free_port()
        self.process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        self.url = f"redis://127.0.0.1:{port}/0"
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def direct_env() -> dict[str, str]:
    """This process's environment with no HTTP proxy: for a process that talks to a loopback server
    other than the replica."""
    return {name: value for name, value in os.environ.items()
            if name not in ("http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY")}


def crawl_env(address: str) -> dict[str, str]:
    """This process's environment for a crawl whose every request goes through the replica at
    `address` as its proxy, http and https alike (https through CONNECT: tests/replica/tls.py);
    nothing bypasses it."""
    return {**direct_env(), "http_proxy": address, "https_proxy": address}


def run_crawl(address: str, output_dir: Path, spider: str = "hebei", *args: str,
              settings: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl SPIDER` as a real process from the repo root, through the replica as a proxy."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, *args, "-s", f"OUTPUT_DIR={output_dir}"]
    for key, value in {**REPLICA_CRAWL_SETTINGS, **(settings or {})}.items():
        cmd += ["-s", f"{key}={value}"]
    return subprocess.run(cmd, cwd=REPO, env=crawl_env(address), capture_output=True, text=True, timeout=timeout,
                          check=False)


def read_stories(output_dir: Path) -> list[dict[str, Any]]:
    """Every line of every date partition under OUTPUT_DIR/articles."""
    out: list[dict[str, Any]] = []
    for path in sorted((output_dir / "articles").glob("date=*/articles.jsonl")):
        out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return out


def crawl_stats(stderr: str) -> dict[str, Any]:
    """The final stats dict Scrapy logs at the end of a crawl."""
    m = re.search(r"Dumping Scrapy stats:\n(\{.*?\})\n", stderr, re.DOTALL)
    assert m, stderr[-3000:]
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", m.group(1))
    return ast.literal_eval(text)
