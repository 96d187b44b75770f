"""Benchmark: the shipped study's questions answered to a settled verdict with
sequential replications, against equal allocation (every world and scenario given the
replications the sequential study may give its hardest world).

    python benchmarks/bench_decisions.py [--worlds 24] [--days 90] [--jobs 2] [--out results/bench-decisions]
                                         [--windows 12] [--windows-cap 4]

It runs experiments/study-robustness.toml (optionally at a smaller size) with 2 jobs
and reports: runs, CPU time (the runs' own seconds, summed) and wall time; the share
of (world, question) verdicts settled; and the runs equal allocation needs for the
same per-world guarantee (computed from the study's own cap: worlds x scenarios x
max_replications; not run), and what equal allocation needs to settle the same share
of verdicts (``equal_allocation_matched``: estimated from the study's own runs, see
:func:`equal_allocation_matched`; the fairer comparison), and the runs a design would
need that knew every world's spread (``known_variance_bound``: what no design that
reads only whole runs' results can beat, see :func:`known_variance_bound`).

Then (unless ``--windows 0``) it answers the same questions in the same worlds with
windows (``[robustness] windows``: batch means, so a world's error comes from its runs'
windows and one replication can decide it): 1 replication a world to start, 1 more
where a verdict is undecided, up to ``--windows-cap``, and reports the same figures
under ``windows``, its ratios to both equal-allocation designs (``ratio_matched``: the
runs equal allocation needs to settle at least the share the windows design settles,
estimated from the first design's runs as above) and ``calibration``: how often a
run's windowed interval fails to cover another independent run of the same world
(:func:`calibration`), against the nominal rate, and ``agreement``: how often the two
designs' world verdicts agree where both decided. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _run_seconds(folder: Path) -> float:
    """The runs' own seconds, summed over every session of the folder (the study guard's
    lines in ``timings.jsonl``; a resumed study has one line per session)."""
    lines = (folder / "timings.jsonl").read_text("utf-8").splitlines()
    return sum(float(json.loads(line)["run_seconds_total"]) for line in lines if line.strip())


def equal_allocation_matched(study, settled: float) -> dict:
    """The replications per world an equal-allocation design needs to settle at least the
    share ``settled`` of (world, question) verdicts, estimated from the sequential
    study's own runs: with ``n`` each, a world's verdict is what the first ``n`` of its
    paired replications give at the 95% level (one look, so no Bonferroni), or what all
    of them give where the study stopped below ``n`` (a world settled early is taken to
    stay settled with more). ``None`` when even the cap does not settle that share."""
    from reporting_sim.study.robustness import world_verdict
    from reporting_sim.study.robustness.analysis import paired_table
    from reporting_sim.metric_names import direction

    frame, base = study.frame, study.base.label
    shares = {}
    for n in range(2, study.max_replications + 1):
        verdicts = [world_verdict(_first(paired_table(frame, m), v, base, w, n), study.min_effects[m], direction(m))
                    for v, m in study.verdicts.items() for w in range(study.n_worlds)]
        shares[n] = sum(x != "undecided" for x in verdicts) / len(verdicts)
    need = next((n for n, s in shares.items() if s >= settled), None)
    runs = None if need is None else need * study.n_worlds * len(study.members)
    return {"replications": need, "runs": runs, "settled_share_by_replications": {n: round(s, 3) for n, s in shares.items()}}


def known_variance_bound(study, draws: int = 200, seed: int = 1) -> dict:
    """A bound no sequential design that reads only whole runs' results (one number per
    run and metric) can beat with a per-world guarantee on these runs:
    the runs a design would need that *knew* every world's within-world spread. Each
    (world, question) is taken to have the mean and standard deviation of its stored
    paired differences; ``draws`` times, replications are drawn from that normal, and the
    design looks after every replication from 1 to the cap, deciding by the study's rules
    (``interval_verdict``) on a z interval at 95% with Bonferroni over the looks, with no
    degrees of freedom lost to estimating a variance. A world's runs are its scenarios'
    replications, the base's being the most any of its questions needed. Such a design
    must estimate each world's spread from that world's own runs (2 at least), so it needs
    more than this; a design that also reads within a run (the windows design) is not
    bound by it."""
    from scipy.stats import norm
    from reporting_sim.study.robustness.analysis import interval_verdict, paired_table
    from reporting_sim.metric_names import direction

    cap, base, rng = study.max_replications, study.base.label, np.random.default_rng(seed)
    z = norm.ppf(1 - 0.05 / (2 * cap))
    decide = np.vectorize(lambda d, hw, m: interval_verdict(d, d - hw, d + hw, m) != "undecided")
    stops, settled = {}, []  # per world: each question's looks to a verdict, one per draw
    for v, m in study.verdicts.items():
        table = paired_table(study.frame, m)
        for w in range(study.n_worlds):
            x = direction(m) * np.asarray(_first(table, v, base, w, cap))
            sd = x.std(ddof=1) if len(x) > 1 else 0.0
            means = np.cumsum(x.mean() + sd * rng.standard_normal((draws, cap)), axis=1) / np.arange(1, cap + 1)
            ok = decide(means, z * sd / np.sqrt(np.arange(1, cap + 1)), study.min_effects[m])
            stops.setdefault(w, []).append(np.where(ok.any(axis=1), ok.argmax(axis=1) + 1, cap))
            settled.append(ok.any(axis=1))
    runs = float(np.sum([np.array(n).sum(axis=0) + np.array(n).max(axis=0) for n in stops.values()], axis=0).mean())
    return {"runs": round(runs), "settled_share": round(float(np.mean(settled)), 3), "looks": cap}


def calibration(study) -> dict:
    """How often the windows' error understates the error between runs, measured on the
    study's own runs (:func:`reporting_sim.study.robustness.analysis.window_pair_statistics`:
    pairs of independent runs of one world and question, each over their windowed
    errors, about Student's t where the windows' error holds). The share beyond the 95%
    quantile should be near 5%, and beyond the study's per-look level near its nominal
    miss rate; more means the windows understate the error. Per question, the study's
    own ``windows_check``."""
    from scipy.stats import t as student_t
    from reporting_sim.study.robustness.analysis import look_level, window_pair_statistics, windows_check

    frame, base, k = study.frame, study.base.label, study.windows
    level = look_level(study.looks())
    t = np.abs(np.concatenate([window_pair_statistics(frame, base, v, m, k) for v, m in study.verdicts.items()]))
    dof = 2 * (k - 1)
    return {"pairs": int(len(t)),
            "by_question_95": {v: windows_check(frame, base, v, m, k) for v, m in study.verdicts.items()},
            "miss_95": round(float(np.mean(t > student_t.ppf(0.975, dof))), 4) if len(t) else None,
            "nominal_95": 0.05,
            "miss_at_look_level": round(float(np.mean(t > student_t.ppf(0.5 + level / 2, dof))), 4) if len(t) else None,
            "nominal_at_look_level": round(1 - level, 4)}


def _timed_run(study, out: Path, jobs: int) -> tuple[dict, dict]:
    """Run ``study`` into ``out`` on ``jobs`` processes: its result and the figures every
    design reports (runs, rounds, wall and CPU seconds, the share of verdicts settled)."""
    t0, c0 = time.perf_counter(), os.times()
    result = study.run(out, n_jobs=jobs)
    wall, c1 = time.perf_counter() - t0, os.times()
    verdicts = [v for b in result["variants"].values() for v in b["world_verdicts"]]
    return result, {"replications_start": study.replications, "max_replications": study.max_replications,
                    "runs": result["runs"], "rounds": study.rounds, "wall_s": round(wall, 1),
                    "cpu_s_runs": round(_run_seconds(out), 1),
                    "cpu_s_process": round((c1.user + c1.children_user) - (c0.user + c0.children_user), 1),
                    "settled_share": round(sum(v != "undecided" for v in verdicts) / len(verdicts), 3),
                    "load_average": os.getloadavg()}


def agreement(first: dict, second: dict) -> dict:
    """How often two designs' world verdicts agree where both decided (no difference
    counted as equivalent), and the pairs where they do not."""
    same = {"no difference": "equivalent"}
    both, differ = 0, []
    for v, block in first["variants"].items():
        for w, (a, b) in enumerate(zip(block["world_verdicts"], second["variants"][v]["world_verdicts"])):
            if "undecided" not in (a, b):
                both += 1
                if same.get(a, a) != same.get(b, b):
                    differ.append([v, w, a, b])
    return {"both_decided": both, "disagree": len(differ), "pairs": differ}


def _windows_design(args, first, equal: int, first_result: dict) -> dict:
    """The same questions and worlds with windows (module docstring), its figures and
    its ratios to the two equal-allocation designs (``first``: the study run first)."""
    from reporting_sim.study.robustness import Study

    study = Study.from_file(ROOT / "experiments" / "study-robustness.toml", worlds=args.worlds, days=args.days,
                            replications=1, windows=args.windows, max_replications=args.windows_cap)
    result, out = _timed_run(study, args.out.parent / f"{args.out.name}-windows{args.windows}", args.jobs)
    matched = equal_allocation_matched(first, out["settled_share"])
    out.update({"windows": args.windows, "equal_allocation_matched": matched,
                "ratio_matched": round(matched["runs"] / out["runs"], 2) if matched["runs"] else None,
                "ratio": round(equal / out["runs"], 2), "calibration": calibration(study),
                "agreement": agreement(first_result, result)})
    return out


def _first(table, variant: str, base: str, world: int, n: int) -> list:
    """World ``world``'s first ``n`` paired differences ``variant - base`` (fewer where it has fewer)."""
    d = (table[variant] - table[base]).dropna()
    return d.loc[world].sort_index().to_numpy(dtype=float)[:n].tolist() if world in d.index.get_level_values(0) else []


def main(argv=None) -> int:
    from reporting_sim.study.robustness import Study

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=None)
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench-decisions")
    ap.add_argument("--windows", type=int, default=12, help="the windows design's windows (0: leave it out)")
    ap.add_argument("--windows-cap", type=int, default=4, help="the windows design's most replications a world")
    args = ap.parse_args(argv)
    study = Study.from_file(ROOT / "experiments" / "study-robustness.toml", worlds=args.worlds, days=args.days)
    result, figures = _timed_run(study, args.out, args.jobs)
    scenarios = len(study.members)
    equal = study.n_worlds * scenarios * study.max_replications
    out = {"worlds": study.n_worlds, "scenarios": scenarios, "days": study.days, **figures,
           "equal_allocation_runs": equal, "ratio": round(equal / result["runs"], 2)}
    out["equal_allocation_matched"] = matched = equal_allocation_matched(study, out["settled_share"])
    out["ratio_matched"] = round(matched["runs"] / result["runs"], 2) if matched["runs"] else None
    out["known_variance_bound"] = known_variance_bound(study)
    if args.windows:
        out["windows"] = _windows_design(args, study, equal, result)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
