"""The SQL warehouse every job writes to: schema, engine, bulk writes."""

from llmwatch.warehouse.engine import make_engine, settings_engine, upgrade

__all__ = ["make_engine", "settings_engine", "upgrade"]
