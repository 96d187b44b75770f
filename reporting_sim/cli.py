"""The ``reporting-sim`` command: a thin layer over the library.

Commands: ``run`` (one run, a summary table or ``--json``, a results folder),
``scenario list`` / ``scenario show`` (the built-in scenarios, as editable TOML) and
``validate`` (check scenario files). Every problem with the user's input is printed as
one line ``error: FILE: FIELD: what is allowed`` and exits with status 2.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import click

from . import __version__, lazy_module
from .errors import ScenarioError

# loaded on first use, so --help, `scenario list` and `validate` stay fast
metrics = lazy_module("reporting_sim.metrics")
output = lazy_module("reporting_sim.output")
scenario_mod = lazy_module("reporting_sim.scenario")

DEFAULT_SCENARIO = "minusma-2015"


class InputError(click.ClickException):
    """A user-input problem: printed as one line, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def _usage_line(exc: click.UsageError) -> str:
    """Click's usage error as one line: ``--days: 'nan' is not ...``."""
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        hint = exc.param.get_error_hint(exc.ctx) if exc.ctx is not None else exc.param.name
        return f"{hint.strip(chr(39)).replace(chr(39) + ' / ' + chr(39), ' / ')}: {exc.message}"
    return exc.format_message()


class _Group(click.Group):
    """Turns every input problem (a scenario's, or a bad option) into one line."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise InputError(_usage_line(exc)) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ScenarioError as exc:
            raise InputError(exc.one_line()) from None
        except click.UsageError as exc:
            raise InputError(_usage_line(exc)) from None


class Finite(click.FloatRange):
    """A float range that also refuses ``nan`` and infinities."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return value


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reporting-sim")
def cli():
    """Simulate how intelligence reports travel through a peace operation's
    reporting chains, and how much arrives in time, late, or never."""


@cli.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--days", type=Finite(min=0, min_open=True, max=36600), default=None,
              help="Simulated days (default: the scenario's own horizon).")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None,
              help="Random seed (default: the scenario's own seed).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results folder to write (default: a new folder under results/).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@click.option("--trace", is_flag=True, help="Keep a record of every step of every report.")
@click.option("--warmup-days", type=Finite(min=0), default=0.0,
              help="Leave out events of the first N days (steady-state studies only).")
@click.option("--no-save", is_flag=True, help="Do not write a results folder.")
@click.option("--overwrite", is_flag=True,
              help="Replace --out if it holds an earlier run's results (only a run's folder, never anything else).")
def run(scenario, days, seed, out, as_json, trace, warmup_days, no_save, overwrite):
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
        if not (overwrite and _is_run_folder(dest)):
            output.check_destination(dest)
    t0 = time.perf_counter()
    records = simulate(sc, seed, days, trace=trace, warmup_days=warmup_days)
    wall = time.perf_counter() - t0
    summary, text, sources = _run_summary(sc, str(scenario), records)
    if dest is not None:
        _save_run(dest, overwrite, records, sc, summary, text, sources, {
            "scenario": sc.name, "source": str(scenario), "seed": seed, "days": days,
            "warmup_days": warmup_days, "trace": trace, "wall_time_s": round(wall, 3)})
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(text)
        click.echo(f"\n{wall:.2f} s" + (f"; results in {dest}" if dest else ""))


def _run_summary(sc, source: str, records):
    """A run's summary (with the kinds' shelf lives, the definitions and the caveat),
    its text, and the scenario texts as written."""
    from . import glossary
    from .provenance import source_texts
    from .tables import format_summary

    sources = source_texts(source)
    kinds = glossary.kinds_info(sc, next(iter(sources.values()), None))
    summary = {**metrics.summary(records), "kinds": kinds, "definitions": glossary.definitions(),
               "caveat": glossary.SINGLE_RUN_CAVEAT}
    text = format_summary(summary, records.meta.get("bypass")) + "\n\n" + glossary.run_notes(kinds)
    return summary, text, sources


def _save_run(dest: Path, overwrite: bool, records, sc, summary: dict, text: str, sources: dict,
              info: dict) -> None:
    """Write the results folder; with ``overwrite``, the earlier run's folder is set
    aside first and put back if the writing fails."""
    old = _set_aside(dest) if overwrite else None
    try:
        output.check_destination(dest)
        output.write_run(dest, records, sc.to_toml(), summary, text, info, sources=sources)
    except BaseException:
        if old is not None and not dest.exists():
            old.rename(dest)
        raise
    if old is not None:
        import shutil

        shutil.rmtree(old, ignore_errors=True)


