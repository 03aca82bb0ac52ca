"""The operator's contact in the User-Agent (crawler/ops/contact.py): what a real crawl sends, seen
by a server standing in for the site (as the crawl's HTTP proxy), and the warning at the start of
a crawl whose contact is not filled in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from crawler.ops.contact import with_contact
from tests.replica.harness import run_crawl

WARNING = "CRAWLER_CONTACT is not set"


class RecordsUserAgents(BaseHTTPRequestHandler):
    """Answers 404 to everything and remembers who asked."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("User-Agent", ""))
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    RecordsUserAgents.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordsUserAgents)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_a_contact_ends_the_user_agent():
    assert with_contact("hebei-crawler/0.1 (news archive research)", "mailto:ops@example.org") == (
        "hebei-crawler/0.1 (news archive research; +mailto:ops@example.org)")
    assert with_contact("hebei-crawler/0.1", "https://example.org/bot") == "hebei-crawler/0.1 (+https://example.org/bot)"


@pytest.mark.integration
def test_the_contact_is_a_setting_and_a_crawl_without_it_warns(site: str, tmp_path: Path):
    unset = run_crawl(site, tmp_path / "unset", "heb_qjhb")
    assert WARNING in unset.stderr, unset.stderr[-3000:]
    assert set(RecordsUserAgents.seen) == {"hebei-crawler/0.1 (news archive research)"}

    RecordsUserAgents.seen = []
    filled = run_crawl(site, tmp_path / "filled", "heb_qjhb", settings={"CRAWLER_CONTACT": "mailto:ops@example.org"})
    assert WARNING not in filled.stderr
    assert RecordsUserAgents.seen and set(RecordsUserAgents.seen) == {
        "hebei-crawler/0.1 (news archive research; +mailto:ops@example.org)"}
