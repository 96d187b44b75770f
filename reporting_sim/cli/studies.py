"""The study commands: ``compare`` (paired replications with common random numbers),
``experiment`` (an experiment file: a comparison, a sweep or a robustness study),
``check-study`` (the field study's claims) and ``robustness`` (what-ifs across the
plausible worlds of the assumptions). Each parses its options and calls the library."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import arguments
from .options import DEFAULT_SCENARIO, DAYS, STUDY_SEED, WARMUP, count, InputError, executor_options, metrics, progress_wanted


def _folder(out, name: str) -> Path:
    """A study's folder: ``--out`` or ``results/NAME``; it may exist if it is this
    study's own (a rerun resumes; the study checks it)."""
    return out if out is not None else Path("results") / name


def _run_experiment(exp, folder, n_jobs, dask_address, progress) -> dict:
    """Run ``exp`` into ``folder`` through the study guard (with ``--dask``, it connects
    before making the folder: a bad address leaves nothing)."""
    return exp.run(folder, n_jobs=n_jobs, dask=dask_address, progress=progress_wanted(progress))


def _headline_of(exp) -> list[str]:
    """The headline metrics of an experiment's base scenario."""
    return metrics.headline(exp.members[0].scenario)


def _chosen(exp, metric_names) -> str:
    """The measure a comparison's last line ranks the options by: the first --metric,
    else the headline consumer's current intelligence in time, else the first shown."""
    if metric_names:
        return metric_names[0]
    first = metrics.headline_consumer(exp.members[0].scenario)
    wanted = f"{first}.current.in_time"
    return wanted if wanted in exp.metrics else (_headline_of(exp) or exp.metrics)[0]


def _labels(exp) -> dict:
    sc = exp.members[0].scenario
    return {n: node.label for n, node in sc.nodes.items() if getattr(node, "label", None)}


def _show_comparison(result: dict, folder: Path, metric_names, exp, as_json: bool) -> None:
    from ..present.tables import format_comparison, format_sweep, multiplicity_note, ranking_line

    if as_json:
        click.echo(json.dumps(result))
        return
    if "sweep" in result:
        click.echo(format_sweep(result))
    else:
        headline = _headline_of(exp)
        click.echo(format_comparison(result, metric_names, headline))
        click.echo(multiplicity_note(result, metric_names, headline))
        click.echo("\n" + ranking_line(result, _chosen(exp, metric_names), _labels(exp)))
    click.echo(f"\n{result['wall_time_s']:.1f} s; results in {folder}")


@click.command()
@click.argument("base", metavar="BASE")
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...")
@click.option("--replications", "-r", type=count(2), default=10, show_default=True)
@click.option("--days", type=DAYS, default=365.0, show_default=True)
@click.option("--seed", type=STUDY_SEED, default=1, show_default=True,
              help="Replication r uses seed + r, in every scenario (common random numbers).")
