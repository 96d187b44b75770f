"""Outcomes: what became of each (event, consumer) pair, judged from the raw records.

The recorder (:mod:`reporting_sim.records`) only records. Its raw ledger has one row
per (event, consumer) with when a report of the event first reached the consumer
(``reached_h``), when the consumer knew it (``arrival_h``), from which node (``via``),
by which report, after how many arrivals, whether that first report was precise, and
whether a sharing gate stopped a report bound for the consumer (``withheld``); its
events frame says per event when it happened, its kind's family and shelf life, how
many collectors observed it and released reports, and whether it was still pending
when the run ended (``live_at_end``).

This module adds the judgement, as pure functions of those frames and the scenario's
terms for each consumer (:class:`ConsumerTerms`: the meeting it acts at, its area of
interest): when it could act (``act_h``), whether the event is in its area of interest
(``interest``), and exactly one outcome from :data:`OUTCOMES` (:func:`classify`).
:func:`judge` gives the ledger every metric reads; the engine calls
:func:`judge_records` once, when a run ends. pandas and numpy only; no SimPy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from ..metric_names import OUTCOMES  # every (event, consumer) pair ends in exactly one of these

RAW_LEDGER = ("event_id", "consumer", "reached_h", "arrival_h", "via", "arrivals", "precise", "report",
              "withheld")
"""The columns of the recorder's raw ledger, in order."""

_IN_TIME, _LATE, _NOT_OBSERVED, _NOT_REPORTED, _WITHHELD, _NOT_SHARED, _IN_FLIGHT = range(len(OUTCOMES))


@dataclass(frozen=True)
class ConsumerTerms:
    """What the judgement needs to know of one consumer: ``acts_at``, the meeting at
    which it acts on what it knows (anything with a vectorised ``next_at_array(t)``,
    e.g. a scenario ``Meeting``; ``None``: it acts on arrival), and ``interest``, its
    area of interest (optional ``sectors``, ``kinds`` and ``families``; ``None``:
    every event)."""

    acts_at: Optional[Any] = None
    interest: Optional[Any] = None


def terms_of(scenario, meetings: Optional[Mapping[str, Any]] = None) -> dict[str, ConsumerTerms]:
    """Every consumer's terms, read from a scenario. ``meetings`` maps a meeting's name
    to its calendar (the engine passes its plan's calendars); by default the scenario's
    own meetings."""
    if meetings is None:
        meetings = {name: m.calendar() for name, m in scenario.meetings.items()}
    return {c: ConsumerTerms(meetings[scenario.nodes[c].acts_at] if scenario.nodes[c].acts_at else None,
                             scenario.nodes[c].interest)
            for c in scenario.consumers}


def classify(arrival, act, deadline, live, observed, reported, withheld) -> np.ndarray:
    """Outcome codes (indices into :data:`OUTCOMES`), element by element.

    Arrived: ``in_time`` if the consumer could act (``act``) by the deadline (at the
    deadline itself counts), else ``late``. Not arrived: ``in_flight`` if the event
    still had an observation or a report pending when the run ended; otherwise
    ``not_observed`` if no collector saw it, ``not_reported`` if no collector released
    a report, ``withheld`` if a sharing gate stopped a report bound for this consumer,
    and ``not_shared`` if reports existed but none was passed on to this consumer.
    """
    arrival = np.asarray(arrival, dtype=float)
    arrived = ~np.isnan(arrival)
    out = np.full(arrival.shape, _NOT_SHARED, dtype=np.int8)
    out[~arrived & np.asarray(withheld, dtype=bool)] = _WITHHELD
    out[~arrived & (np.asarray(reported) == 0)] = _NOT_REPORTED
    out[~arrived & (np.asarray(observed) == 0)] = _NOT_OBSERVED
    out[~arrived & np.asarray(live, dtype=bool)] = _IN_FLIGHT
    with np.errstate(invalid="ignore"):
        on_time = np.asarray(act) <= np.asarray(deadline)
    out[arrived & on_time] = _IN_TIME
    out[arrived & ~on_time] = _LATE
    return out


