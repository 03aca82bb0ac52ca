"""The replica after a layout change: `python -m tests.drifted_replica --port 0 [--scale N]`.

Article pages of the main template lose the `post_source` block (source and time now share one
line of a `byline` block) and every page drops the `责任编辑` label: the layout parsers no longer
recognise most pages (the fallback parser reads them) and no page has an editor any more. The
replica itself is unchanged; this wraps its router, for the monitoring tests.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, cast

from twisted.internet import reactor as _reactor
from twisted.web import server

from tests.replica import render
from tests.replica.server import ReplicaResource, Response, Router
from tests.replica.site import DEFAULT_SCALE, DEFAULT_SEED, build_site

reactor = cast(Any, _reactor)  # the module stands for the installed reactor; mypy cannot know its type

_SOURCE_BLOCK = re.compile(r'<div class="post_source">(.*?)<br />', re.DOTALL)


def drift(page: str) -> str:
    return _SOURCE_BLOCK.sub(r'<div class="byline">\1 ', page).replace("责任编辑", "编辑")


class DriftedRouter(Router):
    def route(self, url: str) -> Response:
        response = super().route(url)
        if not response.content_type.startswith("text/html"):
            return response
        page = drift(response.body.decode(render.ENCODING))
        return Response(response.status, page.encode(render.ENCODING), response.content_type, response.location)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--scale", type=int, default=DEFAULT_SCALE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    factory = server.Site(ReplicaResource(DriftedRouter(build_site(args.scale, args.seed))))
    factory.log = lambda request: None  # type: ignore[method-assign]
    listener = reactor.listenTCP(args.port, factory, interface="127.0.0.1")
    print(f"serving on http://127.0.0.1:{listener.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
