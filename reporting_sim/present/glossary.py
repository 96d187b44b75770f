"""What every measure means, in one line each: the single place to edit those texts.

Every table, summary, JSON file, report and lab view that shows a measure takes its
definition from here (numerator, denominator, and when it is counted), so a change to
a measure is one edit. The definitions are generic: consumers, kinds and shelf lives
come from the scenario (see :func:`kinds_lines`), never from this file.

* :data:`TERMS`: measure name (the last part of a flat metric name, e.g. ``in_time``
  of ``force_commander.current.in_time``) -> ``(unit, one-line definition)``;
* :func:`define`: the definition of any flat metric name;
* :func:`unit` / :func:`is_share`: ``%`` for shares (shown as percent, differences in
  percentage points), ``h`` for times (hours), ``""`` for counts;
* :data:`SINGLE_RUN_CAVEAT`: the warning printed under any single run.
"""

from __future__ import annotations

SHARE, HOURS, COUNT = "%", "h", ""

# -- edit the texts here ---------------------------------------------------------------
EVENT_SHARE = "share of the events of interest to the consumer (of the family shown)"

TERMS: dict[str, tuple[str, str]] = {
    "in_time": (SHARE, EVENT_SHARE + " that it could act on before the event's shelf life ran out (when the "
                "news came, or, by the consumer's rule for the channel it came by, within its duty hours or at "
                "its meeting)"),
    "known_in_time": (SHARE, EVENT_SHARE + " that it knew of before the event's shelf life ran out: its in-time "
                      "share had it acted on everything when it came (the ceiling of acting on arrival)"),
    "late": (SHARE, EVENT_SHARE + " that it could act on only after the shelf life ran out"),
    "not_observed": (SHARE, EVENT_SHARE + " that no collector observed"),
    "not_reported": (SHARE, EVENT_SHARE + " observed, but reported by no collector"),
    "withheld": (SHARE, EVENT_SHARE + " that never reached it because a sharing gate (classification, trust, "
                 "holding back from rivals) stopped a report bound for it"),
    "not_shared": (SHARE, EVENT_SHARE + " reported, but never passed on to it"),
    "in_flight": (SHARE, EVENT_SHARE + " still pending (an observation or a report on its way) when the run ended"),
    "latency_p50": (HOURS, "median hours from the event to the consumer knowing it (a commander: when the first "
                    "report arrives; a staff cell: once it has worked it), over the events of interest that reached it"),
    "latency_p90": (HOURS, "90th percentile of the hours from the event to the consumer knowing it, over the "
                    "events of interest that reached it"),
    "act_latency_p50": (HOURS, "median hours from the event to when the consumer could act on it (its meeting "
                        "after the first arrival), over the events that reached it"),
    "act_latency_p90": (HOURS, "90th percentile of the hours from the event to when the consumer could act on "
                        "it, over the events that reached it"),
    "fidelity": (SHARE, EVENT_SHARE + " whose first report to arrive kept the precise time and place"),
    "fidelity_arrived": (SHARE, "of the events that reached the consumer, the share whose first report kept "
                         "the precise time and place"),
    "within_planning": (SHARE, "share of the long-term events of interest to the consumer that it could act "
                        "on within the scenario's planning horizon"),
    "bypass_rate": (SHARE, "bypass before the branch heard: of the current events of its interest the headline "
                    "consumer knew of, the share it heard first through the command chain before any report of "
                    "them had reached the intelligence branch (its first receiving, not its finished work); the "
                    "branch's speed cannot change it"),
    "bypass_before_briefing": (SHARE, "bypass before the branch could brief: of the current events of its "
                               "interest the headline consumer knew of, the share it heard first through the "
                               "command chain before the intelligence branch could have briefed it on them (the "
                               "branch's first briefing to it after the branch had worked the event), or that the "
                               "branch never knew; a faster branch lowers it"),
    "duplication.share": (SHARE, "of the events any analysis cell worked, the share analysed independently by "
                          "more than one (cells that did not get it from each other, or redid a board's item; "
                          "passing it up the branch is not duplication)"),
    "duplication.mean_cells": (COUNT, "mean number of analysis cells that worked an event, over the events "
                               "any cell worked"),
    "utilisation": (SHARE, "busy analyst-hours (reports, INTREPs and routine work) divided by analysts x hours "
                    "round the clock (off-duty hours count as available), over the run"),
    "mean_wait_h": (HOURS, "mean hours a report waited in the cell's inbox before an analyst started on it"),
    "mean_queue": (COUNT, "time-average number of reports waiting in the cell's inbox"),
    "events": (COUNT, "ground-truth events that happened in the run (after any warm-up)"),
}
"""Measure -> (unit, definition). The families: ``current`` and ``long_term``; a name
without a family counts both."""

