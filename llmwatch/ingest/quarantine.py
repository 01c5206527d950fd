"""Files that fail as a whole are quarantined, not retried forever (the dead-letter model
of Kafka Connect's ``errors.tolerance=all``).

A file that cannot be read to its end (I/O error, corrupt or cut gzip), or whose values
the warehouse refuses in a way validation did not foresee, is recorded in
``quarantined_files`` with its reason and raises one ``ingest_rejects`` alert; nothing
of it is loaded, and the run goes on with the next file. A warehouse that is down is
not the file's fault: that error propagates, so the run fails and retries.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import Connection, exc, select
from sqlalchemy.dialects import postgresql, sqlite

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.ingest.reader import UnreadableFile
from llmwatch.redact import redact
from llmwatch.warehouse.models import QuarantinedFile

_MAX_REASON = 500
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Python errors raised by values (a validation gap), not by the environment.
_DATA_ERRORS = (ValueError, TypeError, OverflowError, KeyError, AttributeError, IndexError)


def storable(text: str) -> str:
    """Text with the characters no backend can store replaced (for reasons, excerpts,
    paths: they are about the data, so they may quote it)."""
    return _UNSTORABLE.sub("\ufffd", text)


def unreadable_fingerprint(path: str) -> str:
    """The key of a file whose bytes cannot even be read to fingerprint them."""
    return hashlib.sha256(f"unreadable:{path}".encode("utf-8", "surrogateescape")).hexdigest()


def file_problem(error: BaseException) -> str | None:
    """Why a failed file is quarantined, or None when the failure is not the file's
    (the warehouse is unreachable or not migrated): then the error propagates."""
    if isinstance(error, UnreadableFile):
        return str(error)
    if isinstance(error, exc.DBAPIError):
        state = str(getattr(error.orig, "sqlstate", "") or "")
        if isinstance(error, exc.DataError | exc.IntegrityError) or state[:2] in ("22", "23"):
            return f"the warehouse refused a value: {_first_line(error.orig)}"
        return None
    state = str(getattr(error, "sqlstate", "") or "")  # psycopg's own errors (COPY)
    if state[:2] in ("22", "23"):
        return f"the warehouse refused a value: {_first_line(error)}"
    if isinstance(error, _DATA_ERRORS) and not isinstance(error, exc.SQLAlchemyError):
        return f"{type(error).__name__}: {_first_line(error)}"
    return None


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip().splitlines()
    return text[0][:_MAX_REASON] if text else type(error).__name__


def is_quarantined(conn: Connection, fingerprint: str) -> str | None:
    """The reason a file with this fingerprint was quarantined, or None."""
    query = select(QuarantinedFile.reason).where(QuarantinedFile.fingerprint == fingerprint)
    return conn.execute(query).scalar_one_or_none()


def quarantine(
    conn: Connection, fingerprint: str, path: str, kind: str, reason: str, now: datetime
) -> None:
    """Record the file and raise its one alert (a concurrent run may have done it first)."""
    reason = storable(redact(reason))[:_MAX_REASON]
    path = storable(path)
    values = {"fingerprint": fingerprint, "path": path, "kind": kind, "reason": reason,
              "quarantined_at": now}  # fmt: skip
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(QuarantinedFile).values(**values).on_conflict_do_nothing()
    if conn.execute(statement.returning(QuarantinedFile.fingerprint)).first() is None:
        return
    alert = NewAlert(
        kind="ingest_rejects",
        flow="ingest",
        severity="warning",
        metric="quarantined_files",
        value=1.0,
        threshold=0.0,
        message=f"{path} quarantined, nothing of it loaded: {reason}",
        details={"path": path, "fingerprint": fingerprint, "reason": reason},
        series_suffix=fingerprint,
    )
    record_alerts(conn, [alert], now=now)
