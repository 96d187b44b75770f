#!/usr/bin/env python
"""Digests of every frame of a fixed set of runs: the check that a speed-up changed no
number the model produces.

    python benchmarks/digest_runs.py > before.txt     # on the old tree
    python benchmarks/digest_runs.py > after.txt      # on the new tree
    diff before.txt after.txt                         # no output: nothing moved

One line per run and frame (ledger, events, reports, cells, trace, meta): the case, the
frame and a SHA-256 digest of the frame written as CSV with every float in full
precision (``repr``). The cases cover minusma-2015 with and without tracing and a
warm-up, minusma-2014, every variant of ``experiments/variants``, minusma-2015 with
each ``[mechanisms]`` switch off and without routine work, and both benchmark networks.
``--cells-rtol X`` prints the cells frame's time-weighted areas and its sums of
sojourns rounded to ``X`` relative precision instead of exactly (for a change that sums
them in another order).
Only the standard library, pandas and reporting_sim are used.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from reporting_sim.model import simulate  # noqa: E402
from reporting_sim.scenario import load, parse  # noqa: E402
from reporting_sim.scenario.loading import load_data  # noqa: E402

SWITCHES = ("classification", "sanitisation", "accreditation", "tasking", "competition", "boards",
            "coping", "escorts", "pull", "literacy", "rotations")
AREAS = ("busy_area", "queue_area", "sum_sojourn_h")


def _minusma_without(change) -> object:
    data, _ = load_data("minusma-2015")
    data = copy.deepcopy(data)
    data.pop("uncertainties", None)
    change(data)
    return parse(data, "minusma-2015-changed")


def _switch_off(name):
    return lambda data: data.setdefault("mechanisms", {}).__setitem__(name, False)


def _no_routine(data) -> None:
    for cell in data["cells"].values():
        cell.pop("background", None)


def cases():
    """(name, scenario, seed, days, keyword arguments of simulate) for every run."""
    import bench_engine

    yield "minusma-2015", load("minusma-2015"), 1, 120.0, {}
    yield "minusma-2015-trace", load("minusma-2015"), 2, 60.0, {"trace": True}
    yield "minusma-2015-warmup", load("minusma-2015"), 3, 90.0, {"warmup_days": 20.0}
    yield "minusma-2015-trace-warmup", load("minusma-2015"), 4, 40.0, {"trace": True, "warmup_days": 10.0}
    yield "minusma-2014", load(str(ROOT / "experiments" / "scenarios" / "minusma-2014.toml")), 1, 120.0, {}
    for path in sorted((ROOT / "experiments" / "variants").glob("*.toml")):
        yield f"variant:{path.stem}", load(str(path)), 5, 90.0, {}
    for name in SWITCHES:
        yield f"off:{name}", _minusma_without(_switch_off(name)), 6, 90.0, {}
    yield "no-routine", _minusma_without(_no_routine), 7, 90.0, {}
    yield "bench:cells5", bench_engine.network_scenario(30.0), 8, 30.0, {}
    yield "bench:reference", bench_engine.reference_scenario(60.0), 9, 60.0, {}


def _text(frame, rtol) -> str:
    frame = frame.copy()
    if rtol:
        for col in AREAS:
            if col in frame:
                frame[col] = [float(f"{x:.{max(1, int(-math.log10(rtol)))}g}") for x in frame[col]]
    return frame.to_csv(float_format=repr, index=True)


def digests(rtol: float = 0.0):
    for name, sc, seed, days, kw in cases():
        rec = simulate(sc, seed, days, **kw)
        frames = {"ledger": rec.ledger, "events": rec.events, "reports": rec.reports, "cells": rec.cells,
                  "trace": rec.trace}
        for what, frame in frames.items():
            text = "none" if frame is None else _text(frame, rtol if what == "cells" else 0.0)
            yield name, what, hashlib.sha256(text.encode()).hexdigest()[:16]
        yield name, "meta", hashlib.sha256(repr(sorted(rec.meta.items())).encode()).hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells-rtol", type=float, default=0.0)
    args = ap.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    for name, what, dig in digests(args.cells_rtol):
        print(f"{name:40s} {what:8s} {dig}", flush=True)


if __name__ == "__main__":
    main()
