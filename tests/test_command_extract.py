"""`scrapy extract [PATH | -] [--url URL]`, run as a subprocess from the repository root."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from tests.test_extract_fixtures import SAMPLE_DATA, load_case

ROOT = Path(__file__).resolve().parents[1]


def scrapy_extract(path: Path, url: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "extract", str(path), "--url", url],
        cwd=ROOT,
        capture_output=True,
        check=False,
        env={**os.environ, **env},
        timeout=120,
    )


def test_prints_the_fixture_output_as_one_json_line() -> None:
    case = "enorth-b/v1/seed-018955625"
    meta, _, expected = load_case(case)
    done = scrapy_extract(
        SAMPLE_DATA / case / "page.html.gz", meta["url"], PYTHONIOENCODING="ascii"
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode("utf-8").splitlines()
    assert len(lines) == 1
    assert "许勤" in lines[0]  # UTF-8, not \\u escapes, whatever the locale
    record = json.loads(lines[0])
    assert record["url"] == meta["url"]
    for name, value in expected.items():
        assert record[name] == value, name


def test_reads_an_uncompressed_page(tmp_path: Path) -> None:
    case = "enorth-a/v1/corpus-018109452"
    meta, body, expected = load_case(case)
    page = tmp_path / "page.html"
    page.write_bytes(body)
    done = scrapy_extract(page, meta["url"])
    assert done.returncode == 0, done.stderr.decode()
    record = json.loads(done.stdout)
    assert record["parser"] == "enorth-a/v1" and record["title"] == expected["title"]


def test_garbage_is_a_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(random.Random(5).randbytes(5000))
    done = scrapy_extract(garbage, "http://heb.hebei.com.cn/system/2020/01/01/100000001.shtml")
    assert done.returncode != 0
    assert done.stdout == b""
    assert "no readable article" in done.stderr.decode()


def test_empty_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    done = scrapy_extract(empty, "http://heb.hebei.com.cn/x.shtml")
    assert done.returncode != 0 and "empty" in done.stderr.decode()
    done = scrapy_extract(tmp_path / "missing.html", "http://heb.hebei.com.cn/x.shtml")
    assert done.returncode != 0 and "cannot read" in done.stderr.decode()


def test_reads_stdin_with_dash_or_no_path(tmp_path: Path) -> None:
    case = "enorth-b/v1/seed-018955625"
    meta, _, expected = load_case(case)
    page = (SAMPLE_DATA / case / "page.html.gz").read_bytes()  # gzipped bytes, as a pipe may carry them
    for args in (["-", "--url", meta["url"]], ["--url", meta["url"]]):
        done = subprocess.run([sys.executable, "-m", "scrapy", "extract", *args], input=page, cwd=ROOT,
                              capture_output=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        record = json.loads(done.stdout)
        assert record["url"] == meta["url"] and record["title"] == expected["title"] and record["problems"] == []


def test_a_page_without_its_url_still_extracts_and_says_what_the_url_was_for() -> None:
    case = "enorth-city/v1/corpus-100922359"  # a photo story whose images are partly root-relative
    _, _, expected = load_case(case)
    page = (SAMPLE_DATA / case / "page.html.gz").read_bytes()
    done = subprocess.run([sys.executable, "-m", "scrapy", "extract"], input=page, cwd=ROOT, capture_output=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    record = json.loads(done.stdout)
    assert record["url"] is None and record["parser"] == "enorth-city/v1"
    assert record["title"] == expected["title"] and record["captions"] == expected["captions"]
    assert record["page_urls"] == []
    problems = " | ".join(record["problems"])
    assert "page_urls" in problems and "--url" in problems
    assert "images: 2 relative URLs left unresolved without --url" in problems  # the two on sjz.hebei.com.cn
