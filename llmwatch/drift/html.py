"""The Evidently report as a standalone HTML page that user text cannot script.

Evidently 0.7 embeds the report data as JSON inside a ``<script>`` block without
escaping ``</script>``, so a category value or prompt containing ``</script><script>...``
ends the block and runs as code when the page is opened (seen with a hostile
``user_segment``). Inside the data block every ``<``, ``>`` and ``&`` can only occur in
JSON strings, where ``\\u003c`` etc. mean the same characters to the JavaScript that
reads them; rewriting them makes the block inert HTML-wise and changes nothing shown.
"""

from __future__ import annotations

import re

from evidently.core.report import Snapshot

# The data block written by evidently.legacy.utils.dashboard.file_html_template. The
# block ends at ";\n</script>": json.dumps never writes a raw newline, so user data
# cannot forge that ending.
_DATA_BLOCK = re.compile(
    r"(<script>\s*var (metric_[0-9a-f]+) = )(.*?)"
    r"(;\s*var additional_graphs_\2 = )(.*?)(;\n</script>)",
    re.DOTALL,
)
_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def safe_report_html(snapshot: Snapshot) -> str:
    return make_data_inert(snapshot.get_html_str(as_iframe=False))


def make_data_inert(page: str) -> str:
    """Escape the markup characters inside Evidently's embedded JSON data block."""
    page, count = _DATA_BLOCK.subn(
        lambda m: (
            m.group(1)
            + m.group(3).translate(_UNSAFE)
            + m.group(4)
            + m.group(5).translate(_UNSAFE)
            + m.group(6)
        ),
        page,
    )
    if count != 1:
        # A different Evidently page layout: refuse rather than write a page that may run
        # user text as script.
        raise RuntimeError(f"expected one Evidently data block in the report, found {count}")
    return page
