"""Teaching views: follow one event, and see where the hours go (pure pandas).

Everything here reads the records of a traced run (``simulate(..., trace=True)``):

* :func:`report_path`: the steps a report went through, including those of the reports
  it was copied from before the copy was made;
* :func:`event_story`: one event, every path it took, and what each consumer knew
  and when (for a consumer that acts at a meeting, when it could act);
* :func:`time_budgets`: for every (event, consumer) first arrival, how its latency
  splits into observation, writing, transit, meeting waits, queueing, work,
  sanitisation and holding back (the parts sum to the latency);
* :func:`bottlenecks`: the nodes ranked by how much late or lost current intelligence
  they account for, with the cells' utilisation and waits;
* :func:`occupancy`: queue length and busy analysts of a cell over time.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Optional

import numpy as np
import pandas as pd

from ..model.records import RunRecords

BUDGET = ("observe", "write", "transit", "meeting", "queue", "work", "sanitise", "hold")
"""Parts of a time budget, in path order."""

STOPPED = ("withheld", "not_shared", "overflow", "absorbed")


def clock(start: _dt.date, t_h: float) -> str:
    """Hour ``t_h`` of a run as a calendar time, e.g. ``Fri 02 Jan 14:05 (day 1)``."""
    if t_h is None or (isinstance(t_h, float) and not math.isfinite(t_h)):
        return "never"
    when = _dt.datetime.combine(start, _dt.time()) + _dt.timedelta(hours=float(t_h))
    return f"{when:%a %d %b %H:%M} (day {int(t_h // 24)})"


def hours(h: float) -> str:
    """A duration in hours as ``3h05`` (or ``-``)."""
    if h is None or not math.isfinite(h):
        return "-"
    m = int(round(h * 60))
    return f"{m // 60}h{m % 60:02d}"


class TraceIndex:
    """Fast access to a trace: rows by report, and each copy's fork row."""

    def __init__(self, trace: pd.DataFrame):
        if trace is None:
            raise ValueError("this needs a traced run (trace=True / --trace)")
        self.trace = trace.reset_index(drop=True)
        self.rows = {rid: idx.to_numpy() for rid, idx in self.trace.groupby("report", sort=False).groups.items()}
        copies = self.trace.index[self.trace["step"] == "copy"]
        self.fork_row = dict(zip(self.trace.loc[copies, "report"].to_numpy(), copies.to_numpy()))
        self.parent = dict(zip(self.trace["report"].to_numpy(), self.trace["parent"].to_numpy()))

    def path_rows(self, report: int) -> np.ndarray:
        """Row numbers of the report's own steps and its ancestors' steps before each
        copy, in time order."""
        parts = [self.rows.get(report, np.zeros(0, dtype=np.int64))]
        child = report
        parent = self.parent.get(report, -1)
        while parent is not None and parent >= 0:
            fork = self.fork_row.get(child)
            rows = self.rows.get(parent, np.zeros(0, dtype=np.int64))
            parts.append(rows[rows < fork] if fork is not None else rows)
            child, parent = parent, self.parent.get(parent, -1)
        rows = np.concatenate(parts[::-1])
        return rows

    def path(self, report: int) -> pd.DataFrame:
        p = self.trace.loc[self.path_rows(report)]
        p = p[p["step"] != "copy"]
        return p.sort_values(["t0_h", "t1_h"], kind="stable")


def report_path(records: RunRecords, report: int) -> pd.DataFrame:
    """The steps report ``report`` went through, with its ancestors' history."""
    return TraceIndex(records.trace).path(report)


def budget_of(path: pd.DataFrame, until: float) -> dict[str, float]:
    """Hours of each :data:`BUDGET` part on ``path`` up to time ``until``."""
    out = dict.fromkeys(BUDGET, 0.0)
    for step, t0, t1 in zip(path["step"], path["t0_h"], path["t1_h"]):
        if step in out and t0 < until:
            out[step] += min(t1, until) - t0
    return out


