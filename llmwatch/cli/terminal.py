"""Text from records (feature ids, messages, paths) made safe to print to a terminal."""

from __future__ import annotations

import re

# C0 and C1 controls (ESC and CSI start the sequences that clear screens and retitle
# windows), DEL, and the bidirectional overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` as a string without control characters (each one removed)."""
    return _CONTROL.sub("", str(text))


def printable_lines(text: str) -> str:
    """Multi-line ``text`` with each line made printable (the line breaks are kept)."""
    return "\n".join(printable(line) for line in text.split("\n"))
