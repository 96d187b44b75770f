"""Outcomes: what became of each (event, consumer) pair, judged from the raw records.

The recorder (:mod:`reporting_sim.records`) only records. Its raw ledger has one row
per (event, consumer) with when a report of the event first reached the consumer
(``reached_h``), when the consumer knew it (``arrival_h``), from which node (``via``),
by which report, after how many arrivals, whether that first report was precise, and
whether a sharing gate stopped a report bound for the consumer (``withheld``), and
for a consumer with rules for acting by channel when it first knew by each channel
(``known_call_h``, ``known_product_h``, ``known_report_h``); its events frame says per event when it happened, its kind's family and shelf life, how
many collectors observed it and released reports, and whether it was still pending
when the run ended (``live_at_end``).

This module adds the judgement, as pure functions of those frames and the scenario's
terms for each consumer (:class:`ConsumerTerms`: the meeting it acts at, or its rule
per channel, :class:`ActRule`, and its area of interest): when it could act
(``act_h``: the earliest over the channels it knew by, each channel's first knowing
acted on by that channel's rule), whether the event is in its area of interest
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
from ..scenario import CHANNELS
from .records import categorical

RAW_LEDGER = ("event_id", "consumer", "reached_h", "arrival_h", "via", "arrivals", "precise", "report",
              "withheld")
"""The columns of the recorder's raw ledger, in order (then :data:`KNOWN_BY`, when the
recorder was told the channels)."""

KNOWN_BY = tuple(f"known_{c}_h" for c in CHANNELS)
"""The raw ledger's columns of first knowing by each channel (``scenario.CHANNELS``):
what a consumer with rules for acting by channel (``acts``) is judged from."""

_IN_TIME, _LATE, _NOT_OBSERVED, _NOT_REPORTED, _WITHHELD, _NOT_SHARED, _IN_FLIGHT = range(len(OUTCOMES))


@dataclass(frozen=True)
class ActRule:
    """When news can be acted on: at the next ``meeting`` at or after it came
    (anything with a vectorised ``next_at_array(t)``, e.g. a calendar; ``None``: when
    it comes), then, with ``duty`` (``start_h``/``end_h``, hours of the day), at once
    within those hours or else at the next start of duty."""

    meeting: Optional[Any] = None
    duty: Optional[Any] = None

    def act_times(self, t: np.ndarray) -> np.ndarray:
        """When news that came at hours ``t`` can be acted on (NaN stays NaN)."""
        act = np.asarray(t, dtype=float)
        if self.meeting is not None:
            act = self.meeting.next_at_array(act)
        if self.duty is not None:
            act = act + off_duty_wait(act, self.duty.start_h, self.duty.end_h)
        return act


def off_duty_wait(t: np.ndarray, start_h: float, end_h: float) -> np.ndarray:
    """Hours from ``t`` to the start of duty when ``t`` falls outside the daily duty
    hours ``start_h``-``end_h`` (which may wrap midnight), else 0."""
    with np.errstate(invalid="ignore"):
        hour = np.mod(t, 24.0)
        inside = ((start_h <= hour) & (hour < end_h)) if start_h < end_h else ((hour >= start_h) | (hour < end_h))
        return np.where(inside, 0.0, np.mod(start_h - hour, 24.0))


@dataclass(frozen=True)
class ConsumerTerms:
    """What the judgement needs to know of one consumer: ``acts_at``, the meeting at
    which it acts on what it knows (anything with a vectorised ``next_at_array(t)``,
    e.g. a scenario ``Meeting``; ``None``: it acts on arrival); ``acts``, per channel
    (``scenario.CHANNELS``) an :class:`ActRule` for news that came by it (a channel
    left out follows ``acts_at``); and ``interest``, its area of interest (optional
    ``sectors``, ``kinds`` and ``families``; ``None``: every event)."""

    acts_at: Optional[Any] = None
    interest: Optional[Any] = None
    acts: Optional[Mapping[str, ActRule]] = None


def terms_of(scenario, meetings: Optional[Mapping[str, Any]] = None) -> dict[str, ConsumerTerms]:
    """Every consumer's terms, read from a scenario. ``meetings`` maps a meeting's name
    to its calendar (the engine passes its plan's calendars); by default the scenario's
    own meetings."""
    if meetings is None:
        meetings = {name: m.calendar() for name, m in scenario.meetings.items()}
    out = {}
    for c in scenario.consumers:
        node = scenario.nodes[c]
        acts = None
        if node.acts is not None:
            acts = {ch: ActRule(meetings.get(rule.at), rule.duty) for ch, rule in node.acts.items()}
        out[c] = ConsumerTerms(meetings[node.acts_at] if node.acts_at else None, node.interest, acts)
    return out


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
            mask &= events[col].isin(list(allowed)).to_numpy(dtype=bool)  # (on a categorical's codes)
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
        if term.acts is not None:
            act[rows] = _act_by_channel(raw, rows, arrival[rows], term)
        elif term.acts_at is not None:
            act[rows] = term.acts_at.next_at_array(arrival[rows])
        in_area[rows] = interest_mask(events, term.interest)[pos[rows]]
    return act, in_area


def _act_by_channel(raw: pd.DataFrame, rows: np.ndarray, arrival: np.ndarray, term: ConsumerTerms) -> np.ndarray:
    """The earliest time the consumer could act, over the channels it knew by: each
    channel's first knowing, acted on by that channel's rule (or ``acts_at``); never
    (inf) when no rule lets it act, NaN when nothing arrived."""
    default = ActRule(term.acts_at)
    best = np.full(len(arrival), np.inf)
    for channel, col in zip(CHANNELS, KNOWN_BY):
        if col not in raw:
            raise ValueError(f"the raw ledger has no {col!r}: this consumer's channels were not recorded")
        t = raw[col].to_numpy(dtype=float)[rows]
        acted = term.acts.get(channel, default).act_times(t)
        best = np.fmin(best, acted)  # NaN (never by this channel) loses to any time
    best[np.isnan(arrival)] = np.nan
    return best


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
        "outcome": categorical(outcome, OUTCOMES),
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
    }, copy=False)  # each column its own block: no copy into 2-D blocks


def judge_records(records, terms: Mapping[str, ConsumerTerms]):
    """A run's records with the recorder's raw ledger replaced by the judged one
    (:func:`judge`)."""
    return dataclasses.replace(records, ledger=judge(records.ledger, records.events, terms))
