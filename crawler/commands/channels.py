"""`scrapy channels`: every declared channel with its title, its start URLs, and whether its path
is confirmed (seen in a real URL of the site) or an assumption to check before the first live
crawl (docs/crawling.md). `scrapy list` gives the spider names alone.
"""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.site.channels import CHANNELS, Channel

HEADER = ("name", "path", "start URL", "title")


def channel_rows(channel: Channel) -> list[tuple[str, str, str, str]]:
    """One row per start URL; the name, path and title on the first."""
    path = "confirmed" if channel.confirmed else "assumption"
    first, *more = channel.start_urls
    return [(channel.name, path, first, channel.title), *(("", "", url, "") for url in more)]


def channel_table(channels: tuple[Channel, ...]) -> str:
    rows = [HEADER, *(row for channel in channels for row in channel_rows(channel))]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]  # the title is last: CJK widths vary
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    assumed = sum(not channel.confirmed for channel in channels)
    lines.append(f"{len(channels)} channels: {len(channels) - assumed} paths confirmed, {assumed} assumptions "
                 "(check those against the live site first: docs/crawling.md)")
    return "\n".join(line.rstrip() for line in lines) + "\n"


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return ""

    def short_desc(self) -> str:
        return "List the declared channels: name, path confirmed or assumed, start URLs, title"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy channels takes no arguments")
        print(channel_table(CHANNELS), end="")
