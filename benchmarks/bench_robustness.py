"""Wall time of a robustness study (experiments/study-robustness.toml), serial, on a
process pool and on a local Dask cluster, with projections for the full study.

The full study is 200 worlds x 10 scenarios x 3 replications x 365 days = 6,000 runs.
This runs a reduced one (``--worlds``, ``--replications``, ``--days``) three ways into
fresh temporary folders (nothing resumed), checks that all three give identical runs,
and prints the time per run and what the full study would take on this machine and on
a 64-core Dask cluster (time per run x runs / cores: runs are independent, so the
projection assumes the cluster keeps every core busy; scheduling and the final analysis
come on top). On this machine's pool the study's runs and its analysis after them are
timed apart: the full study's projection is the runs' wall time per run x 6,000 plus
the analysis once, as measured at the reduced size (scenario discovery and its null
distribution are a fixed number of fits on one row per world, which grow far more
slowly than the runs: before its null's shuffles ran on the pool, 27 s at 4 and at 20
worlds, 109 s at 200, so a small size understates it; benchmarks/README.md gives it at
each size measured; the serial CPU projection still spreads the analysis over the
runs, an overstatement at a small size).

    python benchmarks/bench_robustness.py                                 # 4 worlds, 1 replication, 365 days: 40 runs each way
    python benchmarks/bench_robustness.py --worlds 2 --days 90 --no-dask  # a smoke version
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from reporting_sim.study.execution import default_jobs
from reporting_sim.study.robustness import Study

STUDY = Path(__file__).resolve().parent.parent / "experiments" / "study-robustness.toml"
FULL_RUNS = 200 * 10 * 3


def fixed_study(args) -> Study:
    """The reduced study at a fixed ``--replications`` per world and scenario (no
    sequential growth: the issue's size is a fixed 3 replications), unless ``--sequential``."""
    study = Study.from_file(STUDY, worlds=args.worlds, replications=args.replications, days=args.days)
    if not args.sequential:
        study.max_replications = study.replications
    return study


def run_seconds(folder: Path) -> float:
    """The runs' own seconds, summed (the study guard's line in ``timings.jsonl``)."""
    last = (folder / "timings.jsonl").read_text("utf-8").splitlines()[-1]
    return float(json.loads(last)["run_seconds_total"])


def timed(args, folder: Path, **how) -> tuple[float, pd.DataFrame, Study, dict]:
    study = fixed_study(args)
    t0, c0 = time.perf_counter(), time.process_time()
    result = study.run(folder, **how)
    wall = time.perf_counter() - t0
    result = dict(result or {}, cpu_s=time.process_time() - c0)  # this process's CPU (all of it, serially)
    frame = pd.read_parquet(folder / "runs.parquet")
    return wall, frame.sort_values(["world", "scenario", "replication"]).reset_index(drop=True), study, result


def runs_only(args) -> int:
    """The CPU time of every run of the reduced study (each world's base and scenarios,
    ``--replications`` each), made one after the other by ``run_job`` (what every executor
    runs per job: the world's scenario built, ``simulate``, the metrics), after one
    untimed run; the projection of the full study from it (CPU over ``--jobs`` cores,
    every core busy; the run store, the study's sequential rounds and its analysis left
    out)."""
    from reporting_sim.study.execution import run_job

    load0 = os.getloadavg()[0]
    study = fixed_study(args)
    counts = {m.label: args.replications for m in study.members}
    jobs = [job for w in range(study.n_worlds) for job, _, _ in study.world_jobs(w, counts)]
    run_job(jobs[0])
    cpu = []
    for job in jobs:
        t = time.process_time()
        run_job(job)
        cpu.append(time.process_time() - t)
    per_run = sum(cpu) / len(cpu)
    full = per_run * FULL_RUNS / args.jobs / 60
    print(f"{len(cpu)} runs of {args.days:g} days, one after the other: {sum(cpu):.2f} s CPU, {per_run:.3f} s a run; "
          f"the {FULL_RUNS} runs of the full study: {full:.0f} min on {args.jobs} cores "
          f"(load average {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end)")
    if args.json:
        args.json.write_text(json.dumps({"runs": len(cpu), "cpu_s": round(sum(cpu), 2), "cpu_s_per_run": round(per_run, 3),
                                         "projected_full_study_runs_min": round(full, 1), "load_at_start": round(load0, 2)}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=4)
    ap.add_argument("--replications", type=int, default=1)
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--jobs", type=int, default=default_jobs())
    ap.add_argument("--no-dask", action="store_true", help="skip the local Dask cluster")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--sequential", action="store_true",
                    help="let worlds grow replications up to the file's cap (default: fixed --replications)")
    ap.add_argument("--no-serial", action="store_true", help="skip the serial study (pool, and Dask unless --no-dask)")
    ap.add_argument("--runs-only", action="store_true",
                    help="only the CPU time of each run (study.execution.run_job, serially), no study")
    args = ap.parse_args(argv)
    if args.runs_only:
        return runs_only(args)
    load0 = os.getloadavg()[0]
    print(f"robustness benchmark: {default_jobs()} CPUs, load average {load0:.2f} at the start")
    fig: dict = {"cpus": default_jobs(), "load_at_start": round(load0, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_serial:
            serial, a, study, serial_result = timed(args, Path(tmp) / "serial", n_jobs=1)
            fig["serial_cpu_s"] = round(serial_result["cpu_s"], 1)
        pool, b, study, _ = timed(args, Path(tmp) / "pool", n_jobs=args.jobs)
        run_cpu = run_seconds(Path(tmp) / "pool") / len(b)
        fig["pool_runs_s"] = round(study.runs_wall_s, 1)  # the pool's runs, without the analysis and its files after them
        fig["pool_analysis_s"] = round(pool - study.runs_wall_s, 1)
        if args.no_serial:
            serial, a = math.nan, b
        pd.testing.assert_frame_equal(a, b)
        runs = len(a)
        fig.update(runs=runs, worlds=args.worlds, scenarios=len(study.members), replications=args.replications,
                   days=args.days, serial_s=round(serial, 1), pool_s=round(pool, 1), jobs=args.jobs,
                   seconds_per_run_in_simulate=round(run_cpu, 3))
        if not args.no_dask:
            from dask.distributed import Client, LocalCluster

            with LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                dask_s, c, _, _ = timed(args, Path(tmp) / "dask", dask=client)
            pd.testing.assert_frame_equal(a, c)
            fig["dask_s"] = round(dask_s, 1)
    per_run_pool = fig["pool_runs_s"] / runs
    # the runs grow with their number; the analysis (scenario discovery and its null
    # distribution, a fixed number of fits on one row per world) grows far more slowly:
    # it is added once, as measured at this size (benchmarks/README.md: it is larger at
    # the full 200 worlds than at a reduced size)
    fig["projected_full_study_this_machine_min"] = round((per_run_pool * FULL_RUNS + fig["pool_analysis_s"]) / 60, 1)
    # CPU time is what a loaded machine disturbs least: the serial study's CPU per run,
    # over this machine's cores (runs are independent; perfect sharing assumed)
    if "serial_cpu_s" in fig:
        fig["projected_full_study_from_cpu_min"] = round(fig["serial_cpu_s"] / runs * FULL_RUNS / args.jobs / 60, 1)
    fig["projected_full_study_64_core_dask_min"] = round(fig["seconds_per_run_in_simulate"] * FULL_RUNS / 64 / 60, 1)
    fig["load_at_end"] = round(os.getloadavg()[0], 2)
    print(f"{args.worlds} worlds x {fig['scenarios']} scenarios x {args.replications} replications of "
          f"{args.days:g} days = {runs} runs, each way; identical numbers serial, pool"
          + ("" if args.no_dask else " and Dask"))
    if "serial_cpu_s" in fig:
        print(f"serial (--jobs 1):      {serial:7.1f} s   ({serial / runs:.2f} s per run)")
        print(f"serial CPU time:        {fig['serial_cpu_s']:7.1f} s   ({fig['serial_cpu_s'] / runs:.2f} s per run)")
    print(f"process pool (--jobs {args.jobs}): {pool:7.1f} s   (the runs {fig['pool_runs_s']:.1f} s, "
          f"{per_run_pool:.3f} s per run, of which {run_cpu:.2f} s in each run itself: scenario, simulation, "
          f"metrics; the analysis and its files after them {fig['pool_analysis_s']:.1f} s)")
    if "dask_s" in fig:
        print(f"local Dask ({args.jobs} workers): {fig['dask_s']:7.1f} s   ({fig['dask_s'] / runs:.2f} s per run)")
    print(f"projected full study ({FULL_RUNS} runs): {fig['projected_full_study_this_machine_min']:.1f} min on this "
          f"machine's pool (its runs per run x {FULL_RUNS}, plus the analysis once); {fig['projected_full_study_64_core_dask_min']:.1f} min on a 64-core Dask cluster")
    if "projected_full_study_from_cpu_min" in fig:
        print(f"projected from CPU time: {fig['projected_full_study_from_cpu_min']:.0f} min on {args.jobs} cores "
              f"(serial CPU per run x {FULL_RUNS} / {args.jobs}, every core busy)")
    print(f"load average {fig['load_at_end']:.2f} at the end (a loaded machine makes every figure larger)")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
