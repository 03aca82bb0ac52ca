"""Channel locks held by a job (`FRONTIER = "redis"`, crawler/distributed/): a Redis key per
channel, `hebei:lock:channel:<name>`, whose value is the job's name. Every worker of the job
shares it; a worker of another job finding it held is skipped (`skipped: overlap`), as with the
per-machine flock of crawler/ops/locks.py. The key expires `LOCK_SECONDS` after the last heartbeat of the job's
workers (a killed job's lock goes by itself) and is removed when the job's last worker leaves.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from twisted.internet.task import LoopingCall

from crawler.distributed import frontier_job
from crawler.distributed.job import Job
from crawler.ops.locks import ChannelLock

LOCK_PREFIX = "hebei:lock:channel:"


class JobChannelLock(ChannelLock):
    LOCK_SECONDS = 60
    HEARTBEAT_SECONDS = 10.0

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        job = frontier_job(crawler.settings)
        assert job is not None
        self.job: Job = job
        self.names: list[str] = []
        self.heartbeat: LoopingCall | None = None

    def acquire(self, names: list[str]) -> str | None:
        taken: list[str] = []
        for name in names:
            key = LOCK_PREFIX + name
            if self.job.redis.set(key, self.job.name, nx=True, ex=self.LOCK_SECONDS):
                taken.append(key)
                continue
            holder = self.job.redis.get(key)
            if holder != self.job.name:
                for mine in taken:
                    self._delete_if_ours(mine)
                return f"{name}: job {holder!s}"
        self.names = [LOCK_PREFIX + name for name in names]
        self.renew()
        self.heartbeat = LoopingCall(self.renew)
        self.heartbeat.start(self.HEARTBEAT_SECONDS, now=False)
        return None

    def renew(self) -> None:
        pipe = self.job.redis.pipeline()
        for key in self.names:
            pipe.expire(key, self.LOCK_SECONDS)
        pipe.execute()

    def _delete_if_ours(self, key: str) -> None:
        if self.job.redis.get(key) == self.job.name:
            self.job.redis.delete(key)

    def release(self) -> None:
        """The job's locks go with its last worker (the scheduler has left the job by now)."""
        if self.heartbeat is not None and self.heartbeat.running:
            self.heartbeat.stop()
        if self.names and not self.job.members():
            for key in self.names:
                self._delete_if_ours(key)
        self.names = []
        self.job.close()
