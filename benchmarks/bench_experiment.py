"""Wall time of experiments/study-whatifs.toml, serial and on a process pool.

Runs the whole study (the base and the nine what-if variants, 30 replications of one
simulated year each, unless --replications/--days say otherwise) twice in one
invocation, into fresh temporary folders so nothing is resumed: once with --jobs 1 and
once on all cores; prints both wall times and the speed-up, and checks that the two
runs produced identical numbers.

    python benchmarks/bench_experiment.py                 # the full study, a few minutes
    python benchmarks/bench_experiment.py --replications 4 --days 90   # a smoke version
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from reporting_sim.study.execution import default_jobs
from reporting_sim.study.experiment import Experiment

STUDY = Path(__file__).resolve().parent.parent / "experiments" / "study-whatifs.toml"


def timed_run(replications: int | None, days: float | None, n_jobs: int, folder: Path):
    exp = Experiment.from_file(STUDY)
    if replications or days:
        exp.spec = exp.spec.model_copy(update={k: v for k, v in
                                               (("replications", replications), ("days", days)) if v})
    t0 = time.perf_counter()
    exp.run(folder, n_jobs=n_jobs)
    wall = time.perf_counter() - t0
    frame = pd.read_parquet(folder / "runs.parquet").drop(columns=["wall_s"])
    return wall, frame, len(exp.members)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=None)
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes (default: all cores)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    print(f"study-whatifs benchmark: {default_jobs()} CPUs, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        serial, a, n = timed_run(args.replications, args.days, 1, Path(tmp) / "serial")
        parallel, b, _ = timed_run(args.replications, args.days, args.jobs, Path(tmp) / "parallel")
    pd.testing.assert_frame_equal(a, b)
    runs = len(a)
    fig = {"scenarios": n, "runs": runs, "replications": int(a["replication"].nunique()),
           "days": float(a["days"].iloc[0]), "serial_s": round(serial, 2), "parallel_s": round(parallel, 2),
           "jobs": args.jobs, "speedup": round(serial / parallel, 3), "identical": True}
    print(f"{n} scenarios x {fig['replications']} replications of {fig['days']:g} days = {runs} runs")
    print(f"serial (--jobs 1):       {serial:7.1f} s  ({serial / runs:.3f} s per run)")
    print(f"parallel (--jobs {args.jobs}):     {parallel:7.1f} s")
    print(f"speed-up: {serial / parallel:.2f}x; serial and parallel numbers identical")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
