"""Records of a run: what happened, as recorded; the single source every metric reads.

The engine writes into a :class:`Recorder`; :meth:`Recorder.finish` turns what it holds
into a :class:`RunRecords` of plain pandas frames, judging nothing:

* ``ledger``: one row per (event, consumer): when a report of it first reached the
  consumer (``reached_h``), when the consumer knew it (``arrival_h``: on arrival for a
  commander, once worked for a staff cell), the node it came from, by which report,
  after how many arrivals, whether precisely, whether a sharing gate stopped a
  report bound for it (``withheld``), and, for the consumers whose channels count (they
  act on a call at other times than on a product), when it first knew by each channel
  (``known_CHANNEL_h``; :class:`KnowingChannels`). This raw ledger is then judged by
  :func:`reporting_sim.outcomes.judge_records`, which gives each row exactly one
  ``outcome`` from :data:`~reporting_sim.metric_names.OUTCOMES`, when the consumer could act
  (``act_h``) and whether the event is in its area of interest (``interest``);
* ``events``: one row per ground-truth event (time, sector, kind, family, shelf life,
  how many collectors observed it and how many reports they released, whether it was
  still pending at the end);
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

import functools
import math
from array import array
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd


FAMILIES = ("current", "long_term")
_MAX_CHUNK = 65536  # events a recorder column grows by at most (it doubles up to this)

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


def categorical(codes, categories) -> pd.Categorical:
    """``pd.Categorical.from_codes(codes, categories=categories)``, its dtype made once
    per list of categories (making it, which checks the categories, cost several times
    taking the codes: a run makes eight such columns)."""
    return pd.Categorical.from_codes(codes, dtype=_dtype(tuple(categories)))


@functools.lru_cache(maxsize=256)
def _dtype(categories: tuple) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(categories))


@dataclass(frozen=True)
class KnowingChannels:
    """Which channel a consumer's knowing came by, for the consumers whose channels
    count (they act on news by one channel at other times than by another): the
    channels' ``names``, each node's channel (``of_node``, by node index: the channel of
    news that last left that node) and the ``tracked`` consumers (indices)."""

    names: tuple = ()
    of_node: tuple = ()
    tracked: frozenset = frozenset()

    def columns(self, n_consumers: int) -> list:
        """Per consumer, ``None``, or (its channels count) one column per channel for
        the first time it knew by it."""
        return [self._columns() if c in self.tracked else None for c in range(n_consumers)]

    def _columns(self) -> list:
        return [array("d") for _ in self.names]


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


@dataclass(frozen=True)
class EventLabels:
    """What the codes of the recorder's event columns stand for: kinds (by index, with
    each kind's family and shelf life), sources (with each one's sector), and the
    collectors' node indices (for the ``obs:NAME`` columns of events)."""

    kinds: list[str]
    families: list[str]
    shelf_lives: list[float]
    sources: list[str]
    source_sectors: list[str]
    collectors: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, scenario, collectors: dict[str, int]) -> "EventLabels":
        """The labels of a scenario's kinds and sources; ``collectors`` maps collector
        names to their node index."""
        kinds, sources = scenario.kinds, scenario.sources
        return cls(kinds=list(kinds), families=[k.family for k in kinds.values()],
                   shelf_lives=[k.shelf_life_h for k in kinds.values()], sources=list(sources),
                   source_sectors=[s.sector for s in sources.values()], collectors=dict(collectors))


