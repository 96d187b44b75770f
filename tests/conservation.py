"""The conservation laws every run must obey, as checks on a run's records; used by
``test_conservation.py`` (the built-in scenario, random small networks) and
``test_invariants.py`` (generated networks with every mechanism):

* every (event, consumer) pair has exactly one outcome from ``metric_names.OUTCOMES``;
* every report ends in exactly one terminal state (the ``reports`` frame adds up to the
  reports created; with tracing, each report has exactly one ``end`` step);
* outcome shares per consumer sum to 1 in ``metrics.summary``;
* no negative or out-of-order times in the trace;
* a latency is never shorter than the fixed (minimum) delays along the quickest path.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reporting_sim.measures import metrics
from reporting_sim.metric_names import OUTCOMES
from reporting_sim.model.records import REPORT_STATES, STEP_KINDS

EPS = 1e-9
IN_FLIGHT = REPORT_STATES.index("in_flight")


def check_ledger(sc, rec):
    ev, led = rec.events, rec.ledger
    n_ev, consumers = len(ev), sc.consumers
    assert list(rec.consumers) == consumers
    assert len(led) == n_ev * len(consumers)
    assert not led.duplicated(["event_id", "consumer"]).any()
    assert led["outcome"].notna().all()
    assert set(led["outcome"].astype(str)) <= set(OUTCOMES)
    for c in consumers:
        ids = led.loc[led["consumer"] == c, "event_id"]
        assert sorted(ids) == list(range(n_ev))
    assert (ev["event_id"].to_numpy() == np.arange(n_ev)).all()
    assert (np.diff(ev["t_h"].to_numpy()) >= 0).all()
    assert ((ev["t_h"] >= 0) & (ev["t_h"] < rec.days * 24)).all()

    out = led["outcome"].astype(str)
    arrived = led["arrival_h"].notna()
    assert (arrived == out.isin(["in_time", "late"])).all()
    a = led[arrived]
    assert (a["arrival_h"] >= a["t_h"] - EPS).all()
    assert (a["arrival_h"] < rec.days * 24 + EPS).all()
    assert np.allclose(a["latency_h"], a["arrival_h"] - a["t_h"], atol=EPS, rtol=0)
    assert (a["act_h"] >= a["arrival_h"] - EPS).all()
    assert (a["arrivals"] >= 1).all()
    deadline = a["t_h"] + a["shelf_life_h"]
    assert ((a["act_h"] <= deadline) == (out[arrived] == "in_time")).all()
    for c in consumers:
        node = sc.nodes[c]
        sub = a[a["consumer"] == c]
        if node.acts is not None:
            continue  # acts by channel: tests/test_acting.py checks its act times exactly
        if node.acts_at is None:
            assert (sub["act_h"] == sub["arrival_h"]).all()
        else:
            m = sc.meetings[node.acts_at]
            for arr, act in zip(sub["arrival_h"], sub["act_h"]):
                if math.isfinite(act):
                    assert act == pytest.approx(m.next_at(arr), abs=EPS)
    # not arrived: the reason agrees with the event's counts
    na = led[~arrived].merge(ev[["event_id", "n_observed", "n_reported", "live_at_end"]], on="event_id")
    o = na["outcome"].astype(str)
    assert ((o == "in_flight") == na["live_at_end"]).all()
    settled = ~na["live_at_end"]
    assert ((o[settled] == "not_observed") == (na.loc[settled, "n_observed"] == 0)).all()
    assert ((o[settled] == "not_reported") == ((na.loc[settled, "n_observed"] > 0)
                                              & (na.loc[settled, "n_reported"] == 0))).all()
    assert (na.loc[o == "not_shared", "n_reported"] > 0).all()
    # an observation gives at most two reports (the main one and a written one)
    assert (ev["n_reported"] <= 2 * ev["n_observed"]).all()


def check_reports(rec):
    reps = rec.reports
    assert set(reps["state"]) <= set(REPORT_STATES)
    assert (reps["count"] > 0).all()
    assert not reps.duplicated(["node", "state"]).any()
    assert int(reps["count"].sum()) == rec.meta["reports_created"]


def check_summary(sc, rec):
    s = metrics.summary(rec)
    assert s["events"] == len(rec.events)
    assert set(s["consumers"]) == set(sc.consumers)
    for name, block in s["consumers"].items():
        assert set(block["outcomes"]) == set(OUTCOMES)
        if block["events"]:
            assert sum(block["outcomes"].values()) == pytest.approx(1.0, abs=1e-9)
            assert all(0 <= v <= 1 for v in block["outcomes"].values())
        for fam, fb in block["by_family"].items():
            if fb["events"]:
                assert sum(fb["outcomes"].values()) == pytest.approx(1.0, abs=1e-9)
        lat = block["latency_h"]
        if lat["p50"] is not None:
            assert 0 <= lat["p50"] <= lat["p90"]
    assert s["reports"]["created"] == rec.meta["reports_created"]
    assert sum(s["reports"]["ended"].values()) == rec.meta["reports_created"]
    return s


def check_trace(sc, rec):
    tr = rec.trace
    H = rec.days * 24.0
    n = rec.meta["reports_created"]
    assert set(tr["step"]) <= set(STEP_KINDS)
    assert sorted(tr["report"].unique()) == list(range(n))
    assert tr["node"].isin(list(sc.nodes)).all()
    ends = tr[tr["step"] == "end"]
    assert len(ends) == n and ends["report"].is_unique, "each report ends exactly once"
    # end steps agree with the reports frame
    states = ends["other"].map(lambda i: REPORT_STATES[i])
    by_state = states.value_counts().to_dict()
    frame = rec.reports.groupby("state")["count"].sum().to_dict()
    assert by_state == frame
    settled = ends[ends["other"] != IN_FLIGHT]
    got = settled.groupby(["node", states[settled.index]]).size().to_dict()
    want = {(r.node, r.state): r.count for r in rec.reports.itertuples() if r.state != "in_flight"}
    assert got == want
    assert (ends.loc[ends["other"] == IN_FLIGHT, "t0_h"] == H).all()
    # times (steps planned to start after the horizon are checked on their own, in
    # test_no_trace_step_starts_after_the_horizon; here they are left aside)
    assert (tr["t0_h"] >= 0).all()
    assert (tr["t1_h"] >= tr["t0_h"]).all()
    tr = tr[tr["t0_h"] <= H + EPS]
    end_state = dict(zip(ends["report"], ends["other"]))
    parents = tr.groupby("report")["parent"].first()
    events_of = tr.groupby("report")["event_id"].first()
    for rid, g in tr.groupby("report", sort=False):
        t0 = g["t0_h"].to_numpy()
        t1 = g["t1_h"].to_numpy()
        steps = g["step"].to_list()
        assert steps[-1] == "end"
        assert (np.diff(t0) >= -EPS).all(), f"report {rid} steps out of order: {g}"
        assert g["event_id"].nunique() == 1 and g["parent"].nunique() == 1
        if end_state[rid] != IN_FLIGHT:
            # a settled report's steps follow one another without gaps or overlaps
            assert np.allclose(t1[:-1], t0[1:], atol=1e-7, rtol=0), f"report {rid}: {g}"
        p = parents[rid]
        if p == -1:
            assert steps[:2] == ["observe", "write"]
            assert sc.node_type(g["node"].iloc[0]) == "collector"
        else:
            assert 0 <= p < rid and events_of[p] == events_of[rid]
            assert "observe" not in steps and "write" not in steps
    # roots per event match the events' reported counts
    roots = tr[(tr["parent"] == -1) & (tr["step"] == "end")].groupby("event_id").size()
    n_rep = rec.events.set_index("event_id")["n_reported"]
    assert (roots.reindex(n_rep.index, fill_value=0) == n_rep).all()
    # arrivals at consumers match the link steps delivered before the horizon
    names = list(sc.nodes)
    links = rec.trace[rec.trace["step"] == "transit"]
    led = rec.ledger
    for c in sc.consumers:
        into = links[links["other"] == names.index(c)]
        delivered = into[into["t1_h"] < H].groupby("event_id").size()
        on_edge = into[into["t1_h"] == H].groupby("event_id").size()
        arr = led[led["consumer"] == c].set_index("event_id")["arrivals"]
        lo = delivered.reindex(arr.index, fill_value=0)
        hi = lo + on_edge.reindex(arr.index, fill_value=0)
        assert ((arr >= lo) & (arr <= hi)).all(), c


def check_latency_bounds(sc, rec):
    """Latency at a consumer >= min over covering collectors of (report delay + the
    quickest path's transits and work times, including the consumer cell's own work)."""
    names = list(sc.nodes)
    inf = math.inf
    leave = {n: (sc.cells[n].work_h.minimum if n in sc.cells else 0.0) for n in names}
    best = {}
    for c, col in sc.collectors.items():
        dist = {n: inf for n in names}
        dist[c] = 0.0
        for _ in range(len(names)):
            changed = False
            for link in sc.links:
                cand = dist[link.src] + leave[link.src] + link.transit_h.minimum
                if cand < dist[link.to] - 1e-12:
                    dist[link.to] = cand
                    changed = True
            if not changed:
                break
        best[c] = {n: dist[n] + col.report_delay_h.minimum + (leave[n] if n in sc.cells else 0.0)
                   for n in names}
    led = rec.ledger
    a = led[led["arrival_h"].notna()].merge(rec.events[["event_id", "sector"]], on="event_id")
    for (cons, sector), g in a.groupby(["consumer", "sector"], observed=True):
        bound = min((best[c][cons] for c, col in sc.collectors.items() if sector in col.sectors),
                    default=inf)
        assert math.isfinite(bound), f"{cons} heard of an event no collector could see"
        assert (g["latency_h"] >= bound - 1e-7).all(), (cons, sector, bound, g["latency_h"].min())


def check_all(sc, rec):
    check_ledger(sc, rec)
    check_reports(rec)
    s = check_summary(sc, rec)
    if rec.trace is not None:
        check_trace(sc, rec)
    check_latency_bounds(sc, rec)
    return s
