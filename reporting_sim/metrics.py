"""Metrics: pure functions from a run's records to numbers (pandas and numpy only).

Nothing here knows SimPy or the engine; every number is computed from the frames of
:class:`~reporting_sim.records.RunRecords`, so the same functions serve single runs,
replications and stored results read back from Parquet.

* :func:`outcome_shares`: per consumer, the share of events in each outcome;
* :func:`latency_quantiles`: per consumer, p50/p90 of the delay from event to first
  arrival, over what arrived;
* :func:`bypass_rate`: of the events the Force Commander heard of, the share he heard
  first through the command chain (a commander passed it to him) before U2 knew;
* :func:`cell_table`: per staff cell, utilisation, mean queue wait and queue length;
* :func:`fidelity`: per consumer, the share of what arrived that kept the precise time
  and place;
* :func:`duplication`: how many events were analysed by more than one analysis cell;
* :func:`weekly`: timeliness and ISR coverage week by week over the mission's time;
* :func:`summary`: all of it as the plain dict that ``reporting-sim run --json`` prints.

Events that happened during a warm-up (``warmup_days``) are left out everywhere.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd

from .records import OUTCOMES, RunRecords

FAMILY_NAMES = ("current", "long_term")


def _after_warmup(ledger: pd.DataFrame, warmup_days: float) -> pd.DataFrame:
    if warmup_days:
        return ledger[ledger["t_h"] >= warmup_days * 24.0]
    return ledger


def outcome_shares(ledger: pd.DataFrame) -> pd.DataFrame:
    """Rows: consumers; columns: every outcome in :data:`OUTCOMES`; each row sums to 1
    (a consumer with no events gets NaN)."""
    counts = pd.crosstab(ledger["consumer"], ledger["outcome"], dropna=False)
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0)
    return counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)


def latency_quantiles(ledger: pd.DataFrame, qs=(0.5, 0.9)) -> pd.DataFrame:
    """Rows: consumers; columns ``p50``, ``p90``...: quantiles of ``latency_h`` over the
    pairs that arrived (NaN where nothing arrived)."""
    arrived = ledger[ledger["arrival_h"].notna()]
    cons = ledger["consumer"].cat.categories if hasattr(ledger["consumer"], "cat") else ledger["consumer"].unique()
    out = pd.DataFrame(index=pd.Index(cons, name="consumer"))
    grouped = arrived.groupby("consumer", observed=False)["latency_h"]
    for q in qs:
        out[f"p{round(q * 100)}"] = grouped.quantile(q).reindex(out.index)
    return out


def bypass_rate(ledger: pd.DataFrame, consumer: str, branch: str, chain_nodes) -> float:
    """Of the events ``consumer`` knew of, the share it knew first through a node of
    ``chain_nodes`` (the command chain) strictly before ``branch`` knew (or ``branch``
    never knew). NaN when the consumer knew of nothing."""
    top = ledger[ledger["consumer"] == consumer].set_index("event_id")
    br = ledger[ledger["consumer"] == branch].set_index("event_id")["arrival_h"].reindex(top.index)
    heard = top["arrival_h"].notna()
    if not heard.any():
        return math.nan
    via_chain = top["via"].isin(list(chain_nodes))
    before = br.isna() | (top["arrival_h"] < br)
    return float((heard & via_chain & before).sum() / heard.sum())


def cell_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Per staff cell: ``utilisation`` (busy analyst-hours over available), mean wait in
    the inbox of reports started (``mean_wait_h``), time-average inbox length
    (``mean_queue``), time-average number in the cell (``mean_in_cell``), arrival rate
    per hour and mean time in the cell of completed reports (for Little's law)."""
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


def fidelity(ledger: pd.DataFrame) -> pd.Series:
    """Per consumer: of the events that arrived, the share whose first report kept the
    precise time and place (NaN where nothing arrived)."""
    arrived = ledger[ledger["arrival_h"].notna()]
    cons = ledger["consumer"].cat.categories if hasattr(ledger["consumer"], "cat") else ledger["consumer"].unique()
    return arrived.groupby("consumer", observed=False)["precise"].mean().reindex(cons)


