"""The commands that explain a run: ``trace`` (one event hop by hop), ``bottlenecks``
(where the hours go), ``ceilings`` (which stage caps each consumer's share), ``plot``
and ``report`` (figures and the HTML report of a results folder) and ``lab`` (the
teaching lab in the browser)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ScenarioError
from .options import (DAYS, DEFAULT_SCENARIO, SEED, STUDY_SEED, Finite, InputError, count, executor_options, metrics,
                      output, progress_wanted, scenario_mod)


def _figures_folder(out, default: str) -> Path:
    return output.figures_folder(out if out is not None else Path("results") / default)


@click.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_FILE_OR_TRACED_RUN]")
@click.option("--event", "event_id", type=click.IntRange(min=0), default=None, help="The event to follow (by id).")
@click.option("--family", type=click.Choice(["current", "long_term"]), default="current", show_default=True,
              help="Without --event: sample an event of this family that reached several consumers.")
@click.option("--sample-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which sampled event (different numbers, different events).")
@click.option("--days", type=DAYS, default=30.0, show_default=True)
@click.option("--seed", type=SEED, default=None)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the timeline figure (default: results/trace-...).")
def trace(scenario, event_id, family, sample_seed, days, seed, out):
    """Follow one event along every path its reports took, hop by hop, and show
    what each consumer knew and when; draws a timeline (PNG and SVG). Given a traced
    run's results folder (run --trace --out FOLDER), reads it instead of simulating
    (--days and --seed then do not apply)."""
    from ..measures import views
    from ..present import plots
    from ..present.tables import format_event_story

    if out is not None:
        output.figures_folder(out)  # before the run: a bad --out costs nothing
    sc, rec = output.traced_run(scenario, days, seed)
    event_id = _event(rec, sc, event_id, family, sample_seed)
    story = views.event_story(rec, event_id, sc.scenario.start_date)
    briefings, who, meeting = views.headline_briefings(sc, rec.days)
    click.echo(format_event_story(story, briefings, f"{who}'s {meeting}"))
    folder = _figures_folder(out, f"trace-{sc.name}-seed{rec.seed}-event{event_id}")
    png = plots.timeline(story, briefings, folder / f"event-{event_id}-timeline", meeting)
    click.echo(f"\ntimeline: {png} (and .svg)")


def _event(rec, sc, event_id, family: str, sample_seed: int) -> int:
    """The event to follow: ``--event`` checked against the run, or one sampled."""
    from ..measures import views

    if event_id is None:
        try:
            return views.pick_event(rec, family, sample_seed, metrics.headline_consumer(sc))
        except ValueError as exc:
            raise InputError(f"--family: {exc}")
    if event_id >= len(rec.events):
        raise InputError(f"--event: this run has events 0..{len(rec.events) - 1}")
    return event_id


@click.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_FILE_OR_TRACED_RUN]")
@click.option("--family", type=click.Choice(["current", "long_term"]), default="current", show_default=True)
@click.option("--days", type=DAYS, default=90.0, show_default=True)
@click.option("--seed", type=SEED, default=None)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--ceilings/--no-ceilings", "with_ceilings", default=True, show_default=True,
              help="Also each consumer's ceiling per stage (one rerun per stage, same seed and days).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the figures (default: results/bottlenecks-...).")
def bottlenecks(scenario, family, days, seed, top, with_ceilings, out):
    """Where the delay goes: a time budget per consumer (transit, queue, work,
    meeting waits, sanitisation...), the nodes ranked by late or lost intelligence, and
    which stage caps each consumer's share (its ceilings; see `ceilings`). Given a
    traced run's results folder, reads it instead of simulating."""
    from ..measures import views
    from ..present import plots
    from ..present.ceilings import format_ceilings
    from ..present.tables import format_bottlenecks
    from ..study.ceilings import ceilings as compute

    if out is not None:
        output.figures_folder(out)
    sc, rec = output.traced_run(scenario, days, seed)
    budgets = views.time_budgets(rec, family)
    table = views.bottlenecks(rec, family, budgets)
    click.echo(format_bottlenecks(budgets, table, family, top))
    if with_ceilings:
        result = compute(sc, days=rec.days, replications=1, seed=rec.seed, warmup_days=rec.warmup_days,
                         waterfall=False)
        click.echo("\n" + format_ceilings(result, metrics.headline_consumer(sc), family)
                   + "\n(one replication, this run's seed: no interval; `reporting-sim ceilings` gives them)")
    folder = _figures_folder(out, f"bottlenecks-{sc.name}-seed{rec.seed}")
    if len(budgets):
        plots.time_budget(budgets, folder / "time-budget")
    cells = [n for n in table.index if n in sc.cells][:4]
    if cells:
        plots.occupancy({n: views.occupancy(rec, n, "queue", 24.0) for n in cells}, folder / "queues")
    click.echo(f"\nfigures in {folder}")


@click.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO]")
@click.option("--days", type=DAYS, default=None,
              help="Days per run (default: the scenario's).")
