"""The engine's exact behaviour on tiny scenarios, read from its event traces, where
every time can be worked out by hand.

Each scenario is built from a dict with ``scenario.parse``; durations are fixed, chances
are 0 or 1, so once the ground-truth event times are read from ``records.events`` every
later time (observation, release, transit, queue, work, arrival, action) follows from
the rules of the model. The expected values below are computed independently of the
engine (explicit lists of patrol departures and meetings, a hand-written FIFO queue),
then compared with the trace steps and the outcome ledger. (The scenario builders
``base``, ``collector`` and ``link`` are in ``helpers.py``.)
"""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpers import base, collector, link
from reporting_sim import scenario
from reporting_sim.model import simulate
from reporting_sim.model.records import REPORT_STATES

ABSORBED = REPORT_STATES.index("absorbed")
DUPLICATE = REPORT_STATES.index("duplicate")
OVERFLOW = REPORT_STATES.index("overflow")
NOT_SHARED = REPORT_STATES.index("not_shared")
IN_FLIGHT = REPORT_STATES.index("in_flight")
EPS = 1e-9


def approx(x):
    return pytest.approx(x, abs=EPS, rel=0)


class Run:
    """A parsed scenario, simulated once with tracing, with lookup helpers."""

    def __init__(self, data, seed=None, days=None):
        self.sc = scenario.parse(copy.deepcopy(data), "<test>")
        self.rec = simulate(self.sc, seed, days, trace=True)
        self.horizon = self.rec.days * 24.0
        self.names = list(self.sc.nodes)
        self.events = self.rec.events
        self.times = self.events["t_h"].to_list()
        tr = self.rec.trace
        self.trace = tr
        self.by_report = {rid: list(g.itertuples(index=False)) for rid, g in tr.groupby("report", sort=True)}

    def idx(self, name):
        return self.names.index(name)

    def steps(self, rid):
        """The steps of report ``rid`` as (node, step, t0, t1, other) in recorded order."""
        return [(s.node, s.step, s.t0_h, s.t1_h, s.other) for s in self.by_report[rid]]

    def reports_of(self, eid, parent=None):
        sub = self.trace[self.trace["event_id"] == eid]
        if parent is not None:
            sub = sub[sub["parent"] == parent]
        return sorted(sub["report"].unique().tolist())

    def origin(self, rid):
        """The collector a report (not a copy) came from: the node of its observe step."""
        return self.by_report[rid][0].node

    def row(self, eid, consumer):
        led = self.rec.ledger
        sub = led[(led["event_id"] == eid) & (led["consumer"] == consumer)]
        assert len(sub) == 1
        return sub.iloc[0]

    def end(self, rid):
        ends = [s for s in self.by_report[rid] if s.step == "end"]
        assert len(ends) == 1, f"report {rid} has {len(ends)} end steps"
        return ends[0]


def assert_steps(actual, expected):
    assert len(actual) == len(expected), f"{actual} != {expected}"
    for a, e in zip(actual, expected):
        assert a[0] == e[0] and a[1] == e[1] and a[4] == e[4], f"{a} != {e}"
        assert a[2] == approx(e[2]) and a[3] == approx(e[3]), f"{a} != {e}"


def fifo(arrivals, work, servers=1, duty=None):
    """Start times of a FIFO queue with ``servers`` analysts and a fixed work time,
    started only within daily ``duty`` hours (start, end); arrivals in order."""
    free = [0.0] * servers
    starts = []
    for a in arrivals:
        k = min(range(servers), key=lambda i: free[i])
        s = max(a, free[k])
        if duty is not None:
            day, h = divmod(s, 24.0)
            if not duty[0] <= h < duty[1]:
                s = day * 24.0 + duty[0] if h < duty[0] else (day + 1) * 24.0 + duty[0]
        starts.append(s)
        free[k] = s + work
    return starts


# --------------------------------------------------------------- a simple chain

def chain_scenario():
    d = base(rate=10.0, days=3.0, shelf=5.0)
    d["collectors"]["c"] = collector(delay=0.5)
    d["commanders"]["cmd"] = {}
    d["cells"]["cell"] = {"analysts": 1, "work_h": 2.0, "consumer": True}
    d["commanders"]["top"] = {"consumer": True}
    d["links"] = [link("c", "cmd", 0.25), link("cmd", "cell", 1.0), link("cell", "top", 0.5)]
    return d


