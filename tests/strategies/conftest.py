"""The strategies fixtures (bars, owner, other, strategy) live in tests/conftest.py and their
builders in tests/factories.py. `sessions` is re-exported for tests that import it from here."""
from tests.factories import sessions

__all__ = ["sessions"]
