"""The ``reporting-sim`` command: a thin layer over the library.

Commands: ``run`` (one run, a summary table or ``--json``, a results folder),
``scenario list`` / ``scenario show`` (the built-in scenarios, as editable TOML) and
``validate`` (check scenario files). Every problem with the user's input is printed as
one line ``error: FILE: FIELD: what is allowed`` and exits with status 2.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from . import __version__, metrics, output, scenario as scenario_mod
from .errors import ScenarioError
from .tables import format_summary

DEFAULT_SCENARIO = "minusma-2015"


class InputError(click.ClickException):
    """A user-input problem: printed as one line, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ScenarioError as exc:
            raise InputError(exc.one_line()) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reporting-sim")
def cli():
    """Simulate how intelligence reports travel through a peace operation's
    reporting chains, and how much arrives in time, late, or never."""


@cli.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--days", type=click.FloatRange(min=0, min_open=True, max=36600), default=None,
              help="Simulated days (default: the scenario's own horizon).")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None,
              help="Random seed (default: the scenario's own seed).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder to write (default: a new folder under results/).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@click.option("--trace", is_flag=True, help="Keep a record of every step of every report.")
@click.option("--warmup-days", type=click.FloatRange(min=0), default=0.0,
              help="Leave out events of the first N days (steady-state studies only).")
@click.option("--no-save", is_flag=True, help="Do not write a results folder.")
def run(scenario, days, seed, out, as_json, trace, warmup_days, no_save):
    """Run SCENARIO_OR_FILE once (default: minusma-2015) and summarise it."""
    from .model import simulate

    sc = scenario_mod.load(scenario)
    days = sc.scenario.days if days is None else days
    seed = sc.scenario.seed if seed is None else seed
    if warmup_days >= days:
        raise InputError(f"--warmup-days: must be less than the horizon ({days:g} days)")
    dest = None
    if not no_save:
        dest = out if out is not None else output.default_folder(Path("results"), sc.name, seed)
        output.check_destination(dest)
    t0 = time.perf_counter()
    records = simulate(sc, seed, days, trace=trace, warmup_days=warmup_days)
    wall = time.perf_counter() - t0
    summary = metrics.summary(records)
    text = format_summary(summary)
    if dest is not None:
        output.write_run(dest, records, sc.to_toml(), summary, text, {
            "scenario": sc.name, "source": str(scenario), "seed": seed, "days": days,
            "warmup_days": warmup_days, "trace": trace, "wall_time_s": round(wall, 3)})
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(text)
        click.echo(f"\n{wall:.2f} s" + (f"; results in {dest}" if dest else ""))


@cli.group()
def scenario():
    """Built-in scenarios: list them, or print one to copy and edit."""


@scenario.command("list")
def scenario_list():
    """List the built-in scenarios with their descriptions."""
    for name in scenario_mod.builtin_names():
        sc = scenario_mod.load(name)
        first = sc.scenario.description.strip().splitlines()[0] if sc.scenario.description.strip() else ""
        click.echo(f"{name:<20} {first}")


@scenario.command("show")
@click.argument("name")
@click.option("--resolved", is_flag=True, help="Print with every default written out (no comments).")
def scenario_show(name, resolved):
    """Print built-in scenario NAME as TOML (redirect it to a file to edit it)."""
    if resolved:
        click.echo(scenario_mod.load(name).to_toml(), nl=False)
    else:
        click.echo(scenario_mod.builtin_text(name), nl=False)


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def validate(files):
    """Check scenario FILEs; print one line per file, exit 2 if any is invalid."""
    bad = 0
    for f in files:
        try:
            sc = scenario_mod.load(f)
        except ScenarioError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            bad += 1
        else:
            click.echo(f"ok: {f}: scenario {sc.name!r}, {len(sc.nodes)} nodes, "
                       f"{len(sc.links)} links, {len(sc.consumers)} consumers")
    if bad:
        sys.exit(2)


def main():  # console-script entry point
    cli(prog_name="reporting-sim")


if __name__ == "__main__":
    main()
