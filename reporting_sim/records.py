"""Records of a run: the single source of truth every metric is computed from.

The engine writes into a :class:`Recorder`; :meth:`Recorder.finish` turns what it holds
into a :class:`RunRecords` of plain pandas frames:

* ``ledger``: one row per (event, consumer) with exactly one ``outcome`` from
  :data:`OUTCOMES`; when a report of it first reached the consumer (``reached_h``),
  when the consumer knew it (``arrival_h``: on arrival for a commander, once worked
  for a staff cell) and could act on it (``act_h``: its meeting, if it acts at one),
  the node it came from, and whether the event is in the consumer's area of interest
  (``interest``: metrics are computed over these rows only);
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

FAMILIES = ("current", "long_term")
_MAX_CHUNK = 65536  # events a recorder column grows by at most (it doubles up to this)

OUTCOMES = ("in_time", "late", "not_observed", "not_reported", "withheld", "not_shared", "in_flight")
"""Every (event, consumer) pair ends in exactly one of these."""

REPORT_STATES = ("absorbed", "duplicate", "overflow", "withheld", "not_shared", "in_flight")
"""Every report ends in exactly one of these: ``absorbed`` (no onward link fired where it
stopped), ``duplicate`` (reached a node that already had the event), ``overflow`` (the
inbox was full), ``withheld`` / ``not_shared`` (stopped by a sharing gate), or
``in_flight`` (still moving, queued or being worked on when the run ended)."""

STEP_KINDS = ("observe", "write", "meeting", "transit", "queue", "work", "end", "sanitise", "hold", "board",
              "copy")
"""Kinds of trace step: ``observe`` (event to observation), ``write`` (observation to the
report leaving the collector), ``meeting`` (waiting for a link's meeting), ``transit``,
``queue`` and ``work`` (in a cell), ``sanitise`` (writing an INTREP), ``hold`` (held back
from a rival), ``board`` (passed on at a coordination board), ``copy`` (this report was
copied from its parent here: the parent's earlier steps are its history too), ``end``
(terminal state). Link steps (meeting, transit, hold, board) name the node they lead
``to``; ``end`` steps name the terminal ``state``; ``other`` holds the same as a
number (the node's index, or the index in :data:`REPORT_STATES`)."""

LINK_STEPS = ("meeting", "transit", "hold", "board")


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
        self.n_events = 0
        self.capacity = 0  # columns are grown a chunk at a time (:meth:`_grow`)
        self.ev_t = array("d")
        self.ev_source = array("i")
        self.ev_kind = array("i")
        self.ev_observed = array("i")
        self.ev_reported = array("i")
        self.ev_observers: list[int] = []
        self.ev_analysed = array("i")
        self.ev_independent = array("i")
        self.arr_t = [array("d") for _ in range(n)]
        self.arr_via = [array("i") for _ in range(n)]
        self.arr_n = [array("i") for _ in range(n)]
        self.reach_t = [array("d") for _ in range(n)]
        self.arr_precise = [array("b") for _ in range(n)]
        self.arr_report = [array("q") for _ in range(n)]
        self.withheld = [array("b") for _ in range(n)]
        self.report_ends: dict[tuple[int, int], int] = {}
        self.reports_created = 0
        self.steps: list[tuple] = []

    def _columns(self):
        """Every per-event column with the value a new event starts with."""
        nan = math.nan
        yield from ((self.ev_t, nan), (self.ev_source, 0), (self.ev_kind, 0), (self.ev_observed, 0),
                    (self.ev_reported, 0), (self.ev_analysed, 0), (self.ev_independent, 0))
        for cols, start in ((self.arr_t, nan), (self.arr_via, -1), (self.arr_n, 0), (self.reach_t, nan),
                            (self.arr_precise, 0), (self.arr_report, -1), (self.withheld, 0)):
            yield from ((col, start) for col in cols)

    def _grow(self) -> None:
        """Room for the next chunk of events in every column, filled with start values."""
        chunk = min(max(self.capacity, 256), _MAX_CHUNK)
        for col, start in self._columns():
            col.extend(array(col.typecode, (start,)) * chunk)
        self.ev_observers.extend([0] * chunk)
        self.capacity += chunk

    def _trim(self) -> None:
        """Cut the columns to the events there are (the run is over)."""
        n = self.n_events
        for col, _start in self._columns():
            del col[n:]
        del self.ev_observers[n:]
        self.capacity = n

    # -- events --------------------------------------------------------------------
    def new_event(self, t: float, source: int, kind: int) -> int:
        eid = self.n_events
        if eid == self.capacity:
            self._grow()
        self.ev_t[eid] = t
        self.ev_source[eid] = source
        self.ev_kind[eid] = kind
        self.n_events = eid + 1
        return eid

    def event_counts(self, eid: int, observed: int, reported: int, observers: int = 0,
                     analysed: int = 0, independent: int = 0) -> None:
        """What is known of event ``eid`` when it settles: how many collectors observed
        it (and which: a bit mask by node index), how many reports they released, how
        many analysis cells worked it, and how many of those analyses were independent
        (a cell that did not get the event from another analysis cell that had worked
        it, or that redid such work: duplication of effort)."""
        self.ev_observed[eid] = observed
        self.ev_reported[eid] = reported
        self.ev_observers[eid] = observers
        self.ev_analysed[eid] = analysed
        self.ev_independent[eid] = independent

    def count_arrival(self, eid: int, consumer: int, t: float) -> None:
        """A report of event ``eid`` reached consumer ``consumer`` at ``t`` (first or
        repeat; the first time is kept)."""
        self.arr_n[consumer][eid] += 1
        times = self.reach_t[consumer]
        if times[eid] != times[eid]:  # still nan
            times[eid] = t

    def known(self, eid: int, consumer: int, t: float, via: int, precise: bool = True, report: int = -1) -> None:
        """Consumer ``consumer`` knows of ``eid`` at ``t``, from node ``via`` by report
        ``report``, with or without the precise time and place; only the first time
        counts."""
        times = self.arr_t[consumer]
        if times[eid] != times[eid]:  # still nan
            times[eid] = t
            self.arr_via[consumer][eid] = via
            self.arr_precise[consumer][eid] = 1 if precise else 0
            self.arr_report[consumer][eid] = report

    def mark_withheld(self, eid: int, consumers: int) -> None:
        """A report of ``eid`` bound for the consumers in bit mask ``consumers`` was
        stopped by a sharing gate."""
        c = 0
        while consumers:
            if consumers & 1:
                self.withheld[c][eid] = 1
            consumers >>= 1
            c += 1

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
               sources: list[str], source_sectors: list[str], acts_at: list,
               collectors: dict[str, int] | None = None, interest: list | None = None) -> RunRecords:
        """Turn the arrays into frames and give every (event, consumer) its outcome.

        ``live_events`` maps events still pending at the end to their counts so far
        (as :meth:`event_counts` takes them); ``acts_at[c]`` is the meeting (or
        ``None``) at which consumer ``c`` acts on what it has heard; ``collectors`` maps
        collector names to their node index (for the ``obs:NAME`` columns of events);
        ``interest[c]`` is consumer ``c``'s area of interest (an object with optional
        ``sectors``, ``kinds`` and ``families``; ``None``: every event).
        """
        self._trim()
        for eid, counts in live_events.items():
            self.event_counts(eid, *counts)
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
            "family": pd.Categorical.from_codes(
                np.asarray([FAMILIES.index(f) for f in families], dtype=np.int64)[kind] if n_ev
                else np.zeros(0, dtype=np.int64), categories=list(FAMILIES)),
            "shelf_life_h": shelf,
            "n_observed": observed,
            "n_reported": reported,
            "n_analysed": np.asarray(self.ev_analysed, dtype=np.int64),
            "n_independent": np.asarray(self.ev_independent, dtype=np.int64),
            "live_at_end": live,
        })
        for name, idx in (collectors or {}).items():
            events[f"obs:{name}"] = np.fromiter(((m >> idx) & 1 for m in self.ev_observers),
                                                dtype=bool, count=n_ev)
        ledger = self._ledger(events, ev_t, kind, shelf, live, observed, reported, acts_at,
                              interest or [None] * len(self.consumers))
        reports = pd.DataFrame(
            [(self.node_names[n] if n >= 0 else "(in flight)", REPORT_STATES[s], k)
             for (n, s), k in sorted(self.report_ends.items())],
            columns=["node", "state", "count"],
        )
        trace = None
        if self.trace:
            trace = pd.DataFrame(self.steps, columns=["report", "parent", "event_id", "node", "step",
                                                      "t0_h", "t1_h", "other"])
            names = np.asarray(self.node_names + [""], dtype=object)
            steps = np.asarray(STEP_KINDS, dtype=object)
            other = trace["other"].to_numpy()
            kinds = steps[trace["step"].to_numpy()] if len(trace) else np.zeros(0, dtype=object)
            is_link = np.isin(kinds, LINK_STEPS)
            is_end = kinds == "end"
            trace["node"] = names[trace["node"].to_numpy()] if len(trace) else trace["node"]
            trace["step"] = kinds
            trace["to"] = np.where(is_link, names[np.where(is_link, other, -1)], None) if len(trace) else None
            states = np.asarray(REPORT_STATES + ("",), dtype=object)
            trace["state"] = np.where(is_end, states[np.where(is_end, other, -1)], None) if len(trace) else None
        return RunRecords(
            scenario=scenario, seed=seed, days=days, warmup_days=warmup_days,
            consumers=self.consumers, ledger=ledger, events=events, reports=reports,
            cells=pd.DataFrame(cells), trace=trace,
            meta={"reports_created": self.reports_created},
        )


    def _ledger(self, events, ev_t, kind, shelf, live, observed, reported, acts_at, interest) -> pd.DataFrame:
        """One row per (event, consumer), built column by column (no joins, so the
        peak memory stays close to the size of the result)."""
        n_ev, n_c = len(ev_t), len(self.consumers)
        deadline = ev_t + shelf
        arrival = np.empty(n_ev * n_c)
        act = np.empty(n_ev * n_c)
        outcome = np.empty(n_ev * n_c, dtype=np.int8)
        in_area = np.empty(n_ev * n_c, dtype=bool)
        for c in range(n_c):
            in_area[c * n_ev:(c + 1) * n_ev] = interest_mask(events, interest[c])
        for c in range(n_c):
            sl = slice(c * n_ev, (c + 1) * n_ev)
            arr = np.frombuffer(self.arr_t[c], dtype=float) if n_ev else np.zeros(0)
            arrival[sl] = arr
            act[sl] = arr if acts_at[c] is None else acts_at[c].next_at_array(arr)
            withheld = np.frombuffer(self.withheld[c], dtype=np.int8).astype(bool) if n_ev else np.zeros(0, bool)
            outcome[sl] = classify(arr, act[sl], deadline, live, observed, reported, withheld)

        def stack(arrays, dtype):
            return np.concatenate([np.frombuffer(a, dtype=dtype) for a in arrays]) if n_ev else np.zeros(0, dtype)

        t_h = np.tile(ev_t, n_c)
        return pd.DataFrame({
            "event_id": np.tile(np.arange(n_ev, dtype=np.int64), n_c),
            "consumer": pd.Categorical.from_codes(np.repeat(np.arange(n_c), n_ev), categories=self.consumers),
            "outcome": pd.Categorical.from_codes(outcome, categories=list(OUTCOMES)),
            "interest": in_area,
            "reached_h": stack(self.reach_t, float),
            "arrival_h": arrival,
            "act_h": act,
            "latency_h": arrival - t_h,
            "via": pd.Categorical.from_codes(stack(self.arr_via, np.int32), categories=self.node_names),
            "arrivals": stack(self.arr_n, np.int32),
            "precise": stack(self.arr_precise, np.int8).astype(bool) & ~np.isnan(arrival),
            "report": stack(self.arr_report, np.int64),
            "t_h": t_h,
            "kind": pd.Categorical.from_codes(np.tile(kind, n_c), categories=events["kind"].cat.categories),
            "family": pd.Categorical.from_codes(np.tile(events["family"].cat.codes.to_numpy(), n_c),
                                                categories=list(FAMILIES)),
            "shelf_life_h": np.tile(shelf, n_c),
        })


def interest_mask(events: pd.DataFrame, interest) -> np.ndarray:
    """Which events (rows of ``events``) lie in an area of interest (``None``: all)."""
    mask = np.ones(len(events), dtype=bool)
    if interest is None:
        return mask
    for col, allowed in (("sector", interest.sectors), ("kind", interest.kinds), ("family", interest.families)):
        if allowed:
            mask &= np.isin(events[col].astype(object).to_numpy(), list(allowed))
    return mask


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
