"""Requests as JSON, not pickle: what a worker pushes to the job's queue is read by every other
worker, and unpickling what another process wrote runs whatever it says.

`Request.to_dict` gives plain data, except for what our requests carry in `cb_kwargs` and `meta`:
a `Channel` travels as its name (the reading spider knows its channels), a page already read of a
multi-page article (`Extraction`) as its fields. Tuples, bytes (headers, body) and dicts with
keys that are not strings are tagged, so that they come back as they went. Anything else is a
TypeError at push time: a request that cannot travel is a bug to see, not a request to lose.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from crawler.extract import Extraction
from crawler.extract.extraction import PageKind
from crawler.site.channels import Channel

_TAG = "__t"


def encode(value: Any) -> Any:
    """`value` as plain JSON data."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {_TAG: "tuple", "v": [encode(v) for v in value]}
    if isinstance(value, bytes):
        return {_TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) and k != _TAG for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {_TAG: "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, Channel):
        return {_TAG: "channel", "v": value.name}
    if isinstance(value, Extraction):
        return {_TAG: "extraction", "v": [value.kind.value, value.parser, encode(value.fields),
                                          value.page_urls, value.problems]}
    raise TypeError(f"a request carrying a {type(value).__name__} cannot go through the job's queue: {value!r}")


def decode(value: Any, channel: Callable[[str], Channel]) -> Any:
    """The inverse of `encode`; `channel(name)` gives back a channel."""
    if isinstance(value, list):
        return [decode(v, channel) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: decode(v, channel) for k, v in value.items()}
    inner = value["v"]
    if tag == "tuple":
        return tuple(decode(v, channel) for v in inner)
    if tag == "bytes":
        return base64.b64decode(inner)
    if tag == "dict":
        return {decode(k, channel): decode(v, channel) for k, v in inner}
    if tag == "channel":
        return channel(inner)
    if tag == "extraction":
        kind, parser, fields, page_urls, problems = inner
        return Extraction(PageKind(kind), parser, decode(fields, channel), page_urls, problems)
    raise ValueError(f"unknown tag {tag!r} in a queued request")


def dumps(request: dict[str, Any]) -> str:
    return json.dumps(encode(request), ensure_ascii=False, separators=(",", ":"))


def loads(data: str | bytes, channel: Callable[[str], Channel]) -> dict[str, Any]:
    decoded: dict[str, Any] = decode(json.loads(data), channel)
    return decoded
