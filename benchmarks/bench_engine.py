#!/usr/bin/env python
"""Engine benchmark for reporting-sim: speed beside plain SimPy, a simulated year of
minusma-2015, and memory as the horizon grows.

    python benchmarks/bench_engine.py             # full run (about 1 minute on 2 cores)
    python benchmarks/bench_engine.py --quick     # smoke version (a few seconds)
    python benchmarks/bench_engine.py --json out.json

Three parts, in one run (see benchmarks/README.md for what each figure means):

1. A 5-cell queueing network (probabilistic routing with feedback, a 10% drop at
   intake, about 3.3 cell visits per report, loads 0.57-0.72) run by the engine
   (``reporting_sim.model.simulate`` on a scenario built from a dict) and by a plain
   SimPy model of the same network written below (one ``env.process`` per report,
   ``simpy.Resource`` cells, numpy exponential draws). Reports per second of both, the
   ratio engine/plain (median of paired ratios from alternating repetitions), and the
   mean cell wait of both beside the Jackson-network value, to show they model the
   same thing.
2. One simulated year of the built-in scenario ``minusma-2015``: median wall time of a
   few runs, and its peak memory.
3. Peak memory and time per simulated year for 1, 2, 4 and 8 simulated years of
   minusma-2015 (no tracing), each horizon in a fresh subprocess, plus one traced year
   for contrast.

Only the standard library, numpy, simpy and reporting_sim are used.
"""

from __future__ import annotations

import argparse
import array
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import simpy

import reporting_sim
from reporting_sim.model import Simulation, simulate
from reporting_sim.scenario import load, parse

MIB = 1024 * 1024

# --------------------------------------------------------------------------------------
# The queueing network (shared by both models: one definition, two implementations)
# --------------------------------------------------------------------------------------

ARRIVALS_PER_DAY = 240.0  # Poisson arrivals of reports: 10 an hour
ENTRY = "A"
CONSUMER = "D"  # the engine needs one consumer; the plain model records nothing extra
# name: (analysts, mean work time in hours), exponential work times
CELLS = {
    "A": (2, 0.13),  # intake
    "B": (2, 0.20),  # current analysis
    "C": (1, 0.17),  # long-term analysis
    "D": (3, 0.28),  # fusion / production (the consumer)
    "E": (1, 0.15),  # dissemination
}
# from: {to: p}; what is left of 1 leaves the network. A drops 10%; B->A and D->B feed back.
ROUTES = {
    "A": {"B": 0.5, "C": 0.4},
    "B": {"D": 0.9, "A": 0.1},
    "C": {"D": 0.7, "E": 0.3},
    "D": {"E": 0.3, "B": 0.1},
    "E": {},
}


def network_theory() -> dict:
    """Visit ratios, loads and M/M/c waits of the open Jackson network above."""
    names = list(CELLS)
    n = len(names)
    P = np.zeros((n, n))
    for src, outs in ROUTES.items():
        for dst, p in outs.items():
            P[names.index(src), names.index(dst)] = p
    e = np.zeros(n)
    e[names.index(ENTRY)] = 1.0
    visits = np.linalg.solve(np.eye(n) - P.T, e)
    lam = ARRIVALS_PER_DAY / 24.0
    cells = {}
    total_rate = total_wait_rate = 0.0
    for i, name in enumerate(names):
        c, mean = CELLS[name]
        rate = lam * visits[i]
        a = rate * mean  # offered load in Erlangs
        rho = a / c
        tail = a**c / math.factorial(c) / (1 - rho)
        p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
        wq = p_wait / (c / mean - rate)
        cells[name] = {"visits": float(visits[i]), "rho": rho, "wait_h": wq}
        total_rate += rate
        total_wait_rate += rate * wq
    return {"visits_per_report": float(visits.sum()), "mean_wait_h": total_wait_rate / total_rate,
            "cells": cells}


