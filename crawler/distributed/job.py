"""A job: the one crawl that several worker processes (`scrapy crawl hebei -s FRONTIER=redis -s
FRONTIER_JOB=NAME` on any machine) do together, and its keys in Redis (`hebei:job:<NAME>:*`).

What a single process keeps in memory and that changes what is fetched lives here for the job:
the queue and the duplicate filter (crawler/distributed/scheduler.py), the walk's memory (the
pager-trap ceilings, the articles requested during the job, the listing pages admitted and
counted, their first spellings: `walk_memory`), and the decisions taken once when the job starts
(`once`: whether this job walks every listing page).

Termination is cooperative. A worker is busy from the moment it pops a request until Scrapy finds
it idle (nothing in flight, nothing scheduled); popping and becoming busy are one step, and so are
becoming idle and asking whether the job is over (Lua scripts, atomic in Redis). A request is
always either in the queue or in flight at a busy worker, whose callbacks push what it finds
before it is idle again: so an empty queue with no busy worker means the job is done, and a
momentarily empty queue while another worker is busy does not.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

import redis

PREFIX = "hebei:job:"

# One round trip of a worker with the job's queue (FIFO: LPUSH, RPOP; priority: ZADD, ZPOPMIN, as
# scrapy-redis's queues): what it found (a request is queued unless its fingerprint is in the
# duplicate filter; "" is never filtered), then the tickets it is done with, then up to `pop`
# requests, each in the in-flight hash under a new ticket, the worker busy with them. A request
# is so never out of both the queue and the in-flight hash, nor in the filter and not queued.
# KEYS: queue, busy, ticket counter, in-flight hash, this worker's tickets, duplicate filter.
# ARGV: worker, queue kind, n, n times (fingerprint, score, request), m, m tickets, pop.
# Returns {positions of the filtered requests (from 1), {ticket, request, ticket, request, ...}}.
_STEP = """
local kind, at, filtered, popped = ARGV[2], 4, {}, {}
for i = 1, tonumber(ARGV[3]) do
  if ARGV[at] == '' or redis.call('SADD', KEYS[6], ARGV[at]) == 1 then
    if kind == 'fifo' then redis.call('LPUSH', KEYS[1], ARGV[at + 2])
    else redis.call('ZADD', KEYS[1], ARGV[at + 1], ARGV[at + 2]) end
  else
    table.insert(filtered, i)
  end
  at = at + 3
end
local done = tonumber(ARGV[at])
for i = at + 1, at + done do
  redis.call('HDEL', KEYS[4], ARGV[i])
  redis.call('SREM', KEYS[5], ARGV[i])
end
for _ = 1, tonumber(ARGV[at + done + 1]) do
  local request
  if kind == 'fifo' then request = redis.call('RPOP', KEYS[1])
  else request = redis.call('ZPOPMIN', KEYS[1])[1] end
  if not request then break end
  local ticket = redis.call('INCR', KEYS[3])
  redis.call('HSET', KEYS[4], ticket, request)
  redis.call('SADD', KEYS[5], ticket)
  table.insert(popped, tostring(ticket))
  table.insert(popped, request)
end
if #popped > 0 then redis.call('SADD', KEYS[2], ARGV[1]) end
return {filtered, popped}
"""
# Back in the queue at the popping end (FIFO) or at its priority (the request's own field).
_REQUEUE = """
local function requeue(kind, queue, request)
  if kind == 'fifo' then redis.call('RPUSH', queue, request)
  else redis.call('ZADD', queue, -cjson.decode(request)['priority'], request) end
end
"""
# Workers whose heartbeat is gone: their requests in flight back to the queue.
# KEYS: members, busy, queue, in-flight hash; ARGV: the prefix of the job's keys, queue kind. Returns how many.
_REAP = _REQUEUE + """
local requeued = 0
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'heartbeat:' .. worker) == 0 then
    local tickets = ARGV[1] .. 'tickets:' .. worker
    for _, ticket in ipairs(redis.call('SMEMBERS', tickets)) do
      local request = redis.call('HGET', KEYS[4], ticket)
      if request then
        requeue(ARGV[2], KEYS[3], request)
        redis.call('HDEL', KEYS[4], ticket)
        requeued = requeued + 1
      end
    end
    redis.call('DEL', tickets)
    redis.call('SREM', KEYS[2], worker)
    redis.call('SREM', KEYS[1], worker)
  end
