"""The mission in motion: what the lab's animation draws, read from a traced run's
records (the same trace and ledger ``reporting-sim run --trace`` writes), so what the
class sees is what the numbers count. No web framework; plain lists for JSON.

* ``marks``: one per step of a report that takes time, in the trace's own terms:
  ``write`` (at its collector), ``transit`` (moving along a link), ``meeting`` and
  ``board`` (waiting at the sender for the link's meeting), ``hold`` (held back from a
  rival at the sender), ``queue`` (in a cell's inbox: the stacks), ``work`` (being
  read), ``sanitise`` (imagery written into an INTREP); each with its report's event
  family (the mark's colour);
* ``stops``: reports that ended where a gate stopped them (``withheld``: held back by
  classification, trust or rivalry; ``not_shared``: not passed on; ``overflow``: lost,
  the inbox full), when and where;
* ``meetings``: when each meeting sits, the consumers that act at it and the links that
  wait for it (they flash);
* ``counters``: per consumer, each event of its area of interest with the hour its
  outcome is settled: ``in time`` and ``late`` when it could act (``act_h``), ``lost``
  (never observed, never reported, withheld, not shared) at the end of the event's
  shelf life, and at the latest when the run ends; counted up to the clock they give,
  at the end, exactly the ledger's outcomes (events still in flight at the end are not
  counted).
"""

from __future__ import annotations

import math

import numpy as np

MARK_STEPS = ("write", "transit", "meeting", "board", "hold", "queue", "work", "sanitise")
"""Trace steps drawn as marks (steps that take no time are not)."""

STOP_STATES = ("withheld", "not_shared", "overflow")
"""End states drawn where they happen."""

COUNTED = ("in_time", "late", "lost")
LOST = ("not_observed", "not_reported", "withheld", "not_shared")
FAMILIES = ("current", "long_term")


def _r(values) -> list[float]:
    return [round(float(x), 3) for x in values]


def marks(rec, names: list[str]) -> dict[str, list]:
    """The marks of a traced run (see the module docstring) as columns: ``t0``,
    ``t1`` (hours), ``k`` (index in :data:`MARK_STEPS`), ``a`` (node index in
    ``names``), ``b`` (the node a link step leads to, -1 otherwise), ``f`` (family
    index), ``e`` (event id)."""
    tr = rec.trace
    end = rec.days * 24.0
    keep = tr[tr["step"].isin(MARK_STEPS) & (tr["t1_h"] > tr["t0_h"])]
    index = {n: i for i, n in enumerate(names)}
    fam = dict(zip(rec.events["event_id"].to_numpy(), rec.events["family"].astype(str).to_numpy()))
    return {"t0": _r(keep["t0_h"]), "t1": _r(np.minimum(keep["t1_h"].to_numpy(dtype=float), end)),
            "k": [MARK_STEPS.index(s) for s in keep["step"].astype(str)],
            "a": [index[n] for n in keep["node"].astype(str)],
            "b": _next_nodes(keep["to"].astype(object).to_numpy(), index),
            "f": [FAMILIES.index(fam[e]) for e in keep["event_id"].to_numpy()],
            "e": [int(e) for e in keep["event_id"].to_numpy()]}


def _next_nodes(to, index: dict[str, int]) -> list[int]:
    """The node index each mark's link leads to (-1 for a stay, or a node not drawn)."""
    return [index.get(x, -1) if isinstance(x, str) else -1 for x in to]


def stops(rec, names: list[str]) -> dict[str, list]:
    """Reports stopped by a gate: ``t`` (hours), ``a`` (node index), ``s`` (index in
    :data:`STOP_STATES`), ``e`` (event id)."""
    tr = rec.trace
    end = tr[(tr["step"] == "end") & tr["state"].isin(STOP_STATES)]
    index = {n: i for i, n in enumerate(names)}
    return {"t": _r(end["t0_h"]), "a": [index[n] for n in end["node"].astype(str)],
            "s": [STOP_STATES.index(s) for s in end["state"].astype(str)],
            "e": [int(e) for e in end["event_id"].to_numpy()]}


