"""Alembic environment: the engine comes from ``llmwatch init`` (or the settings)."""

from __future__ import annotations

from alembic import context

from llmwatch.warehouse.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from llmwatch.settings import get_settings
        from llmwatch.warehouse.engine import make_engine

        engine = make_engine(get_settings().resolved_warehouse_url())
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `llmwatch init`")
run_migrations_online()
