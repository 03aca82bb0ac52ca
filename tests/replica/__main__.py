"""`python -m tests.replica serve|truth`: the replica of 长城网 and its ground truth."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial

from tests.replica.host_drift import MovedRouter
from tests.replica.server import FAULT_PROFILES, Router, serve
from tests.replica.site import (
    DEFAULT_SCALE,
    DEFAULT_SEED,
    ERA_2018,
    ERAS,
    SERVED,
    build_site,
    copy_truth,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.replica", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "truth"):
        p = sub.add_parser(name)
        p.add_argument("--scale", type=int, default=DEFAULT_SCALE, help="distinct stories (default %(default)s)")
        p.add_argument("--seed", type=int, default=DEFAULT_SEED)
        p.add_argument("--grow", type=int, default=0,
                       help="stories published after the rest: the same site some days later")
        p.add_argument("--era", default=ERA_2018, choices=ERAS,
                       help="2018: the portal on hebei.com.cn as its stored pages show it (default); "
                            "2026: the same with the portal of 2026 on hebccw.cn (docs/replica.md)")
    sub.choices["serve"].add_argument("--port", type=int, default=0, help="0 picks a free port")
    sub.choices["serve"].add_argument("--host", default="127.0.0.1", help="a loopback address")
    sub.choices["serve"].add_argument("--faults", default="none", choices=sorted(FAULT_PROFILES),
                                      help="what goes wrong: none, transient, standard (docs/replica.md)")
    sub.choices["serve"].add_argument("--links-to", default="", metavar="DOMAIN",
                                      help="the portal moved: listings link their articles on DOMAIN (host_drift.py)")
    sub.choices["serve"].add_argument("--redirects-to", default="", metavar="DOMAIN",
                                      help="the portal moved: article pages 301 to DOMAIN (host_drift.py)")
    sub.choices["serve"].add_argument("--latency", type=float, default=0, metavar="SECONDS",
                                      help="every response waits this long, as from a distant server")
    sub.choices["truth"].add_argument(
        "--copies", action="store_true", help="one line per published copy instead of per story"
    )
    args = parser.parse_args(argv)
    site = build_site(args.scale, args.seed, args.grow, args.era)
    if args.command == "serve":
        if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
            parser.error("the replica only listens on loopback addresses")
        moved = args.links_to or args.redirects_to
        router = partial(MovedRouter, links_to=args.links_to, redirects_to=args.redirects_to) if moved else Router
        serve(site, args.port, args.host, args.faults, router, args.latency)
        return 0
    out = sys.stdout
    if args.copies:
        rows = [copy_truth(c) for s in site.stories for c in s.copies if c.fate == SERVED]
    else:
        rows = site.truth()
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
