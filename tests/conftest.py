import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--php-live",
        action="store_true",
        help="also run every conformance case through real PHP 8.2 and fail on any difference",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the spec clause (spec/*.md) this test checks")
