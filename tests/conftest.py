"""The fixtures the test modules share, and the --php-live option."""

from __future__ import annotations

import io
from typing import Any, Callable, Iterator

import pytest

from phprt.server import HttpServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--php-live",
        action="store_true",
        help="also run every conformance case through real PHP 8.2 and fail on any difference",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the spec clause (spec/*.md) this test checks")


@pytest.fixture
def make_server() -> Iterator[Callable[..., HttpServer]]:
    """Start HttpServers (their log in ``server.test_log``); shut them down after the test."""
    servers: list[HttpServer] = []

    def make(target: Any, **options: Any) -> HttpServer:
        stream = options.setdefault("log", io.StringIO())
        server = HttpServer(target, **options)
        server.test_log = stream  # type: ignore[attr-defined]
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.shutdown()
