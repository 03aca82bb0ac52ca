"""Validation: an item must match the JSON Schema of the article (`article.schema.json`).

Required and non-empty: `url`, `title`, `timestamp` (ISO 8601 with offset, a real date); `body`
may be empty only on a photo story (one with captions). Every other field must have its type.
Text holding U+FFFD (the replacement character: a page decoded with the wrong charset) is a
defect. An item whose JSON is larger than `ITEM_MAX_BYTES` (UTF-8) is rejected before anything
else is looked at, so that no stored line can outgrow what its readers take (DuckDB reads a line
of at most 16 MiB by default). A failing item is dropped, written to `OUTPUT_DIR/rejects/<run_id>.jsonl` with its URL,
the reason and the offending fields, and counted (`pipeline/rejected`,
`pipeline/rejected/<field>`).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import FIELDS
from crawler.output import RunLog

SCHEMA_PATH = Path(__file__).with_name("article.schema.json")
# Read as package data: in the zipped egg scrapyd runs there is no file at SCHEMA_PATH.
SCHEMA: dict[str, Any] = json.loads(
    resources.files("pipelines").joinpath(SCHEMA_PATH.name).read_text(encoding="utf-8"))

_VALIDATE = fastjsonschema.compile(SCHEMA)
# One validator per field, to name every field at fault (the whole-item one stops at the first).
_VALIDATE_FIELD = {name: fastjsonschema.compile(spec) for name, spec in SCHEMA["properties"].items()}
REPLACEMENT_CHARACTER = "\ufffd"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    field: str  # the top-level field at fault ("" for the item as a whole)
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


_FIELD_ORDER = {name: i for i, name in enumerate(FIELDS)}


def find_problems(record: dict[str, Any]) -> list[Problem]:
    """Everything wrong with one item, in field order; [] when it is valid."""
    problems = [Problem(name, f"holds U+FFFD (the replacement character) at {where}")
                for name, where in _replacement_characters(record)]
    try:
        _VALIDATE(record)
    except fastjsonschema.JsonSchemaValueException as whole:
        problems += _field_problems(record) or [_problem(whole, "")]
    else:
        try:
            datetime.fromisoformat(record["timestamp"])
        except ValueError:
            problems.append(Problem("timestamp", f"{record['timestamp']!r} is not a date and time"))
    if not problems:
        return problems
    return sorted(problems, key=lambda p: (_FIELD_ORDER.get(p.field, -1), p.message))


def size_problem(record: dict[str, Any], limit: int) -> Problem | None:
    """The item is larger than `limit` bytes as a line of JSON (0: no limit, as Scrapy's sizes),
    which then names its largest field."""
    if not limit:
        return None
    text = json.dumps(record, ensure_ascii=False, default=str)
    if len(text) * 4 <= limit:  # no character takes more than 4 bytes in UTF-8: no need to encode
        return None
    size = len(text.encode("utf-8"))
    if size <= limit:
        return None
    field, field_size = max(((name, len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")))
                             for name, value in record.items()), key=lambda found: found[1])
    return Problem("", f"the item is {size:,} bytes of JSON, more than ITEM_MAX_BYTES ({limit:,}); "
                       f"its largest field is {field} ({field_size:,} bytes)")


def _field_problems(record: dict[str, Any]) -> list[Problem]:
    problems = [Problem(name, "is missing") for name in FIELDS if name not in record]
    problems += [Problem(name, "is not a field of the article") for name in record if name not in SCHEMA["properties"]]
    for name, validate in _VALIDATE_FIELD.items():
        if name in record:
            try:
                validate(record[name])
            except fastjsonschema.JsonSchemaValueException as error:
                problems.append(_problem(error, name))
    return problems


def _problem(error: fastjsonschema.JsonSchemaValueException, name: str) -> Problem:
    """`data[0] must contain ['caption'] properties` -> images: [0] must contain ... ."""
    message = error.message.removeprefix("data").lstrip(".")
    if len(message) > 200:
        message = message[:200] + "..."
    if not name and error.path[1:]:
        name = str(error.path[1])
        message = message.removeprefix(name).lstrip(".")
    return Problem(name, message.strip())


def _holds_replacement(record: dict[str, Any]) -> bool:
    """Whether U+FFFD is in any value of `record`: strings and lists of strings looked at
    directly, anything else through repr(), which keeps U+FFFD as it is (it is printable)."""
    for value in record.values():
        kind = type(value)
        if kind is str:
            if REPLACEMENT_CHARACTER in value:
                return True
        elif kind is list or kind is tuple:
            for element in value:
                if REPLACEMENT_CHARACTER in (element if type(element) is str else repr(element)):
                    return True
        elif (value is not None and kind is not int and kind is not float and kind is not bool
              and REPLACEMENT_CHARACTER in repr(value)):
            return True
    return False


def _replacement_characters(record: dict[str, Any]) -> list[tuple[str, str]]:
    if not _holds_replacement(record):
        return []
    found = []
    for name, value in record.items():
        text = json.dumps(value, ensure_ascii=False, default=str)
        at = text.find(REPLACEMENT_CHARACTER)
        if at >= 0:
            found.append((name, f"{text[max(0, at - 20):at + 20]!r}"))
    return found


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def record_of(item: Any) -> dict[str, Any]:
    """The item as a new dict: what `dict(ItemAdapter(item).items())` gives, without the
    adapter's cost for the two kinds the spiders yield (dicts and the Article dataclass)."""
    kind = type(item)
    if kind is dict:
        return dict(item)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if not dataclasses.is_dataclass(item):
            return dict(ItemAdapter(item).items())
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(item))
    return {name: getattr(item, name) for name in names}


class RejectLog(RunLog):
    """`OUTPUT_DIR/rejects/<run_id>.jsonl`: one line per rejected item, durable once written."""

    FOLDER = "rejects"
    DURABLE = True

    def record(self, item: dict[str, Any], problems: list[Problem]) -> None:
        fields = {p.field: item.get(p.field) for p in problems if p.field}
        self.append({"url": item.get("url"), "reason": "; ".join(map(str, problems)), "fields": fields,
                     "at": datetime.now(UTC).isoformat(timespec="seconds")})


class ValidatePipeline:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.max_bytes = crawler.settings.getint("ITEM_MAX_BYTES")
        self.rejects = RejectLog(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        record = record_of(item)
        too_large = size_problem(record, self.max_bytes)
        problems = [too_large] if too_large else find_problems(record)
        if not problems:
            return item
        try:
            self.rejects.record(record, problems)
        except OSError as error:  # a full disk: the item is rejected all the same, and the run fails
            self.stats.inc_value("validate/write_errors")
            if name := errno.errorcode.get(error.errno or 0):
                self.stats.inc_value(f"validate/write_errors/{name}")
            logger.error("could not write the reject of %s: %s", record.get("url"), error)
        self.stats.inc_value("pipeline/rejected")
        for name in sorted({p.field or "item" for p in problems}):
            self.stats.inc_value(f"pipeline/rejected/{name}")
        raise DropItem(f"rejected {record.get('url')}: {'; '.join(map(str, problems))}", log_level="WARNING")

    def close_spider(self) -> None:
        self.rejects.close()