def test_chain_trace_and_ledger_exact():
    r = Run(chain_scenario())
    H = r.horizon
    times = r.times
    assert len(times) >= 15
    at_cell = [t + 0.5 + 0.25 + 1.0 for t in times]
    starts = fifo(at_cell, 2.0)
    assert any(s > a for s, a in zip(starts, at_cell)), "no queueing: the test would not test FIFO"
    released = [t for t in times if t + 0.5 < H]
    assert r.rec.meta["reports_created"] == len(released)
    i_cmd, i_cell, i_top = r.idx("cmd"), r.idx("cell"), r.idx("top")
    outcomes = set()
    for eid, t in enumerate(times):
        if t + 0.5 >= H:
            assert r.reports_of(eid) == []
            for who in ("cell", "top"):
                assert r.row(eid, who)["outcome"] == "in_flight"
            continue
        (rid,) = r.reports_of(eid)
        a, s = at_cell[eid], starts[eid]
        f = s + 2.0
        arr = f + 0.5
        full = [("c", "observe", t, t, -1), ("c", "write", t, t + 0.5, -1),
                ("c", "transit", t + 0.5, t + 0.75, i_cmd), ("cmd", "transit", t + 0.75, a, i_cell),
                ("cell", "queue", a, s, -1), ("cell", "work", s, f, -1),
                ("cell", "transit", f, arr, i_top), ("top", "end", arr, arr, ABSORBED)]
        got = r.steps(rid)
        if arr < H:
            assert_steps(got, full)
        else:
            # still moving at the horizon: the steps so far, then one end step "in flight"
            assert got[-1][1:] == ("end", approx(H), approx(H), IN_FLIGHT)
            assert_steps(got[:-1], full[:len(got) - 1])
        cell_row, top_row = r.row(eid, "cell"), r.row(eid, "top")
        if f < H:  # the cell knows once it has worked the report
            assert cell_row["arrival_h"] == approx(f)
            assert cell_row["latency_h"] == approx(f - t)
            assert cell_row["act_h"] == approx(f)
            assert cell_row["via"] == "cmd"
            assert cell_row["arrivals"] == 1
            assert cell_row["outcome"] == ("in_time" if f <= t + 5.0 else "late")
        else:
            assert cell_row["outcome"] == "in_flight" and math.isnan(cell_row["arrival_h"])
        if arr < H:
            assert top_row["arrival_h"] == approx(arr)
            assert top_row["latency_h"] == approx(arr - t)
            assert top_row["act_h"] == approx(arr)
            assert top_row["via"] == "cell"
            expected = "in_time" if arr <= t + 5.0 else "late"
            assert top_row["outcome"] == expected
            outcomes.add(expected)
        else:
            assert top_row["outcome"] == "in_flight"
            assert math.isnan(top_row["arrival_h"]) and top_row["arrivals"] == 0
    assert outcomes == {"in_time", "late"}, "both outcomes should occur with this queue"


def test_chain_reports_frame_counts_terminal_states():
    r = Run(chain_scenario())
    rep = r.rec.reports.set_index(["node", "state"])["count"]
    H = r.horizon
    starts = fifo([t + 1.75 for t in r.times], 2.0)
    done = sum(1 for t, s in zip(r.times, starts) if t + 0.5 < H and s + 2.5 < H)
    assert done >= 10
    assert rep[("top", "absorbed")] == done
    assert rep.sum() == r.rec.meta["reports_created"]
    assert rep.get(("(in flight)", "in_flight"), 0) == r.rec.meta["reports_created"] - done


# --------------------------------------------------------------- patrols

PATROL = {"per_day": 4, "duration_h": 2.0, "first_h": 1.0}  # out 1-3, 7-9, 13-15, 19-21


def patrol_expectation(t, departures, duration):
    for d in departures:
        if d <= t < d + duration:
            return t, d + duration  # a patrol is out: seen at once
    nxt = min(d for d in departures if d > t)
    return nxt, nxt + duration  # seen when the next patrol leaves


