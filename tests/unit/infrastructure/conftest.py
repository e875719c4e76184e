import logging

import pytest


@pytest.fixture(autouse=True)
def restore_logging():
    """configure_logging replaces the root handlers with one bound to this test's captured
    stderr; put the previous ones back so later tests do not log into a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