def event_story(records: RunRecords, event_id: int, start: _dt.date) -> dict:
    """One event: its facts, every report's path, and what each consumer knew when."""
    ev = records.events.set_index("event_id").loc[event_id]
    idx = TraceIndex(records.trace)
    tr = idx.trace
    mine = tr[tr["event_id"] == event_id]
    reports = list(dict.fromkeys(mine["report"].tolist()))
    paths = {rid: idx.path(rid) for rid in reports}
    led = records.ledger[records.ledger["event_id"] == event_id]
    knew = [_what_it_knew(row, idx) for row in led.itertuples(index=False)]
    return {"event_id": int(event_id), "t_h": float(ev["t_h"]), "kind": str(ev["kind"]),
            "family": str(ev["family"]), "sector": str(ev["sector"]), "shelf_life_h": float(ev["shelf_life_h"]),
            "deadline_h": float(ev["t_h"] + ev["shelf_life_h"]), "n_observed": int(ev["n_observed"]),
            "n_reported": int(ev["n_reported"]), "reports": reports, "paths": paths, "knew": knew,
            "start": start}


def _hours_or_none(x) -> Optional[float]:
    return None if math.isnan(x) else float(x)


def _what_it_knew(row, idx: TraceIndex) -> dict:
    """One ledger row of an event's story: what a consumer knew when, and (for an
    arrival) the budget of the report's path up to it."""
    entry = {"consumer": str(row.consumer), "outcome": str(row.outcome),
             "arrival_h": _hours_or_none(row.arrival_h), "act_h": _hours_or_none(row.act_h),
             "latency_h": _hours_or_none(row.latency_h),
             "via": None if pd.isna(row.via) else str(row.via), "precise": bool(row.precise),
             "report": int(row.report), "arrivals": int(row.arrivals)}
    if entry["arrival_h"] is not None and entry["report"] >= 0:
        entry["budget"] = budget_of(idx.path(entry["report"]), entry["arrival_h"])
    return entry


def pick_event(records: RunRecords, family: str = "current", seed: int = 0,
               consumer: Optional[str] = None) -> int:
    """A sampled event worth following: of the family, reported, reaching at least
    two consumers, ideally ``consumer`` (by default the scenario's headline consumer
    as the run recorded it, ``[metrics] bypass_consumer``, if it names one; see
    :func:`reporting_sim.metrics.headline_consumer`); drawn with ``seed``."""
    ev = records.events
    led = records.ledger
    arrived = led[led["arrival_h"].notna()].groupby("event_id").size()
    cand = ev[(ev["family"] == family) & (ev["n_reported"] > 0) & ~ev["live_at_end"]]
    cand = cand[cand["event_id"].isin(arrived[arrived >= 2].index)]
    headline = consumer or (records.meta.get("bypass") or [None])[0]
    reached = led[(led["consumer"] == headline) & led["arrival_h"].notna()]["event_id"]
    pool = _first_not_empty(cand[cand["event_id"].isin(reached)], cand, ev[ev["family"] == family])
    if not len(pool):
        raise ValueError(f"no {family} event in this run")
    rng = np.random.default_rng(seed)
    return int(pool["event_id"].to_numpy()[rng.integers(len(pool))])


def _first_not_empty(*frames: pd.DataFrame) -> pd.DataFrame:
    """The first of ``frames`` with a row (else the last)."""
    return next((f for f in frames if len(f)), frames[-1])


def time_budgets(records: RunRecords, family: Optional[str] = "current") -> pd.DataFrame:
    """One row per (event, consumer) first arrival of ``family`` (all if ``None``), over
    the events of each consumer's interest (a consumer interested in long-term
    intelligence only has no current budget):
    the latency, its parts (:data:`BUDGET`, summing to the latency), the wait from
    arrival until the consumer could act, the outcome, and the hours spent at each
    node on the path (``at:NODE``: queue, work, sanitisation, and meeting waits and
    holds on links leaving it)."""
    from .metrics import of_interest

    idx = TraceIndex(records.trace)
    led = of_interest(records.ledger)  # a consumer's budget is over the events of its interest only
    sel = led[led["arrival_h"].notna() & (led["report"] >= 0)]
    if family is not None:
        sel = sel[sel["family"] == family]
    arrays = _trace_arrays(idx.trace)
    out = pd.DataFrame([_budget_row(r, idx, arrays) for r in sel.itertuples(index=False)])
    if len(out):
        at = _at_columns(out)
        out[at] = out[at].fillna(0.0)
    return out


