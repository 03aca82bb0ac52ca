"""`scrapy extract [PATH] [--url URL]`: what the article extraction gives for a saved page.

Reads the page's raw bytes from PATH, or from stdin when PATH is `-` or not given (`curl -s URL |
scrapy extract --url URL`); gzip is unpacked when the bytes are gzipped. Decodes them as the
crawler does (charset from the `<meta>` tag, GB2312/GBK read as GB18030) and prints one JSON line,
UTF-8: the item fields, `parser`, `page_urls` and `problems`. A page that cannot be read (empty,
binary, no text) prints the reason on stderr and exits with status 1.

The URL the page was fetched from resolves its relative links and finds the article's other pages.
Without `--url` the page is still read; `url` is null, and `problems` names what the URL was
needed for: the other pages (`page_urls` is empty) and the relative image URLs left as they are.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import zlib
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.extract import Extraction, extract
from crawler.site.charset import decode_html

_GZIP_MAGIC = b"\x1f\x8b"
STDIN = "-"


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[PATH | -] [--url URL]"

    def short_desc(self) -> str:
        return "Extract the article fields of a saved page and print them as one JSON line"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--url",
            default=None,
            help="the URL the page was fetched from (resolves links, finds the article's other pages)",
        )
        parser.add_argument(
            "--charset",
            default=None,
            help="the charset of the HTTP Content-Type header, if it was saved",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) > 1:
            raise UsageError("give one PATH at most (`-` or none: stdin)")
        source = args[0] if args else STDIN
        name = "stdin" if source == STDIN else source
        try:
            body = unpacked(sys.stdin.buffer.read() if source == STDIN else Path(source).read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            self.fail(f"cannot read {name}: {exc}")
            return
        if not body.strip():
            self.fail(f"{name}: the page is empty")
            return
        extraction = extract(decode_html(body, opts.charset), opts.url or "")
        if extraction.kind == "empty":
            self.fail(f"{name}: no readable article: " + "; ".join(extraction.problems))
            return
        line = json.dumps(as_record(extraction, opts.url), ensure_ascii=False) + "\n"
        sys.stdout.buffer.write(line.encode("utf-8"))  # UTF-8 whatever the locale says
        sys.stdout.flush()

    def fail(self, message: str) -> None:
        print(f"scrapy extract: {message}", file=sys.stderr)
        self.exitcode = 1


def unpacked(data: bytes) -> bytes:
    """The page's bytes as fetched: gzipped ones are unpacked."""
    return gzip.decompress(data) if data.startswith(_GZIP_MAGIC) else data


def without_url(extraction: Extraction) -> list[str]:
    """What a page read without its URL lacks, for `problems`."""
    relative = [image["url"] for image in extraction.fields.get("images") or []
                if not image["url"].startswith(("http://", "https://"))]
    return ["page_urls: not looked for without --url (the article's other pages are found from its URL)"] + (
        [f"images: {len(relative)} relative URLs left unresolved without --url"] if relative else [])


def as_record(extraction: Extraction, url: str | None) -> dict[str, Any]:
    return {
        "url": url,
        "kind": extraction.kind,
        "parser": extraction.parser,
        **extraction.fields,
        "page_urls": extraction.page_urls if url else [],
        "problems": extraction.problems + ([] if url else without_url(extraction)),
    }
