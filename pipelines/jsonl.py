"""Store stories as JSON Lines partitioned by publication date, one line per distinct story.

Copies of a story (the same story filed under several collections, each under its own id) are
merged into one record that lists every copy in `appearances`; the earliest copy is the primary
one and gives the record its `id`, `url` and fields.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler


def story_key(title: str, body: str) -> str:
    """Copies share their title and the start of their body; small edits come at the end."""
    text = re.sub(r"\s+", "", title) + "\n" + re.sub(r"\s+", "", body)[:200]
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def merge(primary: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Merge two records of one story: the earlier copy is primary, appearances are unioned."""
    first, second = sorted((primary, other), key=lambda r: (r["timestamp"] or "", r["id"]))
    merged = dict(first)
    seen = {a["url"] for a in first["appearances"]}
    extra = [a for a in second["appearances"] if a["url"] not in seen]
    merged["appearances"] = sorted(first["appearances"] + extra, key=lambda a: (a["timestamp"] or "", a["url"]))
    return merged


def write_atomically(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class JsonLinesPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.out_dir = Path(crawler.settings.get("OUTPUT_DIR"))
        self.stories: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "JsonLinesPipeline":
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item).asdict()
        key = story_key(record["title"], record["body"])
        if key in self.stories:
            self.stories[key] = merge(self.stories[key], record)
            self.crawler.stats.inc_value("pipeline/copies_merged")
        else:
            self.stories[key] = record
        return item

    def close_spider(self) -> None:
        partitions: dict[str, list[str]] = {}
        for record in sorted(self.stories.values(), key=lambda r: (r["timestamp"] or "", r["id"])):
            day = (record["timestamp"] or "unknown")[:10]
            partitions.setdefault(day, []).append(json.dumps(record, ensure_ascii=False) + "\n")
        for day, lines in partitions.items():
            write_atomically(self.out_dir / "articles" / f"date={day}" / "articles.jsonl", lines)
        self.crawler.stats.set_value("pipeline/stories_written", len(self.stories))
