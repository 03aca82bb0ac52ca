"""Benchmark: our article extraction against a bare lxml parse, trafilatura and GNE.

    python bench/extract.py [--pages 300] [--passes 3]

Every tool reads the same replica pages (decoded once, outside the timing). Time is the median
over pages of each page's best time over `--passes` passes. Body similarity is difflib's ratio
against the page's true body (mean over pages); "exact" counts bodies equal to the truth. The
bare lxml parse extracts nothing: it is the floor. trafilatura and GNE come from the `bench`
extra (`pip install -e '.[bench]'`) and are skipped, with a note, when missing.

The second table is the real set (tests/sample_data/real/: pages of other Chinese news sites,
their fields written by hand): each field's accuracy, ours against trafilatura and GNE where
they read that field (title and body; they read no source, editor or captions), and the time
per page of each.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import importlib.util
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.extract import extract
from crawler.extract.extraction import parse_page
from crawler.extract.parsers import FallbackParser
from crawler.extract.text import clean_text
from crawler.site.charset import decode_html
from tests.replica.server import Router
from tests.replica.site import Copy, build_site, page_fields
from tests.test_extract_real import (
    CASES,
    FIELDS,
    RealCase,
    body_similarity,
    field_right,
    load_real_case,
)

Extractor = Callable[[str, str], str | None]
LXML, TRAFILATURA = "lxml.html.fromstring (parse only)", "trafilatura"
_STARTED = time.monotonic()


def progress(message: str) -> None:
    """A progress line on stderr (stdout keeps the results), so that a long step is never silent."""
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class BenchPage:
    url: str
    html: str
    body: str  # the true body of this page


@dataclasses.dataclass
class Row:
    name: str
    median_ms: float
    similarity: float | None
    exact: int | None


def page_truth(copy: Copy, index: int) -> dict:
    """The truth of one page of a copy: `page_fields` of a copy that has only that page."""
    return page_fields(dataclasses.replace(copy, pages=[copy.pages[index]]))


def normalise_body(text: str | None) -> str:
    lines = (clean_text(line) for line in (text or "").splitlines())
    return "\n".join(line for line in lines if line)


def load_pages(count: int, seed: int) -> list[BenchPage]:
    site = build_site()
    router = Router(site)
    urls = random.Random(seed).sample(sorted(site.article_pages), count)
    pages = []
    for url in urls:
        copy, index = site.article_pages[url]
        response = router.get(url)
        charset = "gb2312" if "charset=" in response.content_type else None
        pages.append(
            BenchPage(url, decode_html(response.body, charset), page_truth(copy, index)["body"])
        )
    return pages


def ours(html: str, url: str) -> str | None:
    return extract(html, url).fields["body"]


def ours_fallback_only(html: str, url: str) -> str | None:
    """The fallback parser on every page: what a page of an unknown layout would give."""
    page = parse_page(html, url)
    return FallbackParser(page).fields()["body"] if page is not None else None


def lxml_parse(html: str, url: str) -> str | None:
    import lxml.html

    lxml.html.fromstring(html)
    return None


def make_trafilatura() -> Extractor | None:
    if importlib.util.find_spec("trafilatura") is None:
        return None
    import trafilatura

    def run(html: str, url: str) -> str | None:
        return trafilatura.extract(html, url=url, include_comments=False)

    return run


def make_gne() -> Extractor | None:
    if importlib.util.find_spec("gne") is None:
        return None
    from gne import GeneralNewsExtractor

    extractor = GeneralNewsExtractor()

    def run(html: str, url: str) -> str | None:
        return extractor.extract(html)["content"]

    return run


# ---------------------------------------------------------------- the real set

RealExtractor = Callable[[str, str], dict[str, Any]]


def ours_fields(html: str, url: str) -> dict[str, Any]:
    return extract(html, url).fields


def make_trafilatura_fields() -> RealExtractor | None:
    if importlib.util.find_spec("trafilatura") is None:
        return None
    import trafilatura

    def run(html: str, url: str) -> dict[str, Any]:
        document = trafilatura.bare_extraction(
            html, url=url, include_comments=False, with_metadata=True
        )
        if document is None:
            return {}
        found = document if isinstance(document, dict) else document.as_dict()
        return {"title": found.get("title"), "body": found.get("text")}

    return run


def make_gne_fields() -> RealExtractor | None:
    if importlib.util.find_spec("gne") is None:
        return None
    from gne import GeneralNewsExtractor

    extractor = GeneralNewsExtractor()

    def run(html: str, url: str) -> dict[str, Any]:
        found = extractor.extract(html)
        return {"title": found.get("title"), "body": found.get("content")}

    return run


@dataclasses.dataclass
class RealRow:
    name: str
    median_ms: float
    right: dict[str, int]  # per field read: pages where it is right
    similarities: list[float]


def measure_real(name: str, tool: RealExtractor, cases: list[RealCase], passes: int) -> RealRow:
    best = [float("inf")] * len(cases)
    results: list[dict[str, Any]] = [{} for _ in cases]
    for _ in range(passes):
        for i, case in enumerate(cases):
            start = time.perf_counter()
            results[i] = tool(case.html, case.url)
            best[i] = min(best[i], time.perf_counter() - start)
    read = [field for field in FIELDS if any(field in r for r in results)]
    right = {
        field: sum(
            field_right(field, r.get(field), c.expected[field]) for r, c in zip(results, cases)
        )
        for field in read
    }
    similarities = [
        body_similarity(r.get("body"), c.expected["body"]) for r, c in zip(results, cases)
    ]
    return RealRow(name, statistics.median(best) * 1000, right, similarities)


def real_table(rows: list[RealRow], pages: int) -> str:
    out = [
        f"{pages} real article pages of other sites, field by field (pages right):",
        "",
        "| field | " + " | ".join(row.name for row in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for field in FIELDS:
        cells = [f"{row.right[field]}/{pages}" if field in row.right else "-" for row in rows]
        out.append(f"| {field} | " + " | ".join(cells) + " |")
    ours = rows[0]
    accuracy = sum(ours.right.values()) / (pages * len(FIELDS))
    out.append("| all fields | " + " | ".join([f"{accuracy:.3f}"] + ["-"] * (len(rows) - 1)) + " |")
    out.append(
        "| body similarity, mean | "
        + " | ".join(f"{statistics.fmean(row.similarities):.3f}" for row in rows)
        + " |"
    )
    out.append(
        "| body similarity, min | "
        + " | ".join(f"{min(row.similarities):.3f}" for row in rows)
        + " |"
    )
    out.append("| median ms/page | " + " | ".join(f"{row.median_ms:.3f}" for row in rows) + " |")
    out.append(
        "| time vs ours | "
        + " | ".join(f"{row.median_ms / ours.median_ms:.2f}x" for row in rows)
        + " |"
    )
    bodies = " / ".join(f"{statistics.fmean(row.similarities):.3f}" for row in rows)
    out.append(
        f"\nreal pages: field accuracy {accuracy:.3f}, body similarity min {min(ours.similarities):.3f}, "
        f"ours vs trafilatura vs GNE body {bodies}"
    )
    return "\n".join(out)


def measure(name: str, tool: Extractor, pages: list[BenchPage], passes: int, score: bool) -> Row:
    best = [float("inf")] * len(pages)
    bodies: list[str | None] = [None] * len(pages)
    for _ in range(passes):
        for i, page in enumerate(pages):
            start = time.perf_counter()
            bodies[i] = tool(page.html, page.url)
            best[i] = min(best[i], time.perf_counter() - start)
    median_ms = statistics.median(best) * 1000
    if not score:
        return Row(name, median_ms, None, None)
    got = [normalise_body(b) for b in bodies]
    truth = [normalise_body(p.body) for p in pages]
    ratios = [
        difflib.SequenceMatcher(None, g, t, autojunk=False).ratio() for g, t in zip(got, truth)
    ]
    return Row(name, median_ms, statistics.fmean(ratios), sum(g == t for g, t in zip(got, truth)))


def table(rows: list[Row], pages: int) -> str:
    ours_ms = rows[0].median_ms
    out = [
        f"{pages} replica article pages, median of each page's best of the passes.",
        "",
        "| extractor | median ms/page | time vs ours | body similarity (mean) | exact bodies |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        similarity = f"{row.similarity:.3f}" if row.similarity is not None else "-"
        exact = f"{row.exact}/{pages}" if row.exact is not None else "-"
        out.append(
            f"| {row.name} | {row.median_ms:.3f} | {row.median_ms / ours_ms:.2f}x | {similarity} | {exact} |"
        )
    by_name = {row.name: row for row in rows}
    floor, traf = by_name.get(LXML), by_name.get(TRAFILATURA)
    if floor is not None:
        out.append(
            f"\nours / bare lxml parse: {ours_ms / floor.median_ms:.2f}x (target: at most 4x)"
        )
    if traf is not None:
        out.append(f"trafilatura / ours: {traf.median_ms / ours_ms:.1f}x (target: at least 10x)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # the third-party extractors warn about their own dependencies
    progress(f"building the replica and reading {args.pages} of its pages")
    pages = load_pages(args.pages, args.seed)
    tools: list[tuple[str, Extractor | None, bool]] = [
        ("ours: crawler.extract.extract", ours, True),
        (LXML, lxml_parse, False),
        (TRAFILATURA, make_trafilatura(), True),
        ("GNE", make_gne(), True),
        ("ours, fallback parser forced", ours_fallback_only, True),
    ]
    rows = []
    for name, tool, score in tools:
        if tool is None:
            print(f"skipped {name}: not installed (pip install -e '.[bench]')", file=sys.stderr)
            continue
        progress(f"{name}: {args.passes} passes over {len(pages)} pages")
        rows.append(measure(name, tool, pages, args.passes, score))
    print(table(rows, len(pages)))
    cases = [load_real_case(name) for name in CASES]
    real_tools: list[tuple[str, RealExtractor | None]] = [
        ("ours", ours_fields),
        (TRAFILATURA, make_trafilatura_fields()),
        ("GNE", make_gne_fields()),
    ]
    real_rows = [measure_real(name, tool, cases, args.passes) for name, tool in real_tools if tool]
    print()
    print(real_table(real_rows, len(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