STAGES: dict[str, tuple[str, str]] = {
    "every_event_observed": ("observed", "every collector watches all the time and observes every event of its "
                             "sectors and kinds when it happens (no patrol gaps, accreditation, rotation dip or "
                             "escort)"),
    "every_observation_reported": ("reported", "every observation gives its main report"),
    "no_transit_time": ("transit", "every link delivers at once (transit 0)"),
    "no_analysis_queue": ("queue", "every staff cell starts each report when it comes (analysts without limit, no "
                          "duty hours); the work itself stays"),
    "no_classification_loss": ("classif.", "no classification marks and no sanitisation of imagery (no INTREP)"),
    "no_meeting_wait": ("meetings", "no link waits for its meeting (briefings, summaries, requests)"),
    "acting_on_arrival": ("acting", "the consumer acts on everything when it comes (no briefing or night wait)"),
}
"""Stage of the chain -> (short column name, what it is like when perfect): the stages
of ``reporting-sim ceilings``, in the order a report meets them."""

CEILINGS = {
    "ceiling": "the higher of today's in-time share and the share with this stage alone perfect (shelf lives "
               "unchanged): the most that stage can give",
    "as_run": "the in-time share with this stage alone perfect, side effects and all (more reports can swamp a "
              "cell downstream)",
    "method": "ledger: exact, from today's runs (the share known within the shelf life); rerun: the scenario "
              "with the stage perfect, run with the same seeds (common random numbers)",
    "waterfall": "the stages made perfect one after another, in the order a report meets them, each step never "
                 "below the one before: what each stage costs given those before it",
}
"""What the numbers of ``reporting-sim ceilings`` mean."""

PATTERN_TERMS: dict[str, tuple[str, str]] = {
    "reach": (SHARE, "of the events of interest to the consumer that the source (a collector, or any collector "
              "with that tag) observed, the share that reached the consumer by the end of the run"),
    "via": (SHARE, "of the events of interest to the consumer (of the family shown) that reached it, the share "
            "whose first arrival came from the node named last"),
    "written_per_patrol": (COUNT, "written reports the collector released per patrol it sent out, over the run "
                           "(a branch-culture unit: every report; a commander-centric one: its written reports "
                           "to the intelligence branch, not the word to its chief)"),
    "reports_per_patrol": (COUNT, "reports the collector released per patrol it sent out, over the run"),
    "observed_per_week": (COUNT, "events the collector observed per week of the run"),
    "reports_per_week": (COUNT, "reports the collector released per week of the run"),
    "written_per_week": (COUNT, "written reports the collector released per week of the run"),
    "weekly in_time": (SHARE, "week by week: of the week's events of that family in the consumer's area of "
                       "interest, the share it could act on in time (complete weeks only)"),
    "weekly duplication.share": (SHARE, "week by week: of the week's events some analysis cell worked, the share "
                                 "analysed independently by more than one"),
    "weekly observed": (COUNT, "week by week: the week's events the collector observed"),
}
"""The measures the study's patterns use beyond the flat metrics (``CONSUMER.reach.SOURCE``,
``CONSUMER[.FAMILY].via.NODE``, ``collector.NAME.MEASURE``) and their weekly series."""

SHORT = {"in_time": "in time", "late": "late", "not_observed": "not obs", "not_reported": "not rep",
         "withheld": "withheld", "not_shared": "not shrd", "in_flight": "in flight"}