def _multiplicity_note(result: dict) -> str:
    """Under a comparison table: what a star means when many differences are shown."""
    n = sum(len(b["metrics"]) for v, b in result["variants"].items() if v != result["base"])
    return (f"\nNote: * marks a 95% interval that excludes zero, unadjusted; among {n} differences about "
            f"{0.05 * n:.0f} may be starred by chance. `reporting-sim report FOLDER` stars with Holm's adjustment. "
            "Shares are fractions here (0.01 = 1 percentage point).")


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / "run.json").is_file() \
        and (path / "ledger.parquet").is_file()


def _set_aside(dest: Path):
    """Move an earlier run's folder aside (restored if the new run fails)."""
    if not _is_run_folder(dest):
        return None
    import os

    old = dest.with_name(f".{dest.name}.replaced-{os.getpid()}")
    dest.rename(old)
    return old


def _executor_options(fn):
    fn = click.option("--jobs", "n_jobs", type=click.IntRange(min=1), default=None,
                      help="Processes to run on (default: all cores; 1 runs serially).")(fn)
    fn = click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
                      help="Run on a Dask cluster at ADDRESS (e.g. tcp://host:8786) instead.")(fn)
    fn = click.option("--progress/--no-progress", default=None,
                      help="Progress bar with time left on stderr (default: when stderr is a terminal).")(fn)
    return fn


def _experiment_folder(out, name: str) -> Path:
    """An experiment's folder: ``--out`` or ``results/NAME``; it may exist if it is
    this experiment's own (a rerun resumes; checked by ``Experiment.run``)."""
    return out if out is not None else Path("results") / name


def _run_experiment(exp, folder, n_jobs, dask_address, progress) -> dict:
    """Run ``exp`` into ``folder``; with ``--dask``, connect first (a bad address is
    an error before any folder is made) and close the connection after."""
    from .execution import connect_dask

    client = connect_dask(dask_address) if dask_address is not None else None
    try:
        return exp.run(folder, n_jobs=n_jobs, dask=client, progress=_progress(progress))
    finally:
        if client is not None:
            client.close()


def _progress(flag) -> bool:
    return sys.stderr.isatty() if flag is None else flag


@cli.command()
@click.argument("base", metavar="BASE")
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...")
@click.option("--replications", "-r", type=click.IntRange(min=2, max=100000), default=10, show_default=True)
@click.option("--days", type=Finite(min=0, min_open=True, max=36600), default=365.0, show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**62), default=1, show_default=True,
              help="Replication r uses seed + r, in every scenario (common random numbers).")
@click.option("--warmup-days", type=Finite(min=0), default=0.0)
@click.option("--metric", "metric_names", multiple=True, help="A metric to report (repeatable; default: a standard set).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and summary (default: results/compare-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@_executor_options
def compare(base, variants, replications, days, seed, warmup_days, metric_names, out, as_json,
            n_jobs, dask_address, progress):
    """Run BASE and each VARIANT with common random numbers; report means with 95%
    intervals and each variant's paired difference from the base."""
    from .experiment import Experiment
    from .tables import format_comparison

    if warmup_days >= days:
        raise InputError(f"--warmup-days: must be less than --days ({days:g})")
    exp = Experiment.comparison(base, list(variants), replications=replications, days=days, seed=seed,
                                metrics=list(metric_names) or None, warmup_days=warmup_days)
    folder = _experiment_folder(out, exp.spec.name)
    result = _run_experiment(exp, folder, n_jobs, dask_address, progress)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(format_comparison(result, list(metric_names) or None, _headline_of(exp)))
        click.echo(_multiplicity_note(result))
        click.echo(f"\n{result['wall_time_s']:.1f} s; runs and summary in {folder}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the results (default: results/NAME; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@click.option("--replications", "-r", type=click.IntRange(min=2, max=100000), default=None,
              help="Override the file's replications (a fixed number; replaces any [experiment.target]).")
@click.option("--days", type=Finite(min=0, min_open=True, max=36600), default=None,
              help="Override the file's days per run.")
@_executor_options
def experiment(file, out, as_json, replications, days, n_jobs, dask_address, progress):
    """Run the experiment FILE: a comparison of variants, or a sweep with sensitivity
    analysis. An interrupted experiment resumes where it stopped."""
    from .experiment import Experiment
    from .tables import format_comparison, format_sweep

    from . import robustness

    if robustness.is_study_file(file):  # an experiment file with a [robustness] section
        return _robustness(robustness.Study.from_file(file), out, as_json, n_jobs, dask_address, progress)
    exp = Experiment.from_file(file)
    name = exp.spec.name
    if replications is not None or days is not None:
        update = {}
        if replications is not None:
            update.update(replications=replications, target=None)
            name += f"-r{replications}"
        if days is not None:
            if exp.spec.warmup_days >= days:
                raise InputError(f"--days: must be more than the file's warmup_days ({exp.spec.warmup_days:g})")
            update["days"] = days
            name += f"-d{days:g}"
        exp.spec = exp.spec.model_copy(update=update)  # the default folder names the overrides
    folder = _experiment_folder(out, name)
    result = _run_experiment(exp, folder, n_jobs, dask_address, progress)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(format_sweep(result) if "sweep" in result
                   else format_comparison(result, exp.spec.metrics, _headline_of(exp)))
        if "sweep" not in result:
            click.echo(_multiplicity_note(result))
        click.echo(f"\n{result['wall_time_s']:.1f} s; results in {folder}")


def _headline_of(exp) -> list[str]:
    """The headline metrics of an experiment's base scenario."""
    base = exp.members[0]
    return metrics.headline(base.scenario)


@cli.command("check-study")
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--replications", "-r", type=click.IntRange(min=2, max=100000), default=4, show_default=True)
@click.option("--days", type=Finite(min=0, min_open=True, max=36600), default=240.0, show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**62), default=1, show_default=True,
              help="Replication r uses seed + r, in the base and every change (common random numbers).")
