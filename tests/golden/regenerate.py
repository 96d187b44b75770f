"""Regenerate the golden back-test of minusma-2015 (see README.md in this folder).

    python tests/golden/regenerate.py

writes ``minusma-2015-60d.csv``: key metrics of the built-in scenario for a few fixed
seeds and a 60-day horizon, one row per (seed, metric), values in full precision.
``tests/test_hardening_repro.py`` recomputes them and compares (to 1e-12). Run this only
when a deliberate model change alters the results; review ``git diff`` of the CSV and
say in the commit message why the numbers moved.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "minusma-2015-60d.csv"
SCENARIO = "minusma-2015"
SEEDS = (1, 2, 2015)
DAYS = 60.0

# outcome shares per consumer and per family, latency p50/p90 to knowing and to
# acting, fidelity (over events and over arrivals), long-term within_planning, the
# two bypass rates, duplication, cell utilisation and waits, and the number of events
KEY = re.compile(r"^(events|bypass_rate|bypass_before_briefing|duplication\.share"
                 r"|[A-Za-z0-9_\-]+(\.(current|long_term))?"
                 r"\.(in_time|late|not_observed|not_reported|withheld|not_shared|in_flight|latency_p50|latency_p90"
                 r"|act_latency_p50|act_latency_p90|fidelity|fidelity_arrived|within_planning)"
                 r"|cell\.[A-Za-z0-9_\-]+\.(utilisation|mean_wait_h))$")


def golden_rows() -> list[tuple[int, str, float]]:
    """(seed, metric, value) for every seed and key metric, freshly computed."""
    from reporting_sim.measures import metrics
    from reporting_sim import scenario
    from reporting_sim.model import simulate

    sc = scenario.load(SCENARIO)
    rows = []
    for seed in SEEDS:
        flat = metrics.flat(metrics.summary(simulate(sc, seed, DAYS)))
        rows += [(seed, name, float(value)) for name, value in sorted(flat.items()) if KEY.match(name)]
    return rows


def fmt(value: float) -> str:
    return "nan" if math.isnan(value) else repr(value)


def read(path: Path = GOLDEN) -> list[tuple[int, str, float]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(int(r["seed"]), r["metric"], float(r["value"])) for r in csv.DictReader(fh)]


def main() -> int:
    rows = golden_rows()
    with GOLDEN.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["seed", "metric", "value"])
        for seed, name, value in rows:
            w.writerow([seed, name, fmt(value)])
    print(f"wrote {len(rows)} rows to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
