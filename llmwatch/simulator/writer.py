"""Generated traffic as SPEC 3.1 request records and 3.2 user signals, in daily JSONL files.

Optional fields are left out rather than written as null when they do not apply (no
TTFT for non-streaming calls, no cost for most records so that ingestion prices them).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import orjson

from llmwatch.simulator.features import DEFAULT_FEATURES
from llmwatch.simulator.scenario import Scenario
from llmwatch.simulator.signals import SIGNAL_TYPES
from llmwatch.simulator.text import compose_rows
from llmwatch.simulator.traffic import (
    ERROR,
    ERROR_MESSAGES,
    LENGTH,
    REFUSAL,
    Traffic,
    gc_paused,
    generate_traffic,
)
from llmwatch.simulator.vocabulary import PROMPT_TEMPLATE_IDS

_FINISH = {
    "openai": {0: "stop", LENGTH: "length", REFUSAL: "refusal", ERROR: "error"},
    "anthropic": {0: "end_turn", LENGTH: "max_tokens", REFUSAL: "refusal", ERROR: "error"},
}
_BATCH = 50_000


def _iso(ms: np.ndarray) -> list[str]:
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return [t + "Z" for t in text.tolist()]


def iter_records(traffic: Traffic, lo: int = 0, hi: int | None = None) -> Iterator[dict[str, Any]]:
    """Request records ``lo:hi`` as SPEC 3.1 dicts."""
    hi = len(traffic) if hi is None else hi
    c = traffic.columns
    sl = slice(lo, hi)
    timestamps = _iso(c["timestamp_ms"][sl])
    texts = None if traffic.text_plan is None else compose_rows(traffic, traffic.text_plan, lo, hi)
    columns = zip(
        range(lo, hi),
        timestamps,
        c["feature"][sl].tolist(),
        c["model"][sl].tolist(),
        c["version"][sl].tolist(),
        c["segment"][sl].tolist(),
        c["session"][sl].tolist(),
        c["latency_ms"][sl].tolist(),
        c["ttft_ms"][sl].tolist(),
        c["input_tokens"][sl].tolist(),
        c["output_tokens"][sl].tolist(),
        c["cached_input_tokens"][sl].tolist(),
        c["cache_write_tokens"][sl].tolist(),
        c["cost_usd"][sl].tolist(),
        c["finish"][sl].tolist(),
        c["error_kind"][sl].tolist(),
        strict=True,
    )
    features, models, segments = traffic.feature_names, traffic.model_names, traffic.segment_names
    providers, fingerprints = traffic.providers, traffic.fingerprints
    seed = traffic.seed
    for (
        i,
        timestamp,
        feature,
        model,
        version,
        segment,
        session,
        latency,
        ttft,
        input_tokens,
        output_tokens,
        cached,
        written,
        cost,
        finish,
        error_kind,
    ) in columns:
        provider = providers[model]
        feature_name = features[feature]
        record: dict[str, Any] = {
            "request_id": f"sim-{seed}-{i:09d}",
            "timestamp": timestamp,
            "feature_id": feature_name,
            "model_id": models[model],
            "provider": provider,
            "latency_ms": latency,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "finish_reason": _FINISH[provider][finish],
            "session_id": f"sess-{seed}-{session:08d}",
            "user_segment": segments[segment],
            "prompt_template_id": PROMPT_TEMPLATE_IDS.get(feature_name, feature_name),
        }
        if ttft == ttft:  # not NaN: only streaming calls report a first token
            record["ttft_ms"] = ttft
        if cached:
            record["cached_input_tokens"] = cached
        if written:
            record["cache_write_tokens"] = written
        if cost == cost:
            record["cost_usd"] = cost
        if error_kind >= 0:
            record["error"] = ERROR_MESSAGES[error_kind]
        metadata: dict[str, Any] = {"system_fingerprint": fingerprints[version]}
        if texts is not None:
            record["input"] = texts["input"][i - lo]
            output = texts["output"][i - lo]
            if output is not None:
                record["output"] = output
            context = texts["context"][i - lo]
            if context is not None:
                record["context"] = context
                doc_ids = texts["doc_ids"][i - lo]
                metadata["retrieved_doc_ids"] = doc_ids.split(",") if doc_ids else []
        record["metadata"] = metadata
        yield record


def iter_signals(traffic: Traffic) -> Iterator[dict[str, Any]]:
    s = traffic.signals
    if not s:
        return
    timestamps = _iso(s["timestamp_ms"])
    sessions = traffic.columns["session"]
    seed = traffic.seed
    for request, kind, timestamp in zip(
        s["request"].tolist(), s["type"].tolist(), timestamps, strict=True
    ):
        yield {
            "request_id": f"sim-{seed}-{request:09d}",
            "session_id": f"sess-{seed}-{int(sessions[request]):08d}",
            "signal_type": SIGNAL_TYPES[kind],
            "timestamp": timestamp,
        }


@dataclass
class GenerationSummary:
    out_dir: Path
    requests: int
    signals: int
    request_files: list[Path] = field(default_factory=list)
    signal_files: list[Path] = field(default_factory=list)
    ground_truth_file: Path | None = None
    seconds: float = 0.0


def write_traffic(
    traffic: Traffic, out_dir: str | Path, *, compress: bool = False
) -> GenerationSummary:
    """Write ``requests-YYYY-MM-DD.jsonl[.gz]``, ``signals-...`` and ``ground_truth.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with gc_paused():
        return _write(traffic, out, compress)


