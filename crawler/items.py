"""The article item: the field names are a contract with the data teams (docs/data.md).

`Article` is the one declaration of the article's fields. Every other list derives from it:
`FIELDS` (the order of a stored line), `PAGE_FIELDS` (what one page's parser reads, each with its
merge rule for multi-page articles), `empty_page_fields()`. `pipelines/article.schema.json` is
checked against it by a test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict


class Image(TypedDict):
    url: str
    caption: str | None


class Appearance(TypedDict):
    url: str
    breadcrumbs: list[str]
    timestamp: str


class Merge(StrEnum):
    """How the pages of a multi-page article make one value of a field read from pages."""

    FIRST = "first"  # the first page's value that is not empty (header fields)
    CONCAT = "concat"  # every page's list, in page order
    LINES = "lines"  # every page's non-empty text, one per line, in page order


def page(merge: Merge, empty: Any = None) -> dict[str, Any]:
    """The metadata of a field that the parser of one page reads, merged across pages by
    `merge`; `empty` is its value on a page that does not show it (a list: its default's)."""
    return {"merge": merge, "empty": empty}


@dataclass(kw_only=True)
class Article:
    """One story. Before deduplication one copy; after it, the primary copy plus all appearances."""

    id: str
    url: str
    title: str = field(metadata=page(Merge.FIRST, ""))
    subtitles: list[str] = field(default_factory=list, metadata=page(Merge.CONCAT))
    source: str | None = field(default=None, metadata=page(Merge.FIRST))
    authors: list[str] = field(default_factory=list, metadata=page(Merge.FIRST))
    timestamp: str = field(metadata=page(Merge.FIRST, None))  # required in a stored item; a page may lack it
    body: str = field(metadata=page(Merge.LINES, ""))
    captions: list[str] = field(default_factory=list, metadata=page(Merge.CONCAT))
    images: list[Image] = field(default_factory=list, metadata=page(Merge.CONCAT))
    editor: str | None = field(default=None, metadata=page(Merge.FIRST))
    keywords: list[str] = field(default_factory=list, metadata=page(Merge.FIRST))
    breadcrumbs: list[str] = field(default_factory=list, metadata=page(Merge.FIRST))
    appearances: list[Appearance] = field(default_factory=list)
    channel: str = ""
    fetched_at: str = ""
    pages: int = 1
    parser: str = ""


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Article))
# The fields one page gives, in the order a parser reads them, with their merge rules.
PAGE_FIELDS: dict[str, Merge] = {
    f.name: f.metadata["merge"] for f in dataclasses.fields(Article) if "merge" in f.metadata
}


def empty_page_fields() -> dict[str, Any]:
    """What a page that shows nothing gives: "" or None for text, [] for lists."""
    return {
        f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.metadata["empty"]
        for f in dataclasses.fields(Article)
        if f.name in PAGE_FIELDS
    }
