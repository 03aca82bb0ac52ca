"""Article extraction for 长城网 pages: bytes to text, text to item fields.

    text = decode_html(response.body, header_charset)   # crawler.site.charset
    extraction = extract(text, response.url)   # never raises
    fields = merge_pages([extraction, ...])     # multi-page articles, pages in order

See docs/extraction.md for the parser versions and how to add one.
"""

from __future__ import annotations

from crawler.extract.extraction import Extraction, extract, merge_pages

__all__ = ["Extraction", "extract", "merge_pages"]
