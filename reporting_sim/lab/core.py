"""What the lab computes, without any web framework (so it is tested on its own).

* :class:`Knobs`: the settings a class argues about, read from the scenario itself
  (every mechanism switch, every ``[switches]`` choice, analysts per cell, shelf life
  per kind, how often each meeting sits, each platform's accreditation time, and
  report formats for commander-centric units) and turned into a what-if variant's
  ``[set]`` changes;
* :func:`variant_data` / :func:`variant_toml`: the current settings as a variant file
  (optionally on top of a shipped variant chosen as a starting point) that ``validate``,
  ``compare`` and ``robustness`` accept;
* :func:`paired_runs`: base and changed scenario over N paired replications (same
  seeds: common random numbers), reporting progress, and :func:`comparison_table`:
  means with 95% intervals (shares clipped to [0, 1]) and paired differences;
* :func:`replay`: the frames of one event moving through the network (who holds a
  report, which link it is on, which consumer knows and which can act), against a clock
  with the acting consumers' meetings marked.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .. import scenario as scenario_mod
from ..scenario import variants
from ..errors import ScenarioError


# --------------------------------------------------------------------- settings

@dataclass
class Knobs:
    """The settings of one scenario, as plain values keyed by dotted scenario path."""

    values: dict[str, object] = field(default_factory=dict)

    @staticmethod
    def of(sc) -> "Knobs":
        v: dict[str, object] = {}
        for name in type(sc.mechanisms).model_fields:
            v[f"mechanisms.{name}"] = bool(getattr(sc.mechanisms, name))
        for name, sw in sc.switches.items():
            v[f"switches.{name}.value"] = sw.value
        for name, cell in sc.cells.items():
            v[f"cells.{name}.analysts"] = int(cell.analysts)
        for name, kind in sc.kinds.items():
            v[f"kinds.{name}.shelf_life_h"] = float(kind.shelf_life_h)
        for name, m in sc.meetings.items():
            v[f"meetings.{name}.every_h"] = float(m.every_h)
        for name, c in sc.collectors.items():
            if c.accreditation is not None:
                v[f"collectors.{name}.accreditation.duration_days"] = round(float(c.accreditation.duration_days.mean), 1)
        cc = commander_centric(sc)
        if cc:
            v["formats"] = all(sc.collectors[n].formats for n in cc)
        return Knobs(v)

    def changes(self, start: "Knobs", sc) -> dict[str, object]:
        """Dotted paths and values where these settings differ from ``start``
        (``formats`` expands to every commander-centric collector)."""
        out: dict[str, object] = {}
        for key, value in self.values.items():
            if key not in start.values or _same(start.values[key], value):
                continue
            if key == "formats":
                for n in commander_centric(sc):
                    out[f"collectors.{n}.formats"] = bool(value)
            else:
                out[key] = value
        return out


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return a == b


def commander_centric(sc) -> list[str]:
    """Collectors of commander culture (they tell their chief rather than write)."""
    return [n for n, c in sc.collectors.items() if c.culture == "commander"]


def _nest(flat: dict[str, object]) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


def _merge(into: dict, new: dict) -> dict:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)
    return into


def variant_data(base_ref: str, changes: dict[str, object], *, name: str = "lab-what-if",
                 question: str = "", expectation: str = "", preset: Optional[dict] = None) -> dict:
    """A variant file's data: ``preset`` (a shipped variant's data, its own base
    replaced) with ``changes`` (dotted paths) merged into its ``[set]``."""
    data: dict = {k: copy.deepcopy(v) for k, v in (preset or {}).items() if k != "variant"}
    head = {"name": name, "base": base_ref}
    if question:
        head["question"] = question
    if expectation:
        head["expectation"] = expectation
    data = {"variant": head, **data}
    if changes:
        data["set"] = _merge(data.get("set", {}), _nest(changes))
    return data


def variant_toml(data: dict, note: str = "") -> str:
    """The variant as TOML text, with a comment header saying where it came from."""
    import tomli_w

    head = "# A what-if variant exported from the reporting-sim lab.\n"
    if note:
        head += "".join(f"# {line}\n" for line in note.splitlines())
    head += "# Check it with `reporting-sim validate FILE`; compare it with `reporting-sim compare BASE FILE`.\n\n"
    return head + tomli_w.dumps(data)


def resolve(base_data: dict, variant: dict, source: str = "lab settings"):
    """The changed scenario: ``variant`` applied to ``base_data``, validated."""
    data = variants.apply(copy.deepcopy(variant), source, copy.deepcopy(base_data))
    return data, scenario_mod.parse(copy.deepcopy(data), source)


def presets(folder: Path, base_name: str) -> dict[str, Path]:
    """Shipped variant files in ``folder`` whose base is ``base_name``: offered as
    starting points (e.g. one per question of the study)."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.toml")):
        try:
            data = scenario_mod.read_file(path)
        except ScenarioError:
            continue
        head = data.get("variant")
        if isinstance(head, dict) and head.get("base") == base_name and isinstance(head.get("name"), str):
            out[head["name"]] = path
    return out


