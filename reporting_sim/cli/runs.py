"""``run`` (one run: a summary table or ``--json``, and a results folder) and
``validate`` (check scenario files, one line each)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .. import arguments
from ..errors import ScenarioError
from .options import DEFAULT_SCENARIO, DAYS, SEED, WARMUP, output, scenario_mod


@click.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--days", type=DAYS, default=None,
              help="Simulated days (default: the scenario's own horizon).")
@click.option("--seed", type=SEED, default=None,
              help="Random seed (default: the scenario's own seed).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results folder to write (default: a new folder under results/).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@click.option("--trace", is_flag=True, help="Keep a record of every step of every report.")
@click.option("--warmup-days", type=WARMUP, default=0.0,
              help="Leave out events of the first N days (steady-state studies only).")
@click.option("--no-save", is_flag=True, help="Do not write a results folder.")
@click.option("--overwrite", is_flag=True,
              help="Replace --out if it holds an earlier run's results (only a run's folder, never anything else).")
def run(scenario, days, seed, out, as_json, trace, warmup_days, no_save, overwrite):
    """Run SCENARIO_OR_FILE once (default: minusma-2015) and summarise it."""
    from .. import model
    from ..present.summary import run_summary

    sc = scenario_mod.load(scenario)
    days = sc.scenario.days if days is None else days
    seed = sc.scenario.seed if seed is None else seed
    arguments.warmup(warmup_days, days, "--warmup-days")
    dest = None if no_save else _destination(out, sc.name, seed, overwrite)
    t0 = time.perf_counter()
    records = model.simulate(sc, seed, days, trace=trace, warmup_days=warmup_days)
    wall = time.perf_counter() - t0
    summary, text, sources = run_summary(sc, str(scenario), records)
    if dest is not None:
        output.save_run(dest, records, sc.to_toml(), summary, text, {
            "scenario": sc.name, "source": str(scenario), "seed": seed, "days": days,
            "warmup_days": warmup_days, "trace": trace, "wall_time_s": round(wall, 3)}, sources,
            overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(text)
        click.echo(f"\n{wall:.2f} s" + (f"; results in {dest}" if dest else ""))


def _destination(out, name: str, seed: int, overwrite: bool) -> Path:
    """The run's results folder, checked before the run (a bad --out costs nothing)."""
    dest = out if out is not None else output.default_folder(Path("results"), name, seed)
    if not (overwrite and output.is_run_folder(dest)):
        output.check_destination(dest)
    return dest


@click.command()
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
