"""Scrapy settings for the 长城网 crawler. Every project setting is here with its default.

Defaults are for the live site: polite and slow. The demo and the tests lift the limits through
settings (see tests/replica/demo.py), never through code changes.
"""

from crawler.items import FIELDS as _FIELDS
from crawler.site.urls import PORTAL_DOMAINS as _PORTAL_DOMAINS

BOT_NAME = "hebei-crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# An honest User-Agent: what crawls, and why. The contact is added to it (crawler/ops/contact.py).
USER_AGENT = "hebei-crawler/0.1 (news archive research)"
# Who runs this crawl, for the site's operators to reach: a URL or a mail address, which ends the
# User-Agent (`...; +https://example.org/crawler)`). Fill it in before the first live crawl (README);
# a crawl started without it warns.
CRAWLER_CONTACT = ""
ADDONS = {"crawler.ops.contact.Contact": 0, "crawler.distributed.Frontier": 0}
ROBOTSTXT_OBEY = True
# No remote way into a running crawl: Scrapy's telnet console and its HTTP remote control both
# run code sent to them; on a crawl host nothing should.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

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
    # First of all, before robots.txt (100) asks anything of a host: only the portal is fetched.
    "crawler.middlewares.PortalGate": 50,
    # A body cut short is retried, then given up on; never parsed (after the retry middleware's
    # own exceptions, before the redirect middleware sees the response).
    "crawler.middlewares.PartialResponseMiddleware": 580,
    # Before RetryMiddleware (550) sees a 429/503: slow the host down, then let it retry.
    "crawler.middlewares.BackoffMiddleware": 560,
    # Before RedirectMiddleware (600) follows a redirect: a loop becomes a recorded failure.
    "crawler.middlewares.RedirectLoopMiddleware": 610,
}
SPIDER_MIDDLEWARES = {
    # An exception in a callback is that page's recorded failure, never a lost listing tree.
    "crawler.middlewares.CallbackFailures": 50,
}

# The portal's domains, its host families, oldest first: only hosts of these (or their subdomains)
# are ever requested, one subdomain is one site (and one politeness slot) in every family, and the
# first domain spells the state's keys: append a new family, never reorder (docs/crawling.md).
PORTAL_DOMAINS = list(_PORTAL_DOMAINS)
# Declared channels a crawl leaves out (names, as `scrapy channels` lists them), e.g. one whose
# path turned out wrong, until its declaration is fixed.
CRAWL_SKIP_CHANNELS: list[str] = []
# Article requests made by a redirect are not filtered (crawler/middlewares.py).
DUPEFILTER_CLASS = "crawler.middlewares.ListedPagesDupeFilter"
# DNS that refuses names resolving to loopback, private or reserved addresses.
TWISTED_DNS_RESOLVER = "crawler.middlewares.PublicAddressResolver"

# A trap guard: at most this many pages of one listing (one catalog's overflow pages, or one
# directory's pages) in a run, whatever its pager (a count script or static links) claims.
LISTING_MAX_PAGES = 20000
# Walking every page (a full crawl), the overflow pages of one catalog asked for at once: its
# newest, each of which asks for the one this many below it, so that the queue holds about this
# many of a catalog's pages however long its archive (docs/backfill.md).
LISTING_OVERFLOW_WINDOW = 8
# A trap guard: at most this many listing directories below one start URL's directory in a run
# (a tree of sub-listings that never ends); the portal's deepest tree, 省领导活动报道集, has 49
# in the replica.
LISTING_MAX_DIRECTORIES = 2000
# An article claiming more pages than this (its v5.pages block) is a failure, not fetched.
ARTICLE_MAX_PAGES = 50

