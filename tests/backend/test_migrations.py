"""The models and the Alembic migrations describe the same schema, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backend.migrate import current_revisions, head_revisions
from backend.models import metadata


async def test_models_and_migrations_agree(engine, db_url):
    def diff(connection):
        ctx = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations differ: {differences}"
    assert await current_revisions(engine) == head_revisions(db_url)
