"""`scrapy crawl SPIDER`, whose exit status also tells whether the run's checks passed.

Scrapy's own command exits 0 whenever the crawl could start. This one, otherwise the same, exits
with `ALERT_EXIT_STATUS` (3) when the monitor (crawler/ops/monitor.py) failed a check: the run was
skipped, stopped early, lost copies or writes, or brought figures outside their limits. cron,
systemd and the scheduler see a failed run without reading a log.

A job scrapyd started is first asked whether it may run at all (crawler/ops/scrapyd_guard.py): a
refused one crawls nothing and exits 1, like a crawl that could not start.
"""

from __future__ import annotations

import argparse
import logging
import sys

from scrapy.commands import crawl
from scrapy.exceptions import UsageError

from crawler.ops.monitor import ALERT_EXIT_STATUS
from crawler.ops.scrapyd_guard import job_refusal, under_scrapyd

logger = logging.getLogger(__name__)


class Command(crawl.Command):
    def short_desc(self) -> str:
        return "Run a spider of the project; exit status 3 when a check of the run failed"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        assert self.crawler_process is not None and self.settings is not None
        crawler = self._create_crawler(args[0])
        refusal = job_refusal(self.settings, opts.spargs, crawler.spidercls) if under_scrapyd() else None
        if refusal:
            logger.error("scrapyd job refused, nothing crawled: %s", refusal)
            print(f"hebei-crawler: scrapyd job refused, nothing crawled: {refusal}", file=sys.stderr, flush=True)
            self.exitcode = 1
            return
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        elif crawler.stats is not None and crawler.stats.get_value("monitor/checks_failed"):
            self.exitcode = ALERT_EXIT_STATUS
