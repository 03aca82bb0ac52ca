"""scrapy-redis as the job's frontier: its Scheduler, its FIFO or priority queue (FRONTIER_QUEUE)
and its duplicate filter, with the job's keys (crawler/distributed/job.py), requests as JSON
(crawler/distributed/codec.py), the queue and the filter kept when a worker closes (the job owns
them, not the worker), and cooperative termination: at `spider_idle` a worker closes only when the
job is done.

A worker talks to the job in steps (`Job.step`, one Lua call): the requests its callbacks found,
the tickets it is done with and the requests it pops go in one round trip, when its engine asks
for a request it does not hold already, and every WAKE_SECONDS. No blocking pop (never BRPOP on
the reactor thread): an empty queue answers at once, and the next step finds what other workers
queued since; a request it finds wakes the engine at once (`engine.crawl`), not at the engine's
next heartbeat (5 s).

A popped request stays in the job's in-flight hash under its ticket until its callback's output
is all through (`JobTickets`): its requests queued, and its items through the pipelines and
recorded by the store (`crawler.signals.copies_recorded`). A SIGKILLed worker's tickets are
queued again (`Job.reap`): whatever it had not made safe is fetched once more, and a copy fetched
twice is "unchanged" in the state.

Switched on by the `Frontier` add-on (crawler/distributed/__init__.py) when `FRONTIER = "redis"`.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import FifoQueue, PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from crawler import signals as project_signals
from crawler.distributed import codec
from crawler.distributed.job import Found, Job, worker_name
from crawler.output import FailureKind, FinishReason, run_id
from crawler.site.channels import Channel

logger = logging.getLogger(__name__)

# The meta key of a popped request's ticket in the job's in-flight hash.
TICKET = "job_ticket"
# A worker whose heartbeat is older than this is dead: what it had in flight is queued again.
HEARTBEAT_SECONDS = 15
# How often a worker sends what it found and, with room for more, looks for work queued by others.
WAKE_SECONDS = 0.25


class JobDupeFilter(RFPDupeFilter):
    """The job's duplicate filter, with the rule of `crawler.middlewares.ListedPagesDupeFilter`:
    an article request made by a redirect is never filtered nor remembered. Its set is read and
    written by the job's step (`Job.step`), in the same Lua call that queues the request."""

    def fingerprint_of(self, request: Request) -> str:
        """The request's fingerprint in the filter, or "" for one never filtered."""
        if request.dont_filter or (request.meta.get("redirect_urls")
                                   and request.meta.get("kind") == FailureKind.ARTICLE.value):
            return ""
        return str(self.request_fingerprint(request))

    def close(self, reason: str = "") -> None:
        """Kept: the job's filter outlives every worker but the last (`Job.clear`)."""


class JobQueue:
    """What the job's two queues share: requests as JSON, read back with this worker's channels.
    `Job.step` pushes and pops for them, in the same Lua call as the worker's bookkeeping."""

    def __init__(self, server: Any, spider: Spider, key: str) -> None:
        super().__init__(server, spider, key, serializer=codec)  # type: ignore[call-arg]
        self.spider = spider
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

    def found(self, request: Request, fingerprint: str) -> Found:
        """`request` as `Job.step` queues it; its score is scrapy-redis's (`PriorityQueue.push`)."""
        return fingerprint, -request.priority, self._encode_request(request)


class JobFifoQueue(JobQueue, FifoQueue):
    """FRONTIER_QUEUE = "fifo": LPUSH, RPOP."""


class JobPriorityQueue(JobQueue, PriorityQueue):
    """FRONTIER_QUEUE = "priority": ZADD with -priority, ZPOPMIN. Among equal priorities it pops in
    the order of the encoded bytes, not FIFO: nothing of the walk depends on queue order."""


QUEUES: dict[str, type[JobFifoQueue | JobPriorityQueue]] = {"fifo": JobFifoQueue, "priority": JobPriorityQueue}


def ticket_of(response: Response | Failure | None) -> str | None:
    request = getattr(response, "request", None)
    return request.meta.get(TICKET) if request is not None else None


