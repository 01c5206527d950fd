"""The static reports site (SPEC 4.6, 8): index page with alerts, charts and drift reports."""

from llmwatch.site.page import DRIFT_DIR, drift_report_name, generate_site, render_index

__all__ = ["DRIFT_DIR", "drift_report_name", "generate_site", "render_index"]