def meetings(sc, hours: float) -> list[dict]:
    """Each meeting: when it sits within ``hours``, who acts at it, which links wait
    for it."""
    return [_meeting(sc, name, m, hours) for name, m in sc.meetings.items()]


def _meeting(sc, name: str, m, hours: float) -> dict:
    """One meeting of :func:`meetings`: its times, the consumers acting at it, the links waiting for it."""
    times = m.calendar().times(0.0, hours, limit=100000)
    acts = [c for c in sc.consumers if name in sc.nodes[c].acting_meetings()]
    links = sorted({(lk.src, lk.to) for lk in sc.active_links if lk.meeting == name})
    return {"name": name, "label": name.replace("_", " "), "times": _r(times), "acts": acts,
            "links": [list(p) for p in links]}


def settled_at(row, end: float) -> float:
    """The hour an (event, consumer) outcome is settled (see the module docstring); at
    the latest the end of the run (a meeting after it still counts what arrived)."""
    if row.outcome in ("in_time", "late"):
        t = float(row.act_h if row.act_h == row.act_h else row.arrival_h)
    else:
        t = float(row.t_h + row.shelf_life_h)
    return min(t, end)


def counters(rec, sc) -> list[dict]:
    """Per consumer: its label and, for each counted event of its area of interest,
    the hour it is settled (``t``), the outcome (``o``: index in :data:`COUNTED`) and
    the family (``f``), in time order."""
    from ..present.graph import display

    end = rec.days * 24.0
    led = rec.ledger[rec.ledger["interest"] & ~rec.ledger["outcome"].isin(["in_flight"])]
    out = []
    for c in sc.consumers:
        rows = _settled(led[led["consumer"] == c], end)
        out.append({"name": c, "label": display(sc, c), "t": _r(r[0] for r in rows), "o": [r[1] for r in rows],
                    "f": [r[2] for r in rows]})
    return out


def _settled(mine, end: float) -> list[tuple]:
    """One consumer's counted events as ``(hour settled, outcome index, family index)``, in time order."""
    return sorted((settled_at(r, end), COUNTED.index("lost" if r.outcome in LOST else str(r.outcome)),
                   FAMILIES.index(str(r.family))) for r in mine.itertuples(index=False))


def count_at(counter: dict, t: float, family: str | None = None) -> dict[str, int]:
    """How many of a consumer's events are settled in time, late and lost by hour
    ``t`` (of one family, or all): what the lab's counters show at that moment."""
    out = dict.fromkeys(COUNTED, 0)
    for ti, o, f in zip(counter["t"], counter["o"], counter["f"]):
        if ti <= t and (family is None or FAMILIES[f] == family):
            out[COUNTED[o]] += 1
    return out


def mission(rec, sc) -> dict:
    """Everything the animation of one traced run needs (see the module docstring)."""
    if rec.trace is None:
        raise ValueError("the mission view needs a traced run")
    names = list(sc.nodes)
    hours = rec.days * 24.0
    return {"scenario": sc.name, "seed": int(rec.seed), "days": float(rec.days), "end": hours,
            "start": sc.scenario.start_date.isoformat(), "names": names, "steps": list(MARK_STEPS),
            "stop_states": list(STOP_STATES), "marks": marks(rec, names), "stops": stops(rec, names),
            "meetings": meetings(sc, hours), "counters": counters(rec, sc)}


def in_flight(data: dict, t: float) -> int:
    """How many marks the animation draws at hour ``t``."""
    m = data["marks"]
    return sum(1 for a, b in zip(m["t0"], m["t1"]) if a <= t < b)


def busiest(data: dict) -> tuple[float, int]:
    """The hour with the most marks drawn at once, and how many (checked at every mark's
    start)."""
    m = data["marks"]
    if not m["t0"]:
        return 0.0, 0
    t0 = np.asarray(m["t0"])
    t1 = np.asarray(m["t1"])
    starts = np.sort(t0)
    live = np.searchsorted(starts, starts, side="right") - np.searchsorted(np.sort(t1), starts, side="right")
    i = int(np.argmax(live))
    return float(starts[i]), int(live[i]) if math.isfinite(starts[i]) else 0
