"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always UTC and always timezone-aware in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no timezone support, so the value is
    stored as naive UTC text in SQLAlchemy's usual format (``YYYY-MM-DD HH:MM:SS.ffffff``),
    which also sorts and compares correctly as text. Naive datetimes are refused on the
    way in: guessing a timezone is how off-by-hours bugs get into a warehouse.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw text from a SQLite expression column
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def sqlite_timestamp_text(value: datetime) -> str:
    """The text UTCDateTime stores on SQLite, for bulk paths that bypass bind processing."""
    # isoformat is C-fast and, with timespec, byte-identical to "%Y-%m-%d %H:%M:%S.%f".
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
