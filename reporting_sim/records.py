"""Records of a run: the single source of truth every metric is computed from.

The engine writes into a :class:`Recorder`; :meth:`Recorder.finish` turns what it holds
into a :class:`RunRecords` of plain pandas frames:

* ``ledger``: one row per (event, consumer) with exactly one ``outcome`` from
  :data:`OUTCOMES`, the first arrival time, the latency and the node it came from;
* ``events``: one row per ground-truth event (time, sector, kind, family, shelf life,
  how many collectors observed it and how many reports they released);
* ``reports``: how many reports ended in each terminal state at each node (every
  report ends in exactly one of :data:`REPORT_STATES`);
* ``cells``: per staff cell, the counters and time-weighted areas needed for
  utilisation, queue length, waits and Little's law;
* ``trace`` (only when tracing was asked for): one flat row per step of every report.

Without tracing the recorder keeps a fixed number of numbers per event and per
consumer, in compact arrays, and nothing per hop, so memory stays flat as reports flow.
No SimPy here.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

OUTCOMES = ("in_time", "late", "not_observed", "not_reported", "withheld", "not_shared", "in_flight")
"""Every (event, consumer) pair ends in exactly one of these."""

REPORT_STATES = ("absorbed", "duplicate", "overflow", "withheld", "not_shared", "in_flight")
"""Every report ends in exactly one of these: ``absorbed`` (no onward link fired where it
stopped), ``duplicate`` (reached a node that already had the event), ``overflow`` (the
inbox was full), ``withheld`` / ``not_shared`` (stopped by a sharing gate), or
``in_flight`` (still moving, queued or being worked on when the run ended)."""

STEP_KINDS = ("observe", "write", "meeting", "transit", "queue", "work", "end")


@dataclass
class RunRecords:
    """Everything a run produced, as frames; metrics read only this."""

    scenario: str
    seed: int
    days: float
    warmup_days: float
    consumers: list[str]
    ledger: pd.DataFrame
    events: pd.DataFrame
    reports: pd.DataFrame
    cells: pd.DataFrame
    trace: Optional[pd.DataFrame] = None
    meta: dict = field(default_factory=dict)


class Recorder:
    """Collects what happens during a run, cheaply; see the module docstring."""

    def __init__(self, consumers: list[str], node_names: list[str], trace: bool = False):
        self.consumers = list(consumers)
        self.node_names = list(node_names)
        self.trace = trace
        n = len(self.consumers)
        self.ev_t = array("d")
        self.ev_source = array("i")
        self.ev_kind = array("i")
        self.ev_observed = array("i")
        self.ev_reported = array("i")
        self.arr_t = [array("d") for _ in range(n)]
        self.arr_via = [array("i") for _ in range(n)]
        self.arr_n = [array("i") for _ in range(n)]
        self.withheld = [array("b") for _ in range(n)]
        self.report_ends: dict[tuple[int, int], int] = {}
        self.reports_created = 0
        self.steps: list[tuple] = []

    # -- events --------------------------------------------------------------------
    def new_event(self, t: float, source: int, kind: int) -> int:
        eid = len(self.ev_t)
        self.ev_t.append(t)
        self.ev_source.append(source)
        self.ev_kind.append(kind)
        self.ev_observed.append(0)
        self.ev_reported.append(0)
        nan = math.nan
        for c in range(len(self.consumers)):
            self.arr_t[c].append(nan)
            self.arr_via[c].append(-1)
            self.arr_n[c].append(0)
            self.withheld[c].append(0)
        return eid

    def event_counts(self, eid: int, observed: int, reported: int) -> None:
        self.ev_observed[eid] = observed
        self.ev_reported[eid] = reported

    def count_arrival(self, eid: int, consumer: int) -> None:
        """A report of event ``eid`` reached consumer ``consumer`` (first or repeat)."""
        self.arr_n[consumer][eid] += 1

    def known(self, eid: int, consumer: int, t: float, via: int) -> None:
        """Consumer ``consumer`` knows of ``eid`` at ``t``, from node ``via``; only the
        first time counts (later ones are duplicates)."""
        times = self.arr_t[consumer]
        if times[eid] != times[eid]:  # still nan
            times[eid] = t
            self.arr_via[consumer][eid] = via

    def mark_withheld(self, eid: int, consumer: int) -> None:
        self.withheld[consumer][eid] = 1

    # -- reports -------------------------------------------------------------------
    def report_end(self, node: int, state: int) -> None:
        key = (node, state)
        self.report_ends[key] = self.report_ends.get(key, 0) + 1

    def step(self, report: int, parent: int, event: int, node: int, kind: int,
             t0: float, t1: float, other: int = -1) -> None:
        """One step of one report (tracing only): ``other`` is the next node of a link
        step, or the terminal state of an ``end`` step."""
        self.steps.append((report, parent, event, node, kind, t0, t1, other))

    # -- the end -------------------------------------------------------------------
    def finish(self, *, scenario, seed: int, days: float, warmup_days: float,
               live_events: dict[int, tuple[int, int]], cells: list[dict],
               kinds: list[str], families: list[str], shelf_lives: list[float],
               sources: list[str], source_sectors: list[str], acts_at: list) -> RunRecords:
        """Turn the arrays into frames and give every (event, consumer) its outcome.

        ``live_events`` maps events still pending at the end to their observed and
        reported counts so far; ``acts_at[c]`` is the meeting (or ``None``) at which
        consumer ``c`` acts on what it has heard.
        """
        for eid, (obs, rep) in live_events.items():
            self.event_counts(eid, obs, rep)
        n_ev = len(self.ev_t)
        ev_t = np.frombuffer(self.ev_t, dtype=float) if n_ev else np.zeros(0)
        kind = np.asarray(self.ev_kind, dtype=np.int64)
        source = np.asarray(self.ev_source, dtype=np.int64)
        shelf = np.asarray(shelf_lives, dtype=float)[kind] if n_ev else np.zeros(0)
        observed = np.asarray(self.ev_observed, dtype=np.int64)
        reported = np.asarray(self.ev_reported, dtype=np.int64)
        live = np.zeros(n_ev, dtype=bool)
        if live_events:
            live[np.fromiter(live_events.keys(), dtype=np.int64)] = True
        events = pd.DataFrame({
            "event_id": np.arange(n_ev, dtype=np.int64),
            "t_h": ev_t,
            "source": pd.Categorical.from_codes(source, categories=sources) if n_ev else pd.Categorical([], categories=sources),
            "sector": np.asarray(source_sectors, dtype=object)[source] if n_ev else np.zeros(0, dtype=object),
            "kind": pd.Categorical.from_codes(kind, categories=kinds) if n_ev else pd.Categorical([], categories=kinds),
            "family": np.asarray(families, dtype=object)[kind] if n_ev else np.zeros(0, dtype=object),
            "shelf_life_h": shelf,
            "n_observed": observed,
            "n_reported": reported,
            "live_at_end": live,
        })
        frames = []
        deadline = ev_t + shelf
        for c, name in enumerate(self.consumers):
            arr = np.frombuffer(self.arr_t[c], dtype=float) if n_ev else np.zeros(0)
            act = arr if acts_at[c] is None else acts_at[c].next_at_array(arr)
            withheld = np.frombuffer(self.withheld[c], dtype=np.int8).astype(bool) if n_ev else np.zeros(0, bool)
            outcome = classify(arr, act, deadline, live, observed, reported, withheld)
            frames.append(pd.DataFrame({
                "event_id": events["event_id"].to_numpy(),
                "consumer": name,
                "outcome": outcome,
                "arrival_h": arr,
                "act_h": act,
                "latency_h": arr - ev_t,
                "via": np.asarray(self.arr_via[c], dtype=np.int64),
                "arrivals": np.asarray(self.arr_n[c], dtype=np.int64),
            }))
        ledger = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(ledger):
            ledger["consumer"] = pd.Categorical(ledger["consumer"], categories=self.consumers)
            ledger["outcome"] = pd.Categorical.from_codes(ledger["outcome"].to_numpy(), categories=list(OUTCOMES))
            names = np.asarray(self.node_names + [""], dtype=object)
            ledger["via"] = names[ledger["via"].to_numpy()]
            ledger = ledger.merge(events[["event_id", "t_h", "kind", "family", "shelf_life_h"]],
                                  on="event_id", how="left")
        reports = pd.DataFrame(
            [(self.node_names[n] if n >= 0 else "(in flight)", REPORT_STATES[s], k)
             for (n, s), k in sorted(self.report_ends.items())],
            columns=["node", "state", "count"],
        )
        trace = None
        if self.trace:
            trace = pd.DataFrame(self.steps, columns=["report", "parent", "event_id", "node", "step",
                                                      "t0_h", "t1_h", "other"])
            trace["node"] = np.asarray(self.node_names, dtype=object)[trace["node"].to_numpy()] if len(trace) else trace["node"]
            trace["step"] = np.asarray(STEP_KINDS, dtype=object)[trace["step"].to_numpy()] if len(trace) else trace["step"]
        return RunRecords(
            scenario=scenario, seed=seed, days=days, warmup_days=warmup_days,
            consumers=self.consumers, ledger=ledger, events=events, reports=reports,
            cells=pd.DataFrame(cells), trace=trace,
            meta={"reports_created": self.reports_created},
        )


def classify(arrival, act, deadline, live, observed, reported, withheld) -> np.ndarray:
    """Outcome codes (indices into :data:`OUTCOMES`) for one consumer, vectorised.

    Arrived: ``in_time`` if the consumer could act (``act``) by the deadline, else
    ``late``. Not arrived: ``in_flight`` if the event still had an observation or a
    report pending when the run ended; otherwise ``not_observed`` if no collector saw
    it, ``not_reported`` if no collector released a report, ``withheld`` if a sharing
    gate stopped a report bound for this consumer, and ``not_shared`` if reports
    existed but none was passed on to this consumer.
    """
    arrived = ~np.isnan(arrival)
    out = np.full(arrival.shape, OUTCOMES.index("not_shared"), dtype=np.int8)
    out[~arrived & withheld] = OUTCOMES.index("withheld")
    out[~arrived & (reported == 0)] = OUTCOMES.index("not_reported")
    out[~arrived & (observed == 0)] = OUTCOMES.index("not_observed")
    out[~arrived & live] = OUTCOMES.index("in_flight")
    with np.errstate(invalid="ignore"):
        out[arrived & (act <= deadline)] = OUTCOMES.index("in_time")
        out[arrived & ~(act <= deadline)] = OUTCOMES.index("late")
    return out