"""The outcome columns' short headings in the terminal's tables."""

FAMILY_TEXT = {"current": "current intelligence", "long_term": "long-term (X-PMESII) intelligence"}

SINGLE_RUN_CAVEAT = ("One run is one draw of chance: these are point estimates with no interval. Before "
                     "drawing a conclusion, run `reporting-sim compare BASE VARIANT` (paired replications, "
                     "95% intervals).")

UNITS_NOTE = "Shares are in percent (%), times in hours (h); differences of shares are in percentage points (pp)."
from ..metric_names import JSON_UNITS  # noqa: E402  (what the JSON says of its numbers: fractions)
TEXT_UNITS = ("shares in percent (%), differences of shares in percentage points (pp), times in hours (h); "
              "--json keeps shares as fractions 0..1")
# --------------------------------------------------------------------------------------


def _measure(name: str) -> str:
    """The measure part of a flat metric name."""
    if name.startswith("duplication."):
        return name
    if name.startswith("cell."):
        return name.rsplit(".", 1)[-1]
    return name.rsplit(".", 1)[-1]


def unit(name: str) -> str:
    """``%``, ``h`` or ``""`` for a flat metric name (or a bare measure)."""
    term = TERMS.get(_measure(name))
    if term is not None:
        return term[0]
    return HOURS if name.endswith("_h") else COUNT


def is_share(name: str) -> bool:
    return unit(name) == SHARE


def define_pattern(name: str) -> str | None:
    """The definition of a pattern measure (``None`` when ``name`` is not one)."""
    parts = name.split(".")
    if parts[0] == "collector" and len(parts) == 3 and parts[2] in PATTERN_TERMS:
        return f"collector {parts[1]}: {PATTERN_TERMS[parts[2]][1]}"
    if len(parts) >= 3 and parts[-2] in ("reach", "via"):
        return _channel_pattern(parts)
    return None


def _channel_pattern(parts: list[str]) -> str:
    """The definition of a consumer's ``reach`` or ``via`` measure (over one family when named)."""
    fam = f" ({FAMILY_TEXT[parts[1]]})" if len(parts) == 4 and parts[1] in FAMILY_TEXT else ""
    return f"{parts[0]}{fam}, {parts[-2]} {parts[-1]}: {PATTERN_TERMS[parts[-2]][1]}"


def define(name: str) -> str:
    """One line saying what flat metric ``name`` measures, e.g.
    ``force_commander.current.in_time``."""
    pattern = define_pattern(name)
    if pattern is not None:
        return pattern
    m = _measure(name)
    term = TERMS.get(m)
    if term is None:
        return "(no definition recorded)"
    return _scoped_definition(name, m, term[1])


def _scoped_definition(name: str, m: str, text: str) -> str:
    """Measure ``m``'s definition ``text`` said of whom ``name`` is about (a cell, a consumer, or none)."""
    if name.startswith("cell."):
        return f"cell {name.split('.')[1]}: {text}"
    if m == name or name.startswith("duplication."):
        return text
    return f"{_whose(name)}: {text}"


def _whose(name: str) -> str:
    """Whose measure ``name`` is and over which family, e.g. ``jmac (long-term ...)``."""
    parts = name.split(".")
    fam = parts[1] if len(parts) == 3 else None
    scope = f" ({FAMILY_TEXT[fam]})" if fam in FAMILY_TEXT else " (all families)"
    return f"{parts[0]}{scope}"


def show(value, name: str, digits: int = 1) -> str:
    """A value in the unit convention: shares as percent, times as hours."""
    if _none_or_nan(value):
        return "-"
    if is_share(name):
        return f"{100 * value:.{digits}f}"
    return f"{value:.{digits}f}"


# -- the one rule for numbers a person reads: shares in percent, their differences in
# -- percentage points, times in hours, counts as whole numbers when they are whole