# Memory is bounded (docs/operations.md, "Memory"). A body larger than this, as sent or once
# decompressed (Scrapy counts both), is cut off and recorded as a failure: pages here are at most
# 9 KB (the replica) and 7 KB (the stored live pages), so 4 MiB is hundreds of times a real page.
DOWNLOAD_MAXSIZE = 4 * 1024 * 1024
# A body larger than this, as sent or once decompressed, is logged as a warning.
DOWNLOAD_WARNSIZE = 1024 * 1024
# Scrapy's memory watch: the crawl's peak resident memory in the stats (`memusage/max`).
MEMUSAGE_ENABLED = True
# Past this much resident memory the crawl stops cleanly (finish reason memusage_exceeded) and the
# monitor fails it: a full crawl of a 10,000-story replica peaks at 132 MiB, and each further request
# adds about 340 bytes (docs/backfill.md), so 1 GiB holds a backfill of well over a million requests.
MEMUSAGE_LIMIT_MB = 1024

# Where stories, rejects, run manifests and state go (docs/data.md).
OUTPUT_DIR = "output"
# The state store (pipelines/state/): "sqlite" (OUTPUT_DIR/.state/) or "redis" (several machines).
STATE_BACKEND = "sqlite"
# The Redis database of STATE_BACKEND = "redis": one database per OUTPUT_DIR.
STATE_REDIS_URL = "redis://127.0.0.1:6379/0"
# One crawl by several worker processes (docs/distributed.md): "" (off, each crawl its own queue)
# or "redis": scrapy-redis as the frontier of the job FRONTIER_JOB, in the Redis of STATE_REDIS_URL.
FRONTIER = ""
# The job's name, the same for every worker of it (e.g. backfill-2026-12): its keys are hebei:job:<name>:*.
FRONTIER_JOB = ""
# The job's queue: "fifo" (first found, first fetched) or "priority" (scrapy-redis's sorted set: higher
# Request.priority first, equal priorities in the order of their encoded bytes). The same for every worker.
FRONTIER_QUEUE = "fifo"
# Seconds between recordings of scraped copies in the state: how much scraped work a killed
# process loses at most (it is fetched again by the next run).
STORE_FLUSH_SECONDS = 1.0
# Seconds between partition rewrites: how late at most a recorded story reaches its file (and is
# known to incremental runs). A killed process's recorded stories are written by the next run.
STORE_WRITE_SECONDS = 10.0
# The share of a crawl's time that partition rewrites may take: a round of rewrites that took t seconds
# is followed by the next one no sooner than t / STORE_WRITE_MAX_SHARE seconds after it began (a
# backfill's partitions grow, and so does each rewrite of them: the crawl does not slow down with them).
# A twentieth: at a fifth the last tenth of a 30,000-story backfill ran at 0.73 times the first per
# CPU second, at a twentieth at 0.99 (docs/backfill.md).
STORE_WRITE_MAX_SHARE = 0.05

# A copy whose JSON (UTF-8) is larger is rejected by validation (0: no limit). The largest corpus record
# is 14 KB; a stored line is its primary copy plus one appearance (about 250 bytes) per copy, so
# it reaches DuckDB's maximum_object_size (16 MiB) only past 60,000 copies of one story.
ITEM_MAX_BYTES = 1024 * 1024

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.store.StorePipeline": 800,
}

# `scrapy check` (the parsers' smoke test, crawler/spiders/samples.py): the project's contracts.
SPIDER_CONTRACTS = {
    "crawler.spiders.contracts.ParserContract": 10,
    "crawler.spiders.contracts.FillsContract": 10,
    "crawler.spiders.contracts.ArticlesContract": 10,
}

# `-O FILE` and FEEDS export the items as the spider yields them: one line per copy, before the
# store merges copies into stories (docs/data.md, "Feeds: copies, not stories"). A copy's own
# article id is `article_id` there, so that nobody takes it for a story's `id`.
FEED_EXPORT_FIELDS = {name: "article_id" if name == "id" else name for name in _FIELDS}

LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"

