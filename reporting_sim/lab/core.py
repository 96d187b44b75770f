"""What the lab computes, without any web framework (so it is tested on its own).

* :class:`Knobs`: the settings a class argues about, read from the scenario itself
  (every mechanism switch, every ``[switches]`` choice, analysts per cell, shelf life
  per kind, how often each meeting sits, each platform's accreditation time, and
  report formats for commander-centric units) and turned into a what-if variant's
  ``[set]`` changes;
* :func:`variant_data` / :func:`variant_toml`: the current settings as a variant file
  (optionally on top of a shipped variant chosen as a starting point) that ``validate``,
  ``compare`` and ``robustness`` accept;
* :func:`check_run`: the what-if's replications, days and seed checked by the rules
  ``compare`` and the scenario schema apply (one line naming the input otherwise);
* :func:`paired_runs`: base and changed scenario over N paired replications (same
  seeds: common random numbers, as ``compare`` runs them), reporting progress and each
  finished pair, and :func:`comparison_table`: means with 95% intervals (shares
  clipped to [0, 1]) and paired differences, the numbers ``compare`` gives;
* :func:`replay`: the frames of one event moving through the network (who holds a
  report, which link it is on, which consumer knows and which can act), against a clock
  with the acting consumers' meetings marked;
* :func:`ceilings`: the ceilings waterfall per consumer (how far each stage of the
  chain caps what is in time), from the library's ceilings study when it is installed.
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
        """The settings of ``sc``, section by section in :data:`_KNOB_SECTIONS`' order."""
        v: dict[str, object] = {}
        for section in _KNOB_SECTIONS:
            v.update(section(sc))
        return Knobs(v)

    def changes(self, start: "Knobs", sc) -> dict[str, object]:
        """Dotted paths and values where these settings differ from ``start``
        (``formats`` expands to every commander-centric collector)."""
        out: dict[str, object] = {}
        for key, value in self.values.items():
            if key in start.values and not _same(start.values[key], value):
                out.update(_expanded(key, value, sc))
        return out


def _expanded(key: str, value, sc) -> dict[str, object]:
    """One changed setting as dotted paths: ``formats`` is every commander-centric collector's."""
    if key != "formats":
        return {key: value}
    return {f"collectors.{n}.formats": bool(value) for n in commander_centric(sc)}


def _mechanism_knobs(sc) -> dict[str, object]:
    """Every mechanism switch, on or off."""
    return {f"mechanisms.{name}": bool(getattr(sc.mechanisms, name)) for name in type(sc.mechanisms).model_fields}


def _switch_knobs(sc) -> dict[str, object]:
    """Every ``[switches]`` choice."""
    return {f"switches.{name}.value": sw.value for name, sw in sc.switches.items()}


def _cell_knobs(sc) -> dict[str, object]:
    """Analysts per cell."""
    return {f"cells.{name}.analysts": int(cell.analysts) for name, cell in sc.cells.items()}


def _kind_knobs(sc) -> dict[str, object]:
    """Shelf life per kind of event (hours)."""
    return {f"kinds.{name}.shelf_life_h": float(kind.shelf_life_h) for name, kind in sc.kinds.items()}


def _meeting_knobs(sc) -> dict[str, object]:
    """How often each meeting sits (hours)."""
    return {f"meetings.{name}.every_h": float(m.every_h) for name, m in sc.meetings.items()}


def _accreditation_knobs(sc) -> dict[str, object]:
    """Each accredited platform's mean accreditation time (days, one decimal)."""
    return {f"collectors.{name}.accreditation.duration_days": round(float(c.accreditation.duration_days.mean), 1)
            for name, c in sc.collectors.items() if c.accreditation is not None}


def _format_knobs(sc) -> dict[str, object]:
    """Whether every commander-centric unit uses the report formats (none without such units)."""
    cc = commander_centric(sc)
    return {"formats": all(sc.collectors[n].formats for n in cc)} if cc else {}


_KNOB_SECTIONS = (_mechanism_knobs, _switch_knobs, _cell_knobs, _kind_knobs, _meeting_knobs,
                  _accreditation_knobs, _format_knobs)


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
    data = {"variant": _variant_head(base_ref, name, question, expectation), **data}
    if changes:
        data["set"] = _merge(data.get("set", {}), _nest(changes))
    return data


