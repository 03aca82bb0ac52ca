"""Politeness defaults for the live site, and back-off on 429 through a real server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from scrapy.utils.project import get_project_settings

from tests.replica.harness import crawl_stats, run_crawl


def test_the_defaults_are_polite():
    s = get_project_settings()
    assert s.getbool("ROBOTSTXT_OBEY")
    assert s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1 and s.getfloat("DOWNLOAD_DELAY") >= 1.0
    assert "hebei-crawler" in s.get("USER_AGENT") and "Scrapy" not in s.get("USER_AGENT")
    assert {429, 503} <= set(s.getlist("RETRY_HTTP_CODES"))


class TooManyRequests(BaseHTTPRequestHandler):
    """A host that answers 429 (Retry-After: 2) twice, then an empty listing page."""

    hits = 0

    def do_GET(self) -> None:
        if self.path.endswith("/robots.txt"):
            self.send_response(404)
            self.end_headers()
            return
        type(self).hits += 1
        if type(self).hits <= 2:
            self.send_response(429)
            self.send_header("Retry-After", "2")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=gb2312")
        self.end_headers()
        self.wfile.write("<html><body><ul><li>空</li></ul></body></html>".encode("gb18030"))

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.integration
def test_a_host_answering_429_is_slowed_down_and_retried(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), TooManyRequests)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run_crawl(f"http://127.0.0.1:{server.server_port}", tmp_path, "heb_qjhb",
                           settings={"RETRY_TIMES": "3"})
    finally:
        server.shutdown()
    stats = crawl_stats(result.stderr)
    assert stats["backoff/slowed_down"] == 2
    assert stats["backoff/max_delay"] >= 2.0
    assert stats["retry/count"] == 2
    assert stats["listing/pages"] == 1
    assert stats["elapsed_time_seconds"] >= 2.0
