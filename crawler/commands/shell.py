"""`scrapy shell`, whose spider is a tool's, never a crawl of its channels.

Scrapy's shell fetches what it is asked with Scrapy's `default` spider, or with the spider given
by `--spider` (`scrapy shell --spider hebei URL`, to call `spider.parse_article(response)`). That
spider walks nothing: its `start` becomes Scrapy's own, as `scrapy parse` and `scrapy fetch` do
with theirs, so that the run's bookkeeping (the channel locks, a run manifest, the store, the
checks: `pipelines.runs.is_tool_run`) stays off. Otherwise the shell, which never closes its
spider, would leave a run that the next incremental crawl takes for a killed one.
"""

from __future__ import annotations

from argparse import Namespace

from scrapy import Spider
from scrapy.commands import shell


class Command(shell.Command):
    def run(self, args: list[str], opts: Namespace) -> None:
        if opts.spider:
            assert self.crawler_process is not None
            spidercls = self.crawler_process.spider_loader.load(opts.spider)
            spidercls.start = Spider.start  # type: ignore[method-assign]
        super().run(args, opts)