class JobTickets:
    """A spider middleware: a response's request is done (its ticket leaves the job's in-flight
    hash) once (a) its callback's output is exhausted (its requests are found), (b) every item of
    it went through the pipelines (`item_scraped`, `item_dropped`, `item_error`: Scrapy's scraper
    processes output in parallel) and (c) the store recorded them since (`copies_recorded`).
    Placed next to the engine, after every other middleware's output."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.unprocessed: Counter[str] = Counter()  # per ticket: its items not yet through the pipelines
        self.exhausted: set[str] = set()  # tickets whose callback output is all out, with items
        self.unrecorded: list[str] = []  # tickets whose items all passed the pipelines, maybe not recorded

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        tickets = cls(crawler)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(tickets.item_passed, signal=signal)
        crawler.signals.connect(tickets.recorded, signal=project_signals.copies_recorded)
        return tickets

    def scheduler(self) -> JobScheduler:
        scheduler = self.crawler.engine.scheduler if self.crawler.engine else None
        assert isinstance(scheduler, JobScheduler)
        return scheduler

    def output_ended(self, ticket: str, items: int) -> None:
        if not items:
            self.scheduler().finish(ticket)
            return
        self.exhausted.add(ticket)
        self.settle(ticket)

    def item_passed(self, response: Response | Failure | None) -> None:
        ticket = ticket_of(response)
        if ticket is not None and ticket in self.unprocessed:
            self.unprocessed[ticket] -= 1
            self.settle(ticket)

    def settle(self, ticket: str) -> None:
        if ticket in self.exhausted and self.unprocessed[ticket] <= 0:
            self.exhausted.remove(ticket)
            del self.unprocessed[ticket]
            self.unrecorded.append(ticket)

    def recorded(self) -> None:
        """The store recorded every copy that had passed the pipelines: their requests are done."""
        if self.unrecorded:
            self.scheduler().finish(*self.unrecorded)
            self.unrecorded = []

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        ticket, items = ticket_of(response), 0
        for output in result:
            if ticket is not None and output is not None and not isinstance(output, Request):
                items += 1
                self.unprocessed[ticket] += 1  # before the yield: the pipelines may be done before it returns
            yield output
        if ticket is not None:
            self.output_ended(ticket, items)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        ticket, items = ticket_of(response), 0
        async for output in result:
            if ticket is not None and output is not None and not isinstance(output, Request):
                items += 1
                self.unprocessed[ticket] += 1
            yield output
        if ticket is not None:
            self.output_ended(ticket, items)


class JobScheduler(Scheduler):
    """scrapy-redis's Scheduler over the job's keys (`FRONTIER_JOB`, in the Redis of STATE_REDIS_URL).
    What this worker found, finished and popped waits here until the next step (`Job.step`)."""

    def __init__(self, crawler: Crawler, job: Job) -> None:
        self.df: JobDupeFilter
        super().__init__(job.redis, persist=True, queue_key=job.queue,
                         dupefilter=JobDupeFilter(job.redis, key=job.dupefilter,
                                                  debug=crawler.settings.getbool("DUPEFILTER_DEBUG")))
        self.crawler = crawler
        self.job = job
        self.stats = crawler.stats
        self.worker = worker_name(run_id(crawler))
        self.found: list[Found] = []  # requests found here, not yet sent
        self.found_requests: list[Request] = []  # the same, as requests (to name those filtered)
        self.done: list[str] = []  # tickets finished here, not yet sent
        self.popped: deque[Request] = deque()  # in flight here, not yet given to the engine
        self.waking: Request | None = None  # a popped request given to the engine by `wake`
        self.idle = False  # whether the engine found nothing to do here and nothing was popped since
        self.last = False  # whether this worker was the last of a job that is done

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        job = Job(crawler.settings.get("STATE_REDIS_URL"), crawler.settings.get("FRONTIER_JOB"),
                  crawler.settings.get("FRONTIER_QUEUE"))
        job.redis.ping()
        scheduler = cls(crawler, job)
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        chosen = self.job.once("queue", lambda: self.job.kind)
        if chosen != self.job.kind:
            raise ValueError(f"job {self.job.name} queues in a {chosen} queue: every worker needs "
                             f"FRONTIER_QUEUE = {chosen!r}, not {self.job.kind!r}")
        self.queue: JobFifoQueue | JobPriorityQueue = QUEUES[self.job.kind](self.server, spider, self.queue_key)
        self.job.beat(self.worker, HEARTBEAT_SECONDS)
        self.job.join(self.worker, run_id(self.crawler))
        self.heartbeat = LoopingCall(self.beat)
        self.heartbeat.start(HEARTBEAT_SECONDS / 3, now=False)
        self.waker = LoopingCall(self.wake)
        self.waker.start(WAKE_SECONDS, now=False)
        waiting = len(self.queue)
        logger.info("worker %s joined job %s (%d requests queued)", self.worker, self.job.name, waiting)

    def enqueue_request(self, request: Request) -> bool:
        """Kept for the next step, which queues it unless the job's filter has seen it (counted
        then: `dupefilter/filtered`). A request that carries a ticket (a retry, a redirect: a copy
        of a request in flight here) takes over from it, which is done."""
        if request is self.waking:  # popped already, given to the engine by `wake`
            return True
        self.found.append(self.queue.found(request, self.df.fingerprint_of(request)))
        self.found_requests.append(request)
        if TICKET in request.meta:
            self.done.append(request.meta[TICKET])
        return True

    def finish(self, *tickets: str) -> None:
        """The requests of `tickets` are done (`JobTickets`): out of flight at the next step."""
        self.done.extend(tickets)

    def room(self) -> int:
        """How many requests the engine would take now (at least one: it asks for one)."""
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        return max(1, downloader.total_concurrency - len(downloader.active)) if downloader else 1

    def step(self, pop: int) -> None:
        """One round trip with the job (`Job.step`): send what waits here, pop up to `pop`."""
        if not (self.found or self.done or pop):
            return
        found, requests, done = self.found, self.found_requests, self.done
        self.found, self.found_requests, self.done = [], [], []
        filtered, popped = self.job.step(self.worker, found, done, pop)
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis", len(found) - len(filtered))
            if filtered:
                self.stats.inc_value("dupefilter/filtered", len(filtered))
            if popped:
                self.stats.inc_value("scheduler/dequeued/redis", len(popped))
        if self.df.debug:
            for position in filtered:
                logger.debug("filtered duplicate request: %s", requests[position])
        if popped:
            self.idle = False
        for ticket, data in popped:
            request = self.queue._decode_request(data)
            request.meta[TICKET] = ticket
            self.popped.append(request)

    def next_request(self) -> Request | None:
        if not self.popped:
            self.step(self.room())
        return self.popped.popleft() if self.popped else None

    def has_pending_requests(self) -> bool:
        return bool(self.popped or self.found) or len(self.queue) > 0

    def wake(self) -> None:
        """Every WAKE_SECONDS: send what waits here (other workers may take it), and, when the
        engine has room and nothing here, pop: a request found is given to the engine at once
        (`engine.crawl`, which wakes it; `enqueue_request` knows it), not at its next heartbeat.
        An idle worker whose job is done closes now, not at the engine's next heartbeat either."""
        engine = self.crawler.engine
        if engine is None:
            return
        hungry = not self.popped and not engine.needs_backout()
        self.step(self.room() if hungry else 0)
        if hungry and self.popped:
            self.waking = self.popped[0]
            try:
                engine.crawl(self.waking)
            finally:
                self.waking = None
        elif self.idle and self.job.idle(self.worker):
            self.idle = False
            deferred_from_coro(engine.close_spider_async(reason=FinishReason.FINISHED.value))

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
        """Nothing in flight here: close only when the job is done, else wait for work. The store
        records what it gathered first (the idle step drops every ticket of this worker)."""
        self.crawler.signals.send_catch_log(project_signals.record_copies)
        self.step(0)
        self.requeue()
        self.idle = not self.job.idle(self.worker)
        if self.idle:
            raise DontCloseSpider

    def close(self, reason: str) -> None:
        """Leave the job; the last worker of a job that is done does the job's last steps
        (`crawler.signals.job_done`), then removes its keys."""
        for loop in (self.heartbeat, self.waker):
            if loop.running:
                loop.stop()
        self.step(0)
        self.last = self.job.leave(self.worker)
        if self.last:
            logger.info("job %s is done and %s was its last worker: its queue and walk are removed",
                        self.job.name, self.worker)
            self.crawler.signals.send_catch_log(project_signals.job_done, job=self.job)
            self.job.clear()
        self.job.close()
