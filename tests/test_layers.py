"""The layers of the code base (docs/crawling.md, "Where things live") and the one direction of
imports between them: a module imports only from its own layer or the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Bottom first. A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("compact", ("crawler.compact",)),  # containers, pure
    ("site", ("crawler.site",)),
    ("contract", ("crawler.items", "crawler.output", "crawler.settings", "crawler.signals")),
    ("extract", ("crawler.extract",)),
    # the job of several workers (its keys, its queue) is below the store, which records in its ledger
    ("distributed", ("crawler.distributed",)),
    ("pipelines", ("pipelines",)),
    ("spiders", ("crawler.spiders", "crawler.middlewares")),
    ("ops", ("crawler.ops",)),
    ("commands", ("crawler.commands",)),
]
# What each layer may import from outside the project, where that is restricted.
FORBIDDEN_OUTSIDE = {"compact": ("scrapy", "twisted"), "site": ("scrapy", "twisted"), "extract": ("scrapy", "twisted")}


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    return best[0] if best else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[str]:
    """Every module an import statement names, at any depth of the file (lazy imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            found.append(node.module or "")
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


SOURCES = sorted(p for folder in ("crawler", "pipelines") for p in (REPO / folder).rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert SOURCES
    assert [module_name(p) for p in SOURCES if layer_of(module_name(p)) is None] in ([], ["crawler"])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_imports_run_one_way(path: Path) -> None:
    me = module_name(path)
    rank = layer_of(me)
    if rank is None:
        return
    name = LAYERS[rank][0]
    for imported in imports_of(path):
        other = layer_of(imported)
        if other is not None:
            assert other <= rank, f"{me} ({name}) imports {imported} ({LAYERS[other][0]}), a layer above it"
        for outside in FORBIDDEN_OUTSIDE.get(name, ()):
            assert imported != outside and not imported.startswith(outside + "."), (
                f"{me} ({name}) imports {imported}: this layer is pure")
        assert not imported.startswith("tests"), f"{me} imports test code: {imported}"


def test_the_layer_rule_catches_an_upward_import() -> None:
    assert layer_of("crawler.ops.monitor") > layer_of("crawler.spiders.channel") > layer_of("pipelines.store")
    assert layer_of("pipelines.state.sqlite") > layer_of("crawler.output") > layer_of("crawler.site.urls")
