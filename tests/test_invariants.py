"""Invariants of every run, on generated scenarios that use the mechanisms; metamorphic
checks with common random numbers.

* **Conservation and time** (hypothesis): random small force structures built from
  every mechanism (trust groups and classification, imagery with INTREP sanitisation,
  competition, boards, coping strategies, tasking, written reports and literacy, escort
  pools, accreditation, rotations, pull links, switches, duty hours, current pull)
  keep the conservation laws of ``tests/conservation.py``; every report's trace
  starts where it should (an observation at the event's time, a copy of its parent,
  a board meeting), runs forward in time without gaps, and each step lasts at least
  the fixed minimum of its duration; every consumer's first arrival came by a report
  whose path (with its parents' history) took at least the fixed minimum work and
  transit along it, and no less than the quickest path through the network allows.
* **Metamorphic** (same seed, so the same random numbers): one more analyst in a FIFO
  cell never makes any report wait longer there; multiplying every rate by k and
  dividing every duration by k divides every time by k and changes nothing else.

Memory over repeated runs: ``test_memory.py``; ten simulated years: ``test_scale.py``.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conservation as tc
from helpers import scale_choose_links
from reporting_sim.measures import metrics
from reporting_sim import scenario
from reporting_sim.model import simulate
from reporting_sim.model.records import REPORT_STATES

EPS = 1e-7


def hsettings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------ generated scenarios with mechanisms

prob = st.one_of(st.just(1.0), st.just(0.0), st.floats(0, 1).map(lambda p: round(p, 3)))
likely = st.one_of(st.just(1.0), st.floats(0.4, 1).map(lambda p: round(p, 3)))


def durations(max_h: float, zero: bool = True):
    fixed = st.floats(0 if zero else 0.05, max_h).map(lambda v: round(v, 3))
    uniform = st.tuples(st.floats(0, max_h), st.floats(0, max_h)).map(
        lambda ab: {"dist": "uniform", "low": round(min(ab), 3), "high": round(max(ab), 3)})
    expo = st.floats(0.05, max_h).map(lambda m: {"dist": "exponential", "mean": round(m, 3)})
    tri = st.tuples(st.floats(0, max_h), st.floats(0, max_h), st.floats(0.01, max_h)).map(
        lambda t: {"dist": "triangular", "low": round(min(t[:2]), 3), "mode": round(max(t[:2]), 3),
                   "high": round(max(t[:2]) + t[2], 3)})
    logn = st.tuples(st.floats(0.05, max_h), st.floats(0.05, 2)).map(
        lambda t: {"dist": "lognormal", "mean": round(t[0], 3), "sd": round(t[0] * t[1], 3) or 0.01})
    gamma = st.tuples(st.floats(0.05, max_h), st.floats(0.05, 2)).map(
        lambda t: {"dist": "gamma", "mean": round(t[0], 3), "sd": round(t[0] * t[1], 3) or 0.01})
    return st.one_of(fixed, uniform, expo, tri, logn, gamma)


GROUPS = ("g1", "g2", "chan")


@st.composite
def mechanism_scenarios(draw, duty: bool = True):
    """A random small force structure as scenario data, using the mechanisms."""
    n_kinds = draw(st.integers(1, 3))
    kinds = {f"k{i}": {"family": draw(st.sampled_from(["current", "long_term"])),
                       "shelf_life_h": draw(st.sampled_from([24.0, 200.0, 8.0, 2.0]))} for i in range(n_kinds)}
    sectors = [f"s{i}" for i in range(draw(st.integers(1, 2)))]
    sources = {}
    for j, s in enumerate(sectors):
        w = [draw(st.integers(0, 4)) for _ in kinds]
        if not sum(w):
            w[0] = 1
        sources[f"src_{s}"] = {"sector": s, "rate_per_day": draw(st.sampled_from([10.0, 25.0, 4.0] if not j else [5.0, 0.0])),
                               "mix": {k: x / sum(w) for k, x in zip(kinds, w)}}
    meetings = {}
    for i in range(draw(st.integers(1, 2))):
        m = {"first_h": draw(st.sampled_from([6.5, 0.0, 8.0, 17.25])),
             "every_h": draw(st.sampled_from([6.0, 12.0, 24.0, 48.0]))}
        if draw(st.booleans()):
            m["from_day"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
        if draw(st.integers(0, 3)) == 0:
            m["until_day"] = draw(st.sampled_from([1.5, 3.0, 100.0]))
        meetings[f"m{i}"] = m
    pools = {"esc": {"capacity": draw(st.integers(0, 2))}} if draw(st.booleans()) else {}
    switches = {"sw": {"value": draw(st.sampled_from(["a", "b"])), "choices": ["a", "b"]}} if draw(st.booleans()) else {}

    def common(spec: dict) -> dict:
        spec["routing"] = draw(st.sampled_from(["each", "each", "choose"]))
        spec["dedupe"] = draw(st.booleans())
        if draw(st.booleans()):
            spec["groups"] = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True))
        if draw(st.integers(0, 3)) == 0:
            spec["org"] = draw(st.sampled_from(["o1", "o2"]))
        if draw(st.integers(0, 2)) == 0:
            g = draw(st.sampled_from([0.0, 0.3, 1.0]))
            spec["classify"] = {"group": g, "unit": draw(st.sampled_from([0.0, round((1 - g) / 2, 3)]))}
        if draw(st.integers(0, 2)) == 0:
            spec["intrep_h"] = draw(durations(3.0))
        if draw(st.integers(0, 2)) == 0:
            spec["coping"] = draw(st.sampled_from([["normalisation"], ["voltaires_garden"], ["building_bridges"],
                                                   ["othering"], ["building_bridges", "othering"]]))
        spec["analysis"] = draw(st.booleans())
        return spec

    collectors = {}
    for i in range(draw(st.integers(1, 3))):
        culture = draw(st.sampled_from(["branch", "commander"]))
        spec = common({"culture": culture,
                       "sectors": draw(st.lists(st.sampled_from(sectors), min_size=len(sectors), unique=True)) if draw(st.booleans()) else sectors[:1],
                       "p_observe": draw(likely), "p_report": draw(likely),
                       "report_delay_h": draw(durations(2.0))})
        patrols = draw(st.booleans())
        if patrols:
            per_day = draw(st.sampled_from([1.0, 2.0, 3.0, 4.0]))
            spec["watch"] = "patrols"
            spec["patrols"] = {"per_day": per_day, "duration_h": round(draw(st.floats(0.1, 1)) * 24 / per_day, 3),
                               "first_h": draw(st.sampled_from([0.0, 3.5, 7.0, 22.0]))}
            spec["report_after_patrol"] = draw(st.booleans())
            if pools and draw(st.booleans()):
                spec["pool"] = "esc"
        else:
            spec["watch"] = "continuous"
        if draw(st.booleans()):
            spec["kinds"] = draw(st.lists(st.sampled_from(list(kinds)), min_size=1, unique=True))
        if draw(st.booleans()):
            spec["precision"] = draw(prob)
        if culture == "commander" or draw(st.integers(0, 3)) == 0:
            if draw(st.booleans()):
                spec["written"] = {"p": draw(prob), "delay_h": draw(durations(6.0)),
                                   "after_patrol": patrols and draw(st.booleans())}
        if draw(st.booleans()) and (culture == "branch" or "written" in spec):
            spec["tasking"] = {"per_week": draw(st.sampled_from([14.0, 2.0, 0.0])),
                               "window_h": draw(st.sampled_from([6.0, 24.0])), "p_written": draw(prob)}
            if draw(st.booleans()):
                spec["tasking"]["p_observe"] = draw(prob)
        if draw(st.booleans()):
            spec["literacy"] = draw(st.sampled_from([0.5, 0.0, 1.0]))
            spec["dictation_h"] = draw(durations(6.0))
            spec["formats"] = draw(st.booleans())
        if draw(st.booleans()):
            spec["imagery"] = True
            spec["imagery_channel"] = "chan"
            spec["groups"] = sorted(set(spec.get("groups", [])) | {"chan"})
            if draw(st.booleans()):
                spec["intrep_h"] = draw(durations(3.0))
        if draw(st.integers(0, 2)) == 0:
            spec["accreditation"] = {"deployed_day": draw(st.sampled_from([-2.0, 0.0, 0.5])),
                                     "duration_days": draw(durations(1.5))}
        if draw(st.integers(0, 2)) == 0:
            spec["rotation"] = {"every_days": draw(st.sampled_from([2.0, 1.0])),
                                "first_day": draw(st.sampled_from([-1.0, 0.0, 0.5])),
                                "learning_days": draw(st.sampled_from([0.0, 0.5])), "p_observe_new": draw(likely)}
        collectors[f"col{i}"] = spec
    cells, commanders, receivers = {}, {}, []
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            spec = common({"analysts": draw(st.integers(0, 3)), "work_h": draw(durations(3.0))})
            if draw(st.integers(0, 3)) == 0:
                spec["inbox"] = draw(st.integers(0, 4))
            if duty and draw(st.integers(0, 2)) == 0:
                spec["duty"] = {"start_h": draw(st.sampled_from([0.0, 7.0, 20.0])),
                                "end_h": draw(st.sampled_from([4.0, 15.5, 19.0]))}
            if draw(st.integers(0, 3)) == 0:
                spec["current_pull"] = draw(prob)
            cells[f"cell{i}"] = spec
            receivers.append(f"cell{i}")
        else:
            commanders[f"cmd{i}"] = common({})
            receivers.append(f"cmd{i}")
    nodes = {**collectors, **cells, **commanders}
    everyone = list(collectors) + receivers
    links = []

    def new_link(src, dst, **extra):
        lk = {"from": src, "to": dst, "p": draw(st.sampled_from([1.0, 1.0, 0.8, 0.5, 0.0])),
              "transit_h": draw(durations(2.0)), **extra}
        if draw(st.integers(0, 3)) == 0:
            lk["meeting"] = draw(st.sampled_from(list(meetings)))
        if draw(st.integers(0, 4)) == 0:
            lk["families"] = [draw(st.sampled_from(["current", "long_term"]))]
        if draw(st.integers(0, 5)) == 0:
            lk["kinds"] = draw(st.lists(st.sampled_from(list(kinds)), min_size=1, unique=True))
        if draw(st.integers(0, 4)) == 0:
            lk["informal"] = True
        if draw(st.integers(0, 3)) == 0:
            lk["task"] = True
        if draw(st.integers(0, 5)) == 0:
            lk["pull"] = True
            lk["meeting"] = draw(st.sampled_from(list(meetings)))
        if switches and draw(st.integers(0, 3)) == 0:
            lk["when"] = {"sw": draw(st.sampled_from(["a", "b"]))}
        links.append(lk)

    for dst in receivers:  # every receiver hears from a node before it
        new_link(draw(st.sampled_from(everyone[:everyone.index(dst)])), dst)
    for i, src in enumerate(everyone):
        later = [n for n in receivers if everyone.index(n) > i]
        for dst in (draw(st.lists(st.sampled_from(later), unique=True, max_size=2)) if later else []):
            new_link(src, dst)
        if src in collectors and "written" in collectors[src] and receivers:
            for dst in draw(st.lists(st.sampled_from(receivers), unique=True, min_size=1, max_size=2)):
                new_link(src, dst, channel="written")
    for src in receivers:  # back links into nodes that drop repeats: cycles that end
        back = [n for n in receivers if everyone.index(n) < everyone.index(src) and nodes[n]["dedupe"]]
        if back and draw(st.integers(0, 2)) == 0:
            new_link(src, draw(st.sampled_from(back)))
    for name in receivers:  # competition, mostly against the nodes it passes reports to
        if draw(st.integers(0, 2)) == 0:
            dests = sorted({lk["to"] for lk in links if lk["from"] == name}) or [n for n in everyone if n != name]
            rivals = draw(st.lists(st.sampled_from(dests), min_size=1, unique=True))
            ph = draw(st.sampled_from([0.4, 1.0, 0.0]))
            nodes[name]["hoard"] = {"rivals": rivals, "until": draw(st.sampled_from(list(meetings))),
                                    "p_hold": ph, "p_never": draw(st.sampled_from([0.0, round((1 - ph) / 2, 3)]))}
    boards = {}
    if len(receivers) >= 2 and draw(st.integers(0, 2)) > 0:
        members = draw(st.lists(st.sampled_from(receivers), min_size=2, max_size=3, unique=True))
        for m in members:
            nodes[m]["dedupe"] = True  # a board passes only what a member does not hold
        boards["board"] = {"meeting": draw(st.sampled_from(list(meetings))), "members": members}
    scale_choose_links(nodes, links)  # "choose" picks at most one link
    consumers = draw(st.lists(st.sampled_from(receivers), min_size=1, unique=True))
    for name in consumers:
        nodes[name]["consumer"] = True
        if draw(st.integers(0, 2)) == 0:
            nodes[name]["acts_at"] = draw(st.sampled_from(list(meetings)))
    data = {"scenario": {"name": "generated", "days": draw(st.sampled_from([2.5, 4.0, 1.0])),
                         "seed": draw(st.integers(0, 2**32))},
            "kinds": kinds, "sources": sources, "collectors": collectors, "cells": cells,
            "commanders": commanders, "meetings": meetings, "links": links}
    for key, value in (("pools", pools), ("switches", switches), ("boards", boards)):
        if value:
            data[key] = value
    if len(consumers) >= 2 and draw(st.booleans()):
        data["metrics"] = {"bypass_consumer": consumers[0], "bypass_branch": consumers[1]}
    mech = {m: draw(st.sampled_from([True, True, True, True, True, False]))
            for m in ("classification", "sanitisation", "accreditation", "tasking", "competition", "boards",
                      "coping", "escorts", "pull", "literacy", "rotations")}
    data["mechanisms"] = mech
    return data


# ------------------------------------------------------------------ the checks

class Bounds:
    """Fixed minimum durations of a scenario's steps."""

    def __init__(self, sc):
        self.sc = sc
        self.transit = {}
        for link in sc.links:
            key = (link.src, link.to)
            self.transit[key] = min(self.transit.get(key, math.inf), link.transit_h.minimum)
        self.work = {n: c.work_h.minimum for n, c in sc.cells.items()}
        self.intrep = {n: node.intrep_h.minimum for n, node in sc.nodes.items() if node.intrep_h is not None}
        self.write = {}
        for n, col in sc.collectors.items():
            w = col.report_delay_h.minimum
            if col.written is not None:
                w = min(w, col.written.delay_h.minimum)
            self.write[n] = w
        self.board_pairs = {(a, b) for board in sc.boards.values() for a in board.members for b in board.members
                            if a != b}

    def step_min(self, step, node, to) -> float:
        if step == "transit":
            return self.transit[(node, to)]
        if step == "work":
            return self.work[node]
        if step == "sanitise":
            return self.intrep[node]
        if step == "write":
            return self.write[node]
        return 0.0


