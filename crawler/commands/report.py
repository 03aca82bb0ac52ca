"""`scrapy report [--output-dir DIR] [--out FILE]`: the run history as one static HTML page.

Reads the runs under OUTPUT_DIR (the setting, or `--output-dir`) and writes `FILE` (default
`OUTPUT_DIR/report.html`): charts in inline SVG, no script, nothing fetched when it is opened.
crawler/ops/report.py says what it shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.ops.report import render
from crawler.output import OutputDir


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--output-dir DIR] [--out FILE]"

    def short_desc(self) -> str:
        return "Write a static HTML report of the run history (stories, coverage, errors, alerts)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        # Scrapy's help formatter takes any help line ending in ":" for a heading: no colons here
        parser.add_argument("--output-dir", metavar="DIR", help="the crawl output to report on (default OUTPUT_DIR)")
        parser.add_argument("--out", metavar="FILE", help="the HTML file to write (default OUTPUT_DIR/report.html)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy report takes no arguments")
        assert self.settings is not None
        output = Path(opts.output_dir or self.settings.get("OUTPUT_DIR"))
        if not OutputDir(output).manifest("-").parent.is_dir():
            raise UsageError(f"{output} holds no runs (no {output / 'runs'} directory)", print_help=False)
        target = Path(opts.out) if opts.out else OutputDir(output).report()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(output), encoding="utf-8")
        print(target)
