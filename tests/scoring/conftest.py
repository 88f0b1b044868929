"""scoring/ is pure: its tests need no database, so the suite-wide fixtures do nothing here."""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[None]:
    yield


@pytest.fixture(autouse=True)
def clean_database() -> Iterator[None]:
    yield