def quickest(sc, bounds: Bounds) -> dict[tuple[str, str], float]:
    """(collector, node) -> least time from an event to the node's knowing of it along
    any path: the collector's least report delay for its channel, then links (the
    sender's least work if a cell, the link's least transit) and board meetings (a
    member passes on what it holds, from its arrival on)."""
    names = list(sc.nodes)
    edges = []
    for link in sc.links:
        cost = bounds.work.get(link.src, 0.0) + link.transit_h.minimum
        edges.append((link.src, link.to, cost, link.channel))
    for a, b in bounds.board_pairs:
        edges.append((a, b, 0.0, "board"))
    out = {}
    for c, col in sc.collectors.items():
        main = col.report_delay_h.minimum
        written = col.written.delay_h.minimum if col.written is not None else math.inf
        dist = {n: math.inf for n in names}
        for a, b, cost, channel in edges:
            if a == c:
                start = written if channel == "written" else main
                dist[b] = min(dist[b], start + cost)
        for _ in range(len(names)):
            changed = False
            for a, b, cost, _ch in edges:
                if a != c and dist[a] + cost < dist[b] - 1e-12:
                    dist[b] = dist[a] + cost
                    changed = True
            if not changed:
                break
        for n in names:
            out[(c, n)] = dist[n] + bounds.work.get(n, 0.0)  # a cell consumer knows once worked
    return out


