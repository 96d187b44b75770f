"""Using reporting-sim from Python (a notebook or a script): docs/api.md explains each
step. The test suite runs this file (with a short horizon), so it always works.

    python examples/api_example.py            # 60 days, 4 replications
    python examples/api_example.py 20 2       # DAYS REPLICATIONS
"""

import sys
import tempfile
from pathlib import Path

import reporting_sim as rs

days = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 4
root = Path(__file__).resolve().parent.parent

# 1. a scenario: a built-in by name, a file, or a what-if variant file
sc = rs.load("minusma-2015")
print(f"{sc.name}: {len(sc.nodes)} nodes, consumers {', '.join(sc.consumers)}")

# 2. one run: records as pandas frames, and the summary with a definition per measure
rec = rs.simulate(sc, seed=1, days=days, trace=True)
s = rs.summary(rec)
fc = s["consumers"]["force_commander"]["by_family"]["current"]
print(f"force commander, current intelligence in time: {100 * fc['outcomes']['in_time']:.1f}%")
print("  in_time:", s["definitions"]["in_time"])
late = rec.ledger[(rec.ledger["consumer"] == "force_commander") & (rec.ledger["outcome"] == "late")]
print(f"  late events: {len(late)}; median latency of those: {late['latency_h'].median():.1f} h")

# 3. a paired comparison of the base and a variant (common random numbers)
variant = root / "experiments" / "variants" / "asifu-in-u2-branch.toml"
with tempfile.TemporaryDirectory() as tmp:
    result = rs.compare("minusma-2015", variant, replications=reps, days=days, seed=1,
                        metrics=["force_commander.current.in_time", "u2.current.in_time"],
                        folder=Path(tmp) / "cmp")
    for v, block in result["variants"].items():
        for m, e in block["metrics"].items():
            d = e.get("diff_vs_base")
            if d:
                print(f"{v}: {m}: {100 * d['mean']:+.1f} pp [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]")
    # 4. read a results folder back (an experiment's result, or a run's records)
    again = rs.read_results(Path(tmp) / "cmp")
    assert again["variants"].keys() == result["variants"].keys()
print("ok")
