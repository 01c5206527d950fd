"""LLM-as-judge: versioned rubric, strict parser, redaction, sampling, selection, runner."""