# Operations (docs/operations.md) ---------------------------------------------------------------
EXTENSIONS = {
    # Two runs of one channel never overlap: a run finding a channel's lock held is skipped.
    "crawler.ops.locks.ChannelLock": 100,
    # Live progress on a terminal, periodic log lines otherwise.
    "crawler.ops.progress.Progress": 500,
    # `scheduler/queued_max`: the most requests queued at once (the queue's share of memory).
    "crawler.ops.progress.QueuePeak": 510,
    # Checks at the end of every run; a failed one writes an alert and fails the run.
    "crawler.ops.monitor.Monitor": 900,
}
# The median of new stories is taken over this many earlier finished runs (same spider and mode).
MONITOR_HISTORY_RUNS = 7
# With fewer earlier runs than this, new stories are not judged.
MONITOR_MIN_HISTORY = 3
# New stories below (1 - this) x that median fail the `stories_new` check.
MONITOR_STORIES_TOLERANCE = 0.5
# Least share of stored items with each field non-empty (photo stories have no body; the 2026
# template shows no breadcrumb on some channels: in the replica 4 in 10 of its pages lack one).
MONITOR_FIELD_COVERAGE_BASE = {"title": 1.0, "timestamp": 1.0, "body": 0.7, "source": 0.9, "editor": 0.9,
                               "breadcrumbs": 0.5}
# Overrides merged over MONITOR_FIELD_COVERAGE_BASE (a field set to None is not checked).
MONITOR_FIELD_COVERAGE: dict[str, float | None] = {}
# Greatest shares: responses >= 400, retried requests, pages given up on, rejected items,
# articles read by the fallback parser (layout drift), main-list links off the portal and
# responses redirected off it (host drift: a move of the portal to a domain not in PORTAL_DOMAINS).
MONITOR_MAX_RATES_BASE = {"http_errors": 0.1, "retries": 0.15, "failures": 0.02, "rejects": 0.02,
                          "fallback": 0.05, "offsite_links": 0.2, "offsite_redirects": 0.02}
# Overrides merged over MONITOR_MAX_RATES_BASE (a rate set to None is not checked).
MONITOR_MAX_RATES: dict[str, float | None] = {}
# Shares over fewer items (or responses, links) than this are not judged.
MONITOR_MIN_SAMPLE = 20
# A share past its limit fails only when a rate at the limit gives such a count with a lower
# probability than this (one-sided exact binomial test): a small window's chance shortfall passes.
MONITOR_SIGNIFICANCE = 0.01
# A shell command given each alert as JSON on stdin ("" for none).
ALERT_COMMAND = ""
# A URL each alert is POSTed to as JSON, e.g. a relay on loopback ("" for none).
ALERT_WEBHOOK = ""
# Seconds between progress lines in the log when stderr is not a terminal.
PROGRESS_INTERVAL = 30.0
# The crawl plan of `scrapy schedule` (relative to the working directory).
SCHEDULE_PLAN = "crawl-plan.toml"
# Seconds after its due time a scheduled run may start before the due time counts as missed.
SCHEDULE_GRACE = 600
# What a scrapyd job (`schedule.json -d setting=NAME=VALUE`) may set: politeness, limits, checks,
# logging, channels to leave out; PORTAL_DOMAINS only to narrow it to some of its families. Any
# other setting, and an argument the spider does not take, refuses the job before it crawls
# (crawler/ops/scrapyd_guard.py): commands, webhooks, the state store, classes to load.
SCRAPYD_JOB_SETTINGS = [
    "OUTPUT_DIR", "LOG_LEVEL", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_DELAY",
    "DOWNLOAD_TIMEOUT", "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY", "RETRY_TIMES", "CLOSESPIDER_TIMEOUT", "CLOSESPIDER_ITEMCOUNT",
    "CLOSESPIDER_PAGECOUNT", "CLOSESPIDER_ERRORCOUNT", "MONITOR_HISTORY_RUNS", "MONITOR_MIN_HISTORY",
    "MONITOR_STORIES_TOLERANCE", "MONITOR_FIELD_COVERAGE", "MONITOR_MAX_RATES", "MONITOR_MIN_SAMPLE",
    "MONITOR_SIGNIFICANCE", "PROGRESS_INTERVAL", "CRAWL_SKIP_CHANNELS",
    # a worker of a shared crawl (docs/distributed.md); its Redis is the deployment's STATE_REDIS_URL
    "FRONTIER", "FRONTIER_JOB", "FRONTIER_QUEUE",
]
# A scrapyd job's OUTPUT_DIR must lie inside this directory (relative: to scrapyd's working directory).
SCRAPYD_OUTPUT_ROOT = "output"
