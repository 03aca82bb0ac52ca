"""Stored pages and their expected output, web-poet style, filed under the parser that reads
them: tests/sample_data/extract/<parser name>/<case>/ (`enorth-b/v1/seed-018955625`,
`fallback/...`), and live rolling pages under `rolling/<case>/`.

Each case reports the fields that differ by name, so a layout change reads as "editor, captions
differ on enorth-b/v1/seed-018955625", not as a failed test. Regenerate the cases with
`python tests/sample_data/make_extract_fixtures.py` and review them by eye. The layout versions
are exclusive: each stored page and each replica page is recognised by one version at most, the
one it is filed under, whatever the order of `VERSIONS`.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawler.extract import Extraction, extract
from crawler.extract import extraction as extraction_module
from crawler.extract.base import ArticleParser
from crawler.extract.extraction import FIELD_NAMES, PageKind, parse_page
from crawler.extract.page import Page
from crawler.extract.parsers import VERSIONS, FallbackParser
from crawler.site.charset import charset_from_content_type, decode_html
from tests.replica.site import Site
from tests.test_extract_replica import default_site, replica_pages

SAMPLE_DATA = Path(__file__).resolve().parent / "sample_data" / "extract"
ROLLING = "rolling"  # the folder of live rolling pages, which no parser reads
CASES = sorted(
    p.parent.relative_to(SAMPLE_DATA).as_posix() for p in SAMPLE_DATA.rglob("output.json")
)
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


def decoded_case(name: str) -> tuple[str, str, dict[str, Any]]:
    """(URL, page text as the crawler decodes it, expected output) of a case."""
    meta, body, expected = load_case(name)
    charset = charset_from_content_type(meta["headers"].get("Content-Type"))
    return meta["url"], decode_html(body, charset), expected


def run_case(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    url, html, expected = decoded_case(name)
    return as_output(extract(html, url)), expected


def folder_of(name: str) -> str:
    """The folder a case is filed under: a parser's name (`enorth-b/v1`, `fallback`) or `rolling`."""
    return name.rsplit("/", 1)[0]


def matching_versions(page: Page) -> list[str]:
    return [version.name for version in VERSIONS if version.matches(page)]


def layout_of(parser_name: str) -> list[str]:
    """The versions that must match a page read by `parser_name`: that one, or none at all."""
    return [parser_name] if parser_name in {version.name for version in VERSIONS} else []


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


def test_every_version_has_its_own_family_and_version() -> None:
    """The class, its `name` and its fixture folder spell one identifier: `EnorthBV1` declares
    `family = "enorth-b"`, `version = 1`, so it is `enorth-b/v1` and its cases are filed there."""
    versions: list[type[ArticleParser]] = [*VERSIONS, FallbackParser]
    for version in versions:
        declared = vars(version)
        assert "family" in declared, f"{version.__name__} inherits its family"
        assert version.version is None or "version" in declared, version.__name__
        assert version.version is None or version.__name__.endswith(f"V{version.version}")
    names = [version.name for version in versions]
    assert len(set(names)) == len(names), names


def test_every_case_is_filed_under_its_parser() -> None:
    known = {version.name for version in VERSIONS} | {FallbackParser.name, ROLLING}
    for name in CASES:
        folder, expected = folder_of(name), load_case(name)[2]
        assert folder in known, f"{name}: {folder} is neither a parser nor {ROLLING}"
        if folder == ROLLING:
            assert expected["kind"] == PageKind.ROLLING, name
        else:
            assert expected["parser"] == folder, f"{name}: read by {expected['parser']}"


@pytest.mark.parametrize("case", CASES)
def test_fixture_page_shows_the_layout_of_its_folder_only(case: str) -> None:
    url, html, _ = decoded_case(case)
    page = parse_page(html, url)
    assert page is not None
    assert matching_versions(page) == layout_of(folder_of(case))


@pytest.fixture(scope="module")
def site() -> Site:
    return default_site()


def test_replica_page_shows_the_layout_its_truth_names_only(site: Site) -> None:
    wrong = []
    for url, html, parser_name in replica_pages(site):
        page = parse_page(html, url)
        matched = matching_versions(page) if page is not None else []
        if matched != layout_of(parser_name):
            wrong.append(f"{url}: {parser_name} page matched by {matched}")
    assert not wrong, f"{len(wrong)} pages, e.g. " + "; ".join(wrong[:5])


def shuffled(seed: int) -> list[type[ArticleParser]]:
    versions = list(VERSIONS)
    random.Random(seed).shuffle(versions)
    return versions


ORDERS = {"reversed": VERSIONS[::-1], **{f"shuffled-{seed}": shuffled(seed) for seed in range(3)}}


@pytest.mark.parametrize("order", ORDERS)
def test_the_order_of_versions_does_not_matter(order: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extraction_module, "VERSIONS", ORDERS[order])
    for name in CASES:
        got, expected = run_case(name)
        assert got["parser"] == expected["parser"], f"{name} read by {got['parser']} ({order})"


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