@click.option("--warmup-days", type=WARMUP, default=0.0)
@click.option("--metric", "metric_names", multiple=True, help="A metric to report (repeatable; default: a standard set).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and summary (default: results/compare-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@executor_options
def compare(base, variants, replications, days, seed, warmup_days, metric_names, out, as_json,
            n_jobs, dask_address, progress):
    """Run BASE and each VARIANT with common random numbers; report means with 95%
    intervals and each variant's paired difference from the base."""
    from ..study.experiment import Experiment

    arguments.warmup(warmup_days, days, "--warmup-days")
    exp = Experiment.comparison(base, list(variants), replications=replications, days=days, seed=seed,
                                metrics=list(metric_names) or None, warmup_days=warmup_days)
    folder = _folder(out, exp.spec.name)
    result = _run_experiment(exp, folder, n_jobs, dask_address, progress)
    _show_comparison(result, folder, list(metric_names) or None, exp, as_json)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the results (default: results/NAME; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@click.option("--replications", "-r", type=count(2), default=None,
              help="Override the file's replications (a fixed number; replaces any [experiment.target]).")
@click.option("--days", type=DAYS, default=None,
              help="Override the file's days per run.")
@executor_options
def experiment(file, out, as_json, replications, days, n_jobs, dask_address, progress):
    """Run the experiment FILE: a comparison of variants, or a sweep with sensitivity
    analysis. An interrupted experiment resumes where it stopped."""
    from ..study import robustness
    from ..study.experiment import Experiment

    if robustness.is_study_file(file):  # an experiment file with a [robustness] section
        return _robustness(robustness.Study.from_file(file), out, as_json, n_jobs, dask_address, progress)
    exp = Experiment.from_file(file)
    name = exp.spec.name
    if replications is not None or days is not None:
        name = exp.override(replications=replications, days=days)  # the default folder names the overrides
    folder = _folder(out, name)
    result = _run_experiment(exp, folder, n_jobs, dask_address, progress)
    _show_comparison(result, folder, exp.spec.metrics, exp, as_json)


@click.command("check-study")
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--replications", "-r", type=count(2), default=4, show_default=True)
@click.option("--days", type=DAYS, default=240.0, show_default=True)
@click.option("--seed", type=STUDY_SEED, default=1, show_default=True,
              help="Replication r uses seed + r, in the base and every change (common random numbers).")
@click.option("--claims", "claim_files", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="A claims file of your own (repeatable), checked after the built-in claims.")
@click.option("--builtin/--no-builtin", default=True, show_default=True,
              help="Check the built-in claims of the study (or only the --claims files).")
@click.option("--only", multiple=True, metavar="ID", help="Check only the claim with this id (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (docs/validation.md is made of it).")
@executor_options
def check_study(scenario, replications, days, seed, claim_files, builtin, only, as_json, markdown,
                n_jobs, dask_address, progress):
    """Check the field study's claims against SCENARIO_OR_FILE (default: minusma-2015):
    each claim changes the scenario and says which way a metric moves; paired
    replications with common random numbers give the difference and its 95% interval.
    Exits 0 whether claims pass or fail (it is a report); 2 on bad input."""
    from ..study import claims as claims_mod

    if as_json and markdown:
        raise InputError("--json, --markdown: choose one output format")
    refs = claims_mod.gather(claim_files, builtin, only)
    result = claims_mod.check(scenario, refs, replications=replications, days=days, seed=seed,
                              n_jobs=n_jobs, dask=dask_address, progress=progress_wanted(progress))
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


@click.command("robustness")
@click.argument("base", metavar="BASE")
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...")
@click.option("--worlds", type=count(2), default=50, show_default=True,
              help="Plausible worlds drawn from BASE's [uncertainties].")
@click.option("--replications", "-r", type=count(1), default=2, show_default=True)
@click.option("--days", type=DAYS, default=365.0, show_default=True)
@click.option("--seed", type=STUDY_SEED, default=1, show_default=True,
              help="Draws the worlds; replication r uses seed + r in every world (common random numbers).")
@click.option("--sampling", type=click.Choice(["lhs", "random"]), default="lhs", show_default=True)
@click.option("--metric", "metric_names", multiple=True,
              help="A metric to judge (repeatable; the first gives the verdicts; default: a standard set).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and results (default: results/robustness-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@executor_options
def robustness(base, variants, worlds, replications, days, seed, sampling, metric_names, out, as_json,
               n_jobs, dask_address, progress):
    """Test each VARIANT against BASE across plausible worlds of BASE's assumptions:
    how often it helps, by how much, and where it does not (PRIM)."""
    from ..study.robustness import Study

    study = Study.from_args(base, list(variants), worlds=worlds, replications=replications, days=days,
                            seed=seed, metrics=list(metric_names) or None, sampling=sampling)
    _robustness(study, out, as_json, n_jobs, dask_address, progress)


def _robustness(study, out, as_json, n_jobs, dask_address, progress):
    from ..present.robustness import draw_figures, format_result

    from ..study import guard

    folder = _folder(out, study.name)
    result = study.run(folder, n_jobs=n_jobs, dask=dask_address, progress=progress_wanted(progress))
    guard.inside(folder, "figures")  # drawn into the study's own folder, never through a link
    draw_figures(folder)
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        click.echo(format_result(result))
        click.echo(f"\n{result['wall_time_s']:.1f} s; runs, summary and figures in {folder}")
