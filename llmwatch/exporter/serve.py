"""Expose the warehouse collector over HTTP, or write it for node_exporter's textfile
collector (written to a temporary file in the same folder, then renamed: a scrape never
reads half a file)."""

from __future__ import annotations

import threading
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client import write_to_textfile as _write_to_textfile
from sqlalchemy import Engine

from llmwatch.exporter.collector import WarehouseCollector


def registry_for(engine: Engine) -> CollectorRegistry:
    # auto_describe=False: registering must not query the warehouse.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector(engine))
    return registry


def render(engine: Engine) -> str:
    """The current metrics in the Prometheus text format."""
    return generate_latest(registry_for(engine)).decode()


def write_textfile(engine: Engine, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_to_textfile(str(path), registry_for(engine))


def start_exporter(
    engine: Engine, port: int, addr: str = "127.0.0.1"
) -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics in a daemon thread; ``server.shutdown()`` stops it."""
    return start_http_server(port, addr=addr, registry=registry_for(engine))
