from __future__ import annotations

import pytest

from app.screener.queries import clear_bar_cache
from tests.screener import universe as _universe


@pytest.fixture(autouse=True)
def _fresh_bar_cache():
    clear_bar_cache()
    yield
    clear_bar_cache()


@pytest.fixture()
def universe(db):
    return _universe.build()


@pytest.fixture()
def universe_bars(db):
    return _universe.build(bars=True)


@pytest.fixture()
def trader(db, factories):
    return factories.user()
