"""Stored pages and their expected output (tests/sample_data/extract/<case>/), web-poet style.

Each case reports the fields that differ by name, so a layout change reads as "editor, captions
differ on enorth-b_seed-018955625", not as a failed test. Regenerate the cases with
`python tests/sample_data/make_extract_fixtures.py` and review them by eye.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawler.extract import Extraction, extract
from crawler.extract.extraction import FIELD_NAMES
from crawler.extract.parsers import VERSIONS, FallbackParser
from crawler.site.charset import charset_from_content_type, decode_html

SAMPLE_DATA = Path(__file__).resolve().parent / "sample_data" / "extract"
CASES = sorted(p.name for p in SAMPLE_DATA.iterdir() if p.is_dir())
DOCS = Path(__file__).resolve().parents[1] / "docs" / "extraction.md"


def load_case(name: str) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    folder = SAMPLE_DATA / name
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    body = gzip.decompress((folder / "page.html.gz").read_bytes())
    expected = json.loads((folder / "output.json").read_text(encoding="utf-8"))
    return meta, body, expected


def as_output(extraction: Extraction) -> dict[str, Any]:
    return {
        "kind": extraction.kind,
        "parser": extraction.parser,
        **extraction.fields,
        "page_urls": extraction.page_urls,
        "problems": extraction.problems,
    }


def run_case(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    meta, body, expected = load_case(name)
    charset = charset_from_content_type(meta["headers"].get("Content-Type"))
    return as_output(extract(decode_html(body, charset), meta["url"])), expected


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    got, expected = run_case(case)
    differ = [name for name in expected if got.get(name) != expected[name]]
    details = "\n".join(
        f"  {name}: got {got.get(name)!r}\n  {' ' * len(name)}  want {expected[name]!r}"
        for name in differ
    )
    assert not differ, f"{', '.join(differ)} differ on {case}\n{details}"


def test_fixtures_cover_every_parser_version_twice() -> None:
    parsers = Counter(load_case(name)[2]["parser"] for name in CASES)
    minimums = {version.name: 2 for version in VERSIONS} | {FallbackParser.name: 1}
    for name, minimum in minimums.items():
        assert parsers[name] >= minimum, f"{name}: {parsers[name]} fixture case(s)"


def test_fixture_outputs_list_every_field() -> None:
    for name in CASES:
        expected = load_case(name)[2]
        assert set(FIELD_NAMES) <= set(expected), (
            f"{name}: {set(FIELD_NAMES) - set(expected)} missing"
        )


def test_field_table_in_docs_matches_the_extraction() -> None:
    """docs/extraction.md lists the fields with their JSON types: names and types cannot drift."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Fields") :].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    documented = {name: kind.strip() for name, kind in rows}
    assert list(documented) == list(FIELD_NAMES)
    json_type = {str: "string", list: "list", dict: "object", type(None): "null"}
    for name in CASES:
        got, _ = run_case(name)
        for field in FIELD_NAMES:
            kind = json_type[type(got[field])]
            assert kind in documented[field], (
                f"{name}: {field} is a {kind}, docs say {documented[field]}"
            )
