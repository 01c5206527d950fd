from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from llmwatch.warehouse.engine import current_revision, head_revision, upgrade
from llmwatch.warehouse.models import Base


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_every_model_table_exists_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_upgrade_is_idempotent(engine: Engine) -> None:
    assert upgrade(engine) == head_revision(engine)
    assert upgrade(engine) == head_revision(engine)
