"""Numbers computed from the request texts, so that Evidently can compare them."""

from __future__ import annotations

import pandas as pd

# The prompt itself is compared as text; these describe its shape.
TEXT_FEATURES = ("prompt_chars", "prompt_words", "prompt_lines", "response_chars", "response_words")


def add_text_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Lengths of prompt (``input``) and response (``output``); a missing text counts as empty."""
    prompt = frame["prompt"].fillna("").astype(str)
    response = frame["response"].fillna("").astype(str)
    frame["prompt_chars"] = prompt.str.len().astype("float64")
    frame["prompt_words"] = prompt.str.split().str.len().fillna(0).astype("float64")
    frame["prompt_lines"] = (prompt.str.count("\n") + 1).astype("float64")
    frame["response_chars"] = response.str.len().astype("float64")
    frame["response_words"] = response.str.split().str.len().fillna(0).astype("float64")
    frame["prompt"] = prompt
    return frame