def _variant_head(base_ref: str, name: str, question: str, expectation: str) -> dict:
    """The ``[variant]`` table: name and base, and the question and expectation when given."""
    head = {"name": name, "base": base_ref}
    extra = {"question": question, "expectation": expectation}
    head.update({k: v for k, v in extra.items() if v})
    return head


def variant_toml(data: dict, note: str = "") -> str:
    """The variant as TOML text, with a comment header saying where it came from."""
    import tomli_w

    head = "# A what-if variant exported from the reporting-sim lab.\n"
    if note:
        head += "".join(f"# {line}\n" for line in note.splitlines())
    head += "# Check it with `reporting-sim validate FILE`; compare it with `reporting-sim compare BASE FILE`.\n\n"
    return head + tomli_w.dumps(data)


def resolve(base_data: dict, variant: dict, source: str = "lab settings"):
    """The changed scenario: ``variant`` applied to ``base_data``, validated. As when a
    variant file is loaded, the base's ``[uncertainties]`` go: a what-if is a point
    (robustness draws worlds from the base), and a bound the variant moves past (a
    faster accreditation) is no error."""
    data = variants.apply(copy.deepcopy(variant), source, copy.deepcopy(base_data))
    data.pop("uncertainties", None)
    return data, scenario_mod.parse(copy.deepcopy(data), source)


def presets(folder: Path, base_name: str) -> dict[str, Path]:
    """Shipped variant files in ``folder`` whose base is ``base_name``: offered as
    starting points (e.g. one per question of the study)."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.toml")):
        name = _preset_name(path, base_name)
        if name is not None:
            out[name] = path
    return out


def _preset_name(path: Path, base_name: str) -> Optional[str]:
    """The variant name of the file at ``path`` when it is a variant of ``base_name``
    (``None`` when it is not, or cannot be read)."""
    try:
        data = scenario_mod.read_file(path)
    except ScenarioError:
        return None
    head = data.get("variant")
    if isinstance(head, dict) and head.get("base") == base_name and isinstance(head.get("name"), str):
        return head["name"]
    return None


# --------------------------------------------------------------------- the inputs

def knob_value(key: str, raw, like, label: str):
    """One setting as the side bar gives it, typed like the scenario's value ``like``;
    an empty box is an error (never a silent default). Whether the value is allowed
    is the scenario schema's to say (:func:`resolve`)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ScenarioError("lab settings", label, "enter a value")
    return _typed_like(raw, like)


def _typed_like(raw, like):
    """``raw`` as the type of ``like`` where a number box gives the other kind of number."""
    if type(like) is int and isinstance(raw, float) and raw.is_integer():
        return int(raw)  # 3.0 analysts are 3; 2.5 stay 2.5 for the schema to refuse
    if type(like) is float and type(raw) is int:
        return float(raw)
    return raw


@dataclass(frozen=True)
class RunSettings:
    """The what-if's replications, days per run and seed, checked."""

    replications: int
    days: float
    seed: int

    def describe(self) -> str:
        """The horizon used, for the page: e.g. ``4 paired replications of 90 days, seeds 1-4``."""
        last = self.seed + self.replications - 1
        return (f"{self.replications} paired replications of {self.days:g} days, seeds {self.seed}-{last} "
                "(the same seed on both sides)")


def check_run(replications, days, seed, runs_per_replication: int = 2) -> RunSettings:
    """The what-if's inputs checked as ``reporting-sim compare`` checks its options:
    replications a whole number from 2 to 100000 within the run limit
    (``REPORTING_SIM_MAX_RUNS``), days and seed by the scenario schema's rules for
    ``[scenario] days`` and ``seed``. Raises a one-line :class:`ScenarioError`."""
    reps = _replications(replications, runs_per_replication)
    head = _header(days, seed)
    return RunSettings(reps, float(head.days), int(head.seed))


