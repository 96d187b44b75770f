"""The views of a traced run add up: time budgets sum to the latency, report paths start
at the event, an event's story agrees with the ledger, occupancy integrates to the
cell's queue area, bottlenecks rank by late hours.
"""

from __future__ import annotations

import numpy as np
import pytest

from reporting_sim import scenario
from reporting_sim.measures import views
from reporting_sim.model import simulate


@pytest.fixture(scope="module")
def traced():
    return simulate(scenario.load("minusma-2015"), 5, 45, trace=True)


def test_time_budget_parts_sum_to_the_latency(traced):
    b = views.time_budgets(traced, None)
    assert len(b) > 500
    parts = b[list(views.BUDGET)].sum(axis=1)
    np.testing.assert_allclose(parts.to_numpy(), b["latency_h"].to_numpy(), atol=1e-6)
    assert (b[list(views.BUDGET)] >= -1e-12).all().all()
    # a consumer that acts at a meeting waits from arrival to the meeting, never less than zero
    assert (b["act_wait_h"] >= -1e-9).all()
    fc = b[b["consumer"] == "force_commander"]
    assert (fc["act_wait_h"] < 24 + 1e-9).all() and fc["act_wait_h"].max() > 1


def test_report_paths_start_at_the_event_and_include_ancestors(traced):
    idx = views.TraceIndex(traced.trace)
    copies = traced.trace[traced.trace["step"] == "copy"]["report"].unique()[:50]
    ev_t = traced.events.set_index("event_id")["t_h"]
    for rid in copies:
        p = idx.path(int(rid))
        assert p["step"].iloc[0] == "observe"
        assert p["t0_h"].iloc[0] == pytest.approx(ev_t[p["event_id"].iloc[0]])
        assert (np.diff(p["t0_h"].to_numpy()) >= -1e-9).all()
        assert set(p["report"]) - {rid}, "a copy's path includes its ancestors' steps"


def test_event_story_agrees_with_the_ledger(traced):
    eid = views.pick_event(traced, "current", 1)
    story = views.event_story(traced, eid, scenario.load("minusma-2015").scenario.start_date)
    led = traced.ledger[traced.ledger["event_id"] == eid].set_index("consumer")
    assert sum(k["arrival_h"] is not None for k in story["knew"]) >= 2
    for k in story["knew"]:
        row = led.loc[k["consumer"]]
        assert k["outcome"] == str(row["outcome"])
        if k["arrival_h"] is not None:
            assert k["arrival_h"] == pytest.approx(row["arrival_h"])
            assert sum(k["budget"].values()) == pytest.approx(row["latency_h"], abs=1e-6)


def test_occupancy_integrates_to_the_cells_own_queue_area():
    # without sanitisation and routine work every queued job is one report, so the
    # trace's intervals and the cell's own time-weighted monitors must agree exactly
    # (including the reports still waiting when the run ends)
    data, _ = scenario.load_data("minusma-2015")
    data["mechanisms"] = {"sanitisation": False}
    for cell in data["cells"].values():
        cell.pop("background", None)
    data.pop("uncertainties", None)  # (its ranges name the routine work taken out)
    rec = simulate(scenario.parse(data, "t"), 5, 45, trace=True)
    for cell in ("u2", "asifu", "jmac", "g2_east"):
        row = rec.cells.set_index("cell").loc[cell]
        q = views.occupancy(rec, cell, "queue", 1.0)
        assert q.sum() == pytest.approx(float(row["queue_area"]), rel=1e-9, abs=1e-6)
        w = views.occupancy(rec, cell, "work", 1.0)
        assert w.sum() == pytest.approx(float(row["busy_area"]), rel=1e-9, abs=1e-6)


def test_bottlenecks_rank_by_late_hours_and_count_losses(traced):
    table = views.bottlenecks(traced, "current")
    assert list(table["late_hours"]) == sorted(table["late_hours"], reverse=True)
    assert table["late_hours"].iloc[0] > 0
    assert table["lost_events"].sum() > 0
    assert {"utilisation", "mean_wait_h"} <= set(table.columns)
