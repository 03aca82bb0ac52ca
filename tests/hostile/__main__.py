"""`python -m tests.hostile proxy|victim`: the hostile proxy in front of the replica, and the victim.

```
python -m tests.hostile victim --port 0 --log victim.jsonl
python -m tests.hostile proxy --port 0 --victim http://127.0.0.1:PORT --groups links,traps --log proxy.jsonl [--scale 300]
```

Each prints `serving on http://127.0.0.1:PORT` once it listens.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.hostile.plan import GROUPS
from tests.hostile.server import serve_proxy, serve_victim
from tests.replica.site import DEFAULT_SEED, build_site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("proxy", "victim"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, default=0, help="0 picks a free port")
        p.add_argument("--log", type=Path, required=True, help="where to append one JSON line per event")
    proxy = sub.choices["proxy"]
    proxy.add_argument("--victim", required=True, help="the victim's address: http://127.0.0.1:PORT")
    proxy.add_argument("--groups", default=",".join(GROUPS), help="vector groups to serve: " + ", ".join(GROUPS))
    proxy.add_argument("--scale", type=int, default=300)
    proxy.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.command == "victim":
        serve_victim(args.port, args.log)
        return 0
    groups = tuple(g for g in args.groups.split(",") if g)
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")
    serve_proxy(build_site(args.scale, args.seed), args.port, args.victim, groups, args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
