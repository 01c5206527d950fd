"""Prometheus export of the latest window metrics and alert counts (SPEC 4.11)."""

from llmwatch.exporter.collector import WarehouseCollector
from llmwatch.exporter.serve import registry_for, render, start_exporter, write_textfile

__all__ = ["WarehouseCollector", "registry_for", "render", "start_exporter", "write_textfile"]
