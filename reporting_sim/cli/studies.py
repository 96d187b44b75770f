"""The study commands: ``compare`` (paired replications with common random numbers),
``experiment`` (an experiment file: a comparison, a sweep or a robustness study),
``check-study`` (the field study's claims) and ``robustness`` (what-ifs across the
plausible worlds of the assumptions). Each parses its options and calls the library."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import arguments
from .options import (DAYS, DEFAULT_SCENARIO, STUDY_SEED, WARMUP, Finite, InputError, count, executor_options, metrics,
                      progress_wanted, scenario_mod)


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
    from ..study import calibrate as cal

    if cal.is_calibration_file(file):  # an experiment file with a [calibrate] section
        raise InputError(f"{file}: a calibration ([calibrate]): run it with reporting-sim calibrate {file}")
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
        command = _check_study_command(scenario, replications, days, seed, claim_files, builtin, only)
        click.echo(claims_mod.format_markdown(result, refs, seed, command), nl=False)
    else:
        click.echo(claims_mod.format_text(result, refs, seed))


def _check_study_command(scenario, replications, days, seed, claim_files, builtin, only) -> str:
    """The command line that makes this check-study table again (for the Markdown's note)."""
    return " ".join(["reporting-sim check-study"] + ([scenario] if scenario != DEFAULT_SCENARIO else [])
                    + [f"--replications {replications}", f"--days {days:g}", f"--seed {seed}"]
                    + [f"--claims {f}" for f in claim_files] + ([] if builtin else ["--no-builtin"])
                    + [f"--only {i}" for i in only])


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
@click.option("--min-effect", "min_effects", multiple=True, metavar="METRIC=VALUE",
              help="The minimum effect worth counting on METRIC in this question (repeatable; default: the "
                   "glossary's, e.g. 0.01 for a share).")
@click.option("--max-replications", type=count(1), default=None,
              help="The most replications a world gets while a verdict is undecided (default: 3 x "
                   "--replications, at least 6).")
@click.option("--windows", type=click.IntRange(min=0, max=1000), default=0, show_default=True,
              help="Cut every run into this many equal windows and take a world's error from them (batch "
                   "means), so one replication can decide a world (0: from the replications only; try 12 with "
                   "-r 1 --max-replications 4).")
@click.option("--worlds-from", "worlds_from", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Use the plausible worlds of a calibration (its Parquet file) instead of drawing --worlds.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and results (default: results/robustness-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@executor_options
def robustness(base, variants, worlds, replications, days, seed, sampling, worlds_from, metric_names, min_effects,
               max_replications, windows, out, as_json, n_jobs, dask_address, progress):
    """Test each VARIANT against BASE across plausible worlds of BASE's assumptions: in
    how many it is better by at least the minimum effect, equivalent or worse, by how
    much, and where it is not (PRIM, where it beats noise). With --worlds-from, the
    worlds are those a calibration kept."""
    from ..metric_names import parse_min_effects
    from ..study.robustness import Study

    if worlds_from is not None and not scenario_mod.path_exists(worlds_from, "--worlds-from"):
        raise InputError(f"--worlds-from: no file {str(worlds_from)!r} (give the plausible-worlds file of "
                         "reporting-sim calibrate)")
    study = Study.from_args(base, list(variants), worlds=worlds, replications=replications, days=days,
                            seed=seed, metrics=list(metric_names) or None, sampling=sampling,
                            min_effects=parse_min_effects(min_effects) or None, max_replications=max_replications,
                            worlds_from=None if worlds_from is None else str(worlds_from), windows=windows)
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


def _decision_worlds_options(fn):
    """``--worlds N`` and ``--worlds-from FILE``: decide across plausible worlds."""
    fn = click.option("--worlds-from", "worlds_from", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help="Decide in each world of a calibration's worlds file (reporting-sim calibrate).")(fn)
    fn = click.option("--worlds", type=count(2), default=None,
                      help="Decide in each of N plausible worlds drawn (Latin hypercube) from BASE's "
                           "[uncertainties] (default: the scenarios as written).")(fn)
    return fn


@click.command("select")
@click.argument("base", metavar="BASE")
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...")
@click.option("--metric", required=True, help="The metric to select on (its better direction is known).")
@click.option("--delta", type=Finite(), required=True,
              help="The smallest difference worth selecting for, in the metric's units (indifference zone).")
@click.option("--pcs", type=Finite(), default=0.95, show_default=True,
              help="The probability of correct selection guaranteed when the best is at least --delta better.")
@click.option("--days", type=DAYS, default=365.0, show_default=True)
@click.option("--seed", type=STUDY_SEED, default=1, show_default=True,
              help="Replication r uses seed + r in every option (common random numbers); with worlds, each "
                   "world its own seeds.")
@click.option("--n0", type=count(2), default=5, show_default=True,
              help="First-stage replications of every option (the guarantee holds for any; a small first "
                   "stage lets a clear winner stop early, a larger one suits close options).")
@click.option("--max-replications", type=count(2), default=500, show_default=True,
              help="The most replications an option gets in one world (bounds the runs; at the cap the best "
                   "mean is taken, without the guarantee, and the result says so).")
@_decision_worlds_options
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and result (default: results/select-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@executor_options
def select(base, variants, metric, delta, pcs, days, seed, n0, max_replications, worlds, worlds_from, out, as_json,
           n_jobs, dask_address, progress):
    """Select the best of BASE and the VARIANTs on one metric with Kim & Nelson's fully
    sequential procedure and common random numbers: the guarantee, the replications
    each option needed, and what equal allocation would have needed. A VARIANT may be
    A.toml+B.toml (a package of variants)."""
    from ..study.experiment import unique_labels
    from ..study.packages import resolve_option
    from ..study.selection import Selection

    members = [resolve_option(base)] + [resolve_option(v) for v in variants]
    unique_labels(members, "select")
    sel = Selection(members, metric=metric, delta=delta, pcs=pcs, days=days, seed=seed, n0=n0, worlds=worlds,
                    worlds_from=worlds_from, max_replications=max_replications)
    folder = _folder(out, sel.name)
    result = _run_experiment(sel, folder, n_jobs, dask_address, progress)
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        from ..present.brief import format_selection

        click.echo(format_selection(result))
        if result.get("capped_in"):
            click.echo(f"\nnote: in {result['capped_in']} of {(result['worlds'] or {}).get('count', 1)} world(s) the "
                       f"options could not be told apart within --max-replications {result['max_replications']}: "
                       "the best mean there was taken, without the guarantee")
        click.echo(f"\n{result['wall_time_s']:.1f} s; results in {folder}")


def _search_options(fn):
    """``packages``' --enumerate-max, --population, --generations and --max-packages."""
    from ..study import package_sizes as p

    for flag, low, default, text in reversed([
            ("--enumerate-max", 1, p.ENUMERATE_MAX, "Up to this many combinations within the budget every one "
                                                   "runs; above it NSGA-II searches."),
            ("--population", 2, p.POPULATION, "Packages the search proposes per generation."),
            ("--generations", 1, p.GENERATIONS, "The most generations of the search."),
            ("--max-packages", 1, p.MAX_PACKAGES, "The most distinct packages the search runs.")]):
        fn = click.option(flag, type=count(low), default=default, show_default=True, help=text)(fn)
    return fn


@click.command("packages")
@click.argument("base", metavar="BASE")
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...")
@click.option("--budget", type=Finite(), required=True,
              help="The most a package may cost, in the unit the variants' [variant.cost] name.")
@click.option("--metric", "metric_names", multiple=True, required=True,
              help="An objective (repeatable; the first also gives the robustness measures).")
@click.option("--worlds", type=count(2), default=None,
              help="Plausible worlds drawn (Latin hypercube) from BASE's [uncertainties] (default 20).")
@click.option("--worlds-from", "worlds_from", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The worlds of a calibration's worlds file instead (reporting-sim calibrate).")
@click.option("--replications", "-r", type=count(1), default=2, show_default=True)
@click.option("--days", type=DAYS, default=365.0, show_default=True)
@click.option("--seed", type=STUDY_SEED, default=1, show_default=True,
              help="Draws the worlds and each world's seeds, common to every package (common random numbers).")
@click.option("--threshold", type=Finite(), default=None,
              help="The level of the first metric a package must meet in a world (default: beat the base of "
                   "the world by the metric's minimum effect worth counting).")
@_search_options
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and result (default: results/packages-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@executor_options
def packages(base, variants, budget, metric_names, worlds, worlds_from, replications, days, seed, threshold,
             enumerate_max, population, generations, max_packages, out, as_json, n_jobs, dask_address, progress):
    """Every combination of the VARIANTs (each with a cost) within the budget, or above
    --enumerate-max combinations a search with NSGA-II, run across plausible worlds: the
    Pareto front of the objectives against cost, and each package's robustness (mean,
    minimax regret, share of worlds meeting a threshold)."""
    from ..study.experiment import resolve_member, unique_labels
    from ..study.packages import Packages, SearchOptions

    members = [resolve_member(base, None)] + [resolve_member(v, None) for v in variants]
    unique_labels(members, "packages")
    search = SearchOptions(enumerate_max, population, generations, max_packages)
    study = Packages(members[0], members[1:], budget=budget, metrics=list(metric_names), worlds=worlds,
                     worlds_from=worlds_from, replications=replications, days=days, seed=seed, threshold=threshold,
                     search=search)
    folder = _folder(out, study.name)
    result = _run_experiment(study, folder, n_jobs, dask_address, progress)
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        from ..present.brief import format_packages

        click.echo(format_packages(result))
        click.echo(f"\n{result['wall_time_s']:.1f} s; results in {folder}")


@click.command("brief")
@click.argument("folder", type=click.Path(path_type=Path), metavar="RESULTS")
def brief(folder):
    """A planner's brief of a RESULTS folder (robustness, select or packages): per
    question the recommendation, how sure, the cost, what it hinges on and what would
    change it, in plain words."""
    from ..present.brief import brief as make

    if not scenario_mod.path_exists(Path(folder), "RESULTS") or not (Path(folder) / "result.json").is_file():
        raise InputError(f"{folder}: no result.json (a robustness, select or packages results folder)")
    from ..present.brief import decision_kind

    try:
        result = json.loads((Path(folder) / "result.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{folder}/result.json: unreadable ({exc.__class__.__name__}); the results folder is damaged")
    if not isinstance(result, dict) or decision_kind(result) is None:
        raise InputError(f"{folder}/result.json: not a decision study's result; brief reads the folder of a "
                         "robustness, select or packages study (compare and sweep folders: reporting-sim report)")
    click.echo(make(folder))


@click.command("calibrate")
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO, metavar="[SCENARIO_OR_FILE]")
@click.option("--waves", type=click.IntRange(min=1, max=20), default=None, help="Waves of history matching [2].")
@click.option("--worlds", type=count(2), default=None,
              help="Worlds run in each wave (the first by Latin hypercube) [40].")
@click.option("--replications", "-r", type=count(1), default=None,
              help="Replications per world (common random numbers) [2].")
@click.option("--days", type=DAYS, default=None, help="Days per run [240].")
@click.option("--seed", type=STUDY_SEED, default=None,
              help="Draws the worlds; replication r uses seed + r in every world [1].")
@click.option("--candidates", type=click.IntRange(min=1, max=10_000_000), default=None,
              help="Candidate worlds each later wave screens through the emulators [100 x worlds].")
@click.option("--cutoff", type=Finite(min=0, min_open=True, max=100), default=None,
              help="Implausibility cut-off [3].")
@click.option("--patterns", "patterns_file", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="A claims file of patterns to match instead of the study's built-in ones.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the runs and results (default: results/calibrate-...; rerunning resumes).")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object on stdout.")
@executor_options
def calibrate(scenario, waves, worlds, replications, days, seed, candidates, cutoff, patterns_file, out, as_json,
              n_jobs, dask_address, progress):
    """History matching: narrow SCENARIO_OR_FILE's [uncertainties] (default:
    minusma-2015) to the worlds consistent with the field study's patterns, in waves
    screened by Gaussian-process emulators; writes the plausible worlds for
    `robustness --worlds-from`. A calibration experiment file ([calibrate]) may be
    given instead of a scenario. An interrupted calibration resumes."""
    from ..present.calibrate import format_result

    run = _calibration(scenario, dict(waves=waves, worlds=worlds, replications=replications, days=days, seed=seed),
                       candidates, cutoff, patterns_file)
    folder = _folder(out, run.name)
    result = _run_experiment(run, folder, n_jobs, dask_address, progress)
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        click.echo(format_result(result))
        click.echo(f"\n{result['wall_time_s']:.1f} s; runs, worlds and plausible worlds in {folder}")


CALIBRATE_DEFAULTS = {"waves": 2, "worlds": 40, "replications": 2, "days": 240.0, "seed": 1}


def _refuse_file_options(candidates, cutoff, patterns_file) -> None:
    """A calibration file sets its candidates, cutoff and patterns itself: refuse those options."""
    if candidates is not None or cutoff is not None or patterns_file is not None:
        raise InputError("--candidates, --cutoff, --patterns: set these in the file's [calibrate] table")


def _calibration(scenario, sizes: dict, candidates, cutoff, patterns_file):
    """A calibration from an experiment file (the options override its sizes) or a
    scenario (the options, or their defaults)."""
    from ..study import calibrate as cal

    if cal.is_calibration_file(scenario):
        _refuse_file_options(candidates, cutoff, patterns_file)
        return cal.from_file(scenario, **sizes)
    sizes = {k: CALIBRATE_DEFAULTS[k] if v is None else v for k, v in sizes.items()}
    return cal.from_args(scenario, **sizes, patterns=None if patterns_file is None else str(patterns_file),
                         candidates=candidates, cutoff=cutoff or cal.CUTOFF)
