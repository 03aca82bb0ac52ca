"""Politeness for a job: each download slot's delay holds for the whole job, not per worker.

One worker alone spaces the requests of a slot (`urls.download_slot`: one per subdomain across the
host families) by DOWNLOAD_DELAY; N workers of a job would each do so, and the site would see N
times as many. Here a worker takes its slot's turn in Redis right before it sends a request: one
Lua step that takes the slot only when its last request, from whichever worker, was sent at least
one interval ago, and otherwise answers how long until then; the worker sleeps that long (on the
event loop, never blocking it) and asks again. Across all workers, a slot's requests are sent at
least one interval apart. The clock is the Redis server's (TIME): the machines' clocks do not matter.

Why the turn is taken when it is due and not booked ahead (`next = max(now, last + interval)`,
then sleep until then): a booked time is kept only if the worker wakes up on time, and a busy
worker's event loop wakes it up to a tenth of a second late (measured with three workers on two
cores), right behind the next worker's booked request. Taken when due, the turn is stamped by
Redis after the worker woke, and only the round trip lies between the stamp and the send. Waiting
workers have no queue: whichever asks first once the slot is free goes; each has at most
CONCURRENT_REQUESTS_PER_DOMAIN requests of a slot waiting.

Why a download handler and not a downloader middleware: a middleware runs before the downloader's
slot queue, which may hold a request further (CONCURRENT_REQUESTS_PER_DOMAIN = 1 holds it until
the previous response is in), after its turn was taken. The handler runs once the slot has let
the request go: nothing stands between the turn and the send. Every request passes here,
robots.txt included; none is exempt.

How the delays combine. The interval is the slot's delay as this worker's downloader has it:
DOWNLOAD_DELAY (or the slot's DOWNLOAD_SLOTS delay), as AutoThrottle and the 429/503 back-off
(crawler/middlewares.py) move it. The downloader still spaces this worker's own requests by that
delay, but it counts from the moment it hands a request to the handler, and the shared wait is
spent inside the handler: the two overlap (the larger wins), they never add up. Jitter is off under
a job (the `Frontier` add-on sets DOWNLOAD_DELAY_JITTER = 0): the shared limit spaces a slot's
requests by the interval, and a random local delay could only slow a worker below it.

AutoThrottle stays on under a job, per worker: it reads latencies that leave the shared wait out
(Scrapy measures `download_latency` inside the HTTP handler, after it), raises a slot's delay when
the site slows down, and never lowers it below DOWNLOAD_DELAY. A worker whose AutoThrottle (or
back-off) raised a slot's delay takes that slot's turn only that long after the last request of
any worker; the other workers, reading the same site, slow down alike.

Keys: `hebei:politeness:<slot>`, one per slot, not per job: the host is the same whichever job
asks it (two jobs of other channels share the limit of a host they both crawl). Each expires a
second after the longest interval any worker may ask (AUTOTHROTTLE_MAX_DELAY, which caps
AutoThrottle and the back-off) has passed since the slot's last request, when it no longer limits
anything: a finished job leaves nothing.

Stats: `frontier/politeness_waits` (requests that waited their turn) and
`frontier/politeness_wait_seconds` (how long, in all).
"""

from __future__ import annotations

from math import ceil

import redis.asyncio as redis
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep

PREFIX = "hebei:politeness:"

# KEYS: the slot's key; ARGV: the interval in microseconds, the key's lifetime in milliseconds.
# Returns 0 (the turn is taken: the slot's last request is now) or the microseconds until the slot
# is free. Times are microseconds of the
# server's clock: below 2^53, exact in Lua's doubles, written with %.0f (tostring keeps 14 digits).
_TAKE_TURN = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]))
if last and now < last + interval then return last + interval - now end
redis.call('SET', KEYS[1], string.format('%.0f', now), 'PX', ARGV[2])
return 0
"""


class SharedRateLimit(HTTP11DownloadHandler):
    """Scrapy's HTTP handler, for http and https, each request sent only at its slot's turn in the
    job (the module's docstring). Installed by the `Frontier` add-on when FRONTIER = "redis"."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.redis = redis.Redis.from_url(crawler.settings.get("STATE_REDIS_URL"))
        self.take_turn = self.redis.register_script(_TAKE_TURN)
        self.default_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        # The longest interval a worker may ask: AUTOTHROTTLE_MAX_DELAY caps AutoThrottle and the back-off.
        self.longest = max(self.default_delay, crawler.settings.getfloat("AUTOTHROTTLE_MAX_DELAY"))

    async def download_request(self, request: Request) -> Response:
        await self.wait_turn(request)
        return await super().download_request(request)

    def interval(self, slot_key: str) -> float:
        """Seconds between two requests of the slot: its delay as this worker's downloader has it."""
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(slot_key) if engine is not None else None
        return slot.delay if slot is not None else self.default_delay

    async def wait_turn(self, request: Request) -> None:
        """Return once this request has its slot's turn, sleeping (on the event loop) till then."""
        slot_key: str | None = request.meta.get("download_slot")
        interval = self.interval(slot_key) if slot_key else 0.0
        if not slot_key or interval <= 0:  # no delay asked (as against the replica): nothing to share
            return
        turn = [round(interval * 1_000_000), ceil(max(interval, self.longest) * 1000) + 1000]
        waited = 0.0
        while wait := int(await self.take_turn(keys=[PREFIX + slot_key], args=turn)) / 1_000_000:
            waited += wait
            await sleep(wait)
        stats = self.crawler.stats
        if waited and stats is not None:
            stats.inc_value("frontier/politeness_waits")
            total = stats.get_value("frontier/politeness_wait_seconds", 0.0) + waited
            stats.set_value("frontier/politeness_wait_seconds", round(total, 3))

    async def close(self) -> None:
        await super().close()
        await self.redis.aclose()