def _replications(replications, runs_per_replication: int) -> int:
    """The paired replications: a whole number from 2 to 100000, whose runs stay
    within the run limit."""
    from ..scenario import limits

    reps = _whole(replications, "paired replications")
    if not 2 <= reps <= 100000:
        raise ScenarioError("what-if", "paired replications", f"must be from 2 to 100000 (got {reps})")
    if reps * runs_per_replication > limits.limit("RUNS"):
        raise limits.too_much("what-if", "paired replications", "RUNS",
                              f"{runs_per_replication} scenarios x {reps} replications = {reps * runs_per_replication}")
    return reps


def _header(days, seed):
    """Days and seed checked by the scenario schema's ``[scenario]`` header."""
    from ..scenario.loading import first_error
    from ..scenario.schema import Header
    from pydantic import ValidationError

    for label, v in (("days per run", days), ("seed", seed)):
        if v is None or isinstance(v, (str, bool)):
            raise ScenarioError("what-if", label, "enter a number")
    try:
        head = Header.model_validate({"name": "lab", "days": float(days), "seed": _whole(seed, "seed")})
    except ValidationError as exc:
        err = first_error(exc, "what-if")
        raise ScenarioError("what-if", {"days": "days per run"}.get(err.field, err.field), err.message) from None
    return head


def _whole(v, label: str) -> int:
    """``v`` as an int when it is a whole number (never a bool); else a one-line error."""
    if not _is_whole(v):
        raise ScenarioError("what-if", label, f"must be a whole number (got {v!r})")
    return int(v)


def _is_whole(v) -> bool:
    """Whether ``v`` is an int or an integral float (bools are not numbers here)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return not isinstance(v, float) or v.is_integer()


# --------------------------------------------------------------------- paired runs

def paired_runs(base_data: dict, changed_data: dict, *, replications: int, days: float, seed: int,
                on_progress: Optional[Callable[[int, int], None]] = None,
                cancelled: Optional[Callable[[], bool]] = None,
                on_pair: Optional[Callable[[dict], None]] = None) -> dict[str, list[dict]]:
    """Rows of flat metrics for ``base`` and ``changed``, replication ``r`` of both
    with seed ``seed + r`` (common random numbers, the jobs ``compare`` runs); progress
    after each run, and the rows so far after each finished pair (``on_pair``)."""
    from ..study.execution import Job, run_job
    from ..model.streams import replication_seed

    rows: dict[str, list[dict]] = {"base": [], "changed": []}
    total = 2 * replications
    done = 0
    for r in range(replications):
        for label, data in (("base", base_data), ("changed", changed_data)):
            if _is_cancelled(cancelled):
                return rows
            job = Job.make(label, data, f"lab {label}", r, replication_seed(seed, r), days)
            rows[label].append(run_job(job))
            done += 1
            _tell(on_progress, done, total)
        _tell(on_pair, {k: list(v) for k, v in rows.items()})
    return rows


def _is_cancelled(cancelled: Optional[Callable[[], bool]]) -> bool:
    """Whether the user stopped the what-if (never, without a ``cancelled`` test)."""
    return cancelled is not None and cancelled()


def _tell(listener: Optional[Callable], *args) -> None:
    """Pass ``args`` to ``listener`` when there is one (progress, a finished pair)."""
    if listener is not None:
        listener(*args)


def comparison_table(rows: dict[str, list[dict]], metric: str, consumers: list[str]) -> list[dict]:
    """Per consumer: base and changed means with 95% intervals, and the paired
    difference with its interval, for metric suffix ``metric`` (e.g.
    ``current.in_time``); shares' intervals are clipped to [0, 1]."""
    out = []
    for c in consumers:
        row = metric_row(rows, f"{c}.{metric}")
        if row is not None:  # None: no event of this family in its area of interest (JMAC's current, say)
            out.append({"consumer": c, **row})
    return out


def metric_row(rows: dict[str, list[dict]], name: str) -> Optional[dict]:
    """Base and changed means with 95% intervals and the paired difference with its
    interval, for flat metric ``name`` (``None`` when neither side has a value)."""
    from ..measures import stats
    from ..present.glossary import is_share

    b = _values(rows["base"], name)
    v = _values(rows["changed"], name)
    if all(math.isnan(x) for x in b + v):
        return None
    clip = _clip if is_share(name) else None
    d, dlo, dhi = stats.paired_ci(v, b)
    return {**_mean_block("base", b, clip), **_mean_block("changed", v, clip),
            "diff": d, "diff_lo": dlo, "diff_hi": dhi, "n": len(v)}


