"""Where the PostgreSQL tests find their server.

.ci/run starts one and sets WEWORKTOP_TEST_POSTGRES_URL and WEWORKTOP_REQUIRE_POSTGRES=1,
so in CI a missing server fails the run; elsewhere those tests are skipped with a reason.
"""

from __future__ import annotations

import os

import pytest


def postgres_url() -> str:
    url = os.environ.get("WEWORKTOP_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("WEWORKTOP_REQUIRE_POSTGRES") == "1":
        pytest.fail("WEWORKTOP_REQUIRE_POSTGRES=1 but WEWORKTOP_TEST_POSTGRES_URL is not set")
    pytest.skip("set WEWORKTOP_TEST_POSTGRES_URL to run against PostgreSQL (.ci/run does)")


def empty_postgres_url() -> str:
    """postgres_url(), its database emptied of weworktop's tables: a store as on a first start."""
    # Imported here: the module stays importable for the tests that only skip.
    from sqlalchemy import create_engine, text

    from adapters.outbound.persistence.sqlalchemy_schema import metadata

    url = postgres_url()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        names = ", ".join([*metadata.tables, "schema_migrations"])
        conn.execute(text(f"DROP TABLE IF EXISTS {names}"))
    engine.dispose()
    return url
