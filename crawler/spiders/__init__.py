"""The spiders (`channel.py`: requests, callbacks, errbacks) and the listing-walk policy beside
them (`walk.py`, pure). `ChannelCrawl` is what the operations extensions may read of a spider."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from crawler.output import Mode
from crawler.site.channels import Channel


@runtime_checkable
class ChannelCrawl(Protocol):
    """A spider that walks declared channels: the channels it locks and reports on, its mode."""

    channels: tuple[Channel, ...]

    @property
    def mode(self) -> Mode: ...
