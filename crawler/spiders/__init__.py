"""The spiders (`channel.py`: requests, callbacks, errbacks) and the listing-walk policy beside
them (`walk.py`, pure). `ChannelCrawl` is what the operations extensions may read of a spider."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from crawler.output import Mode
from crawler.site.channels import Channel
from crawler.spiders.walk import Walk


@runtime_checkable
class ChannelCrawl(Protocol):
    """A spider that walks declared channels: the channels it locks and reports on, its mode,
    and its walk (what it asked for so far, the pagers it knows), which progress reads."""

    channels: tuple[Channel, ...]
    walk: Walk

    @property
    def mode(self) -> Mode: ...