def network_scenario(days: float):
    """The network as a reporting-sim scenario (a continuous collector feeds cell A)."""
    links = [{"from": "intake", "to": ENTRY}]
    for src, outs in ROUTES.items():
        links += [{"from": src, "to": dst, "p": p} for dst, p in outs.items()]
    data = {
        "scenario": {"name": "bench-network", "days": days, "seed": 0},
        "kinds": {"item": {"family": "current", "shelf_life_h": 24.0}},
        "sources": {"feed": {"sector": "all", "rate_per_day": ARRIVALS_PER_DAY, "mix": {"item": 1.0}}},
        "collectors": {"intake": {"culture": "branch", "sectors": ["all"], "watch": "continuous",
                                  "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0}},
        "cells": {name: {"analysts": c, "work_h": {"dist": "exponential", "mean": mean},
                         "dedupe": False, "routing": "choose", "consumer": name == CONSUMER}
                  for name, (c, mean) in CELLS.items()},
        "links": links,
    }
    return parse(data, "bench")


# --------------------------------------------------------------------------------------
# The reference network of issue #12 (five FIFO nodes, a lognormal node, a delay)
# --------------------------------------------------------------------------------------

REF_ARRIVALS_PER_HOUR = 2.0  # Poisson arrivals at node 0
# name: (servers, work time): exponential rate 1.0 an hour, node 4 lognormal mean 2/3 h, cv 1.5
REF_NODES = {
    "n0": (3, {"dist": "exponential", "mean": 1.0}),
    "n1": (2, {"dist": "exponential", "mean": 1.0}),
    "n2": (1, {"dist": "exponential", "mean": 1.0}),
    "n3": (2, {"dist": "exponential", "mean": 1.0}),
    "n4": (1, {"dist": "lognormal", "mean": 2.0 / 3.0, "sd": 1.5 * 2.0 / 3.0}),
}
# from: [(to, p, mean of an infinite-server exponential delay on the way, or 0)]; the rest leaves
REF_ROUTES = {
    "n0": [("n1", 0.6, 0.0), ("n2", 0.3, 0.0)],
    "n1": [("n3", 1.0, 0.0)],
    "n2": [("n3", 0.5, 0.0), ("n4", 0.5, 2.0)],
    "n3": [("n4", 0.5, 0.0)],
    "n4": [],
}


def reference_scenario(days: float):
    """The reference network as a scenario: a continuous collector feeds n0, the nodes
    are cells with ``routing = "choose"``, the delay is the transit time of n2 -> n4."""
    links = [{"from": "intake", "to": "n0"}]
    for src, outs in REF_ROUTES.items():
        for dst, p, delay in outs:
            link = {"from": src, "to": dst, "p": p}
            if delay:
                link["transit_h"] = {"dist": "exponential", "mean": delay}
            links.append(link)
    data = {
        "scenario": {"name": "bench-reference", "days": days, "seed": 0},
        "kinds": {"item": {"family": "current", "shelf_life_h": 24.0}},
        "sources": {"feed": {"sector": "all", "rate_per_day": REF_ARRIVALS_PER_HOUR * 24.0,
                             "mix": {"item": 1.0}}},
        "collectors": {"intake": {"culture": "branch", "sectors": ["all"], "watch": "continuous",
                                  "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0}},
        "cells": {name: {"analysts": c, "work_h": dict(work), "dedupe": False, "routing": "choose",
                         "consumer": name == "n3"}
                  for name, (c, work) in REF_NODES.items()},
        "links": links,
    }
    return parse(data, "bench-reference")


def _work_batch(rng, work: dict):
    if work["dist"] == "exponential":
        return lambda n: rng.exponential(work["mean"], n)
    sigma2 = math.log(1 + (work["sd"] / work["mean"]) ** 2)
    mu = math.log(work["mean"]) - sigma2 / 2
    return lambda n: rng.lognormal(mu, math.sqrt(sigma2), n)


def run_plain_reference(seed: int, days: float) -> dict:
    """The reference network in textbook SimPy: a process per report, Resource nodes,
    the infinite-server delay a plain timeout."""
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    names = list(REF_NODES)
    servers = [simpy.Resource(env, capacity=c) for c, _ in REF_NODES.values()]
    work = [_buffered(_work_batch(rng, w)) for _, w in REF_NODES.values()]
    uniform = _buffered(rng.random)
    gap = _buffered(lambda n: rng.exponential(1.0 / REF_ARRIVALS_PER_HOUR, n))
    delays = {m: _buffered(lambda n, m=m: rng.exponential(m, n))
              for outs in REF_ROUTES.values() for _, _, m in outs if m}
    routes = []  # per node: [(cumulative p, next node index, delay sampler or None)]
    for name in names:
        acc, table = 0.0, []
        for dst, p, m in REF_ROUTES[name]:
            acc += p
            table.append((acc, names.index(dst), delays.get(m)))
        routes.append(table)
    sum_wait, started, visits, created = [0.0] * len(names), [0] * len(names), [0] * len(names), [0]

    def report(env):
        i = 0
        while i >= 0:
            visits[i] += 1
            t_in = env.now
            with servers[i].request() as req:
                yield req
                sum_wait[i] += env.now - t_in
                started[i] += 1
                yield env.timeout(work[i]())
            u, nxt = uniform(), -1
            for acc, j, delay in routes[i]:
                if u < acc:
                    nxt = j
                    if delay is not None:
                        yield env.timeout(delay())
                    break
            i = nxt

    def source(env):
        while True:
            yield env.timeout(gap())
            created[0] += 1
            env.process(report(env))

    env.process(source(env))
    env.run(until=days * 24.0)
    cpu = time.process_time() - t0
    return {"cpu_s": cpu, "reports": created[0], "visits_per_report": sum(visits) / created[0],
            "mean_wait_h": sum(sum_wait) / sum(started)}


def reference_theory() -> dict:
    """Visits per report of the reference network (traffic equations)."""
    lam = {"n0": 1.0}
    lam["n1"] = 0.6
    lam["n2"] = 0.3
    lam["n3"] = lam["n1"] + 0.5 * lam["n2"]
    lam["n4"] = 0.5 * lam["n2"] + 0.5 * lam["n3"]
    return {"visits_per_report": sum(lam.values()), "mean_wait_h": None}


def run_engine(scenario, seed: int, days: float) -> dict:
    t0 = time.process_time()
    rec = simulate(scenario, seed, days)
    cpu = time.process_time() - t0
    cells = rec.cells
    reports = int(rec.meta["reports_created"])
    started = int(cells["started"].sum())
    return {"cpu_s": cpu, "reports": reports,
            "visits_per_report": float(cells["arrivals"].sum()) / reports,
            "mean_wait_h": float(cells["sum_wait_h"].sum()) / started}


def _buffered(draw_batch):
    """A zero-argument sampler handing out numpy draws made 512 at a time (the same
    trick the engine's samplers use, so random numbers cost both models the same)."""
    buf: list[float] = []

    def draw() -> float:
        if not buf:
            buf.extend(draw_batch(512)[::-1].tolist())
        return buf.pop()

    return draw


def run_plain(seed: int, days: float) -> dict:
    """The same network in textbook SimPy: a process per report, Resource cells."""
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    names = list(CELLS)
    servers = [simpy.Resource(env, capacity=c) for c, _ in CELLS.values()]
    work = [_buffered(lambda n, m=mean: rng.exponential(m, n)) for _, mean in CELLS.values()]
    uniform = _buffered(rng.random)
    gap = _buffered(lambda n: rng.exponential(24.0 / ARRIVALS_PER_DAY, n))
    # per cell: [(cumulative p, next cell index), ...]; falling off the end leaves
    routes = []
    for name in names:
        acc, table = 0.0, []
        for dst, p in ROUTES[name].items():
            acc += p
            table.append((acc, names.index(dst)))
        routes.append(table)
    entry = names.index(ENTRY)
    sum_wait = [0.0] * len(names)
    started = [0] * len(names)
    visits = [0] * len(names)
    created = [0]

    def report(env):
        i = entry
        while i >= 0:
            visits[i] += 1
            t_in = env.now
            with servers[i].request() as req:
                yield req
                sum_wait[i] += env.now - t_in
                started[i] += 1
                yield env.timeout(work[i]())
            u = uniform()
            nxt = -1
            for acc, j in routes[i]:
                if u < acc:
                    nxt = j
                    break
            i = nxt

    def source(env):
        while True:
            yield env.timeout(gap())
            created[0] += 1
            env.process(report(env))

    env.process(source(env))
    env.run(until=days * 24.0)
    cpu = time.process_time() - t0
    return {"cpu_s": cpu, "reports": created[0], "visits_per_report": sum(visits) / created[0],
            "mean_wait_h": sum(sum_wait) / sum(started)}


NETWORKS = {
    # name: (arrivals per day, scenario builder, plain SimPy model, theory)
    "cells5": (ARRIVALS_PER_DAY, network_scenario, run_plain, network_theory),
    "reference": (REF_ARRIVALS_PER_HOUR * 24.0, reference_scenario, run_plain_reference, reference_theory),
}


def bench_network(n_reports: int, reps: int, seed: int, which: str = "cells5") -> dict:
    """Engine and plain SimPy on one network, in CPU time, alternating their order."""
    per_day, build, plain_model, theory_fn = NETWORKS[which]
    days = n_reports / per_day
    scenario = build(days)
    theory = theory_fn()
    # one short untimed run of each: imports, caches, first-use costs
    run_engine(build(5.0), seed, 5.0)
    plain_model(seed, 5.0)
    engine, plain, ratios = [], [], []
    for r in range(reps):
        order = ("engine", "plain") if r % 2 == 0 else ("plain", "engine")
        got = {}
        for model in order:
            gc.collect()
            got[model] = (run_engine(scenario, seed + r, days) if model == "engine"
                          else plain_model(seed + r, days))
        engine.append(got["engine"])
        plain.append(got["plain"])
        ratios.append((got["engine"]["reports"] / got["engine"]["cpu_s"])
                      / (got["plain"]["reports"] / got["plain"]["cpu_s"]))

    def summary(runs):
        rates = [x["reports"] / x["cpu_s"] for x in runs]
        return {"reports_per_s": statistics.median(rates), "reports_per_s_all": rates,
                "reports": statistics.median(x["reports"] for x in runs),
                "visits_per_report": statistics.fmean(x["visits_per_report"] for x in runs),
                "mean_wait_h": statistics.fmean(x["mean_wait_h"] for x in runs),
                "mean_wait_h_sd": statistics.stdev(x["mean_wait_h"] for x in runs) if len(runs) > 1 else None}

    return {"network": which, "days": days, "reps": reps, "engine": summary(engine), "plain": summary(plain),
            "ratio_engine_over_plain": statistics.median(ratios), "ratios": ratios,
            "ratio_range": [min(ratios), max(ratios)], "theory": theory}


# --------------------------------------------------------------------------------------
# minusma-2015: a simulated year, and memory by horizon
# --------------------------------------------------------------------------------------

def bench_minusma_year(runs: int, seed: int) -> dict:
    """CPU time of one simulated year: building the network, running it (the engine
    proper) and turning the records into frames, each timed apart."""
    sc = load("minusma-2015")
    simulate(sc, seed, 5.0)  # warm-up
    parts = {"build_s": [], "run_s": [], "records_s": []}
    for r in range(runs):
        gc.collect()
        t0 = time.process_time()
        sim = Simulation(sc, seed + r, 365.0)
        t1 = time.process_time()
        with _gc_paused():  # as Simulation.run does (trees before issue #23: no pause)
            sim.env.run(until=sim.horizon)
        t2 = time.process_time()
        rec = sim.records()
        t3 = time.process_time()
        parts["build_s"].append(t1 - t0)
        parts["run_s"].append(t2 - t1)
        parts["records_s"].append(t3 - t2)
    walls = [a + b + c for a, b, c in zip(*parts.values())]
    engine = [a + b for a, b in zip(parts["build_s"], parts["run_s"])]
    return {"runs": runs, "wall_s": statistics.median(walls), "wall_s_all": walls,
            "engine_s": statistics.median(engine), "engine_s_all": engine,
            **{k: statistics.median(v) for k, v in parts.items()},
            "events": len(rec.events), "reports": int(rec.meta["reports_created"])}


def _gc_paused():
    """What ``Simulation.run`` wraps SimPy's run in, where the tree has it."""
    import contextlib

    from reporting_sim.model import engine

    return getattr(engine, "cyclic_gc_paused", contextlib.nullcontext)()


def _maxrss_mib() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (MIB if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux


def _array_bytes(recorder) -> int:
    """Bytes held in the recorder's per-event columns (``array.array``s, alone or in lists)."""
    total = 0
    for value in getattr(recorder, "__dict__", {}).values():
        for a in (value if isinstance(value, list) else [value]):
            if isinstance(a, array.array):
                total += a.buffer_info()[1] * a.itemsize
    return total


def memory_child(years: float, seed: int, trace: bool, timed_runs: int = 3) -> dict:
    """Run in a fresh interpreter: time a few runs (median), then measure the memory of one."""
    sc = load("minusma-2015")
    days = 365.0 * years
    horizon = days * 24.0
    simulate(sc, seed, 2.0, trace=trace)  # warm-up: lazy imports and first-use costs
    gc.collect()
    rss_before = _maxrss_mib()
    walls = []
    for _ in range(timed_runs):
        rec = None
        gc.collect()
        t0 = time.perf_counter()
        rec = simulate(sc, seed, days, trace=trace)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)
    rss_after = _maxrss_mib()
    n_events, n_reports = len(rec.events), int(rec.meta["reports_created"])
    del rec
    gc.collect()

    # Same run again under tracemalloc (slower, so not timed). A probe just before the
    # horizon reads the peak of the simulation proper and resets it, so the final peak
    # is that of building the result frames.
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    sim = Simulation(sc, seed, days, trace=trace)
    probe = {}

    def at_end():
        cur, peak = tracemalloc.get_traced_memory()
        probe.update(run_end=cur - base, run_peak=peak - base, arrays=_array_bytes(sim.rec),
                     live_events=len(sim.live))
        tracemalloc.reset_peak()

    sim.clock.after(horizon - 1e-6, at_end)
    rec = sim.run()
    cur, peak = tracemalloc.get_traced_memory()
    del sim
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del rec
    return {
        "years": years, "trace": trace, "wall_s": wall, "wall_s_all": walls, "events": n_events, "reports": n_reports,
        "consumers": len(sc.consumers), "event_arrays_mib": probe["arrays"] / MIB,
        "other_in_run_mib": (probe["run_peak"] - probe["arrays"]) / MIB,
        "rss_before_mib": rss_before, "rss_after_mib": rss_after,
        "run_peak_mib": probe["run_peak"] / MIB, "run_end_mib": probe["run_end"] / MIB,
        "peak_mib": max(probe["run_peak"], peak - base) / MIB, "result_mib": kept / MIB,
        "live_events_at_end": probe["live_events"],
    }


def bench_memory(horizons, seed: int, trace_years: float | None) -> list[dict]:
    jobs = [(y, False) for y in horizons] + ([(trace_years, True)] if trace_years else [])
    rows = []
    for years, trace in jobs:
        cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", str(years),
               "--seed", str(seed)] + (["--trace-child"] if trace else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return rows


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------

def _table(header, rows) -> str:
    cells = [header] + [[str(x) for x in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "  ".join(s.rjust(w) if i else s.ljust(w) for i, (s, w) in enumerate(zip(r, widths)))
    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def print_network(res: dict) -> None:
    th = res["theory"]
    e, p = res["engine"], res["plain"]
    lo, hi = res["ratio_range"]
    title = {"cells5": "5 cells with feedback (the original network)",
             "reference": "the reference network of issue #12 (5 FIFO nodes, lognormal node, delay)"}
    print(f"\n1{'a' if res['network'] == 'cells5' else 'b'}. Queueing network: {title[res['network']]}, "
          f"{NETWORKS[res['network']][0]:g} reports/day, {res['days']:.0f} days "
          f"(~{e['reports']:.0f} reports a run), median of {res['reps']} alternating repetitions, CPU time")
    wait = lambda x: f"{x['mean_wait_h'] * 60:.2f}" + (f" ± {x['mean_wait_h_sd'] * 60:.2f}"
                                                        if x["mean_wait_h_sd"] is not None else "")
    print(_table(["model", "reports/s", "visits/report", "mean cell wait (min)"], [
        ["engine (simulate)", f"{e['reports_per_s']:,.0f}", f"{e['visits_per_report']:.3f}", wait(e)],
        ["plain SimPy", f"{p['reports_per_s']:,.0f}", f"{p['visits_per_report']:.3f}", wait(p)],
        ["theory", "", f"{th['visits_per_report']:.3f}",
         f"{th['mean_wait_h'] * 60:.2f}" if th["mean_wait_h"] is not None else "(not M/M/c)"],
    ]))
    print(f"ratio engine/plain: {res['ratio_engine_over_plain']:.2f}x "
          f"(median of paired ratios; range {lo:.2f}-{hi:.2f})   (± is the sd across repetitions)")


def print_minusma(res: dict, mem1: dict | None) -> None:
    print(f"\n2. minusma-2015, one simulated year ({res['events']:,} events, {res['reports']:,} reports):")
    extra = ""
    if mem1:
        extra = (f"; peak memory {mem1['peak_mib']:.1f} MiB (tracemalloc), "
                 f"process max RSS {mem1['rss_after_mib']:.0f} MiB")
    spread = ", ".join(f"{w:.3f}" for w in res["engine_s_all"])
    print(f"   engine (build + run) {res['engine_s']:.3f} s CPU, median of {res['runs']} runs ({spread});"
          f" build {res['build_s']:.3f} s, run {res['run_s']:.3f} s, result frames {res['records_s']:.3f} s;"
          f" whole simulate() {res['wall_s']:.3f} s{extra}")


def print_memory(rows: list[dict]) -> None:
    print("\n3. minusma-2015 memory by horizon (each horizon in a fresh subprocess; MiB)")
    out = []
    for r in rows:
        label = f"{r['years']:g} y" + (" traced" if r["trace"] else "")
        out.append([label, f"{r['events']:,}", f"{r['wall_s'] / r['years']:.2f}",
                    f"{r['run_peak_mib']:.1f}", f"{r['event_arrays_mib']:.1f}",
                    f"{r['other_in_run_mib']:.1f}", f"{r['peak_mib']:.1f}", f"{r['result_mib']:.1f}",
                    f"{r['rss_after_mib']:.0f} (+{r['rss_after_mib'] - r['rss_before_mib']:.0f})"])
    print(_table(["horizon", "events", "s/sim-year", "peak in run", "per-event cols", "rest of run",
                  "peak incl. result", "result kept", "max RSS (+run)"], out))
    plain = [r for r in rows if not r["trace"]]
    if len(plain) >= 2:
        a, b = plain[0], plain[-1]
        d_ev = b["events"] - a["events"]
        per = lambda key: (b[key] - a[key]) * MIB / d_ev
        print(f"   per extra event ({a['years']:g} y -> {b['years']:g} y): peak in run "
              f"{per('run_peak_mib'):+.0f} B (per-event cols {per('event_arrays_mib'):+.0f} B, "
              f"rest {per('other_in_run_mib'):+.0f} B), peak incl. result {per('peak_mib'):+.0f} B, "
              f"result kept {per('result_mib'):+.0f} B ({b['consumers']} consumers)")
    print("   tracemalloc (Python and numpy allocations): 'peak in run' is the simulation proper,\n"
          "   split into the recorder's per-event columns and the rest (SimPy, live reports, queues,\n"
          "   and per-step rows when traced); 'peak incl. result' adds building the result frames;\n"
          "   'result kept' is the returned records. max RSS: the whole process (interpreter, pandas,\n"
          "   pydantic...), and in brackets what the timed runs added after a warm-up run.\n"
          "   s/sim-year: median of 3 timed runs (no tracemalloc), wall time per simulated year.")


def machine() -> dict:
    return {"python": platform.python_version(), "simpy": simpy.__version__, "numpy": np.__version__,
            "reporting_sim": reporting_sim.__version__, "platform": platform.platform(),
            "cpus": os.cpu_count(), "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short smoke version (a few seconds)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    ap.add_argument("--reports", type=int, default=None, help="reports per network run (default 100000)")
    ap.add_argument("--reps", type=int, default=None, help="alternating repetitions (default 7)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-memory", action="store_true", help="skip part 3 (memory by horizon)")
    ap.add_argument("--memory-child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--trace-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.memory_child is not None:
        print(json.dumps(memory_child(args.memory_child, args.seed, args.trace_child)))
        return 0

    n_reports = args.reports or (10_000 if args.quick else 100_000)
    reps = args.reps or (3 if args.quick else 7)
    year_runs = 2 if args.quick else 5
    horizons = (0.25, 0.5) if args.quick else (1, 2, 4, 8)
    trace_years = 0.25 if args.quick else 1

    t_start = time.perf_counter()
    info = machine()
    load_note = f", load average {info['loadavg'][0]:.2f}" if info["loadavg"] else ""
    print(f"reporting-sim {info['reporting_sim']} engine benchmark: Python {info['python']}, "
          f"simpy {info['simpy']}, numpy {info['numpy']}, {info['cpus']} CPUs{load_note}")
    if args.quick:
        print("(--quick: smoke version, figures are rough)")

    nets = {}
    for which in NETWORKS:
        nets[which] = bench_network(n_reports, reps, args.seed, which)
        print_network(nets[which])
    net = nets
    year = bench_minusma_year(year_runs, args.seed)
    mem = [] if args.no_memory else bench_memory(horizons, args.seed, trace_years)
    mem1 = next((r for r in mem if r["years"] == 1 and not r["trace"]), None)
    print_minusma(year, mem1)
    if mem:
        print_memory(mem)
    total = time.perf_counter() - t_start
    print(f"\ntotal benchmark time {total:.0f} s")

    if args.json:
        doc = {"machine": info, "quick": args.quick, "network": net, "minusma_year": year,
               "minusma_year_memory": mem1, "memory_by_horizon": mem, "total_s": total}
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=2)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
