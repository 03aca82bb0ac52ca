"""A small site of canned answers on loopback, which a crawl goes through as its HTTP proxy (as in
tests/test_politeness.py): answers by URL, such as a page that never ends, a gzip bomb or a page
the parser cannot take; every other URL is a 404. The server runs in the test's process, the
crawl is a real `scrapy crawl` subprocess (tests/hostile/ is the replica behind a rewriting
proxy; this is a handful of pages, for tests of limits)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from tests.replica.harness import refuse_in_the_fast_loop

GB = "text/html; charset=gb2312"


@dataclass(frozen=True)
class Answer:
    body: bytes | Callable[[], Iterator[bytes]]  # the bytes, or chunks made as they are sent
    content_type: str = GB
    headers: dict[str, str] = field(default_factory=dict)
    with_length: bool = True  # else the body ends when the connection closes (HTTP/1.0)


def listing_page(links: list[tuple[str, str]], day: str = "2018-07-17") -> bytes:
    """A listing page the spider reads: its main list (a `v5.latest` block) of (title, url)."""
    rows = "".join(f'<li><a href="{escape(url)}" title="{escape(title)}">{escape(title)}</a>'
                   f"<span>{day}</span></li>" for title, url in links)
    html = ('<html><head><meta charset="gb2312"><title>全景河北_长城网</title></head><body>'
            '<div class="list_left main_list"><!--enorth cms block start [ name="v5.latest" ]-->'
            f'<ul>{rows}</ul><!--enorth cms block end [ name="v5.latest" cost="1"]--></div></body></html>')
    return html.encode("gb18030")


def gzip_bomb(decompressed: int, member: int = 8 * 2**20) -> bytes:
    """Spaces, `decompressed` bytes of them once gunzipped, as a string of gzip members (each made
    once): a few KB per 8 MiB."""
    one = gzip.compress(b" " * member, compresslevel=9)
    return one * (decompressed // member)


def endless(total: int, chunk: bytes) -> Callable[[], Iterator[bytes]]:
    """`total` bytes of `chunk` repeated, made as they are sent."""
    def chunks() -> Iterator[bytes]:
        for _ in range(total // len(chunk)):
            yield chunk
    return chunks


class CannedSite:
    """`with CannedSite({url: Answer, ...}) as site:` serves on `site.address`."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.requested: list[str] = []
        self.address = ""

    def __enter__(self) -> Self:
        refuse_in_the_fast_loop("the canned site")
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path if "://" in self.path else f"http://{self.headers['Host']}{self.path}")
                url = f"http://{parts.hostname}{parts.path}"
                site.requested.append(url)
                answer = site.answers.get(url)
                if answer is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = answer.body
                self.send_response(200)
                self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.with_length and isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for piece in [body] if isinstance(body, bytes) else body():
                        self.wfile.write(piece)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler hung up: what it should do with such a body

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