class Recorder:
    """Collects what happens during a run, cheaply; see the module docstring."""

    def __init__(self, consumers: list[str], node_names: list[str], trace: bool = False,
                 channels: Optional["KnowingChannels"] = None):
        self.consumers = list(consumers)
        self.node_names = list(node_names)
        self.trace = trace
        n = len(self.consumers)
        self.channels = channels or KnowingChannels()
        self.by_channel = self.channels.columns(n)
        self.n_events = 0
        self.capacity = 0  # columns are grown a chunk at a time (:meth:`_grow`)
        self._event_columns()
        self._consumer_columns(n)
        self.report_ends: dict[tuple[int, int], int] = {}
        self.reports_created = 0
        self.steps: list[tuple] = []

    def _event_columns(self) -> None:
        """One column per event field (``ev_observers`` a list: bit masks grow)."""
        self.ev_t = array("d")
        self.ev_source = array("i")
        self.ev_kind = array("i")
        self.ev_observed = array("i")
        self.ev_reported = array("i")
        self.ev_observers: list[int] = []
        self.ev_analysed = array("i")
        self.ev_independent = array("i")

    def _consumer_columns(self, n: int) -> None:
        """Per consumer, one column per event of each field of what it knows."""
        for name, code in (("arr_t", "d"), ("arr_via", "i"), ("arr_n", "i"), ("reach_t", "d"),
                           ("arr_precise", "b"), ("arr_report", "q"), ("withheld", "b")):
            setattr(self, name, [array(code) for _ in range(n)])

    def _columns(self):
        """Every per-event column with the value a new event starts with."""
        nan = math.nan
        yield from ((self.ev_t, nan), (self.ev_source, 0), (self.ev_kind, 0), (self.ev_observed, 0),
                    (self.ev_reported, 0), (self.ev_analysed, 0), (self.ev_independent, 0))
        for cols, start in ((self.arr_t, nan), (self.arr_via, -1), (self.arr_n, 0), (self.reach_t, nan),
                            (self.arr_precise, 0), (self.arr_report, -1), (self.withheld, 0)):
            yield from ((col, start) for col in cols)
        for cols in self.by_channel:
            yield from ((col, nan) for col in cols or ())

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
        counts (for a consumer whose channels count, the first time by each channel too:
        the channel of the node it came from)."""
        by = self.by_channel[consumer]
        if by is not None:
            col = by[self.channels.of_node[via]]
            if col[eid] != col[eid]:  # still nan
                col[eid] = t
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
    def finish(self, *, scenario: str, seed: int, days: float, warmup_days: float,
               live_events: dict[int, tuple[int, int]], cells: list[dict], labels: EventLabels) -> RunRecords:
        """Turn the arrays into frames, as recorded: the ledger is the raw one
        (:data:`~reporting_sim.outcomes.RAW_LEDGER`, no outcomes yet: see
        :func:`reporting_sim.outcomes.judge_records`).

        ``live_events`` maps events still pending at the end to their counts so far
        (as :meth:`event_counts` takes them); ``labels`` says what the event columns'
        codes stand for; ``cells`` are the staff cells' statistics, one dict each.
        """
        self._trim()
        for eid, counts in live_events.items():
            self.event_counts(eid, *counts)
        return RunRecords(
            scenario=scenario, seed=seed, days=days, warmup_days=warmup_days,
            consumers=self.consumers, ledger=self._raw_ledger(), events=self._events(labels, live_events),
            reports=self._reports(), cells=pd.DataFrame(cells), trace=self._trace() if self.trace else None,
            meta={"reports_created": self.reports_created},
        )

    def _events(self, labels: EventLabels, live_events: dict) -> pd.DataFrame:
        """One row per event: what happened, where, and how far it got."""
        n_ev = self.n_events
        kind = np.asarray(self.ev_kind, dtype=np.int64)
        source = np.asarray(self.ev_source, dtype=np.int64)
        live = np.zeros(n_ev, dtype=bool)
        if live_events:
            live[np.fromiter(live_events.keys(), dtype=np.int64)] = True
        family = np.asarray([FAMILIES.index(f) for f in labels.families], dtype=np.int64)
        return pd.DataFrame({
            "event_id": np.arange(n_ev, dtype=np.int64),
            "t_h": np.frombuffer(self.ev_t, dtype=float) if n_ev else np.zeros(0),
            "source": categorical(source, labels.sources),
            # the sectors' names taken by code (the dtype pandas infers for them, made once)
            "sector": (pd.array(np.asarray(labels.source_sectors, dtype=object)).take(source) if n_ev
                       else np.zeros(0, dtype=object)),
            "kind": categorical(kind, labels.kinds),
            "family": categorical(family[kind] if n_ev else np.zeros(0, dtype=np.int64), FAMILIES),
            "shelf_life_h": np.asarray(labels.shelf_lives, dtype=float)[kind] if n_ev else np.zeros(0),
            "n_observed": np.asarray(self.ev_observed, dtype=np.int64),
            "n_reported": np.asarray(self.ev_reported, dtype=np.int64),
            "n_analysed": np.asarray(self.ev_analysed, dtype=np.int64),
            "n_independent": np.asarray(self.ev_independent, dtype=np.int64),
            "live_at_end": live,
            # which collectors observed each event, a column each (in the frame from the
            # start: adding thirty columns one by one cost more than the rest of it)
            **{f"obs:{name}": observed for name, observed in self._observers(labels.collectors)},
        }, copy=False)  # each column its own block: no copy into 2-D blocks (the run's largest frames)

    def _observers(self, collectors: dict[str, int]):
        """``(name, observed)`` per collector: which events it observed, from the
        events' bit masks by node index (vectorised while the masks fit 63 bits)."""
        n_ev = self.n_events
        if max(collectors.values(), default=0) < 63:
            masks = np.asarray(self.ev_observers, dtype=np.int64) if n_ev else np.zeros(0, dtype=np.int64)
            for name, idx in collectors.items():
                yield name, ((masks >> idx) & 1).astype(bool)
            return
        for name, idx in collectors.items():
            yield name, np.fromiter(((m >> idx) & 1 for m in self.ev_observers), dtype=bool, count=n_ev)

    def _raw_ledger(self) -> pd.DataFrame:
        """One row per (event, consumer), consumer by consumer, as recorded: who knew
        what when, from where, by which report; built column by column (no joins, so
        the peak memory stays close to the size of the result)."""
        n_ev, n_c = self.n_events, len(self.consumers)

        def stack(arrays, dtype):
            return np.concatenate([np.frombuffer(a, dtype=dtype) for a in arrays]) if n_ev else np.zeros(0, dtype)

        return pd.DataFrame({
            "event_id": np.tile(np.arange(n_ev, dtype=np.int64), n_c),
            "consumer": categorical(np.repeat(np.arange(n_c), n_ev), self.consumers),
            "reached_h": stack(self.reach_t, float),
            "arrival_h": stack(self.arr_t, float),
            "via": categorical(stack(self.arr_via, np.int32), self.node_names),
            "arrivals": stack(self.arr_n, np.int32),
            "precise": stack(self.arr_precise, np.int8).astype(bool),
            "report": stack(self.arr_report, np.int64),
            "withheld": stack(self.withheld, np.int8).astype(bool),
            **self._known_by_channel(),
        }, copy=False)

    def _known_by_channel(self) -> dict:
        """``known_CHANNEL_h``: per (event, consumer), the first time the consumer knew of
        the event by that channel (NaN: never, or its channels do not count)."""
        n_ev = self.n_events
        blank = np.full(n_ev, np.nan)
        return {f"known_{name}_h": np.concatenate(
                    [np.frombuffer(by[k], dtype=float) if by is not None else blank for by in self.by_channel])
                if n_ev and self.by_channel else np.zeros(0)
                for k, name in enumerate(self.channels.names)}

    def _reports(self) -> pd.DataFrame:
        """How many reports ended in each state at each node."""
        return pd.DataFrame(
            [(self.node_names[n] if n >= 0 else "(in flight)", REPORT_STATES[s], k)
             for (n, s), k in sorted(self.report_ends.items())],
            columns=["node", "state", "count"],
        )

    def _trace(self) -> pd.DataFrame:
        """Every step of every report, codes turned into names."""
        trace = pd.DataFrame(self.steps, columns=["report", "parent", "event_id", "node", "step",
                                                  "t0_h", "t1_h", "other"])
        if not len(trace):
            trace["to"] = None
            trace["state"] = None
            return trace
        names = np.asarray(self.node_names + [""], dtype=object)
        states = np.asarray(REPORT_STATES + ("",), dtype=object)
        other = trace["other"].to_numpy()
        kinds = np.asarray(STEP_KINDS, dtype=object)[trace["step"].to_numpy()]
        is_link = np.isin(kinds, LINK_STEPS)
        is_end = kinds == "end"
        trace["node"] = names[trace["node"].to_numpy()]
        trace["step"] = kinds
        trace["to"] = np.where(is_link, names[np.where(is_link, other, -1)], None)
        trace["state"] = np.where(is_end, states[np.where(is_end, other, -1)], None)
        return trace