def check_trace_paths(sc, rec):
    """Every report's steps, and the path by which each consumer first knew."""
    tr = rec.trace
    H = rec.days * 24.0
    bounds = Bounds(sc)
    ev_t = rec.events.set_index("event_id")["t_h"]
    n = rec.meta["reports_created"]
    assert sorted(tr["report"].unique()) == list(range(n))
    if n == 0:
        assert rec.ledger["arrival_h"].isna().all()
        return
    assert (tr["t0_h"] >= 0).all() and (tr["t1_h"] >= tr["t0_h"] - 1e-12).all(), "negative or backward step"
    assert (tr["t0_h"] <= H + 1e-9).all(), "a step begins after the horizon"
    # cumulative least duration of each report's history, up to each step
    prefix: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    start_of: dict[int, float] = {}

    def least_before(rid: int, t: float) -> float:
        t1, cum = prefix[rid]
        k = np.searchsorted(t1, t + 1e-9, side="right")
        return float(cum[k - 1]) if k else start_of[rid]

    for rid, g in tr.groupby("report", sort=True):
        steps = g["step"].tolist()
        t0, t1 = g["t0_h"].to_numpy(), g["t1_h"].to_numpy()
        nodes_, tos = g["node"].tolist(), g["to"].tolist()
        eid = int(g["event_id"].iloc[0])
        parent = int(g["parent"].iloc[0])
        assert g["event_id"].nunique() == 1 and g["parent"].nunique() == 1
        assert steps[-1] == "end" and steps.count("end") == 1, f"report {rid}: {steps}"
        assert (np.diff(t0) >= -1e-9).all(), f"report {rid} out of order:\n{g}"
        settled = g["state"].iloc[-1] != "in_flight"
        if settled:  # steps follow one another without gaps or overlaps
            assert np.allclose(t1[:-1], t0[1:], atol=1e-7, rtol=0), f"report {rid} has gaps:\n{g}"
        else:  # the same up to the step in progress at the horizon, where it ends
            assert t0[-1] == H
            assert np.allclose(t1[:-2], t0[1:-1], atol=1e-7, rtol=0), f"report {rid} has gaps:\n{g}"
            if len(steps) > 1:
                assert t0[-2] <= H + 1e-9 and t1[-2] >= H - 1e-9, f"report {rid}: nothing in progress at the end:\n{g}"
                if t1[-2] == math.inf:  # waiting for a meeting that is never held again
                    assert steps[-2] in ("meeting", "hold")
                    meetings = [lk.meeting for lk in sc.links if lk.src == nodes_[-2] and lk.to == tos[-2]]
                    hoard = sc.nodes[nodes_[-2]].hoard
                    if steps[-2] == "hold":
                        meetings = [hoard.until]
                    assert any(m and sc.meetings[m].next_at(t0[-2]) == math.inf for m in meetings)
        assert np.isfinite(t1[:-2]).all() if len(t1) > 2 else True
        first = steps[0]
        if parent == -1:
            assert first in ("observe", "board"), f"report {rid} starts with {first}"
            if first == "observe":
                assert t0[0] == ev_t[eid], "an observation starts at the event's time"
                assert steps[1] == "write" and sc.node_type(nodes_[0]) == "collector"
            else:
                assert (nodes_[0], tos[0]) in bounds.board_pairs, f"board step {nodes_[0]} -> {tos[0]}"
                meeting = sc.meetings[next(b.meeting for b in sc.boards.values() if nodes_[0] in b.members)]
                assert meeting.next_at(t0[0]) == pytest.approx(t0[0], abs=1e-9), "a board meets at its time"
                assert t0[0] >= ev_t[eid]
            base = 0.0 if first == "observe" else t0[0] - ev_t[eid]
        else:
            assert first == "copy" and 0 <= parent < rid, f"report {rid}: {steps[:2]} (parent {parent})"
            pg = tr[tr["report"] == parent]
            assert int(pg["event_id"].iloc[0]) == eid
            assert pg["t0_h"].min() - 1e-9 <= t0[0] <= pg["t1_h"].max() + 1e-9, "copied while the parent lived"
            assert nodes_[0] in set(pg["node"]) | set(pg["to"].dropna()), "copied where the parent was"
            base = least_before(parent, t0[0])
        start_of[rid] = base
        mins = np.array([bounds.step_min(s, a, b) for s, a, b in zip(steps, nodes_, tos)])
        dur = t1 - t0
        ends_in_time = t1 <= H + 1e-9  # a step cut by the horizon is not over
        bad = ends_in_time & (dur < mins - EPS)
        assert not bad.any(), f"report {rid}: a step shorter than its least duration:\n{g[bad]}"
        for s, a, b, end in zip(steps, nodes_, tos, t1):
            if s == "meeting" and end <= H:
                assert any(lk.meeting and sc.meetings[lk.meeting].next_at(end) == pytest.approx(end, abs=1e-9)
                           for lk in sc.links if lk.src == a and lk.to == b), f"report {rid}: meeting at {end}"
        prefix[rid] = (t1, base + np.cumsum(mins))
    # each consumer's first knowing, by the report the ledger names
    led = rec.ledger
    a = led[led["arrival_h"].notna()]
    by_report = {rid: g for rid, g in tr.groupby("report", sort=False)}
    best = quickest(sc, bounds)
    sectors = rec.events.set_index("event_id")["sector"]
    # analysis members of a deconflicting board: they may note on arrival what the register
    # says another member holds, without working it
    noting = {m for b in sc.boards.values() if b.p_deconflict > 0 and sc.mechanisms.boards
              for m in b.members if sc.nodes[m].analysis}
    for row in a.itertuples():
        c, T, rid = row.consumer, row.arrival_h, int(row.report)
        g = by_report[rid]
        assert int(g["event_id"].iloc[0]) == row.event_id
        if c in sc.cells:  # once worked, or at a board, taking note of another member's analysis
            took = g["step"].isin(["board", "hold"] + (["transit"] if c in noting else [])) & (g["to"] == c)
            hit = g[((g["step"] == "work") & (g["node"] == c) | took) & (np.abs(g["t1_h"] - T) <= 1e-9)]
        else:  # by a link, or told at a board (after a hold, if its teller held it back)
            told = ["transit", "board"] + (["hold"] if (g["step"] == "board").any() else [])
            hit = g[g["step"].isin(told) & (g["to"] == c) & (np.abs(g["t1_h"] - T) <= 1e-9)]
        assert len(hit), f"{c} knew of event {row.event_id} at {T} by report {rid}, which did not arrive then:\n{g}"
        # the node it came from is the one before the consumer on that path
        into = g[g["step"].isin(["transit", "board"]) & (g["to"] == c) & (g["t1_h"] <= T + 1e-9)]
        assert row.via in set(into["node"]), (row.via, into)
        need = least_before(rid, T)
        assert row.latency_h >= need - EPS, f"{c}: latency {row.latency_h} < least {need} on its path"
        quick = min((best[(col, c)] for col, spec in sc.collectors.items() if sectors[row.event_id] in spec.sectors),
                    default=math.inf)
        assert row.latency_h >= quick - EPS, f"{c}: latency {row.latency_h} < quickest path {quick}"