def test_patrol_timing_and_report_after_patrol():
    d = base(rate=12.0, days=3.0, shelf=100.0)
    d["collectors"]["walk"] = collector(delay=0.5, watch="patrols", patrols=dict(PATROL))
    d["collectors"]["after"] = collector(delay=0.5, watch="patrols", patrols=dict(PATROL),
                                         report_after_patrol=True)
    d["commanders"]["top1"] = {"consumer": True}
    d["commanders"]["top2"] = {"consumer": True}
    d["links"] = [link("walk", "top1"), link("after", "top2")]
    r = Run(d)
    H = r.horizon
    departures = [1.0 + 6.0 * k for k in range(-1, 16)]
    seen_during = seen_between = 0
    for eid, t in enumerate(r.times):
        t_obs, back = patrol_expectation(t, departures, 2.0)
        if t_obs == t:
            seen_during += 1
        else:
            seen_between += 1
        for who, consumer, release in (("walk", "top1", t_obs + 0.5), ("after", "top2", back + 0.5)):
            rids = [x for x in r.reports_of(eid) if r.origin(x) == who]
            row = r.row(eid, consumer)
            if release >= H:
                assert rids == []
                assert row["outcome"] == "in_flight"
                continue
            (rid,) = rids
            assert_steps(r.steps(rid), [
                (who, "observe", t, t_obs, -1), (who, "write", t_obs, release, -1),
                (who, "transit", release, release, r.idx(consumer)),
                (consumer, "end", release, release, ABSORBED)])
            assert row["arrival_h"] == approx(release)
            assert row["latency_h"] == approx(release - t)
            assert row["outcome"] == "in_time"
    assert seen_during >= 3 and seen_between >= 3
    ev = r.events
    assert (ev["n_observed"] <= 2).all()
    # every event is seen by both patrolling collectors unless its patrol is still ahead
    for eid, t in enumerate(r.times):
        t_obs, _ = patrol_expectation(t, departures, 2.0)
        assert ev.loc[eid, "n_observed"] == (2 if t_obs < H else 0)


def test_patrol_duration_zero_observes_at_departure():
    """A patrol of no duration sees only what is still there when it leaves: the next one."""
    d = base(rate=8.0, days=2.0)
    d["collectors"]["c"] = collector(delay=0.0, watch="patrols",
                                     patrols={"per_day": 2, "duration_h": 0.0, "first_h": 5.0})
    d["commanders"]["top"] = {"consumer": True}
    d["links"] = [link("c", "top", 1.0)]
    r = Run(d)
    departures = [5.0 + 12.0 * k for k in range(-1, 6)]
    for eid, t in enumerate(r.times):
        nxt = min(x for x in departures if x > t)
        row = r.row(eid, "top")
        if nxt + 1.0 < r.horizon:
            assert row["arrival_h"] == approx(nxt + 1.0)
        else:
            assert row["outcome"] == "in_flight"


# --------------------------------------------------------------- duty hours

def test_cell_duty_hours_report_waits_for_duty():
    d = base(rate=6.0, days=4.0, shelf=48.0)
    d["collectors"]["c"] = collector()
    d["cells"]["cell"] = {"analysts": 1, "work_h": 1.0, "duty": {"start_h": 8.0, "end_h": 16.0},
                          "consumer": True}
    d["commanders"]["top"] = {"consumer": True}
    d["links"] = [link("c", "cell"), link("cell", "top")]
    r = Run(d)
    H = r.horizon
    starts = fifo(r.times, 1.0, duty=(8.0, 16.0))
    waited_for_morning = 0
    for eid, t in enumerate(r.times):
        (rid,) = r.reports_of(eid)
        s = starts[eid]
        got = r.steps(rid)
        assert_steps(got[:3], [("c", "observe", t, t, -1), ("c", "write", t, t, -1),
                               ("c", "transit", t, t, r.idx("cell"))])
        if s < H:
            assert_steps(got[3:5], [("cell", "queue", t, s, -1), ("cell", "work", s, s + 1.0, -1)])
            assert 8.0 <= s % 24.0 < 16.0
        else:  # still waiting at the end: its wait so far, then in flight at the cell
            assert_steps(got[3:], [("cell", "queue", t, H, -1), ("cell", "end", H, H, IN_FLIGHT)])
        if s + 1.0 < H:
            assert r.row(eid, "cell")["arrival_h"] == approx(s + 1.0)
            assert r.row(eid, "top")["arrival_h"] == approx(s + 1.0)
            assert r.end(rid).node == "top"
        if not 8.0 <= t % 24.0 < 16.0 and s % 24.0 == 8.0:
            waited_for_morning += 1
    assert waited_for_morning >= 2, "some report should have arrived at night and waited for 08:00"
    cells = r.rec.cells.set_index("cell")
    assert cells.loc["cell", "started"] == sum(1 for s in starts if s < H)