def _write(traffic: Traffic, out: Path, compress: bool) -> GenerationSummary:
    summary = GenerationSummary(out_dir=out, requests=len(traffic), signals=0)
    suffix = ".jsonl.gz" if compress else ".jsonl"
    day_starts = _day_starts(traffic)
    times = traffic.columns["timestamp_ms"]
    bounds = np.searchsorted(times, [ms for _, ms in day_starts] + [np.iinfo(np.int64).max])
    for (day, _), lo, hi in zip(day_starts, bounds[:-1], bounds[1:], strict=True):
        if hi <= lo:
            continue
        path = out / f"requests-{day}{suffix}"
        with _open(path, compress) as requests_file:
            # Line by line into the buffered file: orjson's result objects are over-allocated,
            # so collecting a batch of them first costs kilobytes per record.
            write = requests_file.write
            for batch_lo in range(int(lo), int(hi), _BATCH):
                for record in iter_records(traffic, batch_lo, min(int(hi), batch_lo + _BATCH)):
                    write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        summary.request_files.append(path)
    # Signals come sorted by time, so each day's file is written in one go.
    handle: IO[bytes] | None = None
    current_day = ""
    try:
        for signal in iter_signals(traffic):
            signal_day = signal["timestamp"][:10]
            if handle is None or signal_day != current_day:
                if handle is not None:
                    handle.close()
                current_day = signal_day
                path = out / f"signals-{signal_day}{suffix}"
                handle = _open(path, compress)
                summary.signal_files.append(path)
            handle.write(orjson.dumps(signal, option=orjson.OPT_APPEND_NEWLINE))
            summary.signals += 1
    finally:
        if handle is not None:
            handle.close()
    summary.ground_truth_file = out / "ground_truth.json"
    summary.ground_truth_file.write_text(json.dumps(ground_truth_document(traffic), indent=2))
    return summary


def ground_truth_document(traffic: Traffic) -> dict[str, Any]:
    scenario = traffic.scenario
    return {
        "scenario": scenario.name,
        "start": traffic.start.isoformat(),
        "end": traffic.end.isoformat(),
        "seed": traffic.seed,
        "requests": len(traffic),
        "incidents": [
            {**truth.to_dict(), "end": min(truth.end, traffic.end).isoformat()}
            for truth in scenario.ground_truth()
            if truth.start < traffic.end and truth.end > traffic.start
        ],
    }


def generate(
    out_dir: str | Path,
    scenario: Scenario | str | Path | None = None,
    *,
    start: datetime | str | None = None,
    days: float | None = None,
    requests_per_day: int | None = None,
    seed: int | None = None,
    include_text: bool = True,
    compress: bool = False,
) -> GenerationSummary:
    """Generate traffic for a scenario and write it under ``out_dir``."""
    began = time.perf_counter()
    traffic = generate_traffic(
        scenario,
        start=start,
        days=days,
        requests_per_day=requests_per_day,
        seed=seed,
        include_text=include_text,
        features=DEFAULT_FEATURES,
    )
    summary = write_traffic(traffic, out_dir, compress=compress)
    summary.seconds = time.perf_counter() - began
    return summary


def _day_starts(traffic: Traffic) -> list[tuple[str, int]]:
    day = traffic.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    while day < traffic.end:
        days.append((day.date().isoformat(), int(day.timestamp() * 1000)))
        day += timedelta(days=1)
    return days


def _open(path: Path, compress: bool) -> IO[bytes]:
    if compress:
        return cast(IO[bytes], gzip.open(path, "wb", compresslevel=1))
    return path.open("wb", buffering=1 << 20)
