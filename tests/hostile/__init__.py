"""A hostile web for the crawler: a proxy in front of the replica that rewrites chosen pages to
attack it (`plan.py`: every vector, the page it rewrites and the stories it must cost), and a
victim server that counts every request reaching it (`server.py`). tests/test_hostile.py crawls
through them; docs/crawling.md ("Hostile input") says what is refused where.

`HostileProxy` and `VictimServer` start them as processes, like the replica's servers
(tests/replica/harness.py), and read what they logged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.replica.harness import ServerProcess


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class VictimServer(ServerProcess):
    """`python -m tests.hostile victim`: counts every connection and request it gets."""

    def __init__(self, log: Path) -> None:
        super().__init__("tests.hostile", "victim", "--port", "0", "--log", str(log))
        self.log = log

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.log)


class HostileProxy(ServerProcess):
    """`python -m tests.hostile proxy`: the replica at `scale` with the vectors of `groups`."""

    def __init__(self, victim: str, log: Path, groups: tuple[str, ...], scale: int = 300) -> None:
        super().__init__("tests.hostile", "proxy", "--port", "0", "--victim", victim, "--groups", ",".join(groups),
                         "--scale", str(scale), "--log", str(log))
        self.log = log

    def requests(self) -> list[str]:
        """Every URI the crawl asked the proxy for, in order."""
        return [event["uri"] for event in read_events(self.log)]