# --------------------------------------------------------------------- paired runs

def paired_runs(base_data: dict, changed_data: dict, *, replications: int, days: float, seed: int,
                on_progress: Optional[Callable[[int, int], None]] = None,
                cancelled: Optional[Callable[[], bool]] = None) -> dict[str, list[dict]]:
    """Rows of flat metrics for ``base`` and ``changed``, replication ``r`` of both
    with seed ``seed + r`` (common random numbers); progress after each run."""
    from ..study.execution import Job, run_job
    from ..model.streams import replication_seed

    rows: dict[str, list[dict]] = {"base": [], "changed": []}
    total = 2 * replications
    done = 0
    for r in range(replications):
        for label, data in (("base", base_data), ("changed", changed_data)):
            if cancelled is not None and cancelled():
                return rows
            job = Job.make(label, data, f"lab {label}", r, replication_seed(seed, r), days)
            rows[label].append(run_job(job))
            done += 1
            if on_progress is not None:
                on_progress(done, total)
    return rows


def comparison_table(rows: dict[str, list[dict]], metric: str, consumers: list[str]) -> list[dict]:
    """Per consumer: base and changed means with 95% intervals, and the paired
    difference with its interval, for metric suffix ``metric`` (e.g.
    ``current.in_time``); shares' intervals are clipped to [0, 1]."""
    from ..measures import stats
    from ..present.glossary import is_share

    share = is_share(metric)
    out = []
    for c in consumers:
        name = f"{c}.{metric}"
        b = [r.get(name, math.nan) for r in rows["base"]]
        v = [r.get(name, math.nan) for r in rows["changed"]]
        if all(math.isnan(x) for x in b + v):
            continue  # no event of this family in its area of interest (JMAC's current, say)
        bm, blo, bhi = stats.mean_ci(b)
        vm, vlo, vhi = stats.mean_ci(v)
        d, dlo, dhi = stats.paired_ci(v, b)
        if share:
            blo, bhi, vlo, vhi = (_clip(x) for x in (blo, bhi, vlo, vhi))
        out.append({"consumer": c, "base": bm, "base_lo": blo, "base_hi": bhi, "changed": vm, "changed_lo": vlo,
                    "changed_hi": vhi, "diff": d, "diff_lo": dlo, "diff_hi": dhi})
    return out


def _clip(x: float) -> float:
    return x if math.isnan(x) else min(1.0, max(0.0, x))


# --------------------------------------------------------------------- replay

def candidate_events(rec, headline: Optional[str], limit: int = 40) -> list[tuple[int, str]]:
    """Events worth replaying: reported, reaching two or more consumers, the
    headline consumer's late current events first; ``(event_id, description)``."""
    ev = rec.events.set_index("event_id")
    led = rec.ledger
    arrived = led[led["arrival_h"].notna()]
    reach = arrived.groupby("event_id")["consumer"].nunique()
    ids = [int(e) for e in reach[reach >= 2].index if not bool(ev.loc[e, "live_at_end"])]
    late = set()
    if headline:
        h = led[(led["consumer"] == headline) & (led["outcome"] == "late")]
        late = set(int(e) for e in h["event_id"])
    ids.sort(key=lambda e: (e not in late, ev.loc[e, "family"] != "current", e))
    out = []
    for e in ids[:limit]:
        row = ev.loc[e]
        tag = f" - {headline} late" if e in late else ""
        out.append((e, f"event {e}: {row['kind']} in {row['sector']}, day {int(row['t_h'] // 24)}, "
                       f"reached {int(reach[e])} consumers{tag}"))
    return out


