"""The scenario: a force structure as data, parsed and validated before any simulation.

A scenario file (TOML) describes, in hours and days:

* ``[scenario]``: name, description, start date, default horizon (``days``) and seed;
* ``[kinds.*]``: the kinds of event, each in a *family* (``current`` intelligence that
  goes stale within hours, or ``long_term`` X-PMESII intelligence) with a shelf life;
* ``[sources.*]``: where ground-truth events happen: a sector, a Poisson rate per day
  and the mix of kinds;
* ``[collectors.*]``: units that observe events in their sectors (patrol rhythm, chance
  to observe, chance and delay to report) and release reports;
* ``[cells.*]``: staff cells: a FIFO inbox served by a number of analysts, with a work
  time, optional duty hours and an optional inbox limit;
* ``[commanders.*]``: people who hear and pass word on at once (no queue);
* ``[meetings.*]``: recurring meetings (the morning briefing, a weekly board): a link
  can hold reports until the next one, and a consumer can act only at one;
* ``[[links]]``: who passes what to whom, with what chance and transit delay;
* ``[metrics]``: which consumer and which branch cell the bypass rate compares;
* ``[uncertainties]``: the plausible range of each assumption, by dotted path (used by
  ``reporting-sim robustness``; see :mod:`.uncertainties`).

Collectors, cells and commanders are the *nodes*; any node can be a *consumer*, whose
first arrival of each event is recorded in the outcome ledger. :func:`load` reads a file
(or a built-in scenario by name) into an immutable :class:`Scenario`; field errors come
first (from the schema), then graph errors (unknown nodes, impossible cycles), each as
one :class:`~reporting_sim.errors.ScenarioError` line naming the file and the field.

This module is the scenario's one public face: import from here. The work is in three
modules, one concept each, none of which knows SimPy:

* :mod:`.scenario_schema`: the pydantic models of the tables, and :class:`Scenario`;
* :mod:`.scenario_loading`: files, built-ins and variants read, parsed and validated
  (:func:`load`, :func:`parse`), every failure one line;
* :mod:`.scenario_checks`: the checks that need the whole scenario (:func:`check_graph`:
  names a field refers to, links, boards, metrics, cycles).
"""

from __future__ import annotations

from ..errors import ScenarioError
from .checks import MAX_CYCLE_HOPS, check_graph
from .loading import (
    BUILTIN_PACKAGE,
    builtin_names,
    builtin_text,
    first_error,
    load,
    load_data,
    parse,
    path_exists,
    read_file,
    read_toml_text,
    variant_base,
)
from .schema import (
    CHANNELS,
    COPING,
    FAMILIES,
    MIN_MEETING_EVERY_H,
    ON_ARRIVAL,
    Accreditation,
    Acting,
    Background,
    Board,
    Cell,
    Classify,
    Collector,
    Commander,
    Duty,
    Family,
    FrozenDict,
    Header,
    Hoard,
    HourOfDay,
    Interest,
    Kind,
    Link,
    Mechanisms,
    Meeting,
    Metrics,
    Name,
    NonNeg,
    Patrols,
    Pool,
    Positive,
    Prob,
    Rotation,
    Scenario,
    Seq,
    Source,
    Switch,
    Tasking,
    Uncertainty,
    Written,
)

__all__ = [
    "BUILTIN_PACKAGE", "CHANNELS", "COPING", "FAMILIES", "MAX_CYCLE_HOPS", "MIN_MEETING_EVERY_H", "ON_ARRIVAL",
    "Accreditation", "Acting", "Background", "Board", "Cell", "Classify", "Collector", "Commander", "Duty", "Family",
    "FrozenDict", "Header", "Hoard", "HourOfDay", "Interest", "Kind", "Link", "Mechanisms", "Meeting", "Metrics",
    "Name", "NonNeg", "Patrols", "Pool", "Positive", "Prob", "Rotation", "Scenario", "ScenarioError", "Seq",
    "Source", "Switch", "Tasking", "Uncertainty", "Written",
    "builtin_names", "builtin_text", "check_graph", "first_error", "load", "load_data", "parse", "path_exists", "read_file",
    "read_toml_text", "variant_base",
]