end
return requeued
"""
# KEYS: queue, busy, state, in-flight hash, this worker's tickets; ARGV: worker, queue kind.
_IDLE = """
for _, ticket in ipairs(redis.call('SMEMBERS', KEYS[5])) do redis.call('HDEL', KEYS[4], ticket) end
redis.call('DEL', KEYS[5])
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[3]) == 'done' then return 1 end
local queued
if ARGV[2] == 'fifo' then queued = redis.call('LLEN', KEYS[1]) else queued = redis.call('ZCARD', KEYS[1]) end
if queued == 0 and redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('SET', KEYS[3], 'done')
  return 1
end
return 0
"""
_LEAVE = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[1]) == 0 and redis.call('GET', KEYS[3]) == 'done' then return 1 end
return 0
"""


def worker_name(run: str) -> str:
    """A worker, as other workers and the operator read it: host, pid and run id."""
    return f"{socket.gethostname()}:{os.getpid()}:{run}"


# A request found by a worker, as `Job.step` sends it: (fingerprint or "", score, encoded request).
Found = tuple[str, float, str]
QUEUES = ("fifo", "priority")


class Job:
    """The job named `name` in the Redis at `url`, its queue a FIFO list or a priority sorted set
    (`queue`, FRONTIER_QUEUE: the same for every worker)."""

    def __init__(self, url: str, name: str, queue: str = "fifo") -> None:
        if not name:
            raise ValueError("FRONTIER = 'redis' needs FRONTIER_JOB: the job's name, the same for every worker")
        if queue not in QUEUES:
            raise ValueError(f"FRONTIER_QUEUE must be 'fifo' or 'priority', not {queue!r}")
        self.name, self.kind = name, queue
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self._step = self.redis.register_script(_STEP)
        self._reap = self.redis.register_script(_REAP)
        self._idle = self.redis.register_script(_IDLE)
        self._leave = self.redis.register_script(_LEAVE)

    def key(self, *parts: str) -> str:
        return PREFIX + ":".join((self.name, *parts))

    @property
    def queue(self) -> str:
        return self.key("queue")

    @property
    def dupefilter(self) -> str:
        return self.key("dupefilter")

    # workers ----------------------------------------------------------------
    def join(self, worker: str, run: str) -> None:
        """`worker` (of run `run`) takes part from now on."""
        pipe = self.redis.pipeline()
        pipe.sadd(self.key("members"), worker)
        pipe.sadd(self.key("runs"), run)
        pipe.execute()

    def runs(self) -> set[str]:
        """The run ids of every worker that joined this job (their manifests are this job's)."""
        return {str(run) for run in self.redis.smembers(self.key("runs"))}

    def step(self, worker: str, found: list[Found], done: list[str], pop: int) -> tuple[list[int], list[tuple[str, str]]]:
        """One round trip: `found` queued (but those the duplicate filter has seen), the requests
        of the tickets `done` finished (their callbacks' requests are queued, their copies
        recorded), then up to `pop` requests in flight at `worker` under new tickets, `worker`
        busy with them. Returns (the positions in `found` of those filtered, [(ticket, request)])."""
        args: list[str | float | int] = [worker, self.kind, len(found)]
        for fingerprint, score, request in found:
            args += [fingerprint, score, request]
        args += [len(done), *done, pop]
        filtered, popped = self._step(keys=[self.queue, self.key("busy"), self.key("ticket"), self.key("inflight"),
                                            self.key("tickets", worker), self.dupefilter], args=args)
        return ([int(n) - 1 for n in filtered],
                [(str(popped[n]), str(popped[n + 1])) for n in range(0, len(popped), 2)])

    def beat(self, worker: str, seconds: int) -> None:
        """`worker` is alive for `seconds` more."""
        pipe = self.redis.pipeline()
        pipe.set(self.key("heartbeat", worker), "1", ex=seconds)
        pipe.sadd(self.key("members"), worker)  # back, if a stalled reactor let others take it for dead
        pipe.execute()

    def reap(self) -> int:
        """Put back in the queue what workers whose heartbeat stopped had in flight (a SIGKILLed
        worker's requests are fetched by the others); returns how many."""
        return int(self._reap(keys=[self.key("members"), self.key("busy"), self.queue, self.key("inflight")],
                              args=[self.key(""), self.kind]))

    def idle(self, worker: str) -> bool:
        """`worker` has nothing to do (nothing of it in flight any more): whether the whole job is
        done (then it stays done)."""
        return bool(self._idle(keys=[self.queue, self.key("busy"), self.key("state"), self.key("inflight"),
                                     self.key("tickets", worker)], args=[worker, self.kind]))

    def done(self) -> bool:
        return self.redis.get(self.key("state")) == "done"

    def leave(self, worker: str) -> bool:
        """`worker` leaves; whether it was the last worker of a job that is done."""
        self.redis.delete(self.key("heartbeat", worker))
        self.reap()  # what it still had in flight (a shutdown, a CLOSESPIDER limit) goes back to the queue
        return bool(self._leave(keys=[self.key("members"), self.key("busy"), self.key("state")], args=[worker]))

    def members(self) -> set[str]:
        return {str(worker) for worker in self.redis.smembers(self.key("members"))}

    def once(self, name: str, decide: Callable[[], str]) -> str:
        """The job's decision `name`: `decide()` by the first worker to ask, read by the others."""
        key = self.key("decision", name)
        self.redis.set(key, decide(), nx=True)
        return str(self.redis.get(key))

    def clear(self) -> None:
        """Remove the keys of a job that is done (its queue, filter, walk and decisions): the same
        name can then start a new job."""
        keys = list(self.redis.scan_iter(match=self.key("*"), count=1000))
        if keys:
            self.redis.delete(*keys)

    # the walk's memory ---------------------------------------------------------
    def walk_memory(self) -> dict[str, Any]:
        """The walk's fields (crawler/spiders/walk.py) that hold what the job met so far, as
        job-scoped Redis containers."""
        return {
            "overflow_ceiling": RedisHash(self.redis, self.key("walk", "overflow_ceiling"), int),
            "requested": RedisSet(self.redis, self.key("walk", "requested")),
            "pages_of": RedisHash(self.redis, self.key("walk", "pages_of"), int, missing=0),
            "admitted": RedisSet(self.redis, self.key("walk", "admitted")),
            "spellings": RedisHash(self.redis, self.key("walk", "spellings"), str),
            "last_index_page": RedisHash(self.redis, self.key("walk", "last_index_page"), int),
            "tree_directories": RedisSet(self.redis, self.key("walk", "tree_directories")),
            "directories_of": RedisHash(self.redis, self.key("walk", "directories_of"), int, missing=0),
            "window_top": RedisHash(self.redis, self.key("walk", "window_top"), int),
        }

    def share(self, walk: object) -> None:
        """`walk` keeps its memory in the job's keys from now on."""
        for name, memory in self.walk_memory().items():
            setattr(walk, name, memory)

    def close(self) -> None:
        self.redis.close()


