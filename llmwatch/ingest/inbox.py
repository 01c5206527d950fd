"""An inbox in an object store (``s3://bucket/prefix`` or any fsspec URL) shared by
workers on several hosts.

Each object is claimed in the warehouse (``llmwatch.warehouse.claims``) under the key
URL + ETag before it is downloaded, so two workers never load the same object; the
claim is marked done once the object's transaction committed, and the next listing
skips it without downloading it again. A worker that dies mid-object leaves a claim
whose lease runs out, and another worker then takes the object over; a failure that
is not the object's fault (the store or the warehouse went away) gives the claim up
at once. An object rewritten under the same name has a new ETag: it is a new piece of
work (its content is still deduplicated by fingerprint, as local files are).

Why claims in the warehouse and not a rename to a ``processing/`` prefix: object
stores have no atomic rename (S3 copies then deletes, and two workers can both copy),
a rename needs write access to the bucket where read access is enough here, and the
warehouse is already the one place every worker agrees on.

The object is downloaded to a temporary file and loaded by ``ingest_file`` exactly as
a local file, so validation, rejects and quarantine are the same; the URL is what the
warehouse records as its path.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from fsspec import AbstractFileSystem
from sqlalchemy import Engine, select

from llmwatch.ingest.loader import FileResult, Kind, ingest_file
from llmwatch.ingest.reader import SUFFIXES, is_signal_file
from llmwatch.pricing import PriceBook
from llmwatch.settings import IngestSettings
from llmwatch.warehouse import claims
from llmwatch.warehouse.models import IngestedFile, QuarantinedFile

SCOPE = "inbox"


def is_remote(location: str) -> bool:
    """An fsspec URL other than a local ``file://`` one."""
    return "://" in location and not location.startswith("file://")


@dataclass(frozen=True)
class RemoteObject:
    url: str
    etag: str
    signals: bool

    @property
    def key(self) -> str:
        return f"{self.url}#{self.etag}"


def filesystem(url: str, cfg: IngestSettings) -> tuple[AbstractFileSystem, str]:
    """The filesystem and the path inside it; the S3 endpoint and keys from the settings."""
    options: dict[str, Any] = {}
    if url.startswith(("s3://", "s3a://")):
        if cfg.inbox_endpoint_url:
            options["endpoint_url"] = cfg.inbox_endpoint_url
        if cfg.inbox_key is not None:
            options["key"] = cfg.inbox_key.get_secret_value()
        if cfg.inbox_secret is not None:
            options["secret"] = cfg.inbox_secret.get_secret_value()
    fs, path = fsspec.url_to_fs(url, **options)
    return fs, path


def list_objects(url: str, cfg: IngestSettings, signals: bool = False) -> list[RemoteObject]:
    """The input objects under ``url`` (known suffixes only, as in a local folder), in a
    stable order; signal files by name or a ``signals`` folder, as locally."""
    fs, root = filesystem(url, cfg)
    fs.invalidate_cache()  # s3fs caches listings: an object put since must show now
    if not fs.exists(root):
        raise FileNotFoundError(f"{url}: no such object or prefix")
    found = fs.find(root, detail=True)
    objects = []
    for path, info in sorted(found.items()):
        if path != root.rstrip("/") and not path.endswith(SUFFIXES):
            continue
        base = Path("/", root) if path != root.rstrip("/") else None
        is_signals = signals or is_signal_file(Path("/", path), base)
        objects.append(RemoteObject(fs.unstrip_protocol(path), etag(info), is_signals))
    return objects


def etag(info: dict[str, Any]) -> str:
    """The store's version tag of an object; stores without one: size and modification
    time (a rewrite changes one of them)."""
    for name in ("ETag", "etag", "md5", "generation"):
        if info.get(name):
            return str(info[name]).strip('"')
    return f"{info.get('size')}-{info.get('mtime') or info.get('LastModified') or ''}"


def pending(engine: Engine, objects: list[RemoteObject]) -> list[RemoteObject]:
    """The objects not yet loaded (by any worker)."""
    with engine.connect() as conn:
        done = claims.done_keys(conn, SCOPE, [o.key for o in objects])
    return [o for o in objects if o.key not in done]


def ingest_urls(
    engine: Engine, urls: list[str], cfg: IngestSettings, prices: PriceBook, signals: bool = False
) -> list[FileResult]:
    """Every object under these URLs (``llmwatch ingest s3://...``): objects loaded
    before are reported as already ingested, the others claimed and loaded."""
    owner = claims.new_owner()
    results = []
    for url in urls:
        objects = list_objects(url, cfg, signals)
        todo = {o.key for o in pending(engine, objects)}
        for obj in objects:
            kind: Kind = "signals" if obj.signals else "requests"
            if obj.key in todo:
                results.append(ingest_object(engine, obj.url, kind, cfg, prices, owner))
            else:
                results.append(_loaded_before(engine, obj.url, kind))
    return results


def _loaded_before(engine: Engine, url: str, kind: Kind) -> FileResult:
    """What the warehouse recorded for an object already done: ingested (as which
    kind), or quarantined (why)."""
    with engine.connect() as conn:
        seen = conn.execute(
            select(IngestedFile.kind, IngestedFile.fingerprint)
            .where(IngestedFile.path == url)
            .order_by(IngestedFile.ingested_at.desc())
            .limit(1)
        ).first()
        bad = conn.execute(
            select(QuarantinedFile.reason, QuarantinedFile.fingerprint)
            .where(QuarantinedFile.path == url)
            .limit(1)
        ).first()
    if seen is not None:
        return FileResult(
            url, seen.fingerprint, kind, already_ingested=True, previous_kind=seen.kind
        )
    if bad is not None:
        return FileResult(url, bad.fingerprint, kind, quarantined=bad.reason)
    # Done, yet neither table names it by this URL: the same bytes were ingested under
    # another name (as which kind is not known without downloading it again).
    return FileResult(url, "", kind, already_ingested=True)


def ingest_object(
    engine: Engine,
    url: str,
    kind: Kind,
    cfg: IngestSettings,
    prices: PriceBook,
    owner: str,
) -> FileResult:
    """Claim one object, download it and load it like a local file; an object another
    worker holds is left alone (``claimed_elsewhere``)."""
    fs, path = filesystem(url, cfg)
    key = RemoteObject(url, etag(fs.info(path)), kind == "signals").key
    now = datetime.now(UTC)
    lease = timedelta(seconds=cfg.inbox_claim_lease_seconds)
    with engine.begin() as conn:
        taken = claims.claim(conn, SCOPE, [key], owner, lease, now)
    if not taken:
        return FileResult(path=url, fingerprint="", kind=kind, claimed_elsewhere=True)
    try:
        with tempfile.TemporaryDirectory(prefix="llmwatch-inbox-") as folder:
            # The object's own name keeps its suffix (.gz, .json): it decides the reading.
            local = Path(folder) / PurePosixPath(path).name
            fs.get_file(path, str(local))
            result = ingest_file(engine, local, kind, cfg, prices, name=url)
    except BaseException:
        # Not the object's fault (a bad object is quarantined, not raised): give the
        # claim up so the next run retries; if even that fails, the lease runs out.
        with contextlib.suppress(Exception), engine.begin() as conn:
            claims.release(conn, SCOPE, [key], owner)
        raise
    with engine.begin() as conn:
        claims.finish(conn, SCOPE, [key], owner, datetime.now(UTC))
    return result
