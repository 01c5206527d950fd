"""The ``llmwatch`` command line: the one entry point above core, tasks, flows and deployments.

Each command group lives in its own module and imports heavy things (Prefect, flows)
inside the command, so ``llmwatch --help`` and the core commands stay fast.
"""

from __future__ import annotations

import click

from llmwatch.cli.alerts import alerts
from llmwatch.cli.chart import chart
from llmwatch.cli.demo import demo
from llmwatch.cli.exporter import exporter
from llmwatch.cli.ingest import ingest
from llmwatch.cli.init import init
from llmwatch.cli.run import run
from llmwatch.cli.serve import serve
from llmwatch.cli.simulate import simulate
from llmwatch.cli.triage import golden, triage


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="llmwatch")
def main() -> None:
    """Production monitoring for LLM applications."""


main.add_command(init)
main.add_command(ingest)
main.add_command(alerts)
main.add_command(run)
main.add_command(serve)
main.add_command(simulate)
main.add_command(demo)
main.add_command(triage)
main.add_command(golden)
main.add_command(exporter)
main.add_command(chart)
