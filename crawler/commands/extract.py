"""`scrapy extract PATH --url URL`: what the article extraction gives for a saved page.

Reads the page's raw bytes (gzip is unpacked when the file is gzipped), decodes them as the
crawler does (charset from the `<meta>` tag, GB2312/GBK read as GB18030) and prints one JSON line,
UTF-8: the item fields, `parser`, `page_urls` and `problems`. A page that cannot be read (empty,
binary, no text) prints the reason on stderr and exits with status 1.
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


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "PATH --url URL"

    def short_desc(self) -> str:
        return "Extract the article fields of a saved page and print them as one JSON line"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--url",
            required=True,
            help="the URL the page was fetched from (resolves links, names the pages)",
        )
        parser.add_argument(
            "--charset",
            default=None,
            help="the charset of the HTTP Content-Type header, if it was saved",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one PATH")
        try:
            body = read_page(Path(args[0]))
        except (OSError, EOFError, zlib.error) as exc:
            self.fail(f"cannot read {args[0]}: {exc}")
            return
        if not body.strip():
            self.fail(f"{args[0]}: the page is empty")
            return
        extraction = extract(decode_html(body, opts.charset), opts.url)
        if extraction.kind == "empty":
            self.fail(f"{args[0]}: no readable article: " + "; ".join(extraction.problems))
            return
        line = json.dumps(as_record(extraction, opts.url), ensure_ascii=False) + "\n"
        sys.stdout.buffer.write(line.encode("utf-8"))  # UTF-8 whatever the locale says
        sys.stdout.flush()

    def fail(self, message: str) -> None:
        print(f"scrapy extract: {message}", file=sys.stderr)
        self.exitcode = 1


def read_page(path: Path) -> bytes:
    """The page's bytes as fetched; a gzipped file is unpacked."""
    data = path.read_bytes()
    return gzip.decompress(data) if data.startswith(_GZIP_MAGIC) else data


def as_record(extraction: Extraction, url: str) -> dict[str, Any]:
    return {
        "url": url,
        "kind": extraction.kind,
        "parser": extraction.parser,
        **extraction.fields,
        "page_urls": extraction.page_urls,
        "problems": extraction.problems,
    }
