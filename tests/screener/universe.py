"""The hand-made universe moved to tests/factories.py (universe, universe_bars, ROWS, ...);
this module keeps the old import path for tests that use it."""
from tests.factories import AS_OF, INDICATOR_COLS, ROWS, SESSION
from tests.factories import universe as build
from tests.factories import universe_bars as add_bars

__all__ = ["AS_OF", "INDICATOR_COLS", "ROWS", "SESSION", "add_bars", "build"]