@click.option("--claims", "claim_files", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="A claims file of your own (repeatable), checked after the built-in claims.")
@click.option("--builtin/--no-builtin", default=True, show_default=True,
              help="Check the built-in claims of the study (or only the --claims files).")
@click.option("--only", multiple=True, metavar="ID", help="Check only the claim with this id (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (docs/validation.md is made of it).")
@_executor_options
def check_study(scenario, replications, days, seed, claim_files, builtin, only, as_json, markdown,
                n_jobs, dask_address, progress):
    """Check the field study's claims against SCENARIO_OR_FILE (default: minusma-2015):
    each claim changes the scenario and says which way a metric moves; paired
    replications with common random numbers give the difference and its 95% interval.
    Exits 0 whether claims pass or fail (it is a report); 2 on bad input."""
    from . import claims as claims_mod

    if as_json and markdown:
        raise InputError("--json, --markdown: choose one output format")
    refs = claims_mod.gather(claim_files, builtin, only)
    result = claims_mod.check(scenario, refs, replications=replications, days=days, seed=seed,
                              n_jobs=n_jobs, dask=dask_address, progress=_progress(progress))
    if as_json:
        click.echo(json.dumps(result))
    elif markdown:
        command = " ".join(["reporting-sim check-study"] + ([scenario] if scenario != DEFAULT_SCENARIO else [])
                           + [f"--replications {replications}", f"--days {days:g}", f"--seed {seed}"]
                           + [f"--claims {f}" for f in claim_files] + ([] if builtin else ["--no-builtin"])
                           + [f"--only {i}" for i in only])
        click.echo(claims_mod.format_markdown(result, refs, seed, command), nl=False)
    else:
        click.echo(claims_mod.format_text(result, refs, seed))


@cli.command("robustness")
@click.argument("base", metavar="BASE")
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...")
@click.option("--worlds", type=click.IntRange(min=2, max=100000), default=50, show_default=True,
              help="Plausible worlds drawn from BASE's [uncertainties].")
@click.option("--replications", "-r", type=click.IntRange(min=1, max=100000), default=2, show_default=True)
@click.option("--days", type=Finite(min=0, min_open=True, max=36600), default=365.0, show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**62), default=1, show_default=True,
              help="Draws the worlds; replication r uses seed + r in every world (common random numbers).")
