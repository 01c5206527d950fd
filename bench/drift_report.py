"""Daily drift step on N vs N requests next to Evidently alone on the same frames.

    .venv/bin/python bench/drift_report.py [--rows 100000,1000000] [--sample-size 20000]

For each N, the simulator's traffic generator writes two days of traffic with N
requests a day (the second day carries an input shift in support_chat), and
``llmwatch.ingest.ingest_paths`` loads it into a fresh SQLite warehouse (setup, timed
and printed but not part of the comparison). Then, each in a fresh subprocess so peak
RSS is that case's own:

  llmwatch   the drift step of the flow (the core functions its tasks call, in the
             same order, without the Prefect run around them): read the window ids and
             draw the seeded bounded sample on both sides (``load_window``), fetch the
             sampled rows with text features and judge scores, Evidently
             (``run_drift``: DataDriftPreset with tests, verdicts read back), the
             script-inert HTML page written to disk, the run and its per-column
             verdicts replaced in the warehouse, input_drift alerts recorded;
  evidently  the reference: ``Report([DataDriftPreset(...)]).run`` alone on the very
             frames the llmwatch case compared (pickled by it), same columns, same
             DataDefinition - no sampling, no database, no HTML, no verdict extraction.

Time is wall clock of the work only (imports, connecting and unpickling excluded).
Memory is the subprocess's peak RSS (the warehouse is built in a subprocess of its own,
so the driver that forks the cases stays small: Linux carries the parent's peak into a
forked child's ru_maxrss). It is ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, so it
covers native memory of NumPy/pandas/SQLite too, not only Python objects; absolute
and as the increase over the process after imports.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = "2026-03-03T00:00:00Z"  # a Tuesday: both days are weekdays of equal volume
REPORT_DATE = date(2026, 3, 4)


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- setup ---------------------------------------------------------------------------


def build(folder: Path, rows: int) -> str:
    from llmwatch.ingest import ingest_paths
    from llmwatch.settings import Settings
    from llmwatch.simulator import Scenario
    from llmwatch.simulator.writer import generate
    from llmwatch.warehouse.engine import make_engine, upgrade

    scenario = Scenario.from_dict(
        {
            "scenario": {
                "name": "drift-bench",
                "start": START,
                "days": 2,
                "seed": 11,
                "requests_per_day": rows,
            },
            "incidents": [
                {
                    "kind": "input_shift",
                    "feature": "support_chat",
                    "start": "+1d",
                    "end": "+2d",
                    "segment": "developer_beta",
                    "share": 0.4,
                }
            ],
        }
    )
    started = time.perf_counter()
    generate(folder / "traffic", scenario)
    generated = time.perf_counter() - started
    url = f"sqlite:///{folder / 'warehouse.db'}"
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    summary = ingest_paths(engine, [folder / "traffic"], Settings(warehouse_url=url))
    engine.dispose()
    print(
        f"  setup: generated 2 x {rows:,} requests in {generated:.1f} s, ingested "
        f"{summary.total('loaded'):,} in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return url


# --- the measured cases (each in its own subprocess) ----------------------------------


def case_llmwatch(url: str, sample_size: int, frames: Path, reports: Path) -> dict[str, Any]:
    from sqlalchemy import text

    from llmwatch.alerts import record_alerts
    from llmwatch.drift import (
        drift_windows,
        input_drift_alerts,
        load_window,
        replace_run,
        run_drift,
    )
    from llmwatch.drift.html import safe_report_html
    from llmwatch.settings import DriftSettings
    from llmwatch.warehouse.engine import make_engine

    settings = DriftSettings(reference_days=1, sample_size=sample_size)
    windows = drift_windows(REPORT_DATE, settings)
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    base = maxrss_mib()
    started = time.perf_counter()
    with engine.connect() as conn:
        reference = load_window(
            conn, windows.reference_start, windows.reference_end,
            sample_size=settings.sample_size, seed=settings.sample_seed, rubric_version="v1",
        )  # fmt: skip
        current = load_window(
            conn, windows.current_start, windows.current_end,
            sample_size=settings.sample_size, seed=settings.sample_seed, rubric_version="v1",
        )  # fmt: skip
    loaded = time.perf_counter()
    result = run_drift(
        reference.frame, current.frame, drift_share=settings.drift_share,
        min_judged=settings.min_judged,
    )  # fmt: skip
    compared = time.perf_counter()
    path = reports / f"{REPORT_DATE.isoformat()}.html"
    path.write_text(safe_report_html(result.snapshot), encoding="utf-8")
    rendered = time.perf_counter()
    alerts = input_drift_alerts(windows, result, settings.drift_share, str(path))
    with engine.begin() as conn:
        replace_run(
            conn, windows, result, n_reference=reference.population,
            n_current=current.population, report_path=str(path),
        )  # fmt: skip
        record_alerts(conn, alerts)
    finished = time.perf_counter()
    engine.dispose()
    names = [c.column for c in result.columns]
    with frames.open("wb") as fh:
        pickle.dump((reference.frame, current.frame, names), fh)
    return {
        "seconds": finished - started,
        "load_s": loaded - started,
        "evidently_s": compared - loaded,
        "html_s": rendered - compared,
        "write_s": finished - rendered,
        "base_mib": base,
        "populations": [reference.population, current.population],
        "sampled": [len(reference.frame), len(current.frame)],
        "drifted": [c.column for c in result.drifted],
        "n_columns": len(result.columns),
    }


def case_evidently(frames: Path) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from llmwatch.drift.evidently_run import select_columns

    with frames.open("rb") as fh:
        reference, current, names = pickle.load(fh)
    # The same column kinds llmwatch chose (it only drops columns without enough values).
    kinds, _ = select_columns(reference, current, min_judged=30)
    kinds = {n: kinds[n] for n in names}
    definition = DataDefinition(
        numerical_columns=[n for n in names if kinds[n] == "numerical"],
        categorical_columns=[n for n in names if kinds[n] == "categorical"],
        text_columns=[n for n in names if kinds[n] == "text"],
    )
    base = maxrss_mib()
    started = time.perf_counter()
    Report([DataDriftPreset(columns=names, drift_share=0.25)]).run(
        Dataset.from_pandas(current[names], data_definition=definition),
        Dataset.from_pandas(reference[names], data_definition=definition),
    )
    return {"seconds": time.perf_counter() - started, "base_mib": base}


def run_case(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(args: argparse.Namespace) -> None:
    if args.case == "build":
        print(json.dumps({"url": build(Path(args.folder), args.build_rows)}))
        return
    frames = Path(args.frames)
    if args.case == "llmwatch":
        result = case_llmwatch(args.url, args.sample_size, frames, Path(args.reports))
    else:
        result = case_evidently(frames)
    result["peak_mib"] = maxrss_mib()
    print(json.dumps(result))


# --- driver ------------------------------------------------------------------------------


def bench(rows: int, sample_size: int) -> dict[str, Any]:
    print(f"\n== {rows:,} vs {rows:,} requests", flush=True)
    with tempfile.TemporaryDirectory(prefix="llmwatch-drift-bench-") as tmp:
        folder = Path(tmp)
        # Built in a subprocess too: Linux carries a parent's peak RSS over fork+exec into
        # the child's ru_maxrss, so the driver must stay small for the peaks to be fair.
        built = subprocess.run(
            [sys.executable, __file__, "--case", "build", "--folder", tmp,
             "--build-rows", str(rows)],
            check=True, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        url = json.loads(built.stdout.strip().splitlines()[-1])["url"]
        frames = folder / "frames.pkl"
        common = ["--url", url, "--sample-size", str(sample_size), "--frames", str(frames)]
        ours = run_case(["--case", "llmwatch", *common, "--reports", str(folder)])
        ref = run_case(["--case", "evidently", *common])
    print(
        f"  populations {ours['populations'][0]:,} / {ours['populations'][1]:,}, sampled "
        f"{ours['sampled'][0]:,} / {ours['sampled'][1]:,}; "
        f"{len(ours['drifted'])} of {ours['n_columns']} columns drifted: "
        + ", ".join(ours["drifted"]),
        flush=True,
    )
    return {"rows": rows, "llmwatch": ours, "evidently": ref}


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        "\n| rows per side | case | wall s | of which: load+sample / Evidently / HTML / "
        "writes | peak RSS MiB | + over imports MiB |"
    )
    print("|---:|---|---:|---|---:|---:|")
    for r in results:
        o, e = r["llmwatch"], r["evidently"]
        print(
            f"| {r['rows']:,} | llmwatch drift step | {o['seconds']:.2f} | "
            f"{o['load_s']:.2f} / {o['evidently_s']:.2f} / {o['html_s']:.2f} / "
            f"{o['write_s']:.2f} | {o['peak_mib']:.0f} | {o['peak_mib'] - o['base_mib']:.0f} |"
        )
        print(
            f"| {r['rows']:,} | Evidently Report.run alone | {e['seconds']:.2f} | - | "
            f"{e['peak_mib']:.0f} | {e['peak_mib'] - e['base_mib']:.0f} |"
        )
        print(f"| | ratio llmwatch / Evidently | {o['seconds'] / e['seconds']:.2f}x | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", default="100000,1000000", help="requests per side, comma-separated"
    )
    parser.add_argument("--sample-size", type=int, default=20_000, help="DriftSettings.sample_size")
    parser.add_argument(
        "--case", choices=["build", "llmwatch", "evidently"], help=argparse.SUPPRESS
    )
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--build-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--frames", help=argparse.SUPPRESS)
    parser.add_argument("--reports", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        child(args)
        return
    rows = [int(r) for r in args.rows.split(",")]
    print(
        f"drift step vs Evidently alone; sample_size {args.sample_size:,} per side "
        "(seeded simple random sample); SQLite warehouse; peak RSS via ru_maxrss"
    )
    results = [bench(n, args.sample_size) for n in rows]
    print_table(results)


if __name__ == "__main__":
    main()
