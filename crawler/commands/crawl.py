"""`scrapy crawl SPIDER`, whose exit status also tells whether the run's checks passed.

Scrapy's own command exits 0 whenever the crawl could start. This one, otherwise the same, exits
with `ALERT_EXIT_STATUS` (3) when the monitor (crawler/ops/monitor.py) failed a check: the run was
skipped, stopped early, lost copies or writes, or brought figures outside their limits. cron,
systemd and the scheduler see a failed run without reading a log.

A job scrapyd started is first asked whether it may run at all (crawler/ops/scrapyd_guard.py): a
refused one crawls nothing and exits 1, like a crawl that could not start.

The spider's arguments are read before anything starts: a name the spider does not take, a value
it refuses (`-a since=3x`, a `channel` run without `-a start_url=`) is a usage error, one line
and exit status 2, as Scrapy gives for a bad option.
"""

from __future__ import annotations

import argparse
import logging
import sys

from scrapy import Spider
from scrapy.commands import crawl
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler.ops.monitor import ALERT_EXIT_STATUS
from crawler.ops.scrapyd_guard import (
    SCRAPYD_ARGUMENTS,
    job_refusal,
    spider_parameters,
    under_scrapyd,
)
from crawler.spiders.channel import ChannelSpider

logger = logging.getLogger(__name__)


class Command(crawl.Command):
    def short_desc(self) -> str:
        return "Run a spider of the project; exit status 3 when a check of the run failed"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        assert self.crawler_process is not None and self.settings is not None
        try:
            crawler = self._create_crawler(args[0])
        except KeyError:
            raise UsageError(f"no spider named {args[0]!r} (`scrapy list` names them)", print_help=False) from None
        refusal = job_refusal(self.settings, opts.spargs, crawler.spidercls) if under_scrapyd() else None
        if refusal:
            logger.error("scrapyd job refused, nothing crawled: %s", refusal)
            print(f"hebei-crawler: scrapyd job refused, nothing crawled: {refusal}", file=sys.stderr, flush=True)
            self.exitcode = 1
            return
        problem = argument_problem(crawler.spidercls, opts.spargs, self.settings)
        if problem:
            raise UsageError(f"{crawler.spidercls.name}: {problem}", print_help=False)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        elif crawler.stats is not None and crawler.stats.get_value("monitor/checks_failed"):
            self.exitcode = ALERT_EXIT_STATUS


def argument_problem(spidercls: type[Spider], arguments: dict[str, str], settings: BaseSettings | None = None) -> str | None:
    """What is wrong with a spider's arguments, or None: a name its constructor does not take, or
    a value it refuses. The constructor is the one reader of its arguments, and it reads no
    settings and changes nothing: the spider is built once here to ask it; a channel spider's
    start URLs are then checked against the portal's domains (PORTAL_DOMAINS), as its
    `from_crawler` does."""
    taken = spider_parameters(spidercls)
    unknown = sorted(set(arguments) - taken - SCRAPYD_ARGUMENTS)
    if unknown:
        return f"no argument {', '.join(unknown)} (it takes {', '.join(sorted(taken)) or 'none'})"
    try:
        spider = spidercls(**arguments)
        if isinstance(spider, ChannelSpider) and settings is not None:
            spider.domains = tuple(settings.getlist("PORTAL_DOMAINS"))
            spider.on_the_portal(spider.channels, quiet=True)
    except (TypeError, ValueError) as error:
        return str(error)
    return None