def duplication(events: pd.DataFrame) -> dict:
    """Events worked independently by more than one analysis cell: their number, their
    share of the events any analysis cell worked, and the mean number of cells per
    worked event."""
    worked = events[events["n_analysed"] > 0]
    dup = int((worked["n_analysed"] > 1).sum())
    return {
        "events_analysed": int(len(worked)),
        "events_duplicated": dup,
        "share_duplicated": _num(dup / len(worked)) if len(worked) else None,
        "mean_cells_per_event": _num(worked["n_analysed"].mean()) if len(worked) else None,
    }


def weekly(ledger: pd.DataFrame, events: pd.DataFrame, tag_collectors: dict[str, list[str]] | None = None,
           family: str = "current") -> pd.DataFrame:
    """Week by week (by event time; week 0 starts at hour 0): per consumer the share of
    ``family`` events known in time (``in_time:NAME``), and for each collector tag the
    share of all events observed by a collector with that tag (``seen:TAG``)."""
    ev = events.assign(week=(events["t_h"] // 168).astype(int))
    out = pd.DataFrame(index=pd.Index(sorted(ev["week"].unique()), name="week"))
    out["events"] = ev.groupby("week").size()
    for tag, names in (tag_collectors or {}).items():
        cols = [f"obs:{n}" for n in names if f"obs:{n}" in ev]
        if cols:
            out[f"seen:{tag}"] = ev.assign(seen=ev[cols].any(axis=1)).groupby("week")["seen"].mean()
    led = ledger[ledger["family"] == family]
    if len(led):
        led = led.assign(week=(led["t_h"] // 168).astype(int), ok=led["outcome"] == "in_time")
        table = led.pivot_table(index="week", columns="consumer", values="ok", aggfunc="mean", observed=False)
        for c in table.columns:
            out[f"in_time:{c}"] = table[c]
    return out


def tag_groups(meta: dict) -> dict[str, list[str]]:
    """Collector names by tag, from a run's metadata."""
    groups: dict[str, list[str]] = {}
    for name, tags in meta.get("collector_tags", {}).items():
        for t in tags:
            groups.setdefault(t, []).append(name)
    return groups


def _num(x) -> Optional[float]:
    x = float(x)
    return None if math.isnan(x) else x


def _codes(col: pd.Series, categories) -> np.ndarray:
    """Category codes as int64: pandas stores them in the smallest integer type that
    fits (int8 below 128 categories), and index arithmetic on those would wrap."""
    if isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == list(categories):
        return col.cat.codes.to_numpy().astype(np.int64)
    return pd.Categorical(col.astype(str), categories=list(categories)).codes.astype(np.int64)


def _block(counts: np.ndarray, lat: np.ndarray, precise: np.ndarray) -> dict:
    n = int(counts.sum())
    if lat.size:
        p50, p90 = np.quantile(lat, [0.5, 0.9])
    else:
        p50 = p90 = math.nan
    return {
        "events": n,
        "outcomes": {o: (float(counts[i] / n) if n else None) for i, o in enumerate(OUTCOMES)},
        "latency_h": {"p50": _num(p50), "p90": _num(p90)},
        "fidelity": _num(precise.mean()) if precise.size else None,
    }


def consumer_blocks(ledger: pd.DataFrame, consumers: list[str]) -> dict:
    """Per consumer, and per family within it: events, outcome shares, latency p50/p90
    of what arrived, fidelity (the blocks of the ``--json`` summary), computed in one
    pass over the ledger."""
    cons = _codes(ledger["consumer"], consumers)
    out = _codes(ledger["outcome"], OUTCOMES)
    fam = _codes(ledger["family"], FAMILY_NAMES)
    n_c, n_o, n_f = len(consumers), len(OUTCOMES), len(FAMILY_NAMES)
    ok = (cons >= 0) & (out >= 0)
    c_all = np.bincount(cons[ok] * n_o + out[ok], minlength=n_c * n_o).reshape(n_c, n_o)
    okf = ok & (fam >= 0)
    c_fam = np.bincount((cons[okf] * n_f + fam[okf]) * n_o + out[okf],
                        minlength=n_c * n_f * n_o).reshape(n_c, n_f, n_o)
    lat = ledger["latency_h"].to_numpy()
    arrived = ~np.isnan(ledger["arrival_h"].to_numpy())
    precise = ledger["precise"].to_numpy(dtype=bool) if "precise" in ledger else np.ones(len(ledger), bool)
    blocks = {}
    for c, name in enumerate(consumers):
        mine = arrived & (cons == c)
        block = _block(c_all[c], lat[mine], precise[mine])
        block["by_family"] = {f: _block(c_fam[c, k], lat[mine & (fam == k)], precise[mine & (fam == k)])
                              for k, f in enumerate(FAMILY_NAMES)}
        blocks[name] = block
    return blocks


def summary(records: RunRecords) -> dict:
    """The run summary as plain data (the ``--json`` contract, see the README)."""
    ledger = _after_warmup(records.ledger, records.warmup_days)
    events = records.events
    if records.warmup_days:
        events = events[events["t_h"] >= records.warmup_days * 24.0]
    consumers = consumer_blocks(ledger, records.consumers)
    meta = records.meta
    bypass = math.nan
    if meta.get("bypass"):
        fc, branch = meta["bypass"]
        bypass = bypass_rate(ledger, fc, branch, meta.get("chain_nodes", ()))
    cells = cell_table(records.cells)
    states = records.reports.groupby("state")["count"].sum() if len(records.reports) else pd.Series(dtype=int)
    return {
        "scenario": records.scenario,
        "seed": records.seed,
        "days": records.days,
        "warmup_days": records.warmup_days,
        "events": int(len(events)),
        "events_by_family": {fam: int((events["family"] == fam).sum()) for fam in FAMILY_NAMES},
        "bypass_rate": _num(bypass),
        "consumers": consumers,
        "cells": {
            name: {"utilisation": _num(row["utilisation"]), "mean_wait_h": _num(row["mean_wait_h"]),
                   "mean_queue": _num(row["mean_queue"]), "started": int(row["started"]),
                   "overflow": int(row["overflow"])}
            for name, row in cells.iterrows()
        },
        "reports": {"created": int(meta.get("reports_created", 0)),
                    "ended": {str(k): int(v) for k, v in states.items()}},
        "duplication": duplication(events),
        "collectors": meta.get("collectors", {}),
        "pools": meta.get("pools", {}),
    }


def flat(summary_dict: dict) -> dict[str, float]:
    """A run summary as flat ``name -> number`` pairs, the metrics that comparisons
    and experiments use: ``CONSUMER.OUTCOME`` (share of all events),
    ``CONSUMER.current.OUTCOME`` and ``CONSUMER.long_term.OUTCOME``,
    ``CONSUMER[.FAMILY].latency_p50`` / ``latency_p90`` (hours),
    ``CONSUMER[.FAMILY].fidelity``, ``bypass_rate``, ``duplication.share``,
    ``cell.NAME.utilisation`` and ``cell.NAME.mean_wait_h``; NaN where undefined."""
    def num(x):
        return math.nan if x is None else float(x)

    out: dict[str, float] = {"bypass_rate": num(summary_dict.get("bypass_rate")),
                             "events": float(summary_dict.get("events", 0))}
    for name, c in summary_dict["consumers"].items():
        blocks = [(name, c)] + [(f"{name}.{fam}", c["by_family"][fam]) for fam in FAMILY_NAMES]
        for prefix, b in blocks:
            for o, v in b["outcomes"].items():
                out[f"{prefix}.{o}"] = num(v)
            out[f"{prefix}.latency_p50"] = num(b["latency_h"]["p50"])
            out[f"{prefix}.latency_p90"] = num(b["latency_h"]["p90"])
            out[f"{prefix}.fidelity"] = num(b.get("fidelity"))
    dup = summary_dict.get("duplication") or {}
    out["duplication.share"] = num(dup.get("share_duplicated"))
    out["duplication.mean_cells"] = num(dup.get("mean_cells_per_event"))
    for name, c in summary_dict.get("cells", {}).items():
        out[f"cell.{name}.utilisation"] = num(c["utilisation"])
        out[f"cell.{name}.mean_wait_h"] = num(c["mean_wait_h"])
    return out


def flat_names(consumers: list[str], cells: list[str]) -> list[str]:
    """Every name :func:`flat` produces for a scenario with these consumers and cells."""
    from .records import OUTCOMES as _O

    names = ["bypass_rate", "events", "duplication.share", "duplication.mean_cells"]
    for c in consumers:
        for prefix in [c] + [f"{c}.{fam}" for fam in FAMILY_NAMES]:
            names += [f"{prefix}.{o}" for o in _O]
            names += [f"{prefix}.latency_p50", f"{prefix}.latency_p90", f"{prefix}.fidelity"]
    for cell in cells:
        names += [f"cell.{cell}.utilisation", f"cell.{cell}.mean_wait_h"]
    return names