def _trace_arrays(tr: pd.DataFrame) -> tuple:
    """The trace's node, step, start and end as plain arrays: one path per arrival is
    read many times, pandas per row is too slow."""
    return (tr["node"].astype(str).to_numpy(), tr["step"].astype(str).to_numpy(),
            tr["t0_h"].to_numpy(dtype=float), tr["t1_h"].to_numpy(dtype=float))


def _budget_row(r, idx: TraceIndex, arrays: tuple) -> dict:
    """One first arrival's row of :func:`time_budgets` (``arrays``: :func:`_trace_arrays`)."""
    row = {"event_id": int(r.event_id), "consumer": str(r.consumer), "outcome": str(r.outcome),
           "latency_h": float(r.latency_h), "act_wait_h": float(r.act_h - r.arrival_h)}
    row.update(_budget(idx.path_rows(int(r.report)), float(r.arrival_h), *arrays))
    return row


_AT_STEPS = {"queue", "work", "sanitise", "meeting", "hold"}
"""The steps counted as hours spent at a node (``at:NODE``)."""


def _budget(rows, arrival: float, node_a, step_a, t0_a, t1_a) -> dict[str, float]:
    """The parts of one path's latency up to ``arrival`` (:data:`BUDGET`), then the
    hours spent at each node on it (``at:NODE``); copies are not counted twice."""
    b = dict.fromkeys(BUDGET, 0.0)
    at: dict[str, float] = {}
    for i in rows:
        step, t0 = step_a[i], t0_a[i]
        if t0 < arrival and step != "copy":
            _count_step(b, at, step, node_a[i], min(t1_a[i], arrival) - t0)
    b.update(at)
    return b


def _count_step(b: dict[str, float], at: dict[str, float], step: str, node: str, dt: float) -> None:
    """Add ``dt`` hours of ``step`` at ``node`` to the budget parts ``b`` and the hours at nodes ``at``."""
    if step in b:
        b[step] += dt
    if step in _AT_STEPS:
        key = f"at:{node}"
        at[key] = at.get(key, 0.0) + dt


