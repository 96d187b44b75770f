#!/usr/bin/env python
"""This tree beside a reference tree, in one run: a simulated year of minusma-2015 and
the reference network of bench_engine.py, each in fresh processes, alternating.

    python benchmarks/bench_versus.py --ref-python /tmp/ref/.venv/bin/python

The reference is another checkout installed in its own virtual environment, e.g. the
commit before issue #23::

    git clone -q . /tmp/ref && git -C /tmp/ref checkout -q a29c454
    python3 -m venv /tmp/ref/.venv && /tmp/ref/.venv/bin/pip install -q -e /tmp/ref

(an editable install: before issue #19 a plain install of the package left out the
built-in scenario). Every child runs from an empty temporary folder, so ``python -c``
imports the package of its own environment and never a tree in the current folder.

Printed, for each measure, the least CPU time (``time.process_time`` inside the child,
around the timed call only) over ``--reps`` repetitions of each, run alternately:

1. ``reporting_sim.simulate(load("minusma-2015"), seed=1, days=365)`` after a 20-day
   warm-up run, in this tree and in the reference: the ratio this/reference;
2. the reference network (``bench_engine.reference_scenario``, written as a TOML file
   both trees read) for ``--reports`` reports: ``simulate`` and ``metrics.summary``,
   in both trees, and the plain SimPy model of bench_engine.py (a process per report,
   ``simpy.Resource`` nodes, numpy draws handed out one by one) in this environment:
   the ratio plain/engine for each tree.

The load average is printed at the start and the end: read the ratios, not the times.

``--old-scenario FILE`` adds this tree's year on another scenario file, e.g. the
reference's own minusma-2015 (``git show a29c454:reporting_sim/scenarios/minusma-2015.toml``),
to tell the engine's speed from a change in the work the built-in scenario asks for.

``--instructions`` adds a measure the machine's load cannot move: the instructions the
CPU executes for the year's ``simulate`` in each tree (valgrind's cachegrind, the
child's whole count less that of the same child without the timed call). On the
shared machine it is the steadier ratio; it is not the issue's measure (CPU time), and
the two differ by how many instructions each tree gets through in a cycle.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

YEAR_SETUP = "import time, reporting_sim as rs; sc = rs.load({scenario!r}); rs.simulate(sc, seed=9, days=20)"
YEAR_CALL = "rs.simulate(sc, seed=1, days=365)"
YEAR = YEAR_SETUP + "; t = time.process_time(); " + YEAR_CALL + "; print(time.process_time() - t)"
NET = ("import time, reporting_sim as rs\ntry: from reporting_sim.measures import metrics\n"
       "except ImportError: from reporting_sim import metrics\nsc = rs.load({path!r}); "
       "rs.simulate(sc, seed=9, days=2.0); t = time.process_time(); "
       "rec = rs.simulate(sc, seed=1, days={days!r}); metrics.summary(rec); print(time.process_time() - t)")
PLAIN = ("import sys, time; sys.path.insert(0, {here!r}); import bench_engine as b; b.run_plain_reference(1, 2.0); "
         "print(b.run_plain_reference(1, {days!r})['cpu_s'])")


def child(python: str, code: str, cwd: str) -> float:
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=cwd)
    if out.returncode:
        raise SystemExit(f"{python}: {(out.stderr.strip().splitlines() or ['failed'])[-1]}")
    return float(out.stdout.split()[-1])


def instructions(python: str, code: str, cwd: str) -> int:
    """The instructions ``python -c code`` executes (cachegrind, no cache simulation)."""
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          python, "-c", code], capture_output=True, text=True, cwd=cwd)
    found = [line for line in out.stderr.splitlines() if "I   refs:" in line or "I refs:" in line]
    if out.returncode or not found:
        raise SystemExit(f"valgrind {python}: {(out.stderr.strip().splitlines() or ['failed'])[-1]}")
    return int(found[0].split(":")[1].replace(",", ""))


def year_instructions(python: str, cwd: str) -> int:
    """The instructions of the year's ``simulate`` in :data:`YEAR` (the child less the
    same child without the timed call)."""
    setup = YEAR_SETUP.format(scenario="minusma-2015")
    return instructions(python, f"{setup}; {YEAR_CALL}", cwd) - instructions(python, setup, cwd)


def load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?"


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref-python", required=True, help="the python of the reference tree's environment")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--old-scenario", metavar="FILE",
                    help="also time this tree's year on this scenario file (the reference's own)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count the year's instructions in both trees (needs valgrind)")
    return ap.parse_args()


def jobs_of(args, cwd: str) -> list:
    """``(name, python, code)`` of every timed child: the year and the network in both
    trees, the plain SimPy network, and this tree's year on ``--old-scenario``."""
    import bench_engine

    days = args.reports / (bench_engine.REF_ARRIVALS_PER_HOUR * 24.0)
    path = os.path.join(cwd, "reference-network.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(bench_engine.reference_scenario(days).to_toml())
    here, ref = sys.executable, args.ref_python
    year = YEAR.format(scenario="minusma-2015")
    jobs = [("year, this tree", here, year), ("year, reference", ref, year),
            ("network, this tree", here, NET.format(path=path, days=days)),
            ("network, reference", ref, NET.format(path=path, days=days)),
            ("network, plain SimPy", here, PLAIN.format(here=HERE, days=days))]
    if args.old_scenario:
        jobs.append(("year, this tree, old", here, YEAR.format(scenario=os.path.abspath(args.old_scenario))))
    return jobs


def main() -> None:
    args = arguments()
    cwd = tempfile.mkdtemp(prefix="bench-versus-")
    jobs = jobs_of(args, cwd)
    print(f"load average at the start: {load()}; {args.reps} repetitions, {args.reports} reports a network run")
    best: dict[str, float] = {}
    for r in range(args.reps):
        for name, python, code in (jobs if r % 2 == 0 else jobs[::-1]):
            best[name] = min(best.get(name, float("inf")), child(python, code, cwd))
    for name, t in best.items():
        print(f"  {name:22s} {t:7.3f} s CPU (least of {args.reps})")
    print(f"year of minusma-2015: this tree / reference = {best['year, this tree'] / best['year, reference']:.3f}")
    if args.old_scenario:
        print(f"year of {args.old_scenario} in this tree / the reference's year = "
              f"{best['year, this tree, old'] / best['year, reference']:.3f}")
    for tree in ("this tree", "reference"):
        print(f"reference network, {tree}: plain SimPy / engine = "
              f"{best['network, plain SimPy'] / best[f'network, {tree}']:.2f}x")
    if args.instructions:
        mine, theirs = year_instructions(sys.executable, cwd), year_instructions(args.ref_python, cwd)
        print(f"year of minusma-2015, instructions (cachegrind): this tree {mine / 1e6:,.1f} M, "
              f"reference {theirs / 1e6:,.1f} M, this / reference = {mine / theirs:.3f}")
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
