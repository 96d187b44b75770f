#!/usr/bin/env python
"""Where the engine's time goes, per report: Python bytecode instructions executed by
each function, divided by the reports made, for one run.

    python benchmarks/profile_report.py                        # minusma-2015, 120 days
    python benchmarks/profile_report.py --network --days 100   # the reference network
    /path/to/other/venv/bin/python benchmarks/profile_report.py  # another tree, same count

Instructions are counted with ``sys.settrace`` (opcode events), so the count is the
same on a busy machine and a quiet one, and two trees can be compared exactly; it is
a measure of work, not of time (a call or a float costs more than a jump). The run is
untimed and about 50 times slower than usual. ``--top N`` rows are printed, then the
total; SimPy's own functions are named ``simpy/...``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _key(code) -> str:
    path = code.co_filename.replace(os.sep, "/")
    for root in ("reporting_sim/", "simpy/"):
        if root in path:
            path = path[path.rindex(root):]
            break
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{path}:{code.co_name}"


def count(sim) -> collections.Counter:
    """Opcodes executed per function while ``sim`` runs up to its horizon."""
    counts: collections.Counter = collections.Counter()

    def tracer(frame, _event, _arg):
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        key = _key(frame.f_code)

        def local(_frame, event, _arg):
            if event == "opcode":
                counts[key] += 1
            return local

        return local

    try:  # the engine's own run loop (reporting_sim.model.loop), as Simulation.run runs it
        from reporting_sim.model.loop import run_until
    except ImportError:  # a tree before it: SimPy's
        def run_until(env, until):
            env.run(until=until)
    sys.settrace(tracer)
    try:
        run_until(sim.env, sim.horizon)
    finally:
        sys.settrace(None)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", action="store_true", help="the reference network of bench_engine.py")
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    import reporting_sim
    from reporting_sim.model import Simulation

    if args.network:
        import bench_engine

        days = args.days or 100.0
        sc = bench_engine.reference_scenario(days)
    else:
        days = args.days or 120.0
        sc = reporting_sim.load("minusma-2015")
    sim = Simulation(sc, args.seed, days)
    counts = count(sim)
    reports, total = sim.next_report, sum(counts.values())
    print(f"{'network' if args.network else 'minusma-2015'}, {days:g} days, seed {args.seed}: "
          f"{reports} reports, {next(sim.env._eid)} SimPy events ({reporting_sim.__file__})")
    print(f"{'opcodes/report':>14}  share  function")
    for key, n in counts.most_common(args.top):
        print(f"{n / reports:14.1f}  {n / total:5.1%}  {key}")
    print(f"{total / reports:14.1f}  100.0%  in all")


if __name__ == "__main__":
    main()
