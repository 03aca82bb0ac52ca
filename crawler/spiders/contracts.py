"""The project's own Scrapy contracts, for `scrapy check` (registered in SPIDER_CONTRACTS,
crawler/settings.py), beside Scrapy's `@url`, `@returns` and `@scrapes`.

Scrapy's `@scrapes` asks only that an item has a field, and an `Article` has every field always:
`@fills` asks that they hold something. `@parser` tells a layout change from a parse that merely
succeeded (the page went to another version or to the fallback), `@articles` a listing that
still lists from one whose links moved.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy import Request
from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail

from crawler.site import urls


def _items(output: list[Any]) -> list[ItemAdapter]:
    return [ItemAdapter(x) for x in output if is_item(x)]


def _filled(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else value not in (None, [], {})


class ParserContract(Contract):
    """`@parser NAME`: the callback gives items, each read by the parser version NAME."""

    name = "parser"

    def post_process(self, output: list[Any]) -> None:
        items = _items(output)
        wrong = sorted({str(item.get("parser")) for item in items} - {self.args[0]})
        if not items or wrong:
            raise ContractFail(f"want items read by {self.args[0]}, got " + (", ".join(wrong) or "no item"))


class FillsContract(Contract):
    """`@fills FIELD ...`: each of the fields is non-empty in every item."""

    name = "fills"

    def post_process(self, output: list[Any]) -> None:
        empty = sorted({name for item in _items(output) for name in self.args if not _filled(item.get(name))})
        if empty:
            raise ContractFail(f"empty fields: {', '.join(empty)}")


class ArticlesContract(Contract):
    """`@articles N`: the callback asks for at least N article pages (a listing's links)."""

    name = "articles"

    def post_process(self, output: list[Any]) -> None:
        asked = {x.url for x in output if isinstance(x, Request) and urls.article_id(x.url) is not None}
        if len(asked) < int(self.args[0]):
            raise ContractFail(f"asked for {len(asked)} article pages, want at least {self.args[0]}")
