"""Shared fixtures: the replica of 长城网 and Redis, each served by a real process on loopback, and the
`integration` marker that keeps them out of the fast loop (`pytest -m "not integration"`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
import redis
from _pytest.mark.expression import Expression

from tests.replica.harness import NO_SERVERS, RedisServer, Replica, ReplicaServer
from tests.replica.site import Site, build_site

# A test that asks for one of these starts a server: it is an integration test, marked or not.
SERVER_FIXTURES = {"replica", "replica_300", "drifted_replica", "redis_server", "redis_url", "scrapyd"}


def only_integration(name: str, /, **kwargs: str | int | bool | None) -> bool:
    return name == "integration"


def pytest_configure(config: pytest.Config) -> None:
    """A session whose `-m` leaves out a test marked integration starts no server (nor do its children)."""
    markexpr = config.getoption("markexpr")
    if markexpr and not Expression.compile(markexpr).evaluate(only_integration):
        os.environ[NO_SERVERS] = markexpr


def pytest_unconfigure(config: pytest.Config) -> None:
    os.environ.pop(NO_SERVERS, None)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def default_site() -> Site:
    return build_site()


@pytest.fixture(scope="session")
def replica_300() -> Iterator[str]:
    """The address of a 300-story replica (no faults: it serves the same answer every time)."""
    with ReplicaServer("--scale", "300") as server:
        yield server.address


@pytest.fixture(scope="session")
def replica(default_site: Site) -> Iterator[Replica]:
    with ReplicaServer() as server:
        yield Replica(server.address, default_site)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """A Redis emptied for the test."""
    redis.Redis.from_url(redis_server).flushdb()
    return redis_server
