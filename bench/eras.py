"""The numbers of issue 12: a full crawl and an unchanged re-run of the two-era replica (`--era 2026`),
their requests, the pages each parser version read, and the output against the truth.

    python bench/eras.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.replica.harness import (
    ERA_2026_SETTINGS,
    ReplicaServer,
    crawl_stats,
    read_stories,
    run_crawl,
)
from tests.replica.site import build_site
from tests.test_crawl import compare_with_truth

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
site = build_site(era="2026")
with ReplicaServer("--era", "2026") as server:
    for label, args in (("full", ("-a", "full=1")), ("re-run, unchanged", ())):
        t = time.time()
        r = run_crawl(server.address, out, "hebei", *args, settings=ERA_2026_SETTINGS)
        st = crawl_stats(r.stderr)
        parsers = {k.removeprefix("article/parser/"): v for k, v in st.items() if k.startswith("article/parser/")}
        print(f"{label}: exit {r.returncode}, {st['downloader/request_count']} requests, {st.get('listing/pages')} listing pages, "
              f"{st.get('item_scraped_count', 0)} articles parsed, {time.time()-t:.1f} s; parsers {parsers}; "
              f"fallback {st.get('article/fallback', 0)}; asked on newest family {st.get('article/asked_on_newest_family', 0)}; "
              f"failures {st.get('failures/total', 0)}")
        print("  vs truth:", compare_with_truth(read_stories(out), site.truth()) or "exact", len(read_stories(out)), "stories")