_NO_DEFAULT = object()


class RedisHash(MutableMapping[str, Any]):
    """A Redis hash read as a dict of `kind` values. `setdefault` is atomic (HSETNX): of workers
    racing to fix a value, one wins and every one reads the winner's. A hash with `missing` reads
    it for an absent key, as a Counter reads 0."""

    def __init__(self, client: redis.Redis, key: str, kind: Callable[[str], Any], missing: Any = _NO_DEFAULT) -> None:
        self.client, self.key, self.kind, self.missing = client, key, kind, missing

    def __getitem__(self, name: str) -> Any:
        found = self.client.hget(self.key, name)
        if found is None:
            if self.missing is _NO_DEFAULT:
                raise KeyError(name)
            return self.missing
        return self.kind(str(found))

    def __setitem__(self, name: str, value: Any) -> None:
        self.client.hset(self.key, name, str(value))

    def __delitem__(self, name: str) -> None:
        self.client.hdel(self.key, name)

    def __iter__(self) -> Iterator[str]:
        return iter([str(name) for name in self.client.hkeys(self.key)])

    def __len__(self) -> int:
        return int(self.client.hlen(self.key))

    def __contains__(self, name: object) -> bool:
        return bool(self.client.hexists(self.key, str(name)))

    def get(self, name: str, default: Any = None) -> Any:
        found = self.client.hget(self.key, name)
        return default if found is None else self.kind(str(found))

    def setdefault(self, name: str, default: Any = None) -> Any:
        pipe = self.client.pipeline()
        pipe.hsetnx(self.key, name, str(default))
        pipe.hget(self.key, name)
        return self.kind(pipe.execute()[1])


class RedisSet:
    """A Redis set of strings, with what the walk asks of a set: membership, `add`, `update`, and
    `other - this` in one round trip (SMISMEMBER)."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client, self.key = client, key

    def __contains__(self, member: object) -> bool:
        return bool(self.client.sismember(self.key, str(member)))

    def __len__(self) -> int:
        return int(self.client.scard(self.key))

    def __iter__(self) -> Iterator[str]:
        return iter(self.client.sscan_iter(self.key, count=1000))

    def add(self, member: str) -> None:
        self.client.sadd(self.key, member)

    def update(self, members: Iterable[str]) -> None:
        chosen = list(members)
        if chosen:
            self.client.sadd(self.key, *chosen)

    def __rsub__(self, other: Iterable[str]) -> set[str]:
        wanted = list(other)
        if not wanted:
            return set()
        flags = self.client.smismember(self.key, wanted)
        return {member for member, present in zip(wanted, flags) if not present}
