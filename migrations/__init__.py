"""Alembic migrations of the llmwatch warehouse (run with ``llmwatch init``)."""
