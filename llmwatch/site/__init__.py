"""The static reports site (SPEC 4.12): home, feature, model, range, drift and triage pages."""

from llmwatch.site.layout import DRIFT_DIR, drift_report_name
from llmwatch.site.page import generate_site, render_index

__all__ = ["DRIFT_DIR", "drift_report_name", "generate_site", "render_index"]
