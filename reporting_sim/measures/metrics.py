"""Metrics: pure functions from a run's records to numbers (pandas and numpy only).

Nothing here knows SimPy or the engine; every number is computed from the frames of
:class:`~reporting_sim.records.RunRecords`, so the same functions serve single runs,
replications and stored results read back from Parquet. Each (event, consumer) pair's
outcome is judged once, when a run ends, by :mod:`reporting_sim.outcomes` (the same
kind of pure function, of the recorder's raw frames); the functions here count them.

* :func:`outcome_shares`: per consumer, the share of events in each outcome;
* :func:`latency_quantiles`: per consumer, p50/p90 of the delay from event to knowing
  (or to when it could act), over what arrived;
* :func:`bypass_rate`: of the current events the headline consumer heard of (``[metrics]
  bypass_consumer``), the share it heard first through the command chain before any
  report of them reached its intelligence branch (``bypass_branch``);
  :func:`bypass_before_briefing`: the share it heard so before the branch could have
  briefed it on them (the branch's next briefing after it knew: this one moves with
  the branch's speed);
* :func:`cell_table`: per staff cell, utilisation, mean queue wait and queue length;
* :func:`fidelity`: per consumer, the share of its events (or of what arrived) whose
  first report kept the precise time and place;
* :func:`duplication`: how many events were analysed independently by more than one
  analysis cell;
* :func:`weekly`: timeliness and ISR coverage week by week over the mission's time;
* :func:`summary`: all of it as the plain dict that ``reporting-sim run --json`` prints;
* :func:`flat`: a summary as flat ``name -> number`` pairs (what studies compare), and
  :func:`by_window`: those numbers on equal windows of a run, in one pass (the batch
  means of a windowed study);
* :func:`headline` / :func:`headline_consumer`: which metrics and which consumer a
  scenario puts first in comparison tables, figures and the event picked to follow.

Every per-consumer measure is over the events in the consumer's **area of interest**
(the ``interest`` column of the ledger: its sectors, kinds or families; all events by
default). Events that happened during a warm-up (``warmup_days``) are left out
everywhere.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Optional

import numpy as np
import pandas as pd

from ..metric_names import FAMILY_NAMES, OUTCOMES
from ..model.records import RunRecords
from ..scenario.calendar import Calendar
from .stats import number_or_none


def _after_warmup(ledger: pd.DataFrame, warmup_days: float) -> pd.DataFrame:
    if warmup_days:
        return ledger[ledger["t_h"] >= warmup_days * 24.0]
    return ledger


def of_interest(ledger: pd.DataFrame) -> pd.DataFrame:
    """The rows of the ledger in each consumer's area of interest: the denominator of
    every per-consumer measure (results written before areas of interest: all rows)."""
    if "interest" in ledger:
        mask = ledger["interest"].to_numpy(dtype=bool)
        if not mask.all():  # (every row of interest: the ledger itself, not a copy)
            return ledger[mask]
    return ledger


def _consumers(ledger: pd.DataFrame):
    return ledger["consumer"].cat.categories if hasattr(ledger["consumer"], "cat") else ledger["consumer"].unique()


def outcome_shares(ledger: pd.DataFrame) -> pd.DataFrame:
    """Rows: consumers; columns: every outcome in :data:`OUTCOMES`: the share of the
    events in the consumer's area of interest that ended in it; each row sums to 1 (a
    consumer with no events gets NaN)."""
    ledger = of_interest(ledger)
    counts = pd.crosstab(ledger["consumer"], ledger["outcome"], dropna=False)
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0)
    return counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)


def latency_quantiles(ledger: pd.DataFrame, qs=(0.5, 0.9), column: str = "latency_h") -> pd.DataFrame:
    """Rows: consumers; columns ``p50``, ``p90``...: quantiles of ``column`` (hours from
    the event to the consumer knowing it; ``act_latency_h``: to when it could act) over
    the events of its interest that reached it (NaN where nothing arrived)."""
    ledger = of_interest(ledger)
    arrived = ledger[ledger["arrival_h"].notna()]
    out = pd.DataFrame(index=pd.Index(_consumers(ledger), name="consumer"))
    values = arrived[column] if column in arrived else arrived["act_h"] - arrived["t_h"]
    grouped = values.groupby(arrived["consumer"], observed=False)
    for q in qs:
        out[f"p{round(q * 100)}"] = grouped.quantile(q).reindex(out.index)
    return out


def bypass_rate(ledger: pd.DataFrame, consumer: str, branch: str, chain_nodes) -> float:
    """Of the current-intelligence events of its interest that ``consumer`` knew of,
    the share it knew first through a node of ``chain_nodes`` (the command chain)
    strictly before any report of the event had reached ``branch`` (``reached_h``: the
    branch's first knowing, whether or not it had worked it yet), or when none ever
    did. NaN when the consumer knew of no current event."""
    return _share_of_heard(*_bypass_rows(ledger, consumer, branch, chain_nodes)[1:])


def bypass_before_briefing(ledger: pd.DataFrame, consumer: str, branch: str, chain_nodes,
                           briefing: Optional[dict] = None) -> float:
    """Of the current-intelligence events of its interest that ``consumer`` knew of,
    the share it knew first through a node of ``chain_nodes`` (the command chain)
    strictly before ``branch`` could have briefed it on them: the first sitting of
    ``briefing`` (the meeting of the branch's link to the consumer, as plain data with
    ``first_h``, ``every_h``, ``from_day``, ``until_day``; ``None``: at once) at or
    after the branch knew the event (had worked it), or when the branch never knew it.
    Unlike :func:`bypass_rate`, this moves with the branch's speed. NaN when the
    consumer knew of no current event."""
    return _share_of_heard(*_bypass_rows(ledger, consumer, branch, chain_nodes, briefing=briefing)[1:])


_REACHED = object()
"""``_bypass_rows``' default: measured against when a report first reached the branch."""


def _bypass_rows(ledger: pd.DataFrame, consumer: str, branch: str, chain_nodes, briefing=_REACHED):
    """``(t_h, heard, first)`` over the current events of ``consumer``'s interest: each
    event's time, whether the consumer knew of it, and whether it knew first through the
    chain before the branch (by default before a report reached the branch, as
    :func:`bypass_rate`; with ``briefing`` before the branch could have briefed it, as
    :func:`bypass_before_briefing`, ``None`` meaning at once). In ledger order; the
    columns are read one by one, never the whole ledger copied (a robustness run's
    ledger has 16 columns and about 100,000 rows)."""
    reached = briefing is _REACHED
    when = "reached_h" if reached and "reached_h" in ledger else "arrival_h"
    cons = ledger["consumer"]
    top = (cons == consumer).to_numpy() & (ledger["family"] == "current").to_numpy()
    if "interest" in ledger:
        top &= ledger["interest"].to_numpy(dtype=bool)
    ids = ledger["event_id"].to_numpy()
    at_branch = (cons == branch).to_numpy()
    mark = _at_events(ids[at_branch], ledger[when].to_numpy(dtype=float)[at_branch], ids[top])
    if not reached and briefing is not None:
        mark = Calendar.of(SimpleNamespace(**{"until_day": None, "from_day": 0.0, **briefing})).next_at_array(mark)
    arrival = ledger["arrival_h"].to_numpy(dtype=float)[top]
    heard = ~np.isnan(arrival)
    via_chain = ledger["via"].isin(list(chain_nodes)).to_numpy()[top]
    with np.errstate(invalid="ignore"):
        before = np.isnan(mark) | (arrival < mark)
    return ledger["t_h"].to_numpy(dtype=float)[top], heard, heard & via_chain & before


def _at_events(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` (one per event id of ``keys``, each id once) at the ids ``wanted``,
    NaN where an id has none (a reindex: a repeated id is an error, as it is there)."""
    where = pd.Index(keys).get_indexer(wanted)
    return np.where(where >= 0, values[where], np.nan) if len(values) else np.full(len(wanted), np.nan)


def _share_of_heard(heard: np.ndarray, first: np.ndarray) -> float:
    """The bypass measures' share: ``first`` over ``heard`` (NaN when nothing was heard)."""
    n = int(np.count_nonzero(heard))
    return int(np.count_nonzero(first)) / n if n else math.nan


def cell_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Per staff cell: ``utilisation`` (busy analyst-hours, reports and routine work,
    over analyst-hours available round the clock), mean wait in the inbox of reports
    started (``mean_wait_h``), time-average inbox length (``mean_queue``), time-average
    number in the cell (``mean_in_cell``), arrival rate of reports per hour and mean
    time in the cell of completed reports (for Little's law)."""
    if cells.empty:
        return pd.DataFrame(columns=["utilisation", "mean_wait_h", "mean_queue", "mean_in_cell",
                                     "arrival_rate_h", "mean_sojourn_h", "started", "overflow"])
    c = cells.set_index("cell")
    t = c["observed_h"].replace(0, np.nan)
    capacity = (c["analysts"] * t).replace(0, np.nan)
    return pd.DataFrame({
        "utilisation": c["busy_area"] / capacity,
        "mean_wait_h": c["sum_wait_h"] / c["started"].replace(0, np.nan),
        "mean_queue": c["queue_area"] / t,
        "mean_in_cell": (c["queue_area"] + c["busy_area"]) / t,
        "arrival_rate_h": c["arrivals"] / t,
        "mean_sojourn_h": c["sum_sojourn_h"] / c["completed"].replace(0, np.nan),
        "started": c["started"],
        "overflow": c["overflow"],
    })


def fidelity(ledger: pd.DataFrame, over: str = "events") -> pd.Series:
    """Per consumer, the share of the events of its interest whose first report reached
    it with the precise time and place (``over="events"``), or the same share of the
    events that arrived at all (``over="arrived"``); NaN where the denominator is 0."""
    ledger = of_interest(ledger)
    if over == "arrived":
        ledger = ledger[ledger["arrival_h"].notna()]
    return ledger.groupby("consumer", observed=False)["precise"].mean().reindex(_consumers(ledger))


def duplication(events: pd.DataFrame) -> dict:
    """Duplication of analysis: of the events some analysis cell worked, how many were
    analysed independently by more than one (cells that did not get the event from each
    other; passing it up the branch is not duplication, redoing a board's item is)."""
    worked = events[events["n_analysed"] > 0]
    indep = worked["n_independent"] if "n_independent" in worked else worked["n_analysed"]
    dup = int((indep > 1).sum())
    return {
        "events_analysed": int(len(worked)),
        "events_duplicated": dup,
        "share_duplicated": _share(dup, len(worked)),
        "mean_cells_per_event": _mean_or_none(worked["n_analysed"]),
        "mean_independent_per_event": _mean_or_none(indep),
    }


def _mean_or_none(x: pd.Series) -> Optional[float]:
    """The mean of ``x`` as a number, ``None`` when it is empty."""
    return number_or_none(x.mean()) if len(x) else None


def weekly(ledger: pd.DataFrame, events: pd.DataFrame, tag_collectors: dict[str, list[str]] | None = None,
           family: str = "current", index: str = "learned", days: float | None = None) -> pd.DataFrame:
    """Week by week (week 0 starts at hour 0), for each consumer, ``in_time:NAME``:

    * ``index="learned"`` (default): the events of ``family`` in its area of interest
      that it could act on in time during week w (by the time it could act), over the
      events of ``family`` in its area of interest that happened in week w. A change
      shows in the week it happens; a backlog delivered at once can lift a week above 1.
    * ``index="event"``: of the events of week w, the share it could act on in time
      (whenever that was).

    Also ``events`` (events that happened in week w), ``seen:TAG`` (the share of them
    observed by a collector with that tag), and ``complete`` (False for a last week cut
    short by the end of the run, when ``days`` is given)."""
    ev = events.assign(week=(events["t_h"] // 168).astype(int))
    weeks = sorted(ev["week"].unique()) if days is None else list(range(int(math.ceil(days * 24.0 / 168.0))))
    out = pd.DataFrame(index=pd.Index(weeks, name="week"))
    out["events"] = ev.groupby("week").size().reindex(out.index).fillna(0).astype(int)
    _add_seen_by_tag(out, ev, tag_collectors or {})
    led = of_interest(ledger)
    _add_weekly_in_time(out, led[led["family"] == family], index)
    if days is not None:
        out["complete"] = (out.index.to_numpy() + 1) * 168.0 <= days * 24.0 + 1e-9
    return out


def _add_weekly_in_time(out: pd.DataFrame, led: pd.DataFrame, index: str) -> None:
    """``in_time:NAME`` of :func:`weekly`, from the ledger rows ``led`` of one family."""
    if not len(led):
        return
    table = _weekly_in_time(led, index)
    for c in table.columns:
        out[f"in_time:{c}"] = table[c].reindex(out.index)


def _add_seen_by_tag(out: pd.DataFrame, ev: pd.DataFrame, tag_collectors: dict[str, list[str]]) -> None:
    """``seen:TAG`` of :func:`weekly`: the share of a week's events ``ev`` observed by a
    collector with that tag (tags with no such collector in ``ev`` left out)."""
    for tag, names in tag_collectors.items():
        cols = [f"obs:{n}" for n in names if f"obs:{n}" in ev]
        if cols:
            out[f"seen:{tag}"] = ev.assign(seen=ev[cols].any(axis=1)).groupby("week")["seen"].mean()


def _weekly_in_time(led: pd.DataFrame, index: str) -> pd.DataFrame:
    """Weeks x consumers: the in-time share of :func:`weekly` (``index`` as there)."""
    ok = led["outcome"] == "in_time"
    happened = led.assign(week=(led["t_h"] // 168).astype(int), ok=ok)
    if index == "event":
        return happened.pivot_table(index="week", columns="consumer", values="ok", aggfunc="mean",
                                    observed=False)
    base = happened.groupby(["week", "consumer"], observed=False).size().unstack("consumer")
    learned = led[ok].assign(week=(led.loc[ok, "act_h"] // 168).astype(int))
    got = learned.groupby(["week", "consumer"], observed=False).size().unstack("consumer")
    got = got.reindex(index=base.index.union(got.index), columns=base.columns).fillna(0)
    return got / base.reindex(got.index).replace(0, np.nan)


def tag_groups(meta: dict) -> dict[str, list[str]]:
    """Collector names by tag, from a run's metadata."""
    groups: dict[str, list[str]] = {}
    for name, tags in meta.get("collector_tags", {}).items():
        for t in tags:
            groups.setdefault(t, []).append(name)
    return groups


def _codes(col: pd.Series, categories) -> np.ndarray:
    """Category codes as int64: pandas stores them in the smallest integer type that
    fits (int8 below 128 categories), and index arithmetic on those would wrap."""
    if isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == list(categories):
        return col.cat.codes.to_numpy().astype(np.int64)
    return pd.Categorical(col.astype(str), categories=list(categories)).codes.astype(np.int64)


def _quantiles(x: np.ndarray) -> tuple[float, float]:
    if not x.size:
        return (math.nan, math.nan)
    with np.errstate(invalid="ignore"):  # an action that never comes is inf
        return tuple(np.quantile(x, [0.5, 0.9]))


def _share(count, n: int) -> Optional[float]:
    """``count / n`` as a number, ``None`` when there is no denominator."""
    return number_or_none(count / n) if n else None


def _p50_p90(x: np.ndarray) -> dict:
    p50, p90 = _quantiles(x)
    return {"p50": number_or_none(p50), "p90": number_or_none(p90)}


def _latencies(lat: np.ndarray, act_lat: np.ndarray) -> tuple[dict, dict]:
    """p50 and p90 of the latencies to knowing and to acting (the same figures, computed
    once, when every arrival is acted on at once)."""
    known = _p50_p90(lat)
    return known, (dict(known) if np.array_equal(lat, act_lat, equal_nan=True) else _p50_p90(act_lat))


def _block(counts: np.ndarray, lat: np.ndarray, act_lat: np.ndarray, precise: np.ndarray,
           within: Optional[int] = None, known: int = 0, latencies: Optional[tuple] = None) -> dict:
    """One consumer's (or family's) block of the summary: over its ``counts`` of
    outcomes, and the latencies and precision of what arrived (``latencies``: their
    quantiles, when already computed over the same arrivals)."""
    n = int(counts.sum())
    lat_q, act_q = latencies or _latencies(lat, act_lat)
    block = {
        "events": n,
        "outcomes": {o: (float(counts[i] / n) if n else None) for i, o in enumerate(OUTCOMES)},
        "known_in_time": _share(known, n),
        "latency_h": lat_q,
        "act_latency_h": act_q,
        "fidelity": _share(precise.sum(), n),
        "fidelity_arrived": number_or_none(precise.mean()) if precise.size else None,
    }
    if within is not None:
        block["within_planning"] = _share(within, n)
    return block


def _outcome_counts(cons: np.ndarray, out: np.ndarray, fam: np.ndarray, ok: np.ndarray, n_c: int):
    """Ledger rows counted by consumer x outcome, and by consumer x family x outcome
    (rows ``ok``: of a known consumer and outcome; codes as :func:`_codes` gives them)."""
    n_o, n_f = len(OUTCOMES), len(FAMILY_NAMES)
    c_all = np.bincount(cons[ok] * n_o + out[ok], minlength=n_c * n_o).reshape(n_c, n_o)
    okf = ok & (fam >= 0)
    c_fam = np.bincount((cons[okf] * n_f + fam[okf]) * n_o + out[okf],
                        minlength=n_c * n_f * n_o).reshape(n_c, n_f, n_o)
    return c_all, c_fam


def consumer_blocks(ledger: pd.DataFrame, consumers: list[str], planning_horizon_h: float = 168.0) -> dict:
    """Per consumer, and per family within it, over the events in its area of interest
    (the ``events`` of a block: its denominator): outcome shares, the share it knew of
    within the shelf life (``known_in_time``: its in-time share, had it acted on
    arrival), latency p50/p90 to knowing and to acting of what arrived, fidelity over the events and over what
    arrived, and for long-term intelligence the share it could act on within the
    planning horizon (the blocks of the ``--json`` summary), in one pass over the ledger:
    its columns read once, the rows of interest kept, then each consumer's rows taken
    together (a stable sort: in ledger order within a consumer) instead of masks over
    the whole ledger per consumer and family."""
    rows = _rows_of_interest(ledger)
    cons = _codes(ledger["consumer"], consumers)[rows]
    out = _codes(ledger["outcome"], OUTCOMES)[rows]
    fam = _codes(ledger["family"], FAMILY_NAMES)[rows]
    ok = (cons >= 0) & (out >= 0)
    c_all, c_fam = _outcome_counts(cons, out, fam, ok, len(consumers))

    def col(name: str) -> np.ndarray:
        return ledger[name].to_numpy()[rows]

    lat = col("latency_h")
    act_lat = col("act_h") - col("t_h")
    arrived = ~np.isnan(col("arrival_h"))
    with np.errstate(invalid="ignore"):
        within = arrived & (act_lat <= planning_horizon_h)
        known = arrived & ok & (lat <= col("shelf_life_h"))  # acting on arrival: in time
    precise = col("precise").astype(bool) if "precise" in ledger else np.ones(len(lat), bool)
    order = np.argsort(cons, kind="stable")
    bounds = np.searchsorted(cons[order], np.arange(len(consumers) + 1))
    columns = [a[order] for a in (fam, arrived, lat, act_lat, precise, within, known)]
    return {name: _consumer_block([a[bounds[c]:bounds[c + 1]] for a in columns], c_all[c], c_fam[c])
            for c, name in enumerate(consumers)}


def _rows_of_interest(ledger: pd.DataFrame):
    """The rows of :func:`of_interest`, to index a column's values with (a slice of
    all of them when every row is)."""
    if "interest" in ledger:
        mask = ledger["interest"].to_numpy(dtype=bool)
        if not mask.all():
            return mask
    return slice(None)


def _consumer_block(columns: list, counts: np.ndarray, fam_counts: np.ndarray) -> dict:
    """One consumer's block and its families' (``columns``: its rows, in ledger order,
    of the family codes, arrived, latencies to knowing and to acting, precise, within
    the planning horizon and known in time; ``counts``, ``fam_counts``: its outcome
    counts)."""
    fam, arrived, lat, act_lat, precise, within, known = columns
    quantiles = _latencies(lat[arrived], act_lat[arrived])
    block = _block(counts, lat[arrived], act_lat[arrived], precise[arrived], known=int(known.sum()),
                   latencies=quantiles)
    lt = FAMILY_NAMES.index("long_term")
    by_family = {}
    for k, f in enumerate(FAMILY_NAMES):
        of_family = fam == k
        mine = arrived & of_family
        by_family[f] = _block(fam_counts[k], lat[mine], act_lat[mine], precise[mine],
                              int((within & of_family).sum()) if k == lt else None,
                              known=int((known & of_family).sum()),
                              latencies=_same_arrivals(quantiles, arrived, of_family))
    block["by_family"] = by_family
    return block


def _same_arrivals(quantiles: tuple, mine: np.ndarray, of_family: np.ndarray) -> Optional[tuple]:
    """A consumer's latency quantiles for one family of its arrivals when that family
    is all of them (copies), else ``None`` (computed over the family's own)."""
    if np.count_nonzero(mine & of_family) != np.count_nonzero(mine):
        return None
    return tuple(dict(q) for q in quantiles)


def summary(records: RunRecords) -> dict:
    """The run summary as plain data (the ``--json`` contract, see the README)."""
    ledger = _after_warmup(records.ledger, records.warmup_days)
    events = records.events
    if records.warmup_days:
        events = events[events["t_h"] >= records.warmup_days * 24.0]
    meta = records.meta
    horizon = float(meta.get("planning_horizon_h", 168.0))
    consumers = consumer_blocks(ledger, records.consumers, horizon)
    _add_areas_of_interest(consumers, meta.get("interest", {}))
    bypass, bypass_brief = _bypass_pair(ledger, meta)
    states = records.reports.groupby("state")["count"].sum() if len(records.reports) else pd.Series(dtype=int)
    return {
        "scenario": records.scenario,
        "seed": records.seed,
        "days": records.days,
        "warmup_days": records.warmup_days,
        "events": int(len(events)),
        "events_by_family": {fam: int((events["family"] == fam).sum()) for fam in FAMILY_NAMES},
        "bypass_rate": number_or_none(bypass),
        "bypass_before_briefing": number_or_none(bypass_brief),
        "planning_horizon_h": horizon,
        "consumers": consumers,
        "cells": _cell_blocks(cell_table(records.cells)),
        "reports": {"created": int(meta.get("reports_created", 0)),
                    "ended": {str(k): int(v) for k, v in states.items()}},
        "duplication": duplication(events),
        "collectors": meta.get("collectors", {}),
        "pools": meta.get("pools", {}),
    }


def _add_areas_of_interest(consumers: dict, interest: dict) -> None:
    """Each consumer block's ``area_of_interest``, as the run's metadata words it."""
    for name, area in interest.items():
        if name in consumers:
            consumers[name]["area_of_interest"] = area


def _bypass_pair(ledger: pd.DataFrame, meta: dict) -> tuple[float, float]:
    """The bypass rate and the bypass before the briefing (NaN when the scenario defines none)."""
    if not meta.get("bypass"):
        return math.nan, math.nan
    fc, branch = meta["bypass"]
    chain = meta.get("chain_nodes", ())
    return (bypass_rate(ledger, fc, branch, chain),
            bypass_before_briefing(ledger, fc, branch, chain, meta.get("bypass_briefing")))


def _cell_blocks(cells: pd.DataFrame) -> dict:
    """The summary's ``cells``: each staff cell's utilisation, wait, queue and counts."""
    return {
        name: {"utilisation": number_or_none(row["utilisation"]), "mean_wait_h": number_or_none(row["mean_wait_h"]),
               "mean_queue": number_or_none(row["mean_queue"]), "started": int(row["started"]),
               "overflow": int(row["overflow"])}
        for name, row in cells.iterrows()
    }


def _num(x) -> float:
    """A summary's number as a float (NaN for ``None``: undefined)."""
    return math.nan if x is None else float(x)


def _flat_block(out: dict[str, float], prefix: str, b: dict) -> None:
    """The flat names of one block of the summary, under ``prefix``."""
    for o, v in b["outcomes"].items():
        out[f"{prefix}.{o}"] = _num(v)
    out[f"{prefix}.latency_p50"] = _num(b["latency_h"]["p50"])
    out[f"{prefix}.latency_p90"] = _num(b["latency_h"]["p90"])
    act = b.get("act_latency_h", {})
    out[f"{prefix}.act_latency_p50"] = _num(act.get("p50"))
    out[f"{prefix}.act_latency_p90"] = _num(act.get("p90"))
    out[f"{prefix}.known_in_time"] = _num(b.get("known_in_time"))
    out[f"{prefix}.fidelity"] = _num(b.get("fidelity"))
    out[f"{prefix}.fidelity_arrived"] = _num(b.get("fidelity_arrived"))


def flat(summary_dict: dict) -> dict[str, float]:
    """A run summary as flat ``name -> number`` pairs, the metrics that comparisons
    and experiments use (every per-consumer share is over the events of its area of
    interest): ``CONSUMER.OUTCOME``, ``CONSUMER.current.OUTCOME`` and
    ``CONSUMER.long_term.OUTCOME``; ``CONSUMER[.FAMILY].latency_p50`` / ``latency_p90``
    (hours, event to knowing) and ``act_latency_p50`` / ``act_latency_p90`` (event to
    when it could act); ``CONSUMER[.FAMILY].known_in_time`` (the share it knew within
    the shelf life: in time had it acted on arrival); ``CONSUMER[.FAMILY].fidelity`` (precise arrivals over events)
    and ``fidelity_arrived`` (over arrivals); ``CONSUMER.long_term.within_planning``;
    ``bypass_rate``, ``bypass_before_briefing``, ``duplication.share``, ``cell.NAME.utilisation`` and
    ``cell.NAME.mean_wait_h``; NaN where undefined."""
    out: dict[str, float] = {"bypass_rate": _num(summary_dict.get("bypass_rate")),
                             "bypass_before_briefing": _num(summary_dict.get("bypass_before_briefing")),
                             "events": float(summary_dict.get("events", 0))}
    for name, c in summary_dict["consumers"].items():
        _flat_block(out, name, c)
        for fam in FAMILY_NAMES:
            _flat_block(out, f"{name}.{fam}", c["by_family"][fam])
        out[f"{name}.long_term.within_planning"] = _num(c["by_family"]["long_term"].get("within_planning"))
    dup = summary_dict.get("duplication") or {}
    out["duplication.share"] = _num(dup.get("share_duplicated"))
    out["duplication.mean_cells"] = _num(dup.get("mean_cells_per_event"))
    for name, c in summary_dict.get("cells", {}).items():
        out[f"cell.{name}.utilisation"] = _num(c["utilisation"])
        out[f"cell.{name}.mean_wait_h"] = _num(c["mean_wait_h"])
    return out


WINDOWLESS = ("cell.",)
"""Flat names that a window of a run cannot measure (a cell's counters are kept for the
whole run, not per window)."""


def windowable(name: str) -> bool:
    """Whether the flat metric ``name`` can be measured on a window of a run (every
    measure of the ledger or the events; not a cell's counters)."""
    return not name.startswith(WINDOWLESS)


def window_key(name: str, i: int) -> str:
    """The column of flat metric ``name`` measured on window ``i`` of a run."""
    return f"{name}@window{i}"


def by_window(records: RunRecords, windows: int, names) -> dict[str, float]:
    """Each flat metric of ``names`` measured on each of ``windows`` equal windows of the
    run after its warm-up, as :func:`window_key` columns: window ``i``'s value is the
    metric over the events that happened in it (the ledger's rows and the events whose
    ``t_h`` falls in the window), judged as at the run's end, so every number means what
    it means for the whole run, over a twelfth (say) of its events. These are the
    batch means from which a world's error is estimated within one run (Law and Kelton,
    *Simulation Modeling and Analysis*, section 9.5.3).

    By definition window ``i``'s value is :func:`flat` of :func:`summary` on the run's
    records cut to that window; it is computed here in one pass over the run's frames
    for the names asked (the same counts, divisions and quantiles of the same rows:
    ``tests/test_windows.py`` holds every windowable name to the definition exactly). A
    name of no measure here (a cell's, or a consumer the run does not have) is NaN."""
    windows = int(windows)
    edges = np.linspace(records.warmup_days * 24.0, records.days * 24.0, windows + 1)
    measure = _WindowMeasures(records, edges)
    out: dict[str, float] = {}
    for name in names:
        values = measure.of(name)
        out.update({window_key(name, i): float(values[i]) for i in range(windows)})
    return out


def _window_of(t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The window of each time ``t`` (``edges[i] <= t < edges[i + 1]``, the last window
    open at its end; -1 before the first)."""
    w = np.searchsorted(edges[1:-1], t, side="right")
    w[t < edges[0]] = -1
    return w


class _WindowMeasures:
    """:func:`by_window`'s measures of one run, per window: the rows of its ledger (of
    interest) and its events, each tagged with its window once."""

    def __init__(self, records: RunRecords, edges: np.ndarray):
        self.records, self.edges, self.n = records, edges, len(edges) - 1
        led = of_interest(records.ledger)
        self.w = _window_of(led["t_h"].to_numpy(dtype=float), edges)
        self.consumers = list(records.consumers)
        self.cons = _codes(led["consumer"], self.consumers)
        self.out = _codes(led["outcome"], OUTCOMES)
        self.fam = _codes(led["family"], FAMILY_NAMES)
        self.ok = (self.cons >= 0) & (self.out >= 0)
        self.lat = led["latency_h"].to_numpy()
        self.act_lat = led["act_h"].to_numpy() - led["t_h"].to_numpy()
        self.arrived = ~np.isnan(led["arrival_h"].to_numpy())
        horizon = float(records.meta.get("planning_horizon_h", 168.0))
        with np.errstate(invalid="ignore"):
            self.within = self.arrived & (self.act_lat <= horizon)
            self.known = self.arrived & self.ok & (self.lat <= led["shelf_life_h"].to_numpy())
        self.precise = led["precise"].to_numpy(dtype=bool) if "precise" in led else np.ones(len(led), bool)
        ev = records.events
        self.ev_w = _window_of(ev["t_h"].to_numpy(dtype=float), edges)

    def of(self, name: str) -> list:
        """``name``'s value in each window (:func:`flat`'s names; see :func:`by_window`)."""
        if name == "events":
            return [float(n) for n in np.bincount(self.ev_w[self.ev_w >= 0], minlength=self.n)]
        if name.startswith("duplication."):
            return self._duplication(name.split(".", 1)[1])
        if name in ("bypass_rate", "bypass_before_briefing"):
            return self._bypass(name)
        target = self._consumer_measure(name)
        if target is None:
            return [math.nan] * self.n
        return [self._block(i, *target) for i in range(self.n)]

    def _consumer_measure(self, name: str):
        """``(consumer index, family or None, measure)`` of a consumer's flat name
        (``CONSUMER.MEASURE`` or ``CONSUMER.FAMILY.MEASURE``; names hold no dots), or
        ``None`` when it names no measure of a consumer of the run."""
        consumer, *family, what = name.split(".") if "." in name else ("", "")
        target = (family[0] if family else None, what) if len(family) < 2 else None
        if consumer not in self.consumers or target not in self._TARGETS:
            return None
        return (self.consumers.index(consumer), *target)

    def _block(self, i: int, c: int, family: Optional[str], what: str) -> float:
        """One consumer's (or family's) measure in window ``i``, as :func:`_block`
        computes it over the window's rows: over its ``n`` counted rows (of a known
        outcome), of ``mine`` (its rows)."""
        mine = (self.w == i) & (self.cons == c)
        if family is not None:
            mine = mine & (self.fam == FAMILY_NAMES.index(family))  # (a family's rows are of a known family)
        counted = mine & self.ok
        n = int(np.count_nonzero(counted))
        if what in OUTCOMES:
            return int(np.count_nonzero(counted & (self.out == OUTCOMES.index(what)))) / n if n else math.nan
        return self._MEASURES[what](self, mine, n)

    def _known_in_time(self, mine: np.ndarray, n: int) -> float:
        return _num(_share(int(np.count_nonzero(self.known & mine)), n))

    def _within_planning(self, mine: np.ndarray, n: int) -> float:
        return _num(_share(int(np.count_nonzero(self.within & mine)), n))

    def _fidelity(self, mine: np.ndarray, n: int) -> float:
        return _num(_share(self.precise[mine & self.arrived].sum(), n))

    def _fidelity_arrived(self, mine: np.ndarray, n: int) -> float:
        x = self.precise[mine & self.arrived]
        return _num(number_or_none(x.mean())) if x.size else math.nan

    def _quantile(self, mine: np.ndarray, lat: np.ndarray, upper: bool) -> float:
        p50, p90 = _quantiles(lat[mine & self.arrived])
        return _num(number_or_none(p90 if upper else p50))

    _MEASURES = {
        "known_in_time": _known_in_time,
        "within_planning": _within_planning,
        "fidelity": _fidelity,
        "fidelity_arrived": _fidelity_arrived,
        "latency_p50": lambda self, mine, n: self._quantile(mine, self.lat, False),
        "latency_p90": lambda self, mine, n: self._quantile(mine, self.lat, True),
        "act_latency_p50": lambda self, mine, n: self._quantile(mine, self.act_lat, False),
        "act_latency_p90": lambda self, mine, n: self._quantile(mine, self.act_lat, True),
    }
    """Each measure of a block but its outcome shares: ``(self, mine, n) -> value``."""

    _TARGETS = frozenset((family, what) for what in (*OUTCOMES, *_MEASURES) for family in (None, *FAMILY_NAMES)
                         if what != "within_planning" or family == "long_term")
    """The ``(family or None, measure)`` pairs :func:`flat` names for a consumer."""

    def _duplication(self, what: str) -> list:
        """``duplication.share`` or ``.mean_cells`` in each window (:func:`duplication`)."""
        ev = self.records.events
        analysed = ev["n_analysed"].to_numpy()
        indep = ev["n_independent"].to_numpy() if "n_independent" in ev else analysed
        worked = analysed > 0
        out = []
        for i in range(self.n):
            sel = worked & (self.ev_w == i)
            n = int(np.count_nonzero(sel))
            if what == "share":
                out.append(_num(_share(int(np.count_nonzero(sel & (indep > 1))), n)))
            elif what == "mean_cells":
                out.append(_num(number_or_none(analysed[sel].mean())) if n else math.nan)
            else:
                out.append(math.nan)
        return out

    def _bypass(self, name: str) -> list:
        """A bypass measure in each window (NaN when the scenario defines none)."""
        meta = self.records.meta
        if not meta.get("bypass"):
            return [math.nan] * self.n
        fc, branch = meta["bypass"]
        chain, ledger = meta.get("chain_nodes", ()), self.records.ledger
        t, heard, first = (_bypass_rows(ledger, fc, branch, chain, meta.get("bypass_briefing"))
                           if name == "bypass_before_briefing" else _bypass_rows(ledger, fc, branch, chain))
        w = _window_of(t, self.edges)
        return [_share_of_heard(heard[w == i], first[w == i]) for i in range(self.n)]


def headline(sc) -> list[str]:
    """The metrics comparison tables and forest plots show, in order: the scenario's
    ``[metrics] headline``; by default every consumer's ``in_time`` (the headline
    consumer's first), then ``bypass_rate`` if the scenario defines one, then
    ``duplication.share``. The names were checked when the scenario was read
    (:mod:`reporting_sim.scenario_checks`)."""
    names = list(sc.metrics.headline)
    if names:
        return names
    return ([f"{c}.in_time" for c in _consumers_headline_first(sc)]
            + (["bypass_rate"] if sc.metrics.bypass_consumer else []) + ["duplication.share"])


def _consumers_headline_first(sc) -> list[str]:
    """The scenario's consumers, the headline consumer (:func:`headline_consumer`) first."""
    first = headline_consumer(sc)
    return ([first] if first else []) + [c for c in sc.consumers if c != first]


def headline_consumer(sc) -> Optional[str]:
    """The consumer a scenario puts first: its ``[metrics] bypass_consumer``, else the
    consumer of its first headline metric, else its first consumer (``None``: none)."""
    if sc.metrics.bypass_consumer in sc.consumers:
        return sc.metrics.bypass_consumer
    for name in sc.metrics.headline:
        if name.split(".", 1)[0] in sc.consumers:
            return name.split(".", 1)[0]
    return sc.consumers[0] if sc.consumers else None
