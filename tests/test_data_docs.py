"""docs/data.md cannot drift: its field table against the schema and the item class, and its
DuckDB and pandas examples run on a real output."""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections import Counter
from contextlib import chdir
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawler.items import Article
from crawler.output import OutputDir
from pipelines.dedupe import partition_of
from pipelines.validate import SCHEMA
from tests.replica.harness import REPO
from tests.replica.site import build_site
from tests.test_pipeline_store import Run, replica_items

DOC = (REPO / "docs" / "data.md").read_text(encoding="utf-8")


PARTITION_COLUMN = "the partition column"


def field_table() -> dict[str, str]:
    """`field` -> type, as the table of the story line says (partition columns included)."""
    section = DOC.split("## The story line", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE)
    return {name: kind.strip() for name, kind in rows}


def line_fields() -> dict[str, str]:
    """The fields of the table that are in the line: all but the partition columns."""
    return {name: kind for name, kind in field_table().items() if PARTITION_COLUMN not in kind}


def doc_type(text: str) -> Any:
    """`list of {`url`, `caption`}` -> ("list", ("object", ("caption", "url")))."""
    if text.startswith("list of "):
        return ("list", doc_type(text.removeprefix("list of ")))
    if text.startswith("{"):
        return ("object", tuple(sorted(re.findall(r"`(\w+)`", text))))
    return {"string": "string", "string or null": "string?", "int": "integer"}[text]


def schema_type(spec: dict[str, Any]) -> Any:
    kind = spec["type"]
    if kind == "array":
        return ("list", schema_type(spec["items"]))
    if kind == "object":
        return ("object", tuple(sorted(spec["properties"])))
    if kind == ["string", "null"]:
        return "string?"
    return kind


def class_type(hint: Any) -> Any:
    if typing.get_origin(hint) is list:
        return ("list", class_type(typing.get_args(hint)[0]))
    if typing.is_typeddict(hint):
        return ("object", tuple(sorted(typing.get_type_hints(hint))))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return "string?" if set(typing.get_args(hint)) == {str, type(None)} else hint
    return {str: "string", int: "integer"}[hint]


def test_the_field_table_matches_the_schema_and_the_item_class():
    table = line_fields()
    hints = typing.get_type_hints(Article)
    assert list(table) == list(SCHEMA["properties"])  # same fields, same order as the lines
    assert set(table) == {f.name for f in dataclasses.fields(Article)}
    for name, kind in table.items():
        assert doc_type(kind) == schema_type(SCHEMA["properties"][name]) == class_type(hints[name]), name


def test_the_settings_table_names_real_settings_with_their_defaults():
    from crawler import settings

    section = DOC.split("## The state store", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", section, re.MULTILINE)
    assert {name for name, _ in rows} == {"STATE_BACKEND", "STATE_REDIS_URL", "STORE_FLUSH_SECONDS", "STORE_WRITE_SECONDS",
                                         "STORE_WRITE_MAX_SHARE"}
    for name, default in rows:
        assert repr(getattr(settings, name)).replace("'", '"') == default


def examples() -> list[str]:
    section = DOC.split("## Reading the output", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real output (two runs, so that there are manifests to compare) in a folder of its own."""
    root = tmp_path_factory.mktemp("reader")
    items = replica_items(build_site(200))
    Run(root / "output", "20261126T000000Z-hebei-1").feed(items[: len(items) // 2])
    Run(root / "output", "20261126T000100Z-hebei-2").feed(items)
    return root


def run_example(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/data.md", "exec"), namespace)
    return namespace


def test_the_duckdb_examples_run(output: Path):
    pytest.importorskip("duckdb", reason="duckdb is not installed (pip install -e '.[test]')")
    duckdb_example, _, feed_example = examples()
    truth = build_site(200).truth()
    with chdir(output):  # the examples read `output/`; DuckDB relations read when asked
        found = run_example(duckdb_example)
        assert found["stories"].count("*").fetchall()[0][0] == len(truth)
        assert found["copies"].count("*").fetchall()[0][0] == sum(len(t["appearances"]) for t in truth)
        assert found["xu_qin"].count("*").fetchall()[0][0] == sum(
            any("许勤" in a["breadcrumbs"] for a in t["appearances"]) for t in truth)
        feed = run_example(feed_example)
        assert feed["changed"] and feed["fresh"].count("*").fetchall()[0][0] >= 1


def test_the_pandas_example_runs(output: Path):
    pytest.importorskip("pandas", reason="pandas is not installed (pip install -e '.[test]')")
    _, pandas_example, _ = examples()
    truth = build_site(200).truth()
    with chdir(output):
        found = run_example(pandas_example)
    assert len(found["stories"]) == len(truth)
    assert set(found["stories"]["id"]) == {t["id"] for t in truth}  # leading zeros kept
    assert len(found["copies"]) == sum(len(t["appearances"]) for t in truth)
    assert len(found["several"]) == sum(len(t["appearances"]) > 1 for t in truth)


def test_the_output_dir_table_is_the_layout_the_code_writes(tmp_path: Path):
    """docs/data.md's table of OUTPUT_DIR: each path with the OutputDir method that makes it."""
    section = DOC.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `(\w+)` \|", section, re.MULTILINE)
    assert dict((method, path) for path, method in rows) == dict(OutputDir.PATHS)
    output = OutputDir(tmp_path)
    for path, method in rows:
        parts = {name: f"<{name}>" for name in re.findall(r"\{(\w+)\}", path)}
        made = getattr(output, method)(*parts.values())
        assert made == tmp_path / path.format(**parts), method



def test_the_partition_column_is_in_the_field_table_as_the_store_names_it():
    """`date`, the key data teams group days by, is documented under the name the store writes."""
    partition = partition_of("2018-07-17T05:20:26+08:00")
    column, day = partition.split("=")
    assert field_table()[column] == f"date, {PARTITION_COLUMN}"
    assert day == "2018-07-17"  # the China day, though it is still 2018-07-16 in UTC


def china_day(timestamp: str) -> str:
    return datetime.fromisoformat(timestamp).astimezone(timezone(timedelta(hours=8))).date().isoformat()


def documented_query(title: str) -> str:
    section = DOC.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]
    (query,) = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    return query


def test_the_stories_per_day_per_leader_query_counts_what_the_lines_say(output: Path):
    """The documented query, run in DuckDB on a real output, against counts made from the JSON
    lines in Python: each story on its China day, once per leader whose collection has a copy."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install -e '.[test]')")
    want: Counter[tuple[str, str]] = Counter()
    utc_day_differs = 0
    for path in sorted((output / "output" / "articles").glob("date=*/articles.jsonl")):
        for story in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            day = china_day(story["timestamp"])
            assert path.parent.name == f"date={day}", story["id"]  # the China-day rule of the doc
            utc_day_differs += datetime.fromisoformat(story["timestamp"]).astimezone(UTC).date().isoformat() != day
            crumbs = [a["breadcrumbs"] for a in story["appearances"]]
            leaders = {c[c.index("省领导活动报道集") + 1] for c in crumbs if "省领导活动报道集" in c[:-1]}
            want.update((day, leader) for leader in leaders)
    assert utc_day_differs, "the output must hold stories whose UTC day is another day"
    with chdir(output):
        rows = duckdb.sql(documented_query("Stories per day per leader")).fetchall()
    got = {(day.isoformat(), leader): stories for day, leader, stories in rows}
    assert len(got) == len(rows)
    assert got == dict(want)
    assert [row[:2] for row in rows] == sorted(row[:2] for row in rows)
