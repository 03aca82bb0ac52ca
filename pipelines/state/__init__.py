"""The crawl's state behind one interface: which copies are stored, in which story, and what is
still to be written to the date partitions.

`open_state(settings)` returns a `StateStore`: SQLite under `OUTPUT_DIR/.state/` by default
(`STATE_BACKEND = "sqlite"`, nothing to install or start), or Redis (`STATE_BACKEND = "redis"`,
`STATE_REDIS_URL`) for scrapy-redis style deployments where crawl processes on several machines
share one state and one `OUTPUT_DIR`.

The state holds every story's output line. The partition files are derived from it, never the
other way round: a partition is rewritten whole from the state, so a crash at any moment can
leave a partition behind the state (finished at the next open) but never a duplicate or half a line.

Protocol, as the store pipeline (pipelines/store.py) runs it:
1. `record_copies(copies, run)` decides, in one transaction, for each copy in turn, whether it
   is new, a copy of a stored story (URL, exact fingerprint, near-duplicate) or a page seen again,
   updates the story's line and marks its partition pending (its version grows).
2. Later, under `partitions_lock()`: for each of `pending_partitions()`, take `snapshot(name)`
   (its version and sorted lines), write the files atomically, then
   `mark_written({name: version, ...})`. `make_durable()` first, so that no file gets ahead of a
   state that a power loss could take back.
3. A copy is *stored* once a partition file holding it is durable: only then does
   `known_urls` report it. At the end of a run that finished, `finalise_ids(...)`.
"""

from __future__ import annotations

from scrapy.settings import BaseSettings

from crawler.output import OutputDir
from crawler.site.urls import PORTAL_DOMAINS
from pipelines.state.protocol import (
    CHANGED,
    FAILED,
    MERGED,
    NEW,
    UNCHANGED,
    Outcome,
    Snapshot,
    StateStore,
)

__all__ = ["CHANGED", "FAILED", "MERGED", "NEW", "UNCHANGED", "Outcome", "Snapshot", "StateStore", "open_state"]


def open_state(settings: BaseSettings) -> StateStore:
    """The state store that the settings choose: `STATE_BACKEND` sqlite (default) or redis."""
    backend = settings.get("STATE_BACKEND")
    domains = tuple(settings.getlist("PORTAL_DOMAINS")) or PORTAL_DOMAINS
    if backend == "sqlite":
        from pipelines.state.sqlite import SqliteStateStore

        return SqliteStateStore(OutputDir.of(settings).state(), domains)
    if backend == "redis":
        from pipelines.state.redis import RedisStateStore

        return RedisStateStore(settings.get("STATE_REDIS_URL"), domains)
    raise ValueError(f"STATE_BACKEND must be 'sqlite' or 'redis', not {backend!r}")

