"""The shipped two-wave calibration (experiments/calibrate-minusma.toml): its runs, their
CPU time, the time the emulators take, and how many candidate worlds the emulators
screen per real run.

    python benchmarks/bench_calibrate.py                          # the shipped size: 2 waves x 40 worlds x 2 x 240 days
    python benchmarks/bench_calibrate.py --worlds 12 --days 120   # a smoke version
    python benchmarks/bench_calibrate.py --json out.json          # also every figure as JSON
    python benchmarks/bench_calibrate.py --keep results/calibrate-minusma   # and keep the folder

It runs into a fresh temporary folder (nothing resumed) on ``--jobs`` processes and
prints the load average first: the machine is shared, so read CPU time per run, not
wall time, and compare only figures taken on a quiet machine. ``run_s`` is the sum of
each run's own time (wall clock measured in the worker around the simulation: its CPU
time on a quiet machine, more under load); ``analysis_cpu_s`` is the CPU time of this
process (history matching, emulator fits, cross-validated coverage, screening).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from reporting_sim.study import calibrate as cal

FILE = Path(__file__).resolve().parent.parent / "experiments" / "calibrate-minusma.toml"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=None)
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--replications", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None,
                    help="Run into this new folder and keep it (e.g. results/calibrate-minusma) instead of a temporary one.")
    args = ap.parse_args(argv)
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    run = cal.from_file(FILE, worlds=args.worlds, days=args.days, replications=args.replications)
    if args.keep is not None and args.keep.exists():
        raise SystemExit(f"{args.keep}: exists already (the benchmark runs into a fresh folder)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "c"
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = run.run(folder, n_jobs=args.jobs)
        wall, analysis = time.perf_counter() - t0, time.process_time() - cpu0
        info = json.loads((folder / "run.json").read_text())
        session = json.loads((folder / "timings.jsonl").read_text().splitlines()[-1])  # the guard's timings
    runs = info["runs"]
    out = {"load_average": list(load), "waves": run.waves, "worlds": run.n_worlds, "replications": run.replications,
           "days": run.days, "runs": runs, "run_s": session["run_seconds_total"],
           "run_s_per_run": session["run_seconds_total"] / runs, "analysis_cpu_s": analysis, "wall_s": wall,
           "jobs": args.jobs, "candidates_screened_per_run": [w.get("screened_per_run") for w in result["waves"]],
           "non_implausible_fraction": [w["non_implausible_fraction"] for w in result["waves"]],
           "coverage": [w["coverage"] for w in result["waves"]], "plausible": result["plausible"]}
    for k, v in out.items():
        print(f"{k:>28}: {v}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