def check_everything(sc, rec):
    tc.check_ledger(sc, rec)
    tc.check_reports(rec)
    s = tc.check_summary(sc, rec)
    # every report ends in exactly one terminal state: the trace says so too
    ends = rec.trace[rec.trace["step"] == "end"]
    assert ends["report"].is_unique and len(ends) == rec.meta["reports_created"]
    assert set(ends["state"]) <= set(REPORT_STATES)
    assert ends["state"].value_counts().to_dict() == rec.reports.groupby("state")["count"].sum().to_dict()
    # each (event, consumer) pair exactly one outcome, shares summing to one
    assert (rec.ledger.groupby(["event_id", "consumer"], observed=True).size() == 1).all()
    for block in s["consumers"].values():
        if block["events"]:
            assert math.isclose(sum(block["outcomes"].values()), 1.0, abs_tol=1e-9)
    check_trace_paths(sc, rec)
    return s


GENERATED = 250
MUST_SEE = ("sanitise", "hold", "board", "copy", "meeting", "queue", "work", "transit",
            "withheld", "not_shared", "duplicate", "overflow", "absorbed", "in_flight",
            "escort refused", "tasked", "accredited later", "classified")


@pytest.mark.slow
def test_generated_scenarios_with_mechanisms_keep_every_invariant():
    """GENERATED random force structures with mechanisms: every invariant holds, and
    tracing changes nothing. The sample must exercise the mechanisms (not only plain
    chains): each of MUST_SEE happens in at least three of them."""
    seen: dict[str, int] = defaultdict(int)

    @hsettings(GENERATED)
    @given(mechanism_scenarios())
    def check(data):
        sc = scenario.parse(copy.deepcopy(data), "<generated>")
        rec = simulate(sc, trace=True)
        if len(rec.events) == 0:
            assert len(rec.ledger) == 0 and rec.meta["reports_created"] == 0
            return
        check_everything(sc, rec)
        plain = simulate(sc)  # tracing changes nothing
        pd.testing.assert_frame_equal(plain.ledger, rec.ledger)
        pd.testing.assert_frame_equal(plain.reports, rec.reports)
        found = set(rec.trace["step"]) | set(rec.trace["state"].dropna())
        cols = rec.meta["collectors"].values()
        if any(p["refused"] for p in rec.meta["pools"].values()):
            found.add("escort refused")
        if any(c["tasks"] for c in cols):
            found.add("tasked")
        if any((c["active_from_day"] or 0) > 0 for c in cols):
            found.add("accredited later")
        if sc.mechanisms.classification and any(n.classify and (n.classify.group or n.classify.unit)
                                                for n in sc.nodes.values()):
            found.add("classified")
        for f in found:
            seen[f] += 1

    check()
    rare = {f: seen[f] for f in MUST_SEE if seen[f] < 3}
    assert not rare, f"the generated scenarios hardly exercise {rare}"


