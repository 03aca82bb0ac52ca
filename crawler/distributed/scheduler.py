"""scrapy-redis as the job's frontier: its Scheduler and FIFO queue, with the job's keys
(crawler/distributed/job.py), requests as JSON (crawler/distributed/codec.py), no blocking pop
(never BRPOP on the reactor thread: an empty queue answers at once and the engine asks again at
its next heartbeat), the queue and the filter kept when a worker closes (the job owns them, not
the worker), and cooperative termination: at `spider_idle` a worker closes only when the job is
done.

Switched on by the `Frontier` add-on (crawler/distributed/__init__.py) when `FRONTIER = "redis"`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import FifoQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.distributed import codec
from crawler.distributed.job import Job, worker_name
from crawler.output import FailureKind, run_id
from crawler.site.channels import Channel

logger = logging.getLogger(__name__)

# The meta key of a popped request's ticket in the job's in-flight hash.
TICKET = "job_ticket"
# A worker whose heartbeat is older than this is dead: what it had in flight is queued again.
HEARTBEAT_SECONDS = 15


class JobDupeFilter(RFPDupeFilter):
    """The job's duplicate filter, with the rule of `crawler.middlewares.ListedPagesDupeFilter`:
    an article request made by a redirect is never filtered nor remembered."""

    def request_seen(self, request: Request) -> bool:
        if request.meta.get("redirect_urls") and request.meta.get("kind") == FailureKind.ARTICLE.value:
            return False
        return bool(super().request_seen(request))

    def close(self, reason: str = "") -> None:
        """Kept: the job's filter outlives every worker but the last (`Job.clear`)."""


class JobQueue(FifoQueue):
    """The job's FIFO queue: LPUSH, and a pop that marks the worker busy in the same step."""

    def __init__(self, server: Any, spider: Spider, key: str, job: Job, worker: str) -> None:
        super().__init__(server, spider, key, serializer=codec)
        self.job, self.worker = job, worker
        self.channels = {channel.name: channel for channel in getattr(spider, "channels", ())}

    def channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            raise ValueError(f"a queued request names channel {name!r}, which this worker's spider does not "
                             "crawl: every worker of a job runs the same spider") from None

    def _encode_request(self, request: Request) -> str:
        return codec.dumps(request.to_dict(spider=self.spider))

    def _decode_request(self, encoded_request: str | bytes) -> Request:
        return request_from_dict(codec.loads(encoded_request, self.channel), spider=self.spider)

    def pop(self, timeout: int = 0) -> Request | None:
        found = self.job.pop(self.worker)
        if found is None:
            return None
        ticket, data = found
        request = self._decode_request(data)
        request.meta[TICKET] = ticket
        return request

    def push(self, request: Request) -> None:
        """Queue `request`; one that carries a ticket (a retry, a redirect: a copy of a request
        in flight here) takes over from it, which is done."""
        super().push(request)
        if TICKET in request.meta:
            self.job.finished(self.worker, request.meta[TICKET])


class JobTickets:
    """A spider middleware: a response's request is done once its callback's output is all
    through (its requests queued), and leaves the job's in-flight hash. Placed next to the engine,
    after every other middleware's output."""

    def __init__(self, job: Job, worker: str) -> None:
        self.job, self.worker = job, worker

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        job = Job(crawler.settings.get("STATE_REDIS_URL"), crawler.settings.get("FRONTIER_JOB"))
        crawler.signals.connect(job.close, signal=signals.spider_closed)
        return cls(job, worker_name(run_id(crawler)))

    def done(self, response: Response) -> None:
        request = response.request
        if request is not None and TICKET in request.meta:
            self.job.finished(self.worker, request.meta[TICKET])

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        yield from result
        self.done(response)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in result:
            yield output
        self.done(response)


class JobScheduler(Scheduler):
    """scrapy-redis's Scheduler over the job's keys (`FRONTIER_JOB`, in the Redis of STATE_REDIS_URL)."""

    def __init__(self, crawler: Crawler, job: Job) -> None:
        super().__init__(job.redis, persist=True, queue_key=job.queue,
                         dupefilter=JobDupeFilter(job.redis, key=job.dupefilter,
                                                  debug=crawler.settings.getbool("DUPEFILTER_DEBUG")))
        self.crawler = crawler
        self.job = job
        self.stats = crawler.stats
        self.worker = worker_name(run_id(crawler))
        self.last = False  # whether this worker was the last of a job that is done

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        job = Job(crawler.settings.get("STATE_REDIS_URL"), crawler.settings.get("FRONTIER_JOB"))
        job.redis.ping()
        scheduler = cls(crawler, job)
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = JobQueue(self.server, spider, self.queue_key, self.job, self.worker)
        self.job.beat(self.worker, HEARTBEAT_SECONDS)
        self.job.join(self.worker, run_id(self.crawler))
        self.heartbeat = LoopingCall(self.beat)
        self.heartbeat.start(HEARTBEAT_SECONDS / 3, now=False)
        waiting = len(self.queue)
        logger.info("worker %s joined job %s (%d requests queued)", self.worker, self.job.name, waiting)

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            if self.stats:
                self.stats.inc_value("dupefilter/filtered")
            if self.df.debug:
                logger.debug("filtered duplicate request: %s", request)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        request: Request | None = self.queue.pop()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def beat(self) -> None:
        self.job.beat(self.worker, HEARTBEAT_SECONDS)
        self.requeue()

    def requeue(self) -> None:
        requeued = self.job.reap()
        if requeued:
            logger.warning("job %s: %d requests in flight at workers that died are queued again", self.job.name,
                           requeued)
            if self.stats:
                self.stats.inc_value("frontier/requeued", requeued)

    def spider_idle(self) -> None:
        """Nothing in flight here: close only when the job is done, else wait for work."""
        self.requeue()
        if not self.job.idle(self.worker):
            raise DontCloseSpider

    def close(self, reason: str) -> None:
        """Leave the job; the last worker of a job that is done removes its keys."""
        if self.heartbeat.running:
            self.heartbeat.stop()
        self.last = self.job.leave(self.worker)
        if self.last:
            logger.info("job %s is done and %s was its last worker: its queue and walk are removed",
                        self.job.name, self.worker)
            self.job.clear()
        self.job.close()