def bottlenecks(records: RunRecords, family: str = "current", budgets: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """Nodes ranked by the late or lost ``family`` intelligence they account for.

    ``late_hours``: hours that late first arrivals spent at the node (queue, work,
    sanitisation, waits for meetings or holds on its links); ``late_pairs_led``: late
    (event, consumer) pairs for which this node was the largest single delay;
    ``lost_events``: events reported but lost to some consumer whose reports stopped at
    this node (withheld, not shared, inbox full, or not passed on); plus each cell's
    utilisation, mean wait and mean queue.
    """
    nodes: dict[str, dict] = {}  # node -> its columns, in the order nodes are first met
    _late_at(time_budgets(records, family) if budgets is None else budgets, nodes)
    _lost_at(records, family, nodes)
    _cells_at(records, nodes)
    out = pd.DataFrame.from_dict(nodes, orient="index")
    for c in ("late_hours", "late_pairs_led", "lost_events"):
        if c not in out:
            out[c] = 0
    out[["late_hours", "late_pairs_led", "lost_events"]] = out[["late_hours", "late_pairs_led", "lost_events"]].fillna(0)
    out.index.name = "node"
    return out.sort_values(["late_hours", "lost_events"], ascending=False)


def _late_at(b: pd.DataFrame, nodes: dict) -> None:
    """``late_hours`` and ``late_pairs_led`` of each node, from the time budgets ``b``."""
    if not len(b):
        return
    late = b[b["outcome"] == "late"]
    at = _at_columns(b)
    for c in at:
        nodes.setdefault(c[3:], {})["late_hours"] = float(late[c].sum())
    if len(late) and at:
        _late_pairs_led(late[at], nodes)


def _at_columns(b: pd.DataFrame) -> list[str]:
    """The ``at:NODE`` columns of time budgets ``b``."""
    return [c for c in b.columns if c.startswith("at:")]


def _late_pairs_led(late_at: pd.DataFrame, nodes: dict) -> None:
    """``late_pairs_led``: for how many late pairs (rows of ``late_at``, hours by
    ``at:NODE``) each node was the largest single delay."""
    leader = late_at.idxmax(axis=1)[late_at.max(axis=1) > 0]
    for c, n in leader.value_counts().items():
        nodes.setdefault(c[3:], {})["late_pairs_led"] = int(n)


def _lost_at(records: RunRecords, family: str, nodes: dict) -> None:
    """``lost_events`` (and ``lost:STATE``) of each node where reports of events lost
    to some consumer stopped."""
    from .metrics import of_interest

    tr, led = records.trace, of_interest(records.ledger)  # lost to a consumer that wanted it
    fam_events = records.events[records.events["family"] == family]
    lost = led[led["outcome"].isin(["not_shared", "withheld"]) & led["event_id"].isin(fam_events["event_id"])]
    lost_ids = set(lost["event_id"].unique())
    ends = tr[(tr["step"] == "end") & tr["state"].isin(STOPPED) & tr["event_id"].isin(lost_ids)]
    for node, g in ends.groupby("node"):
        d = nodes.setdefault(node, {})
        d["lost_events"] = int(g["event_id"].nunique())
        for state, gs in g.groupby("state"):
            d[f"lost:{state}"] = int(gs["event_id"].nunique())


def _cells_at(records: RunRecords, nodes: dict) -> None:
    """Each staff cell's utilisation, mean wait and mean queue."""
    from .metrics import cell_table

    for name, row in cell_table(records.cells).iterrows():
        d = nodes.setdefault(name, {})
        d["utilisation"] = float(row["utilisation"])
        d["mean_wait_h"] = float(row["mean_wait_h"]) if not math.isnan(row["mean_wait_h"]) else math.nan
        d["mean_queue"] = float(row["mean_queue"])


def occupancy(records: RunRecords, node: str, step: str = "queue", freq_h: float = 1.0) -> pd.Series:
    """Time-average number of reports in ``step`` (``queue`` or ``work``) at ``node``,
    per ``freq_h``-hour bin, from the trace's intervals."""
    tr = records.trace
    iv = tr[(tr["node"] == node) & (tr["step"] == step)]
    horizon = records.days * 24.0
    edges = np.arange(0.0, horizon + freq_h, freq_h)
    area = np.zeros(len(edges) - 1)
    for t0, t1 in zip(iv["t0_h"].to_numpy(), np.minimum(iv["t1_h"].to_numpy(), horizon)):
        if t1 > t0:
            _spread(area, edges, t0, t1, freq_h)
    return pd.Series(area / freq_h, index=pd.Index(edges[:-1], name="t_h"), name=f"{node}:{step}")


def _spread(area: np.ndarray, edges: np.ndarray, t0: float, t1: float, freq_h: float) -> None:
    """Add the interval ``[t0, t1)`` to the hours in each bin of ``area`` (bins start at ``edges``)."""
    i0, i1 = int(t0 // freq_h), min(int(t1 // freq_h), len(area) - 1)
    if i0 == i1:
        area[i0] += t1 - t0
        return
    area[i0] += edges[i0 + 1] - t0
    area[i0 + 1:i1] += freq_h
    area[i1] += t1 - edges[i1]


def headline_briefings(sc, days: float) -> tuple[list[float], str, str]:
    """The meetings at which the scenario's headline consumer acts (on news of some
    channel: the first it names), over a run of ``days`` (and two days more): their
    hours, the consumer's display name and the meeting's (``[]`` when it acts on
    arrival by every channel)."""
    from .metrics import headline_consumer

    who = headline_consumer(sc)
    name = next(iter(sc.nodes[who].acting_meetings()), None) if who else None
    if name is None:
        return [], "", ""
    times = sc.meetings[name].calendar().times(0.0, days * 24 + 48)
    return times, sc.nodes[who].label or who, name.replace("_", " ")
