"""One crawl done by several worker processes, on one machine or several: scrapy-redis as the
shared frontier of a job (docs/distributed.md).

Off by default: `FRONTIER = ""` and nothing here runs. With `-s FRONTIER=redis -s
FRONTIER_JOB=NAME` (and the Redis of STATE_REDIS_URL), every `scrapy crawl` given the same job
name is a worker of that job: one queue, one duplicate filter, one walk (crawler/distributed/job.py,
crawler/distributed/scheduler.py); the job ends when its queue is empty and no worker is busy.
"""

from __future__ import annotations

from scrapy.settings import BaseSettings

from crawler.distributed.job import QUEUES, Job

FRONTIERS = ("", "redis")
SCHEDULER = "crawler.distributed.scheduler.JobScheduler"
# Next to the engine: it sees a callback's output after every other spider middleware.
TICKETS = "crawler.distributed.scheduler.JobTickets"


class Frontier:
    """The add-on that `FRONTIER` switches: the job's scheduler in place of Scrapy's."""

    def update_settings(self, settings: BaseSettings) -> None:
        frontier = settings.get("FRONTIER")
        if frontier not in FRONTIERS:
            raise ValueError(f"FRONTIER must be '' (each crawl its own queue) or 'redis', not {frontier!r}")
        if not frontier:  # off: Scrapy's own scheduler, and not a word in the log
            return
        if not settings.get("FRONTIER_JOB"):
            raise ValueError("FRONTIER = 'redis' needs FRONTIER_JOB: the job's name, the same for every worker")
        if settings.get("FRONTIER_QUEUE") not in QUEUES:
            raise ValueError(f"FRONTIER_QUEUE must be 'fifo' or 'priority', not {settings.get('FRONTIER_QUEUE')!r}")
        settings.set("SCHEDULER", SCHEDULER, priority="addon")
        settings["SPIDER_MIDDLEWARES"][TICKETS] = 10
        # Each slot's delay holds for the whole job (politeness.py): one limit shared through
        # Redis, which a random local delay could only slow down.
        for scheme in ("http", "https"):
            settings["DOWNLOAD_HANDLERS"][scheme] = "crawler.distributed.politeness.SharedRateLimit"
        settings.set("DOWNLOAD_DELAY_JITTER", 0, priority="addon")


def frontier_job(settings: BaseSettings) -> Job | None:
    """The job this crawl is a worker of, or None (`FRONTIER` off)."""
    if settings.get("FRONTIER") != "redis":
        return None
    return Job(settings.get("STATE_REDIS_URL"), settings.get("FRONTIER_JOB"), settings.get("FRONTIER_QUEUE"))
