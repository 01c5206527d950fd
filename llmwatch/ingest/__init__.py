"""Ingestion of request records, user signals and OTel GenAI spans (SPEC 3.1-3.3, 4.1)."""

from llmwatch.ingest.loader import FileResult, IngestSummary, ingest_file, ingest_paths

__all__ = ["FileResult", "IngestSummary", "ingest_file", "ingest_paths"]
