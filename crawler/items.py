"""The article item: the field names are a contract with the data teams (docs/data.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict


class Image(TypedDict):
    url: str
    caption: str | None


class Appearance(TypedDict):
    url: str
    breadcrumbs: list[str]
    timestamp: str


@dataclass
class Article:
    """One story. Before deduplication one copy; after it, the primary copy plus all appearances."""

    id: str
    url: str
    title: str
    timestamp: str
    body: str
    subtitles: list[str] = field(default_factory=list)
    source: str | None = None
    authors: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    editor: str | None = None
    keywords: list[str] = field(default_factory=list)
    breadcrumbs: list[str] = field(default_factory=list)
    appearances: list[Appearance] = field(default_factory=list)
    channel: str = ""
    fetched_at: str = ""
    pages: int = 1
    parser: str = ""
