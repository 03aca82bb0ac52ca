"""Scrapy settings for the 长城网 crawler. Every project setting is here with its default.

Defaults are for the live site: polite and slow. The demo and the tests lift the limits through
settings (see crawler/demo.py), never through code changes.
"""

BOT_NAME = "hebei-crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# An honest User-Agent with a way to reach us.
USER_AGENT = "hebei-crawler/0.1 (+https://github.com/hebei-crawler; news archive research)"
ROBOTSTXT_OBEY = True

# Politeness for the live site: at most one request per second per host, AutoThrottle on.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOADER_MIDDLEWARES = {
    # Before RetryMiddleware (550) sees a 429/503: slow the host down, then let it retry.
    "crawler.middlewares.BackoffMiddleware": 560,
    # Before RedirectMiddleware (600) follows a redirect: a loop becomes a recorded failure.
    "crawler.middlewares.RedirectLoopMiddleware": 610,
}

# A pager that claims more overflow pages than this is capped (and logged): a trap guard.
LISTING_MAX_PAGES = 20000

# Where stories, rejects, run manifests and state go (docs/data.md).
OUTPUT_DIR = "output"
# The state store (pipelines/state.py): "sqlite" (OUTPUT_DIR/.state/) or "redis" (several machines).
STATE_BACKEND = "sqlite"
# The Redis database of STATE_BACKEND = "redis": one database per OUTPUT_DIR.
STATE_REDIS_URL = "redis://127.0.0.1:6379/0"
# Seconds between partition rewrites: how late at most a scraped story is durable (and known).
STORE_FLUSH_SECONDS = 1.0

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.store.StorePipeline": 800,
}

LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