@click.option("--sampling", type=click.Choice(["lhs", "random"]), default="lhs", show_default=True)
@click.option("--metric", "metric_names", multiple=True,
              help="A metric to judge (repeatable; the first gives the verdicts; default: a standard set).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and results (default: results/robustness-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@_executor_options
def robustness_cmd(base, variants, worlds, replications, days, seed, sampling, metric_names, out, as_json,
                   n_jobs, dask_address, progress):
    """Test each VARIANT against BASE across plausible worlds of BASE's assumptions:
    how often it helps, by how much, and where it does not (PRIM)."""
    from .robustness import Study

    study = Study.from_args(base, list(variants), worlds=worlds, replications=replications, days=days,
                            seed=seed, metrics=list(metric_names) or None, sampling=sampling)
    _robustness(study, out, as_json, n_jobs, dask_address, progress)


def _robustness(study, out, as_json, n_jobs, dask_address, progress):
    from .robustness import format_result

    folder = _experiment_folder(out, study.name)
    scenario_mod.path_exists(folder, "--out")  # a name the system cannot use is one line
    result = study.run(folder, n_jobs=n_jobs, dask=dask_address, progress=_progress(progress))
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        click.echo(format_result(result))
        click.echo(f"\n{result['wall_time_s']:.1f} s; runs, summary and figures in {folder}")


def _traced_run(scenario, days, seed):
    """A traced run: read back from a traced results folder, or simulated."""
    from .model import simulate

    folder = Path(scenario)
    if scenario_mod.path_exists(folder, "scenario") and folder.is_dir() and (folder / "run.json").is_file():
        rec = output.read_run(folder)
        if rec.trace is None:
            raise InputError(f"{folder}: not a traced run; run it with --trace, or name a scenario")
        return scenario_mod.load(folder / "scenario.toml"), rec
    sc = scenario_mod.load(scenario)
    days = sc.scenario.days if days is None else days
    seed = sc.scenario.seed if seed is None else seed
    return sc, simulate(sc, seed, days, trace=True)


def _briefings(sc, days) -> tuple[list[float], str, str]:
    """The meetings at which the scenario's headline consumer acts, over the run: their
    times, the consumer's display name and the meeting's (no meeting: ``[]``)."""
    who = metrics.headline_consumer(sc)
    name = sc.nodes[who].acts_at if who else None
    if name is None:
        return [], "", ""
    m = sc.meetings[name]
    out, t = [], m.next_at(0.0)
    while t <= days * 24 + 48 and len(out) < 100000:
        out.append(t)
        t = m.next_at(t + 1e-6)
    return out, sc.nodes[who].label or who, name.replace("_", " ")


@cli.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_FILE_OR_TRACED_RUN]")
@click.option("--event", "event_id", type=click.IntRange(min=0), default=None, help="The event to follow (by id).")
@click.option("--family", type=click.Choice(["current", "long_term"]), default="current", show_default=True,
              help="Without --event: sample an event of this family that reached several consumers.")
@click.option("--sample-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which sampled event (different numbers, different events).")
@click.option("--days", type=Finite(min=0, min_open=True, max=36600), default=30.0, show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the timeline figure (default: results/trace-...).")
def trace(scenario, event_id, family, sample_seed, days, seed, out):
    """Follow one event along every path its reports took, hop by hop, and show
    what each consumer knew and when; draws a timeline (PNG and SVG). Given a traced
    run's results folder (run --trace --out FOLDER), reads it instead of simulating
    (--days and --seed then do not apply)."""
    from . import plots, views
    from .tables import format_event_story

    if out is not None:
        output.figures_folder(out)  # before the run: a bad --out costs nothing
    sc, rec = _traced_run(scenario, days, seed)
    if event_id is None:
        try:
            event_id = views.pick_event(rec, family, sample_seed, metrics.headline_consumer(sc))
        except ValueError as exc:
            raise InputError(f"--family: {exc}")
    elif event_id >= len(rec.events):
        raise InputError(f"--event: this run has events 0..{len(rec.events) - 1}")
    story = views.event_story(rec, event_id, sc.scenario.start_date)
    briefings, who, meeting = _briefings(sc, rec.days)
    click.echo(format_event_story(story, briefings, f"{who}'s {meeting}"))
    folder = output.figures_folder(out if out is not None else
                                   Path("results") / f"trace-{sc.name}-seed{rec.seed}-event{event_id}")
    png = plots.timeline(story, briefings, folder / f"event-{event_id}-timeline", meeting)
    click.echo(f"\ntimeline: {png} (and .svg)")


@cli.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_FILE_OR_TRACED_RUN]")
@click.option("--family", type=click.Choice(["current", "long_term"]), default="current", show_default=True)
@click.option("--days", type=Finite(min=0, min_open=True, max=36600), default=90.0, show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the figures (default: results/bottlenecks-...).")
def bottlenecks(scenario, family, days, seed, top, out):
    """Where the delay goes: a time budget per consumer (transit, queue, work,
    meeting waits, sanitisation...) and the nodes ranked by late or lost intelligence.
    Given a traced run's results folder, reads it instead of simulating."""
    from . import plots, views
    from .tables import format_bottlenecks

    if out is not None:
        output.figures_folder(out)
    sc, rec = _traced_run(scenario, days, seed)
    budgets = views.time_budgets(rec, family)
    table = views.bottlenecks(rec, family, budgets)
    click.echo(format_bottlenecks(budgets, table, family, top))
    folder = output.figures_folder(out if out is not None else Path("results") / f"bottlenecks-{sc.name}-seed{rec.seed}")
    if len(budgets):
        plots.time_budget(budgets, folder / "time-budget")
    cells = [n for n in table.index if n in sc.cells][:4]
    if cells:
        plots.occupancy({n: views.occupancy(rec, n, "queue", 24.0) for n in cells}, folder / "queues")
    click.echo(f"\nfigures in {folder}")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the figures (default: FOLDER/figures).")
def plot(folder, out):
    """Draw the figures of a run's or an experiment's results FOLDER (PNG and SVG)."""
    from . import plots

    output.check_results_folder(folder)
    out = output.figures_folder(out if out is not None else folder / "figures")
    made = []
    if (folder / "result.json").exists():
        result = output.read_json(folder, "result.json")
        if "sweep" in result:
            raise InputError(f"{folder}: a sweep has no forest plot; see its summary.csv and result.json")
        if "worlds" in result:  # a robustness study
            from .robustness import replot

            made += replot(folder, out)
        else:
            from .report import stored_headline

            made.append(plots.forest(result, out / "forest", headline=stored_headline(folder, result["base"])))
    else:
        import datetime as _dt

        from .report import _headline, _start_date

        rec = output.read_run(folder)
        made += plots.run_figures(rec, out, _dt.date.fromisoformat(str(_start_date(folder))), _headline(rec))
    for p in made:
        click.echo(f"{p} (and .svg)")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The HTML file to write (default: FOLDER/report.html).")
def report(folder, out):
    """Write one self-contained HTML report (figures embedded) of a run's or an
    experiment's results FOLDER; it opens offline in any browser."""
    from .report import build

    output.check_results_folder(folder)
    if out is not None:
        out = output.report_file(out)
    click.echo(str(build(folder, out)))


@cli.command()
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=None,
              help="Port on 127.0.0.1 (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; only print the URL.")