@pytest.mark.slow
@pytest.mark.parametrize("seed,days", [(3, 100)])
def test_minusma_keeps_every_invariant_with_its_board(seed, days):
    """minusma-2015's board meets from day 91: a run past it checks board reports too."""
    sc = scenario.load("minusma-2015")
    rec = simulate(sc, seed, days, trace=True)
    assert (rec.trace["step"] == "board").sum() > 0
    check_everything(sc, rec)


def test_holding_for_a_meeting_that_is_over_then_waiting_for_another():
    """Found by generation: a report held back from a rival until a meeting that is no
    longer held (``until_day`` passed) on a link that itself waits for a meeting
    crashed the run (OverflowError in Meeting.next_at(inf)). Such a report is now not
    passed on at all (``not_shared``): the holder never gets its chance to brief first."""
    data = {
        "scenario": {"name": "held", "days": 3.0, "seed": 1},
        "kinds": {"k": {"family": "current", "shelf_life_h": 24.0}},
        "sources": {"s": {"sector": "x", "rate_per_day": 10.0, "mix": {"k": 1.0}}},
        "collectors": {"c": {"culture": "branch", "sectors": ["x"], "watch": "continuous",
                             "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0}},
        "commanders": {"a": {"hoard": {"rivals": ["b"], "until": "over", "p_hold": 1.0}},
                       "b": {"consumer": True}},
        "meetings": {"over": {"first_h": 8.0, "every_h": 24.0, "until_day": 1.0},
                     "brief": {"first_h": 9.0, "every_h": 24.0}},
        "links": [{"from": "c", "to": "a"}, {"from": "a", "to": "b", "meeting": "brief"}],
    }
    sc = scenario.parse(data, "held")
    rec = simulate(sc, trace=True)
    check_everything(sc, rec)
    over = sc.meetings["over"]
    late = rec.events["t_h"].map(over.next_at) == math.inf  # after the last "over" meeting
    assert late.any() and (~late).any()
    b = rec.ledger.set_index("event_id")
    assert (b.loc[late[late].index, "outcome"] == "not_shared").all()
    assert (b.loc[late[~late].index, "outcome"].isin(["in_time", "late"])).all()


def test_a_board_member_holding_until_a_meeting_that_is_over():
    """Found by generation (CI, hypothesis 6.170): at a board, a member that hoards from a
    rival until a meeting that no longer sits left the report in flight for good, with no
    step in progress, and a hold lasting past the horizon was not traced at all. At a
    board as on a link, such an item is now not shared, and a finite hold is traced from
    when it starts."""
    data = {
        "scenario": {"name": "board-held", "days": 3.0, "seed": 1},
        "kinds": {"k": {"family": "current", "shelf_life_h": 24.0}},
        "sources": {"s": {"sector": "x", "rate_per_day": 10.0, "mix": {"k": 1.0}}},
        "collectors": {"c": {"culture": "branch", "sectors": ["x"], "watch": "continuous",
                             "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0}},
        "commanders": {"a": {"hoard": {"rivals": ["b"], "until": "over", "p_hold": 1.0}},
                       "b": {"consumer": True}},
        "meetings": {"over": {"first_h": 8.0, "every_h": 24.0, "until_day": 1.0},
                     "board": {"first_h": 6.5, "every_h": 6.0}},
        "links": [{"from": "c", "to": "a"}],
        "boards": {"jcb": {"meeting": "board", "members": ["a", "b"]}},
    }
    sc = scenario.parse(data, "board-held")
    rec = simulate(sc, trace=True)
    check_everything(sc, rec)
    tr = rec.trace
    at_board = tr[(tr["step"] == "board") & (tr["node"] == "a")]
    over = sc.meetings["over"]
    late = at_board[at_board["t0_h"].map(over.next_at) == math.inf]["report"]
    assert len(late) and (at_board["t0_h"].map(over.next_at) < math.inf).any()
    ends = tr[tr["step"] == "end"].set_index("report")["state"]
    assert (ends.loc[late] == "not_shared").all()


# ------------------------------------------------------------------ metamorphic: more analysts

def fifo_cell(lam_per_h: float, analysts: int, work, duty=None, days: float = 5.0) -> dict:
    """One source, a collector passing every event on at once, one FIFO cell."""
    cell = {"analysts": analysts, "work_h": work, "dedupe": False, "routing": "choose", "consumer": True}
    if duty:
        cell["duty"] = duty
    return {
        "scenario": {"name": "fifo", "days": days, "seed": 1},
        "kinds": {"k": {"family": "long_term", "shelf_life_h": 1e6}},
        "sources": {"src": {"sector": "x", "rate_per_day": lam_per_h * 24.0, "mix": {"k": 1.0}}},
        "collectors": {"col": {"culture": "branch", "sectors": ["x"], "watch": "continuous",
                               "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0}},
        "cells": {"cell": cell},
        "links": [{"from": "col", "to": "cell"}],
    }


def waits(rec) -> tuple[pd.Series, pd.Series]:
    """Per report: its wait in the cell's inbox (up to the horizon if still waiting),
    and its work time (for those started)."""
    tr = rec.trace
    q = tr[(tr["step"] == "queue") & (tr["node"] == "cell")]
    w = tr[(tr["step"] == "work") & (tr["node"] == "cell")]
    assert q["report"].is_unique
    return ((q["t1_h"] - q["t0_h"]).set_axis(q["report"].to_numpy()),
            (w["t1_h"] - w["t0_h"]).set_axis(w["report"].to_numpy()))


@hsettings(100)
@given(st.floats(0.5, 1.5), st.integers(1, 4), st.integers(1, 3),
       st.sampled_from([{"dist": "exponential", "mean": 1.0}, {"dist": "lognormal", "mean": 1.5, "sd": 2.0},
                        {"dist": "uniform", "low": 0.2, "high": 2.0}, 0.7, {"dist": "gamma", "mean": 2.0, "sd": 0.5}]),
       st.sampled_from([None, {"start_h": 7.0, "end_h": 19.0}, {"start_h": 20.0, "end_h": 4.0}]),
       st.integers(0, 2**31))
def test_more_analysts_never_make_a_report_wait_longer(rho, c, extra, work, duty, seed):
    """FIFO with c servers: for the same arrivals and the same work times (common
    random numbers: the k-th report started draws the k-th work time in both runs),
    every report's wait with c + extra analysts is at most its wait with c."""
    mean = scenario.parse(fifo_cell(1.0, c, work), "x").cells["cell"].work_h.mean
    lam = rho * c / mean  # offered load rho per analyst, around one: queues form
    few = simulate(scenario.parse(fifo_cell(lam, c, work, duty), "few"), seed, trace=True)
    many = simulate(scenario.parse(fifo_cell(lam, c + extra, work, duty), "many"), seed, trace=True)
    same = ["event_id", "t_h", "kind"]
    pd.testing.assert_frame_equal(few.events[same], many.events[same])  # the same input sequence
    w_few, s_few = waits(few)
    w_many, s_many = waits(many)
    assert set(w_few.index) == set(w_many.index), "the same reports reach the cell"
    both = s_few.index.intersection(s_many.index)
    np.testing.assert_allclose(s_few[both].to_numpy(), s_many[both].to_numpy(), rtol=0, atol=1e-9,
                               err_msg="the same work time per report")
    worse = w_many - w_few.reindex(w_many.index)
    assert (worse <= 1e-9).all(), f"waits grew with more analysts:\n{worse[worse > 1e-9].head()}"
    if duty is None and (w_few > 1e-9).any():  # the first report that waited is helped
        assert worse.min() < 0, "an extra analyst must help the first report that waited"


# ------------------------------------------------------------------ metamorphic: time scale

def scale_dist(d, k):
    if isinstance(d, (int, float)):
        return d / k
    d = dict(d)
    for key in ("value", "mean", "sd", "low", "mode", "high"):
        if key in d:
            d[key] = d[key] / k
    return d


def scale_time(data: dict, k: float) -> dict:
    """Every rate times k, every duration and time divided by k (hours and days)."""
    out = copy.deepcopy(data)
    out["scenario"]["days"] = out["scenario"].get("days", 365.0) / k
    for kind in out["kinds"].values():
        kind["shelf_life_h"] /= k
    for src in out["sources"].values():
        src["rate_per_day"] *= k
    for sec in ("collectors", "cells", "commanders"):
        for node in out.get(sec, {}).values():
            assert "duty" not in node, "duty hours follow the clock: no time scaling"
            assert not any("duty" in r for r in node.get("acts", {}).values()), "acting hours follow the clock"
            for key in ("report_delay_h", "work_h", "intrep_h", "dictation_h"):
                if key in node:
                    node[key] = scale_dist(node[key], k)
            if "patrols" in node:
                p = node["patrols"]
                p["per_day"] *= k
                p["duration_h"] /= k
                p["first_h"] = p.get("first_h", 0.0) / k
            if "written" in node:
                node["written"]["delay_h"] = scale_dist(node["written"]["delay_h"], k)
            if "background" in node:
                node["background"]["per_day"] *= k
                node["background"]["work_h"] = scale_dist(node["background"]["work_h"], k)
            if "tasking" in node:
                node["tasking"]["per_week"] *= k
                node["tasking"]["window_h"] /= k
            if "accreditation" in node:
                a = node["accreditation"]
                a["deployed_day"] /= k
                a["duration_days"] = scale_dist(a["duration_days"], k)
            if "rotation" in node:
                r = node["rotation"]
                for key in ("every_days", "first_day", "learning_days"):
                    r[key] /= k
    for m in out.get("meetings", {}).values():
        for key in ("first_h", "every_h", "from_day", "until_day"):
            if key in m:
                m[key] /= k
    for link in out.get("links", []):
        if "transit_h" in link:
            link["transit_h"] = scale_dist(link["transit_h"], k)
    if "planning_horizon_h" in out.get("metrics", {}):
        out["metrics"]["planning_horizon_h"] /= k
    return out


TIMES = {"ledger": ["reached_h", "arrival_h", "act_h", "latency_h", "t_h", "shelf_life_h"],
         "events": ["t_h", "shelf_life_h"]}


def check_scaled(a, b, k: float):
    """Run ``b`` is run ``a`` with time divided by ``k``."""
    for frame in ("ledger", "events"):
        fa, fb = getattr(a, frame), getattr(b, frame)
        assert len(fa) == len(fb) and list(fa.columns) == list(fb.columns), frame
        for col in fa.columns:
            if col in TIMES[frame]:
                x, y = fa[col].to_numpy(dtype=float), fb[col].to_numpy(dtype=float) * k
                assert np.array_equal(np.isnan(x), np.isnan(y)), (frame, col)
                ok = ~np.isnan(x)
                np.testing.assert_allclose(y[ok], x[ok], rtol=1e-9, atol=1e-9, err_msg=f"{frame}.{col}")
            else:
                pd.testing.assert_series_equal(fa[col], fb[col], check_names=True, obj=f"{frame}.{col}")
    pd.testing.assert_frame_equal(a.reports, b.reports)
    pd.testing.assert_frame_equal(a.cells.drop(columns=["observed_h", "sum_wait_h", "sum_sojourn_h", "busy_area",
                                                        "queue_area"], errors="ignore"),
                                  b.cells.drop(columns=["observed_h", "sum_wait_h", "sum_sojourn_h", "busy_area",
                                                        "queue_area"], errors="ignore"))
    if a.cells.empty:
        return
    ca, cb = a.cells.set_index("cell"), b.cells.set_index("cell")
    for col in ("observed_h", "sum_wait_h", "sum_sojourn_h", "busy_area", "queue_area"):
        np.testing.assert_allclose(cb[col].to_numpy() * k, ca[col].to_numpy(), rtol=1e-9, atol=1e-9, err_msg=col)
    for col in ("arrivals", "started", "completed", "overflow", "max_queue"):
        assert (ca[col] == cb[col]).all(), col


@hsettings(80)
@given(mechanism_scenarios(duty=False), st.sampled_from([2.0, 4.0, 8.0, 16.0]))
def test_scaling_time_scales_every_time(data, k):
    """Every rate times k and every duration over k: the same events, reports and
    outcomes, every time divided by k (the random numbers are the same: each stream
    draws the same standard numbers and scales them).

    k is a power of two, so that dividing by it is exact in binary floating point:
    the model breaks ties between things due at the same instant (an escort handed
    back as the next patrol leaves, reports reaching a meeting as it starts) by exact
    equality of times, and with k = 3 rounding turns some ties into near misses, so
    the runs part ways (by design, not a fault: the times are equal only up to
    rounding)."""
    sc = scenario.parse(copy.deepcopy(data), "<generated>")
    fast = scenario.parse(scale_time(data, k), "<scaled>")
    a = simulate(sc)
    b = simulate(fast)
    check_scaled(a, b, k)


@pytest.mark.parametrize("k", [2.0, 8.0])
def test_scaling_time_in_minusma(k):
    data = scenario.load("minusma-2015").to_dict()
    for cell in data["cells"].values():
        cell.pop("duty", None)  # duty hours follow the clock
    for node in data["commanders"].values():
        for rule in node.get("acts", {}).values():
            rule.pop("duty", None)  # so do the hours a commander acts on a call
    data["scenario"]["days"] = 120.0
    a = simulate(scenario.parse(copy.deepcopy(data), "base"), 5)
    b = simulate(scenario.parse(scale_time(data, k), "scaled"), 5)
    assert len(a.events) > 1000 and (a.ledger["outcome"] == "in_time").any()
    check_scaled(a, b, k)
    assert metrics.summary(a)["consumers"]["force_commander"]["outcomes"] == \
        metrics.summary(b)["consumers"]["force_commander"]["outcomes"]
