"""The models and the Alembic migrations describe the same schema, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backend.messaging.search import UNMODELLED
from backend.migrate import current_revisions, head_revisions
from backend.models import metadata


async def test_models_and_migrations_agree(engine, db_url):
    def diff(connection):
        # The full-text search objects (FTS5 tables, GIN expression indexes) have no model.
        opts = {"compare_type": True, "include_name": lambda name, *_: name not in UNMODELLED}
        ctx = MigrationContext.configure(connection, opts=opts)
        return compare_metadata(ctx, metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations differ: {differences}"
    assert await current_revisions(engine) == head_revisions(db_url)


def test_the_revisions_form_one_line():
    """Branches that each added a revision off the same parent must be re-chained when merged:
    one head, and every revision with at most one parent."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config("alembic.ini"))
    assert len(script.get_heads()) == 1, script.get_heads()
    merges = [r.revision for r in script.walk_revisions() if isinstance(r.down_revision, tuple)]
    assert merges == []