@click.option("--replications", "-r", type=count(1), default=4, show_default=True)
@click.option("--seed", type=STUDY_SEED, default=1, show_default=True,
              help="Replication r uses seed + r, in every world (common random numbers).")
@click.option("--warmup-days", type=Finite(min=0), default=0.0)
@click.option("--consumer", default=None, help="The consumer shown in detail and drawn (default: the headline one).")
@click.option("--family", type=click.Choice(["current", "long_term"]), default="current", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the waterfall figure (default: results/ceilings-...).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@executor_options
def ceilings(scenario, days, replications, seed, warmup_days, consumer, family, out, as_json,
             n_jobs, dask_address, progress):
    """Which stage caps each consumer's in-time share: today's share and what it would
    be with each stage in turn perfect (every event observed, every observation
    reported, no transit time, no analysis queue, no classification or sanitisation
    loss, no meeting wait, acting on arrival), shelf lives unchanged; and a waterfall of
    where the share is lost."""
    from ..present import glossary
    from ..present.ceilings import format_ceilings

    sc = scenario_mod.load(scenario)
    who = _chosen_consumer(sc, consumer)
    if out is not None:
        output.figures_folder(out)  # before the runs: a bad --out costs nothing
    result = _run_ceilings(sc, dask_address, days=days, replications=replications, seed=seed,
                           warmup_days=warmup_days, n_jobs=n_jobs, progress=progress_wanted(progress))
    if as_json:
        click.echo(json.dumps({**result, "definitions": {**glossary.CEILINGS, **{
            s: text for s, (_, text) in glossary.STAGES.items()}}}))
        return
    click.echo(format_ceilings(result, who, family))
    block = result["consumers"][who].get(family)
    if block is not None:
        _draw_waterfall(block, _figures_folder(out, f"ceilings-{sc.name}-seed{seed}"), who, family)


def _chosen_consumer(sc, consumer):
    """``--consumer`` (by default the headline consumer), checked against ``sc``."""
    who = consumer or metrics.headline_consumer(sc)
    if who not in sc.consumers:
        raise InputError(f"--consumer: {who!r} is not a consumer of {sc.name} ({', '.join(sc.consumers)})")
    return who


def _run_ceilings(sc, dask_address, **kw) -> dict:
    """The ceilings study of ``sc``, on the Dask cluster at ``dask_address`` when one is
    given (the client closed afterwards)."""
    from ..study.ceilings import ceilings as compute
    from ..study.execution import connect_dask

    client = connect_dask(dask_address) if dask_address is not None else None
    try:
        return compute(sc, dask=client, **kw)
    finally:
        if client is not None:
            client.close()


def _draw_waterfall(block: dict, folder: Path, who: str, family: str) -> None:
    """Draw one consumer's waterfall into ``folder`` and say where it went."""
    from ..present import plots

    png = plots.waterfall(block, folder / f"waterfall-{who}-{family}", f"{who}, {family}: where the share is lost")
    click.echo(f"\nwaterfall: {png} (and .svg)")


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the figures (default: FOLDER/figures).")
def plot(folder, out):
    """Draw the figures of a run's or an experiment's results FOLDER (PNG and SVG)."""
    from ..present.figures import results_figures

    output.check_results_folder(folder)
    out = output.figures_folder(out if out is not None else folder / "figures")
    try:
        made = results_figures(folder, out)
    except ScenarioError as exc:
        raise InputError(exc.one_line()) from None
    for p in made:
        click.echo(f"{p} (and .svg)")


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The HTML file to write (default: FOLDER/report.html).")
def report(folder, out):
    """Write one self-contained HTML report (figures embedded) of a run's or an
    experiment's results FOLDER; it opens offline in any browser."""
    from ..present.report import build

    output.check_results_folder(folder)
    if out is not None:
        out = output.report_file(out)
    click.echo(str(build(folder, out)))


@click.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=None,
              help="Port on 127.0.0.1 (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; only print the URL.")
@click.option("--variants", "variants_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of variant files offered as starting points (default: experiments/variants).")
def lab(scenario, port, no_browser, variants_dir):
    """The teaching lab in the browser: the network (readable on a projector), the
    mission in motion with a what-if side by side, paired what-if runs, predict-then-run
    exercises, ceilings, bottlenecks and export of a variant; serves on 127.0.0.1 only,
    answers only its own pages, works offline."""
    from .. import lab as lab_mod

    if not lab_mod.available():
        raise InputError(f"lab: {lab_mod.INSTALL_HINT}")
    scenario_mod.load(scenario)  # a bad file is one line before any server starts
    if variants_dir is not None and not variants_dir.is_dir():
        raise InputError(f"--variants: {variants_dir}: no such folder (give a folder of variant files, "
                         "e.g. experiments/variants)")
    if port is not None and not lab_mod.port_free(port):
        raise InputError(f"--port: {port} is in use on 127.0.0.1; choose another, or leave --port out for a free one")
    lab_mod.serve(scenario, port=port, open_browser=not no_browser, variants_dir=variants_dir, echo=click.echo)
