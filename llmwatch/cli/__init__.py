"""The ``llmwatch`` command line: the one entry point above core, tasks, flows and deployments.

Each command group lives in its own module and imports heavy things (Prefect, flows)
inside the command, so ``llmwatch --help`` and the core commands stay fast.
"""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from llmwatch.cli.alerts import alerts
from llmwatch.cli.canary import canary
from llmwatch.cli.chart import chart
from llmwatch.cli.demo import demo
from llmwatch.cli.exporter import exporter
from llmwatch.cli.incidents import incidents
from llmwatch.cli.ingest import ingest
from llmwatch.cli.init import init
from llmwatch.cli.retention import retention
from llmwatch.cli.run import run
from llmwatch.cli.serve import serve
from llmwatch.cli.simulate import simulate
from llmwatch.cli.triage import golden, triage
from llmwatch.settings import ConfigError, get_settings


class ConfigProblem(click.ClickException):
    """A bad llmwatch.toml or LLMWATCH_* variable: one line, exit code 2 like a usage
    error, so a gate (golden, canary, compare: 1 = regression) cannot mistake it."""

    exit_code = 2


class _Main(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        # The arguments after the command's name, before click moves them on.
        ctx.meta[_ASKS_HELP] = bool(set(ctx.args) & set(ctx.help_option_names))
        try:
            return super().invoke(ctx)
        except (ArgumentError, OperationalError, InterfaceError) as exc:
            # A wrong warehouse URL or an unreachable database is the user's to fix:
            # one line naming the warehouse (password hidden), not a traceback.
            raise click.ClickException(_warehouse_problem(exc)) from None


def _warehouse_problem(exc: Exception) -> str:
    from llmwatch.redact import redact

    url = get_settings().resolved_warehouse_url()
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return f"the warehouse URL is not a database URL (warehouse_url = {redact(url)!r})"
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(f"warehouse {shown}: {cause[0] if cause else type(exc).__name__}")


_ASKS_HELP = "llmwatch.asks_help"


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="llmwatch")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Production monitoring for LLM applications.

    Settings come from llmwatch.toml (or the file in LLMWATCH_CONFIG) and LLMWATCH_*
    variables; an unknown key or a bad value stops every command with exit code 2.
    """
    # Checked before any command runs: a typo must not leave a default in force, nor
    # surface as a traceback from inside a flow. A command's --help still works.
    if ctx.meta.get(_ASKS_HELP):
        return
    try:
        get_settings()
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None


main.add_command(init)
main.add_command(ingest)
main.add_command(alerts)
main.add_command(incidents)
main.add_command(run)
main.add_command(serve)
main.add_command(simulate)
main.add_command(demo)
main.add_command(triage)
main.add_command(golden)
main.add_command(exporter)
main.add_command(retention)
main.add_command(chart)
main.add_command(canary)