def _values(rows: list[dict], name: str) -> list[float]:
    """Metric ``name`` of each row (NaN where a row lacks it)."""
    return [r.get(name, math.nan) for r in rows]


def _mean_block(label: str, xs: list[float], clip: Optional[Callable[[float], float]]) -> dict:
    """``label``, ``label_lo``, ``label_hi``: the mean of ``xs`` and its 95% interval
    (the interval's ends passed through ``clip`` when given)."""
    from ..measures import stats

    m, lo, hi = stats.mean_ci(xs)
    if clip is not None:
        lo, hi = clip(lo), clip(hi)
    return {label: m, f"{label}_lo": lo, f"{label}_hi": hi}


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
    late = _late_events(led, headline)
    ids.sort(key=lambda e: (e not in late, ev.loc[e, "family"] != "current", e))
    return [(e, _event_line(e, ev.loc[e], int(reach[e]), headline if e in late else None)) for e in ids[:limit]]


def _late_events(led, headline: Optional[str]) -> set:
    """The events that reached ``headline`` late (none without a headline consumer)."""
    if not headline:
        return set()
    h = led[(led["consumer"] == headline) & (led["outcome"] == "late")]
    return set(int(e) for e in h["event_id"])


def _event_line(e: int, row, reached: int, late_at: Optional[str]) -> str:
    """One event described for the replay list, tagged when it reached ``late_at`` late."""
    tag = f" - {late_at} late" if late_at else ""
    return (f"event {e}: {row['kind']} in {row['sector']}, day {int(row['t_h'] // 24)}, "
            f"reached {reached} consumers{tag}")


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


_EPS = 1e-9
_CARRY = ("transit", "meeting", "hold", "board")  # steps on a link: the report is between two nodes


def event_steps(rec, event_id: int) -> list[tuple[str, str, float, float, Optional[str]]]:
    """Every step of every report of one event, with its history before copies:
    ``(node, step, t0, t1, to)``, once each, finished steps only."""
    from ..measures.views import TraceIndex

    idx = TraceIndex(rec.trace)
    mine = idx.trace[idx.trace["event_id"] == event_id]
    steps = []
    for rid in dict.fromkeys(mine["report"].tolist()):
        steps.extend(_finished_steps(idx.path(rid)))
    return list(dict.fromkeys(steps))


def _finished_steps(p) -> list[tuple[str, str, float, float, Optional[str]]]:
    """The finished steps of one report's path (neither copies nor its end)."""
    return [(str(node), str(step), float(t0), float(t1), _node_or_none(to))
            for node, step, t0, t1, to in zip(p["node"], p["step"], p["t0_h"], p["t1_h"], p["to"])
            if step not in ("copy", "end") and math.isfinite(t1)]


def _node_or_none(to) -> Optional[str]:
    """A step's next node, ``None`` when it has none (missing or NaN)."""
    return None if to is None or to != to else str(to)


def _step_states(t: float, steps: list) -> tuple[dict[str, str], set]:
    """Which nodes a report has reached by ``t``, which hold one at ``t``, and the
    links that carry one at ``t``."""
    states: dict[str, str] = {}
    links = set()
    for node, step, t0, t1, to in steps:
        if t0 <= t + _EPS:
            _mark_step(t, (node, step, t1, to), states, links)
    return states, links


def _mark_step(t: float, step: tuple, states: dict[str, str], links: set) -> None:
    """One begun step ``(node, step, t1, to)`` at ``t``: its node reached, its next node
    reached once it is over, and while it lasts its link carrying or its node holding."""
    node, kind, t1, to = step
    states.setdefault(node, "reached")
    if to is not None and t1 <= t + _EPS:
        states.setdefault(to, "reached")
    if t + _EPS >= t1:
        return
    if to is not None and kind in _CARRY:
        links.add((node, to))
    else:
        states[node] = "holding"


def _consumer_states(t: float, knows: dict, states: dict[str, str]) -> None:
    for c, (arr, act) in knows.items():
        if act == act and act <= t + _EPS:
            states[c] = "acts"
        elif arr <= t + _EPS:
            states[c] = "knows"