def test_duty_over_midnight():
    """Duty from 20:00 to 04:00: nothing starts between 04:00 and 20:00."""
    d = base(rate=6.0, days=3.0, shelf=48.0)
    d["collectors"]["c"] = collector()
    d["cells"]["cell"] = {"analysts": 1, "work_h": 0.5, "duty": {"start_h": 20.0, "end_h": 4.0}}
    d["commanders"]["top"] = {"consumer": True}
    d["links"] = [link("c", "cell"), link("cell", "top")]
    r = Run(d)
    work = r.trace[r.trace["step"] == "work"]
    assert len(work) > 5
    h = work["t0_h"] % 24.0
    assert ((h >= 20.0) | (h < 4.0)).all()
    # a report arriving at noon waits until 20:00 unless the queue is longer
    for eid, t in enumerate(r.times):
        if 4.0 <= t % 24.0 < 20.0:
            (rid,) = r.reports_of(eid)
            steps = r.steps(rid)
            q = [s for s in steps if s[1] == "queue"]
            if q:
                assert q[0][3] >= (t // 24.0) * 24.0 + 20.0 - EPS


# --------------------------------------------------------------- meetings

def meeting_times(first_h, every_h, n=40, start=0.0):
    return [start + first_h + every_h * k for k in range(n)]


def test_meeting_gated_link_and_consumer_acting_at_meeting():
    d = base(rate=8.0, days=3.0, shelf=12.0)
    d["collectors"]["c"] = collector(delay=0.5)
    d["commanders"]["cmd"] = {}
    d["commanders"]["top"] = {"consumer": True, "acts_at": "board"}
    d["meetings"]["brief"] = {"first_h": 6.0, "every_h": 12.0}
    d["meetings"]["board"] = {"first_h": 9.0, "every_h": 24.0}
    d["links"] = [link("c", "cmd"), link("cmd", "top", 0.5, meeting="brief")]
    r = Run(d)
    H = r.horizon
    briefs = meeting_times(6.0, 12.0)
    boards = meeting_times(9.0, 24.0)
    outcomes = set()
    waited = 0
    for eid, t in enumerate(r.times):
        leave = t + 0.5
        if leave >= H:
            continue
        (rid,) = r.reports_of(eid)
        m = min(x for x in briefs if x >= leave)
        arr = m + 0.5
        expected = [("c", "observe", t, t, -1), ("c", "write", t, leave, -1),
                    ("c", "transit", leave, leave, r.idx("cmd"))]
        if m > leave:
            expected.append(("cmd", "meeting", leave, m, r.idx("top")))
            waited += 1
        expected += [("cmd", "transit", m, arr, r.idx("top")), ("top", "end", arr, arr, ABSORBED)]
        row = r.row(eid, "top")
        if arr < H:
            assert_steps(r.steps(rid), expected)
            act = min(x for x in boards if x >= arr)
            assert row["arrival_h"] == approx(arr)
            assert row["latency_h"] == approx(arr - t)
            assert row["act_h"] == approx(act)
            o = "in_time" if act <= t + 12.0 else "late"
            assert row["outcome"] == o
            outcomes.add(o)
        else:  # still in flight: the trace holds only the steps that began in the run
            assert_steps(r.steps(rid)[:-1], [e for e in expected[:-1] if e[2] < H])
            assert row["outcome"] == "in_flight"
    assert waited >= 5
    assert outcomes == {"in_time", "late"}


def test_meeting_window_from_day_until_day():
    """A link meeting held only on day 1: earlier reports wait for it, later ones never go."""
    d = base(rate=6.0, days=3.0, shelf=100.0)
    d["collectors"]["c"] = collector()
    d["commanders"]["top"] = {"consumer": True}
    d["meetings"]["m"] = {"first_h": 10.0, "every_h": 24.0, "from_day": 1.0, "until_day": 2.0}
    d["links"] = [link("c", "top", 1.0, meeting="m")]
    r = Run(d)
    held = [34.0]  # day 1 at 10:00; day 2 at 10:00 is after until_day
    never = 0
    for eid, t in enumerate(r.times):
        (rid,) = r.reports_of(eid)
        row = r.row(eid, "top")
        if t <= held[0]:
            assert row["arrival_h"] == approx(35.0)
            assert row["act_h"] == approx(35.0)
        else:
            never += 1
            # the link's meeting is over for good: the report is not passed on (not shared)
            assert row["outcome"] == "not_shared"
            steps = r.steps(rid)
            assert [s[1] for s in steps] == ["observe", "write", "end"]
            assert steps[-1][0] == "c" and steps[-1][4] == NOT_SHARED
            assert steps[-1][2] == approx(t)
    assert never >= 3


def test_meeting_reached_at_its_own_time_after_rounding():
    """A report reaching a node at the very hour of a meeting (computed in floating point,
    here 19.12 + 24 + 3.32 against a meeting at 22.44 + 24) must go on at once: no step
    may go back in time and the run must not fail."""
    d = base(rate=4.0, days=3.0, shelf=48.0)
    d["collectors"]["c"] = collector()
    d["commanders"]["a"] = {}
    d["commanders"]["b"] = {"consumer": True}
    d["meetings"]["m1"] = {"first_h": 19.12, "every_h": 24.0}
    d["meetings"]["m2"] = {"first_h": 22.44, "every_h": 24.0}
    d["links"] = [link("c", "a", 3.32, meeting="m1"), link("a", "b", 0.0, meeting="m2")]
    r = Run(d)  # must not raise
    tr = r.trace
    assert (tr["t1_h"] >= tr["t0_h"]).all()
    for rid in r.by_report:
        steps = r.steps(rid)
        for prev, nxt in zip(steps, steps[1:]):
            assert nxt[2] >= prev[2], f"report {rid} goes back in time: {prev} -> {nxt}"
    led = r.rec.ledger
    arrived = led[led["arrival_h"].notna()]
    assert len(arrived) >= 3
    for x in arrived["arrival_h"]:
        assert any(abs(x - (22.44 + 24.0 * k)) < 1e-9 for k in range(3))


@settings(max_examples=300, deadline=None)
@example(first_h=22.44, every_h=24.0, from_day=0.0, t=19.12 + 24.0 + 3.32)
@given(first_h=st.floats(0, 23.99), every_h=st.floats(0.01, 200), from_day=st.floats(0, 30),
       t=st.floats(0, 5000))
def test_meeting_next_at_is_never_before_t(first_h, every_h, from_day, t):
    m = scenario.Meeting(first_h=first_h, every_h=every_h, from_day=from_day)
    at = m.next_at(t)
    assert at >= t
    assert at - t <= every_h + max(0.0, from_day * 24 + first_h - t) + 1e-9


# --------------------------------------------------------------- fan-out and copies

def test_each_routing_fans_out_with_copies():
    d = base(rate=6.0, days=2.0)
    d["collectors"]["c"] = collector(delay=0.5)
    d["commanders"]["cmd"] = {}
    for name in ("a", "b", "z"):
        d["commanders"][name] = {"consumer": True}
    d["links"] = [link("c", "cmd", 0.1), link("cmd", "a", 0.25), link("cmd", "b", 0.75),
                  link("cmd", "z", 1.0, p=0.0)]
    r = Run(d)
    H = r.horizon
    n_released = 0
    for eid, t in enumerate(r.times):
        if t + 0.5 >= H:
            continue
        n_released += 1
        (orig,) = r.reports_of(eid, parent=-1)
        copies = r.reports_of(eid, parent=orig)
        assert len(copies) == 1, "one link more than the first takes one copy"
        (cp,) = copies
        assert cp > orig
        at_cmd = t + 0.6
        if at_cmd + 0.75 < H:
            assert_steps(r.steps(orig), [
                ("c", "observe", t, t, -1), ("c", "write", t, t + 0.5, -1),
                ("c", "transit", t + 0.5, at_cmd, r.idx("cmd")),
                ("cmd", "transit", at_cmd, at_cmd + 0.25, r.idx("a")),
                ("a", "end", at_cmd + 0.25, at_cmd + 0.25, ABSORBED)])
            assert_steps(r.steps(cp), [
                ("cmd", "copy", at_cmd, at_cmd, -1),
                ("cmd", "transit", at_cmd, at_cmd + 0.75, r.idx("b")),
                ("b", "end", at_cmd + 0.75, at_cmd + 0.75, ABSORBED)])
            assert r.row(eid, "a")["arrival_h"] == approx(at_cmd + 0.25)
            assert r.row(eid, "b")["arrival_h"] == approx(at_cmd + 0.75)
            assert r.row(eid, "a")["via"] == "cmd" and r.row(eid, "b")["via"] == "cmd"
        assert r.row(eid, "z")["outcome"] == "not_shared" or r.row(eid, "z")["outcome"] == "in_flight"
        assert r.row(eid, "z")["arrivals"] == 0
    assert r.rec.meta["reports_created"] == 2 * n_released
    assert (r.trace["parent"] >= -1).all()
    copies = r.trace[r.trace["parent"] >= 0]
    assert not (copies["step"].isin(["observe", "write"])).any(), "copies are not observed again"


def test_each_routing_copies_get_parent_at_collector_with_three_links():
    d = base(rate=4.0, days=2.0)
    d["collectors"]["c"] = collector(delay=0.0)
    for name in ("a", "b", "e"):
        d["commanders"][name] = {"consumer": True}
    d["links"] = [link("c", "a", 1.0), link("c", "b", 2.0), link("c", "e", 3.0)]
    r = Run(d)
    for eid, t in enumerate(r.times):
        if t + 3.0 >= r.horizon:
            continue
        (orig,) = r.reports_of(eid, parent=-1)
        kids = r.reports_of(eid, parent=orig)
        assert len(kids) == 2
        dests = sorted(r.end(x).node for x in [orig, *kids])
        assert dests == ["a", "b", "e"]
        assert r.end(orig).node == "a"  # the first firing link takes the report itself
        for name, dt in (("a", 1.0), ("b", 2.0), ("e", 3.0)):
            assert r.row(eid, name)["latency_h"] == approx(dt)


# --------------------------------------------------------------- dedupe

def dedupe_scenario(top_dedupe=True):
    d = base(rate=6.0, days=3.0)
    d["collectors"]["c1"] = collector(delay=0.5)
    d["collectors"]["c2"] = collector(delay=1.0)
    d["commanders"]["top"] = {"consumer": True, "dedupe": top_dedupe}
    d["commanders"]["after"] = {"consumer": True}
    d["links"] = [link("c1", "top", 0.25), link("c2", "top", 0.25), link("top", "after", 0.5)]
    return d


def test_dedupe_second_report_ends_duplicate_first_arrival_kept():
    r = Run(dedupe_scenario())
    H = r.horizon
    n_dup = 0
    for eid, t in enumerate(r.times):
        if t + 1.25 >= H:
            continue
        rids = r.reports_of(eid)
        assert len(rids) == 2
        first = [x for x in rids if r.origin(x) == "c1"][0]
        second = [x for x in rids if r.origin(x) == "c2"][0]
        assert_steps(r.steps(second), [
            ("c2", "observe", t, t, -1), ("c2", "write", t, t + 1.0, -1),
            ("c2", "transit", t + 1.0, t + 1.25, r.idx("top")),
            ("top", "end", t + 1.25, t + 1.25, DUPLICATE)])
        n_dup += 1
        top = r.row(eid, "top")
        assert top["arrivals"] == 2
        assert top["arrival_h"] == approx(t + 0.75)
        assert top["latency_h"] == approx(0.75)
        assert top["via"] == "c1"
        after = r.row(eid, "after")
        if t + 1.25 < H:
            assert after["arrivals"] == 1, "a duplicate is not passed on"
            assert after["arrival_h"] == approx(t + 1.25)
            assert r.end(first).node == "after" and r.end(first).other == ABSORBED
    assert n_dup >= 5
    rep = r.rec.reports.set_index(["node", "state"])["count"]
    assert rep[("top", "duplicate")] == n_dup


def test_no_dedupe_passes_both_reports_on_first_arrival_kept():
    r = Run(dedupe_scenario(top_dedupe=False))
    H = r.horizon
    checked = 0
    for eid, t in enumerate(r.times):
        if t + 1.75 >= H:
            continue
        top, after = r.row(eid, "top"), r.row(eid, "after")
        assert top["arrivals"] == 2 and after["arrivals"] == 2
        assert top["arrival_h"] == approx(t + 0.75)
        assert after["arrival_h"] == approx(t + 1.25)
        ends = sorted((r.end(x).node, r.end(x).other, round(r.end(x).t0_h - t, 9))
                      for x in r.reports_of(eid))
        assert ends == [("after", ABSORBED, 1.25), ("after", DUPLICATE, 1.75)]
        checked += 1
    assert checked >= 5


def test_dedupe_at_consumer_cell_while_first_is_queued():
    """Both reports reach the cell before it has worked the first: the second is a
    duplicate; the cell knows the event when the first is worked."""
    d = base(rate=4.0, days=3.0)
    d["collectors"]["c1"] = collector(delay=0.0)
    d["collectors"]["c2"] = collector(delay=0.5)
    d["cells"]["cell"] = {"analysts": 1, "work_h": 1.0, "consumer": True}
    d["links"] = [link("c1", "cell"), link("c2", "cell")]
    r = Run(d)
    starts = fifo(r.times, 1.0)
    checked = 0
    for eid, t in enumerate(r.times):
        if starts[eid] + 1.0 >= r.horizon:
            continue
        row = r.row(eid, "cell")
        assert row["arrivals"] == 2
        assert row["arrival_h"] == approx(starts[eid] + 1.0)
        assert row["via"] == "c1"
        second = [x for x in r.reports_of(eid) if r.origin(x) == "c2"][0]
        e = r.end(second)
        assert (e.node, e.other, e.t0_h) == ("cell", DUPLICATE, approx(t + 0.5))
        checked += 1
    assert checked >= 5


# --------------------------------------------------------------- inbox limit

def inbox_expectation(arrivals, work, limit):
    """Per arrival (in order): ("start", time) or ("overflow", time), one analyst."""
    busy_until = None
    queue = []
    out = [None] * len(arrivals)
    for i, a in enumerate(arrivals):
        while busy_until is not None and busy_until <= a:
            if queue:
                j = queue.pop(0)
                out[j] = ("start", busy_until)
                busy_until += work
            else:
                busy_until = None
        if busy_until is None:
            out[i] = ("start", a)
            busy_until = a + work
        elif len(queue) >= limit:
            out[i] = ("overflow", a)
        else:
            queue.append(i)
    while queue:
        j = queue.pop(0)
        out[j] = ("start", busy_until)
        busy_until += work
    return out


@pytest.mark.parametrize("limit", [0, 2])
def test_inbox_limit_overflow(limit):
    d = base(rate=10.0, days=3.0)
    d["collectors"]["c"] = collector(delay=0.0)
    d["cells"]["cell"] = {"analysts": 1, "work_h": 5.0, "inbox": limit}
    d["commanders"]["top"] = {"consumer": True}
    d["links"] = [link("c", "cell", 0.5), link("cell", "top")]
    r = Run(d)
    H = r.horizon
    arrivals = [t + 0.5 for t in r.times]
    exp = inbox_expectation(arrivals, 5.0, limit)
    n_over = 0
    for eid, t in enumerate(r.times):
        if arrivals[eid] >= H:
            continue
        (rid,) = r.reports_of(eid)
        what, when = exp[eid]
        steps = r.steps(rid)
        if what == "overflow":
            n_over += 1
            assert_steps(steps[3:], [("cell", "end", when, when, OVERFLOW)])
            assert r.row(eid, "top")["outcome"] == "not_shared"
        elif when < H:
            assert_steps(steps[3:5], [("cell", "queue", arrivals[eid], when, -1),
                                      ("cell", "work", when, when + 5.0, -1)])
        else:  # still waiting when the run ends: the wait so far, then in flight at the cell
            assert [s[1] for s in steps] == ["observe", "write", "transit", "queue", "end"]
            assert steps[3][3] == H and steps[-1][0] == "cell" and steps[-1][4] == IN_FLIGHT
    assert n_over >= 3
    rep = r.rec.reports.set_index(["node", "state"])["count"]
    assert rep[("cell", "overflow")] == n_over
    assert r.rec.cells.set_index("cell").loc["cell", "overflow"] == n_over


# --------------------------------------------------------------- choose routing

def test_choose_routing_sends_each_report_one_way_at_most():
    d = base(rate=100.0, days=5.0)
    d["collectors"]["c"] = collector(delay=0.0)
    d["commanders"]["cmd"] = {"routing": "choose"}
    d["commanders"]["a"] = {"consumer": True}
    d["commanders"]["b"] = {"consumer": True}
    d["links"] = [link("c", "cmd"), link("cmd", "a", 1.0, p=0.3), link("cmd", "b", 2.0, p=0.5)]
    r = Run(d)
    assert (r.trace["parent"] == -1).all(), "choose never copies"
    n = len(r.times)
    assert r.rec.meta["reports_created"] == n
    dest = {"a": 0, "b": 0, "cmd": 0}
    for eid, t in enumerate(r.times):
        if t + 2.0 >= r.horizon:
            continue
        (rid,) = r.reports_of(eid)
        e = r.end(rid)
        dest[e.node] += 1
        a, b = r.row(eid, "a"), r.row(eid, "b")
        assert not (a["arrivals"] and b["arrivals"])
        if e.node == "a":
            assert a["latency_h"] == approx(1.0) and b["outcome"] == "not_shared"
        elif e.node == "b":
            assert b["latency_h"] == approx(2.0) and a["outcome"] == "not_shared"
        else:
            assert e.other == ABSORBED and e.t0_h == approx(t)
            assert a["outcome"] == b["outcome"] == "not_shared"
    total = sum(dest.values())
    assert total > 400
    for name, p in (("a", 0.3), ("b", 0.5), ("cmd", 0.2)):
        assert abs(dest[name] / total - p) < 0.08, dest


def test_choose_routing_respects_kind_filter():
    d = base(rate=60.0, days=3.0)
    d["kinds"]["k2"] = {"family": "long_term", "shelf_life_h": 100.0}
    d["sources"]["s"]["mix"] = {"k": 0.5, "k2": 0.5}
    d["collectors"]["c"] = collector(delay=0.0)
    d["commanders"]["cmd"] = {"routing": "choose"}
    d["commanders"]["a"] = {"consumer": True}
    d["commanders"]["b"] = {"consumer": True}
    d["links"] = [link("c", "cmd"), link("cmd", "a", p=0.5, kinds=["k2"]), link("cmd", "b", p=0.5)]
    r = Run(d)
    led = r.rec.ledger
    a = led[led["consumer"] == "a"]
    assert (a[a["kind"] == "k"]["arrivals"] == 0).all()
    assert (a[a["kind"] == "k2"]["arrivals"] > 0).any()
    b = led[led["consumer"] == "b"]
    assert (b[b["kind"] == "k"]["arrivals"] > 0).any()


# --------------------------------------------------------------- FIFO and ties

def tie_scenario(order):
    d = base(rate=6.0, days=3.0, shelf=48.0)
    for name in order:
        d["collectors"][name] = collector(delay=1.0)
    d["cells"]["cell"] = {"analysts": 1, "work_h": 2.0, "dedupe": False}
    d["commanders"]["top"] = {"consumer": True}
    d["links"] = [link("c1", "cell"), link("c2", "cell"), link("cell", "top")]
    return d


@pytest.mark.parametrize("order", [("c1", "c2"), ("c2", "c1")])
def test_fifo_and_tie_order_of_simultaneous_arrivals(order):
    """Two collectors release reports of one event at the same instant; the cell serves
    them in the order they were scheduled: the collector listed first in the file first,
    and otherwise strictly first come, first served."""
    r = Run(tie_scenario(order))
    H = r.horizon
    arrivals, who = [], []
    for t in r.times:
        for name in order:
            arrivals.append(t + 1.0)
            who.append(name)
    starts = fifo(arrivals, 2.0)
    checked = 0
    for i, (a, name, s) in enumerate(zip(arrivals, who, starts)):
        eid = i // 2
        if s >= H or a >= H:
            continue
        rid = [x for x in r.reports_of(eid) if r.origin(x) == name][0]
        steps = r.steps(rid)
        assert_steps(steps[3:5], [("cell", "queue", a, s, -1), ("cell", "work", s, s + 2.0, -1)])
        checked += 1
    assert checked >= 10
    work = r.trace[r.trace["step"] == "work"].sort_values("t0_h", kind="stable")
    queue = r.trace[r.trace["step"] == "queue"].set_index("report").loc[work["report"]]
    assert queue["t0_h"].is_monotonic_increasing, "served out of arrival order"
    # the report released first (lower id) of a simultaneous pair is served first
    first = r.reports_of(0)
    assert r.origin(min(first)) == order[0]


def test_duty_start_serves_night_queue_before_report_arriving_at_that_instant():
    """Reports queued overnight go before one that arrives exactly at the start of duty."""
    d = base(rate=8.0, days=3.0, shelf=48.0)
    d["collectors"]["night"] = collector(delay=0.0)
    d["collectors"]["gated"] = collector(delay=0.0)
    d["commanders"]["desk"] = {}
    d["cells"]["cell"] = {"analysts": 1, "work_h": 0.5, "dedupe": False,
                          "duty": {"start_h": 8.0, "end_h": 20.0}}
    d["meetings"]["m8"] = {"first_h": 8.0, "every_h": 24.0}
    d["links"] = [link("night", "cell"), link("gated", "desk"), link("desk", "cell", meeting="m8")]
    d["commanders"]["top"] = {"consumer": True}
    d["links"].append(link("cell", "top"))
    r = Run(d)
    tr = r.trace
    q = tr[tr["step"] == "queue"].copy()
    q["origin"] = [r.origin(x) for x in q["report"]]
    gated_at8 = q[(q["origin"] == "gated") & (q["t0_h"] % 24.0 == 8.0)]
    waiting = [t8 for t8 in gated_at8["t0_h"]
               if ((q["origin"] == "night") & (q["t0_h"] < t8) & (q["t1_h"] >= t8)).any()]
    assert waiting, "no report arrived at 08:00 while others waited from the night"
    work = tr[tr["step"] == "work"].sort_values(["t0_h", "report"])
    qi = q.set_index("report")
    order = qi.loc[work["report"], "t0_h"].to_numpy()
    assert (order[1:] >= order[:-1]).all(), "the cell did not serve in order of arrival"
