"""``llmwatch run ...``: run one job now, through the same Prefect flow its schedule runs.

Each job's command lives in its own module ``llmwatch/cli/run_<name>.py`` and is
registered at the bottom of this file.
"""

from __future__ import annotations

import os

import click


@click.group()
def run() -> None:
    """Run a monitoring job now (through its Prefect flow)."""
    # Without PREFECT_API_URL, Prefect starts a throwaway local API for this one run; its
    # shutdown logs event-flush tracebacks a user can do nothing about (the run itself
    # has completed). Only a server started by this process reads this setting.
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


from llmwatch.cli.run_cost import cost  # noqa: E402

run.add_command(cost)

from llmwatch.cli.run_judge import judge  # noqa: E402

run.add_command(judge)

from llmwatch.cli.run_judge_calibration import judge_calibration  # noqa: E402

run.add_command(judge_calibration)

from llmwatch.cli.run_golden import golden  # noqa: E402

run.add_command(golden)

from llmwatch.cli.run_canary import canary  # noqa: E402

run.add_command(canary)

from llmwatch.cli.run_drift import drift  # noqa: E402

run.add_command(drift)

from llmwatch.cli.run_compare import compare  # noqa: E402

run.add_command(compare)

from llmwatch.cli.run_slo import slo  # noqa: E402

run.add_command(slo)
