"""Scale: thousands of consumers run and summarise (issue #13, item 1), and ten simulated
years of ``minusma-2015`` finish with nothing accumulating without end.
"""

from __future__ import annotations

import json
import math

import pytest

from helpers import large_scenario, run_cli, write_toml
from reporting_sim.measures import metrics
from reporting_sim import scenario
from reporting_sim.model import simulate


def test_item1_a_scenario_with_hundreds_of_consumers_runs_and_summarises(tmp_path):
    """Item 1: ten or more consumers wrapped an 8-bit category code; here 2,500 nodes,
    all but the battalions consumers, run and summarise with an outcome per pair."""
    data = large_scenario(n_sectors=60, per_sector=38)
    f = write_toml(tmp_path / "large.toml", data)
    code, out, err = run_cli("run", f, "--days", "2", "--json", "--no-save")
    assert code == 0, err
    summary = json.loads(out)
    consumers = summary["consumers"]
    assert len(consumers) == 60 * 40 + 2  # past int16 codes too: (2401 * 2 + 1) * 7 > 32767
    for name, block in consumers.items():
        shares = [v for v in block["outcomes"].values() if v is not None]
        assert shares and abs(sum(shares) - 1) < 1e-9, name


def test_item1_minusma_with_a_tenth_consumer_runs(tmp_path):
    """Item 1 as reported: one more cell of minusma-2015 made a consumer."""
    text = scenario.builtin_text("minusma-2015").replace("[cells.g2_west]\n", "[cells.g2_west]\nconsumer = true\n", 1)
    f = tmp_path / "m10.toml"
    f.write_text(text, encoding="utf-8")
    code, out, err = run_cli("run", f, "--days", "3", "--json", "--no-save")
    assert code == 0, err
    assert len(json.loads(out)["consumers"]) == 10


@pytest.mark.slow
def test_ten_simulated_years_finish():
    sc = scenario.load("minusma-2015")
    rec = simulate(sc, 2015, 3650)
    ev = rec.events
    assert ev["t_h"].max() > 3640 * 24 and len(ev) > 70_000
    assert len(rec.ledger) == len(ev) * len(sc.consumers)
    assert int(rec.reports["count"].sum()) == rec.meta["reports_created"]
    s = metrics.summary(rec)
    for block in s["consumers"].values():
        assert math.isclose(sum(block["outcomes"].values()), 1.0, abs_tol=1e-9)
    # the mission's later years look like its first: nothing accumulates without end
    weekly = metrics.weekly(rec.ledger, rec.events)
    fc = weekly["in_time:force_commander"]
    assert abs(fc.iloc[52:104].mean() - fc.iloc[-52:].mean()) < 0.1
    cells = metrics.cell_table(rec.cells)
    assert (cells["utilisation"].dropna() < 1).all()