def interest_mask(events: pd.DataFrame, interest) -> np.ndarray:
    """Which events (rows of ``events``) lie in an area of interest (``None``: all)."""
    mask = np.ones(len(events), dtype=bool)
    if interest is None:
        return mask
    for col, allowed in (("sector", interest.sectors), ("kind", interest.kinds), ("family", interest.families)):
        if allowed:
            mask &= np.isin(events[col].astype(object).to_numpy(), list(allowed))
    return mask


def _event_rows(events: pd.DataFrame, event_id) -> np.ndarray:
    """The row of ``events`` each id in ``event_id`` refers to."""
    pos = pd.Index(events["event_id"]).get_indexer(np.asarray(event_id))
    if (pos < 0).any():
        raise ValueError("the raw ledger names events the events frame does not have")
    return pos


def _consumer_terms(raw: pd.DataFrame, events: pd.DataFrame, pos: np.ndarray, arrival: np.ndarray,
                    terms: Mapping[str, ConsumerTerms]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: when the consumer could act (``act_h``), and whether the event is in its
    area of interest."""
    act = arrival.copy()
    in_area = np.empty(len(raw), dtype=bool)
    codes = raw["consumer"].cat.codes.to_numpy()
    for c, name in enumerate(raw["consumer"].cat.categories):
        rows = codes == c
        term = terms.get(name) or ConsumerTerms()
        if term.acts_at is not None:
            act[rows] = term.acts_at.next_at_array(arrival[rows])
        in_area[rows] = interest_mask(events, term.interest)[pos[rows]]
    return act, in_area


def judge(raw: pd.DataFrame, events: pd.DataFrame, terms: Mapping[str, ConsumerTerms]) -> pd.DataFrame:
    """The ledger: the raw ledger (columns :data:`RAW_LEDGER`) with each row's outcome,
    area of interest, time it could act (``act_h``), latency and its event's time, kind,
    family and shelf life. ``terms`` maps consumer names to their
    :class:`ConsumerTerms` (a consumer left out acts on arrival and is measured over
    every event)."""
    pos = _event_rows(events, raw["event_id"])
    t_h = events["t_h"].to_numpy(dtype=float)[pos]
    shelf = events["shelf_life_h"].to_numpy(dtype=float)[pos]
    arrival = raw["arrival_h"].to_numpy(dtype=float)
    act, in_area = _consumer_terms(raw, events, pos, arrival, terms)
    outcome = classify(arrival, act, t_h + shelf, events["live_at_end"].to_numpy(dtype=bool)[pos],
                       events["n_observed"].to_numpy()[pos], events["n_reported"].to_numpy()[pos],
                       raw["withheld"].to_numpy(dtype=bool))
    return pd.DataFrame({
        "event_id": raw["event_id"].to_numpy(),
        "consumer": raw["consumer"].array,
        "outcome": pd.Categorical.from_codes(outcome, categories=list(OUTCOMES)),
        "interest": in_area,
        "reached_h": raw["reached_h"].to_numpy(dtype=float),
        "arrival_h": arrival,
        "act_h": act,
        "latency_h": arrival - t_h,
        "via": raw["via"].array,
        "arrivals": raw["arrivals"].to_numpy(),
        "precise": raw["precise"].to_numpy(dtype=bool) & ~np.isnan(arrival),
        "report": raw["report"].to_numpy(),
        "t_h": t_h,
        "kind": pd.Categorical.from_codes(events["kind"].cat.codes.to_numpy()[pos], dtype=events["kind"].dtype),
        "family": pd.Categorical.from_codes(events["family"].cat.codes.to_numpy()[pos],
                                            dtype=events["family"].dtype),
        "shelf_life_h": shelf,
    })


def judge_records(records, terms: Mapping[str, ConsumerTerms]):
    """A run's records with the recorder's raw ledger replaced by the judged one
    (:func:`judge`)."""
    return dataclasses.replace(records, ledger=judge(records.ledger, records.events, terms))