@click.option("--variants", "variants_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of variant files offered as starting points (default: experiments/variants).")
def lab(scenario, port, no_browser, variants_dir):
    """The teaching lab in the browser: the network, replay of an event, live what-if,
    bottlenecks and export of a variant; serves on 127.0.0.1, works offline."""
    from . import lab as lab_mod

    if not lab_mod.available():
        raise InputError(f"lab: {lab_mod.INSTALL_HINT}")
    scenario_mod.load(scenario)  # a bad file is one line before any server starts
    if port is not None and not lab_mod.port_free(port):
        raise InputError(f"--port: {port} is in use on 127.0.0.1; choose another, or leave --port out for a free one")
    lab_mod.serve(scenario, port=port, open_browser=not no_browser, variants_dir=variants_dir, echo=click.echo)


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


@scenario.command("graph")
@click.argument("name", metavar="SCENARIO_OR_FILE")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write NAME.svg, NAME.dot and NAME.mmd to (default: results/graph-NAME).")
@click.option("--base", default=None, metavar="SCENARIO_OR_FILE",
              help="Highlight what SCENARIO_OR_FILE changes against this base (default: a variant's own base).")
def scenario_graph(name, out, base):
    """Draw the reporting network of a scenario or variant for slides: SVG, Graphviz
    DOT and Mermaid (a variant's changes highlighted in the SVG)."""
    from . import graph
    from .execution import write_atomic

    sc = scenario_mod.load(name)
    base_sc = scenario_mod.load(base) if base is not None else _variant_base(name)
    folder = output.figures_folder(out if out is not None else Path("results") / f"graph-{sc.name}")
    files = {f"{sc.name}.svg": graph.svg(sc, base=base_sc), f"{sc.name}.dot": graph.dot(sc),
             f"{sc.name}.mmd": graph.mermaid(sc)}
    for fname, text in files.items():
        write_atomic(folder / fname, text)
        click.echo(str(folder / fname))


def _variant_base(name):
    from .lab.core import variant_base

    return variant_base(name)


@scenario.command("diff")
@click.argument("base", metavar="BASE")
@click.argument("variant", metavar="VARIANT")
def scenario_diff(base, variant):
    """What VARIANT changes against BASE (scenarios, variant files or built-ins): one
    line per node, link or setting added (+), removed (-) or changed (~)."""
    from . import graph

    a, b = scenario_mod.load(base), scenario_mod.load(variant)
    lines = graph.diff(a, b).lines(a, b)
    click.echo("\n".join(lines) if lines else "no differences")


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