def typical_late(rec, headline: Optional[str]) -> Optional[int]:
    """A typical current event that reached the headline consumer late: the one with
    the median latency among those."""
    if not headline:
        return None
    led = rec.ledger
    ev = rec.events.set_index("event_id")
    h = led[(led["consumer"] == headline) & (led["outcome"] == "late")]
    h = h[h["event_id"].map(lambda e: ev.loc[e, "family"] == "current")]
    if not len(h):
        return None
    h = h.sort_values("latency_h")
    return int(h["event_id"].iloc[len(h) // 2])


def meeting_times(sc, name: str, t0: float, t1: float) -> list[float]:
    m = sc.meetings.get(name)
    return [] if m is None else m.calendar().times(t0, t1, limit=1000)


def replay(rec, sc, event_id: int) -> dict:
    """Frames of one event: at each moment a step begins or ends, which nodes have
    seen a report (``reached``), which hold one now (``holding``), which links carry
    one, and which consumers know (first arrival) or can act (their meeting)."""
    from ..measures.views import TraceIndex

    idx = TraceIndex(rec.trace)
    tr = idx.trace
    mine = tr[tr["event_id"] == event_id]
    steps = []
    for rid in dict.fromkeys(mine["report"].tolist()):
        p = idx.path(rid)
        for node, step, t0, t1, to in zip(p["node"], p["step"], p["t0_h"], p["t1_h"], p["to"]):
            if step in ("copy", "end") or not math.isfinite(t1):
                continue
            steps.append((str(node), str(step), float(t0), float(t1), None if to is None or to != to else str(to)))
    steps = list(dict.fromkeys(steps))
    ev = rec.events.set_index("event_id").loc[event_id]
    t_ev = float(ev["t_h"])
    led = rec.ledger[rec.ledger["event_id"] == event_id]
    knows = {str(r.consumer): (float(r.arrival_h), float(r.act_h)) for r in led.itertuples(index=False)
             if r.arrival_h == r.arrival_h}
    outcome = {str(r.consumer): str(r.outcome) for r in led.itertuples(index=False)}
    times = {t_ev} | {s[2] for s in steps} | {s[3] for s in steps} | {a for a, _ in knows.values()} | \
        {b for _, b in knows.values() if b == b}
    end = max(times)
    meetings = sorted({m for c in knows if c in sc.nodes for m in sc.nodes[c].acting_meetings()})
    marks = {m: meeting_times(sc, m, t_ev, end) for m in meetings}
    frames = []
    for t in sorted(times):
        states: dict[str, str] = {}
        links = set()
        for node, step, t0, t1, to in steps:
            if t0 <= t + 1e-9:
                states.setdefault(node, "reached")
                if to is not None and t1 <= t + 1e-9:
                    states.setdefault(to, "reached")
            if t0 <= t + 1e-9 < t1:
                if to is not None and step in ("transit", "meeting", "hold", "board"):
                    links.add((node, to))
                else:
                    states[node] = "holding"
        for c, (arr, act) in knows.items():
            if act == act and act <= t + 1e-9:
                states[c] = "acts"
            elif arr <= t + 1e-9:
                states[c] = "knows"
        frames.append({"t_h": t, "states": states, "links": sorted(links)})
    return {"event_id": int(event_id), "t_h": t_ev, "kind": str(ev["kind"]), "family": str(ev["family"]),
            "sector": str(ev["sector"]), "deadline_h": t_ev + float(ev["shelf_life_h"]), "frames": frames,
            "knows": knows, "outcome": outcome, "meetings": marks}