def _knows(led) -> tuple[dict, dict]:
    """Per consumer of one event: ``(first arrival, could act)`` where it arrived, and
    its outcome."""
    rows = list(led.itertuples(index=False))
    knows = {str(r.consumer): (float(r.arrival_h), float(r.act_h)) for r in rows if r.arrival_h == r.arrival_h}
    return knows, {str(r.consumer): str(r.outcome) for r in rows}


def _moments(t_ev: float, steps: list, knows: dict) -> list[float]:
    """Every moment a step begins or ends, a consumer knows or can act."""
    times = {t_ev} | {s[2] for s in steps} | {s[3] for s in steps}
    for arr, act in knows.values():
        times |= {arr, act} if act == act else {arr}
    return sorted(times)


def replay(rec, sc, event_id: int) -> dict:
    """Frames of one event: at each moment a step begins or ends, which nodes have
    seen a report (``reached``), which hold one now (``holding``), which links carry
    one, and which consumers know (first arrival) or can act (their meeting)."""
    steps = event_steps(rec, event_id)
    ev = rec.events.set_index("event_id").loc[event_id]
    t_ev = float(ev["t_h"])
    knows, outcome = _knows(rec.ledger[rec.ledger["event_id"] == event_id])
    times = _moments(t_ev, steps, knows)
    meetings = sorted({m for c in knows if c in sc.nodes for m in sc.nodes[c].acting_meetings()})
    frames = []
    for t in times:
        states, links = _step_states(t, steps)
        _consumer_states(t, knows, states)
        frames.append({"t_h": t, "states": states, "links": sorted(links)})
    return {"event_id": int(event_id), "t_h": t_ev, "kind": str(ev["kind"]), "family": str(ev["family"]),
            "sector": str(ev["sector"]), "deadline_h": t_ev + float(ev["shelf_life_h"]), "frames": frames,
            "knows": knows, "outcome": outcome,
            "meetings": {m: meeting_times(sc, m, t_ev, times[-1]) for m in meetings}}


# --------------------------------------------------------------------- ceilings

CEILINGS_NEEDED = ("The ceilings waterfall needs the ceilings study of `reporting-sim ceilings` (the issue on "
                   "acting by channel), which this installation does not have yet.")


def ceilings_function():
    """The library's ceilings study (``reporting-sim ceilings``), or ``None`` when this
    installation does not have it."""
    try:
        from ..study.ceilings import ceilings as found
    except ImportError:
        return None
    return found


def ceilings(data: dict, *, days: float, seed: int, replications: int,
             family: str = "current") -> Optional[dict[str, list[tuple[str, float]]]]:
    """Per consumer, the waterfall of its ceilings for ``family``: ``("today", share)``
    then each stage and the in-time share it would allow, in the order the study gives;
    ``None`` when the library has no ceilings study (:data:`CEILINGS_NEEDED`)."""
    fn = ceilings_function()
    if fn is None:
        return None
    sc = scenario_mod.parse(copy.deepcopy(data), "lab settings")
    result = fn(sc, days=days, seed=seed, replications=replications, waterfall=False, n_jobs=1)
    return ceiling_stages(result, family)


def ceiling_stages(result: dict, family: str = "current") -> dict[str, list[tuple[str, float]]]:
    """The waterfall from a ceilings result (the ``ceilings --json`` contract:
    ``consumers.NAME.FAMILY.in_time`` and ``.ceilings.STAGE`` as a share or
    ``{"in_time": share}``)."""
    out: dict[str, list[tuple[str, float]]] = {}
    for name, block in (result.get("consumers") or {}).items():
        fam = (block or {}).get(family)
        if _has_share(fam):
            out[str(name)] = [("today", float(fam["in_time"]))] + _stages(fam.get("ceilings") or {})
    return out


def _has_share(fam) -> bool:
    """Whether a family's block of a ceilings result has a numeric in-time share."""
    return isinstance(fam, dict) and _number(fam.get("in_time"))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _stages(ceilings: dict) -> list[tuple[str, float]]:
    got = [(str(stage), v.get("in_time") if isinstance(v, dict) else v) for stage, v in ceilings.items()]
    return [(stage, float(v)) for stage, v in got if _number(v)]