def _scaled(value, name: str, digits: int, sign: bool) -> str:
    """``value`` of metric ``name`` in its unit (shares in percent), ``-`` for none."""
    if _none_or_nan(value):
        return "-"
    x = 100 * value if is_share(name) else value
    if round(x, digits) == 0:
        return f"{0:.{digits}f}"  # no "-0.0", no sign on nothing
    if unit(name) == COUNT and float(x).is_integer():
        return format(int(x), _spec("d", sign))
    return format(x, _spec(f".{digits}f", sign))


def _none_or_nan(value) -> bool:
    """Whether ``value`` is missing: ``None`` or a float NaN."""
    return value is None or (isinstance(value, float) and value != value)


def _spec(spec: str, sign: bool) -> str:
    """The format ``spec``, with a sign always shown when ``sign``."""
    return ("+" if sign else "") + spec


def number(value, name: str, digits: int = 1) -> str:
    """A value of metric ``name`` as a person reads it: ``11.0%``, ``14.5 h``, ``394``."""
    text = _scaled(value, name, digits, False)
    return text if text == "-" else text + {SHARE: "%", HOURS: " h", COUNT: ""}[unit(name)]


def change(value, name: str, digits: int = 1) -> str:
    """A difference of metric ``name``: ``+1.2 pp`` (percentage points), ``-0.5 h``, ``+3``."""
    text = _scaled(value, name, digits, True)
    return text if text == "-" else text + {SHARE: " pp", HOURS: " h", COUNT: ""}[unit(name)]


def interval(lo, hi, name: str, diff: bool = False, digits: int = 1) -> str:
    """A 95% interval in the same scale as :func:`number` (or :func:`change` with
    ``diff``), without the unit: ``[9.8, 12.2]``, ``[+0.8, +1.5]``."""
    return f"[{_scaled(lo, name, digits, diff)}, {_scaled(hi, name, digits, diff)}]"


MEASURE_WORDS = {"in_time": "in time", "late": "late", "latency_p50": "median hours to know",
                 "latency_p90": "90th-percentile hours to know", "act_latency_p50": "median hours to act",
                 "act_latency_p90": "90th-percentile hours to act", "fidelity": "kept precise",
                 "within_planning": "within the planning horizon"}


def plain(name: str, labels: dict | None = None) -> str:
    """A flat metric name in words: ``force_commander.current.in_time`` is "the force
    commander's current intelligence in time" (a consumer's ``label`` when given)."""
    parts = name.split(".")
    if len(parts) < 2 or name.startswith(("cell.", "duplication.")):
        return name.replace("_", " ")
    who = (labels or {}).get(parts[0]) or parts[0].replace("_", " ")
    what = MEASURE_WORDS.get(parts[-1], parts[-1].replace("_", " "))
    return f"the {who}'s {_family_words(parts)}intelligence {what}"


def _family_words(parts: list[str]) -> str:
    """The family of a consumer's measure with a space after it (``long-term ``), or nothing."""
    fam = {"current": "current", "long_term": "long-term"}.get(parts[1], "") if len(parts) == 3 else ""
    return fam + " " if fam else ""


def kinds_lines(kinds: dict) -> list[str]:
    """One line per kind of event: its family, shelf life and where that number comes
    from. ``kinds``: name -> ``{"family", "shelf_life_h", "provenance"}``."""
    out = []
    for name, k in kinds.items():
        tag = k.get("provenance") or "no note"
        out.append(f"{name} ({k['family'].replace('_', '-')}): in time means within {k['shelf_life_h']:g} h "
                   f"of the event [{tag}]")
    return out


def kinds_info(sc, source_text: str | None = None) -> dict[str, dict]:
    """Each kind's family, shelf life and provenance note (read from the scenario's
    source text when given: the comment on its ``shelf_life_h`` line)."""
    notes = _shelf_life_notes(source_text) if source_text else {}
    return {name: {"family": k.family, "shelf_life_h": float(k.shelf_life_h), "provenance": notes.get(name, "")}
            for name, k in sc.kinds.items()}


