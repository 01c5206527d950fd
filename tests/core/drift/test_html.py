"""The Evidently page's embedded data cannot close its script block."""

from __future__ import annotations

import json

import pytest

from llmwatch.drift.html import make_data_inert

HOSTILE = "</script><script>document.title='pwned'</script>"


def _page(value: str) -> str:
    data = json.dumps({"x": [value, "a & b"]})
    return (
        "<html><head><script>var lib = 1;</script></head><body>"
        f"<script>\n    var metric_ab12 = {data};\n"
        f"    var additional_graphs_metric_ab12 = {data};\n</script>"
        "<div id='root'></div></body></html>"
    )


def test_markup_in_the_data_is_escaped_and_means_the_same() -> None:
    page = make_data_inert(_page(HOSTILE))
    assert HOSTILE not in page
    assert page.count("</script>") == 2  # the library's and the data block's own
    payload = page.split("var metric_ab12 = ", 1)[1].split(";\n", 1)[0]
    assert json.loads(payload) == {"x": [HOSTILE, "a & b"]}


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(RuntimeError, match="found 0"):
        make_data_inert("<html><script>var other = {};</script></html>")
