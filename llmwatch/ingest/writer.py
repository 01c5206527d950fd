"""Bulk writes of ingested rows in each dialect's native, idempotent form.

SQLite: one prepared ``INSERT ... ON CONFLICT DO NOTHING`` run with executemany.
PostgreSQL: ``COPY`` into a temporary staging table, then one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` — COPY is the fast path into
PostgreSQL, and the staging table keeps re-ingestion idempotent.
Both report how many rows were new, so duplicates are counted, not guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from llmwatch.warehouse.models import IngestedFile, IngestReject, Request, UserSignal
from llmwatch.warehouse.types import sqlite_timestamp_text

REQUEST_COLUMNS = (
    "request_id",
    "ts",
    "feature_id",
    "model_id",
    "provider",
    "latency_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_source",
    "finish_reason",
    "error",
    "session_id",
    "user_segment",
    "prompt_template_id",
    "input",
    "output",
    "context",
    "metadata",
    "ingested_at",
)
SIGNAL_COLUMNS = (
    "signal_id",
    "request_id",
    "session_id",
    "signal_type",
    "ts",
    "metadata",
    "ingested_at",
)
# What a request's content is, for telling a conflicting duplicate (same request_id,
# different content) from a plain re-send: every column but the ones ingest derives
# (a computed cost depends on the price table of the day, ingested_at on the run).
_CONTENT_COLUMNS = tuple(
    c for c in REQUEST_COLUMNS if c not in ("cost_usd", "cost_source", "ingested_at")
)
_COST = REQUEST_COLUMNS.index("cost_usd")
_SOURCE = REQUEST_COLUMNS.index("cost_source")
_CONTENT_INDEXES = tuple(REQUEST_COLUMNS.index(c) for c in _CONTENT_COLUMNS)
_SQLITE_IN_CHUNK = 500
REJECT_COLUMNS = ("file_fingerprint", "path", "line_no", "reason", "excerpt", "created_at")


class BulkWriter:
    """Writes rows (tuples in the column orders above) on one open transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._staged: set[str] = set()

    def timestamp(self, value: datetime) -> Any:
        """A timestamp in the form the bulk path sends for this dialect."""
        return sqlite_timestamp_text(value) if self.dialect == "sqlite" else value

    def insert_requests(self, rows: Sequence[tuple[Any, ...]]) -> int:
        return self._insert_ignore(Request.__table__, REQUEST_COLUMNS, rows)  # type: ignore[arg-type]

    def conflicts(self, rows: Sequence[tuple[Any, ...]]) -> list[str]:
        """The request_ids of ``rows`` (just inserted, or not, with insert_requests) whose
        stored row has different content: each is one conflicting duplicate."""
        if self.dialect == "postgresql":
            return self._conflicts_in_stage()
        stored: dict[str, tuple[Any, ...]] = {}
        ids = list({row[0] for row in rows})
        columns = ", ".join(f'"{c}"' for c in (*_CONTENT_COLUMNS, "cost_usd", "cost_source"))
        for start in range(0, len(ids), _SQLITE_IN_CHUNK):
            chunk = ids[start : start + _SQLITE_IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            query = f'SELECT {columns} FROM "requests" WHERE "request_id" IN ({marks})'
            for found in self.conn.exec_driver_sql(query, tuple(chunk)):
                content = tuple(found[: len(_CONTENT_COLUMNS)])
                cost, source = found[len(_CONTENT_COLUMNS) :]
                stored[found[0]] = (*content, cost if source == "record" else None)
        return [row[0] for row in rows if stored.get(row[0]) != _content(row)]

    def _conflicts_in_stage(self) -> list[str]:
        def content(alias: str) -> str:
            parts = [
                f'{alias}."{c}"::text' if c == "metadata" else f'{alias}."{c}"'
                for c in _CONTENT_COLUMNS
            ]
            parts.append(f"CASE WHEN {alias}.cost_source = 'record' THEN {alias}.cost_usd END")
            return ", ".join(parts)

        query = (
            'SELECT s.request_id FROM "_stage_requests" s JOIN "requests" r '
            f"ON r.request_id = s.request_id WHERE ({content('r')}) IS DISTINCT FROM "
            f"({content('s')})"
        )
        return list(self.conn.exec_driver_sql(query).scalars())

    def insert_signals(self, rows: Sequence[tuple[Any, ...]]) -> int:
        return self._insert_ignore(UserSignal.__table__, SIGNAL_COLUMNS, rows)  # type: ignore[arg-type]

    def insert_rejects(self, rows: Sequence[tuple[Any, ...]]) -> int:
        return self._insert_ignore(IngestReject.__table__, REJECT_COLUMNS, rows)  # type: ignore[arg-type]

    def insert_file(self, values: dict[str, Any]) -> bool:
        """Record a file as ingested; False when a concurrent run recorded it first."""
        table: Table = IngestedFile.__table__  # type: ignore[assignment]
        statement = _dialect_insert(self.dialect, table).values(**values).on_conflict_do_nothing()
        return self.conn.execute(statement).rowcount == 1

    def _insert_ignore(
        self, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
    ) -> int:
        if not rows:
            return 0
        if self.dialect == "postgresql":
            return self._copy_then_insert(table, columns, rows)
        statement = (
            _dialect_insert(self.dialect, table)
            .values(dict.fromkeys(columns))
            .on_conflict_do_nothing()
        )
        compiled = statement.compile(dialect=self.conn.dialect)
        positional = compiled.positiontup or list(columns)
        if list(positional) != list(columns):
            raise RuntimeError(f"unexpected bind order for {table.name}: {positional}")
        result = self.conn.exec_driver_sql(str(compiled), list(rows))
        return result.rowcount

    def _copy_then_insert(
        self, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
    ) -> int:
        stage = f"_stage_{table.name}"
        column_list = ", ".join(f'"{c}"' for c in columns)
        if stage not in self._staged:
            self.conn.exec_driver_sql(
                f'CREATE TEMPORARY TABLE IF NOT EXISTS "{stage}" ON COMMIT DROP '
                f'AS SELECT {column_list} FROM "{table.name}" WITH NO DATA'
            )
            self._staged.add(stage)
        self.conn.exec_driver_sql(f'TRUNCATE "{stage}"')
        raw = self.conn.connection.driver_connection
        assert raw is not None
        copy_sql = f'COPY "{stage}" ({column_list}) FROM STDIN'
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        result = self.conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({column_list}) SELECT {column_list} FROM "{stage}" '
            "ON CONFLICT DO NOTHING"
        )
        return result.rowcount


def _content(row: tuple[Any, ...]) -> tuple[Any, ...]:
    cost = row[_COST] if row[_SOURCE] == "record" else None
    return (*(row[i] for i in _CONTENT_INDEXES), cost)


def _dialect_insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"bulk ingest supports SQLite and PostgreSQL, not {dialect}")