def _shelf_life_notes(source_text: str) -> dict[str, str]:
    """Kind -> the provenance note on its ``shelf_life_h`` line in the scenario's source text."""
    from ..scenario.provenance import notes as _notes

    notes: dict[str, str] = {}
    for item in _notes(source_text):
        p = item["path"]
        if p.startswith("kinds.") and p.endswith(".shelf_life_h"):
            notes[p.split(".")[1]] = item["note"]
    return notes


def min_effect_text(name: str) -> str:
    """The minimum effect worth counting on a metric (or measure), in its unit, with
    its reason: ``minimum effect worth counting: 1 pp (...)``; '' when none is set
    (the numbers sit beside the better direction in :mod:`reporting_sim.metric_names`,
    where the studies read them)."""
    from ..metric_names import MIN_EFFECT

    entry = MIN_EFFECT.get(_measure(name).rsplit(".", 1)[-1])
    if entry is None:
        return ""
    value, reason = entry
    amount = f"{100 * value:g} pp" if is_share(name) else f"{value:g} {unit(name) or ''}".strip()
    return f"minimum effect worth counting: {amount} ({reason})"


def glossary_lines() -> list[str]:
    """The whole glossary, one ``name (unit): definition`` line per measure (with the
    minimum effect worth counting, where a measure can be judged)."""
    return [_glossary_line(name, u, text) for name, (u, text) in TERMS.items()]


def _glossary_line(name: str, u: str, text: str) -> str:
    """One measure of the glossary: name, unit, definition, and its minimum effect where it has one."""
    least = min_effect_text(name)
    return f"{name}{' (' + u + ')' if u else ''}: {text}" + (f"; {least}" if least else "")


OUTCOME_COLUMNS = ("in_time", "late", "not_observed", "not_reported", "withheld", "not_shared", "in_flight",
                   "latency_p50", "act_latency_p50", "act_latency_p90", "within_planning")


def definitions() -> dict[str, str]:
    """Measure -> one-line definition (with its unit), for JSON outputs."""
    word = {SHARE: "[share: a fraction 0..1 in JSON, shown as %] ", HOURS: "[hours] ", COUNT: "[count] "}
    return {name: word[u] + text + (f"; {min_effect_text(name)}" if min_effect_text(name) else "")
            for name, (u, text) in TERMS.items()}


def run_notes(kinds: dict) -> str:
    """The block printed under a single run's table (and kept in ``summary.txt``):
    what each column means, each kind's shelf life with its provenance, the caveat."""
    short = {**SHORT, "latency_p50": "know p50", "act_latency_p50": "act p50",
             "act_latency_p90": "act p90", "within_planning": "plan %"}
    lines = ["What the numbers mean (" + UNITS_NOTE[0].lower() + UNITS_NOTE[1:] + ")"]
    lines += [_column_line(name, short.get(name, name)) for name in OUTCOME_COLUMNS]
    lines.append(f"  bypass rate: {TERMS['bypass_rate'][1]}")
    lines.append(f"  bypass before briefing: {TERMS['bypass_before_briefing'][1]}")
    lines.append(f"  duplication: {TERMS['duplication.share'][1]}")
    lines.append(f"  util %: {TERMS['utilisation'][1]}")
    if kinds:
        lines.append("When \"in time\" ends: each kind's shelf life (a setting of the scenario) and where it comes from")
        lines += [_shelf_life_line(name, k) for name, k in kinds.items()]
    lines.append("Caveat: " + SINGLE_RUN_CAVEAT)
    return "\n".join(lines)


def _column_line(name: str, head: str) -> str:
    """What one column of the run's table means (with its heading when that differs from the name)."""
    alias = f" ({head})" if head != name.replace("_", " ") else ""
    return f"  {name.replace('_', ' ')}{alias}: {TERMS[name][1]}"


def _shelf_life_line(name: str, k: dict) -> str:
    """One kind's shelf life and its provenance note (cut to 80 characters)."""
    note = k.get("provenance") or "no provenance note"
    note = note if len(note) <= 80 else note[:77] + "..."
    return f"  {name} ({k['family'].replace('_', '-')}): {k['shelf_life_h']:g} h  {note}"
