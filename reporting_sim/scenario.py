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
This module knows nothing of SimPy.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import stat
import tomllib
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WrapSerializer,
    model_validator,
)

from . import limits
from .distributions import Distribution, Fixed
from .errors import ScenarioError

Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")]
Prob = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0, le=1e6)]
Positive = Annotated[float, Field(gt=0, le=1e6)]
HourOfDay = Annotated[float, Field(ge=0, lt=24)]
Family = Literal["current", "long_term"]
FAMILIES: tuple[str, ...] = ("current", "long_term")


def Seq(item, min_length: int = 0):
    """A list in the file, an immutable tuple in memory."""
    return Annotated[tuple[item, ...], Field(strict=False, min_length=min_length)]


def _frozen(value: dict) -> MappingProxyType:
    return MappingProxyType(dict(value))


def _thaw(value, handler):
    return handler(dict(value))


def FrozenDict(key, val):
    """A read-only mapping field (``dict`` in the file, ``MappingProxyType`` in memory)."""
    return Annotated[dict[key, val], AfterValidator(_frozen), WrapSerializer(_thaw)]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True, defer_build=True
    )


class Header(_Strict):
    """``[scenario]``: identity, calendar and defaults of a run."""

    name: Name
    description: str = ""
    start_date: Annotated[_dt.date, Field(lt=_dt.date(9800, 1, 1))] = _dt.date(2015, 1, 1)  # + 36600 days fits the calendar
    days: Annotated[float, Field(gt=0, le=36600)] = 365.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0


class Kind(_Strict):
    """``[kinds.NAME]``: a kind of event and how long knowing of it stays useful."""

    family: Family
    shelf_life_h: Positive


class Source(_Strict):
    """``[sources.NAME]``: ground-truth events in one sector, a Poisson process."""

    sector: Name
    rate_per_day: Annotated[float, Field(ge=0, le=1e5)]
    mix: FrozenDict(Name, NonNeg)

    @model_validator(mode="after")
    def _mix_sums_to_one(self):
        total = sum(self.mix.values())
        if not self.mix or not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"mix: shares of kinds must sum to 1 (they sum to {total:g})")
        return self


class Patrols(_Strict):
    """A collector's patrol rhythm: patrols leave every ``24 / per_day`` hours."""

    per_day: Annotated[float, Field(gt=0, le=1440)]
    duration_h: NonNeg
    first_h: HourOfDay = 0.0

    @model_validator(mode="after")
    def _fits(self):
        if self.duration_h > 24 / self.per_day:
            raise ValueError("duration_h: a patrol must end before the next one leaves "
                             f"(at most {24 / self.per_day:g} h at {self.per_day:g} per day)")
        return self


COPING = ("normalisation", "voltaires_garden", "building_bridges", "othering")


class Classify(_Strict):
    """Shares of the reports a node passes on that it marks ``group`` (releasable only
    to its own trust groups) or ``unit`` (kept inside its organisation); the rest stays
    releasable to the whole mission. A mark never goes down again."""

    group: Prob = 0.0
    unit: Prob = 0.0

    @model_validator(mode="after")
    def _sum(self):
        if self.group + self.unit > 1 + 1e-9:
            raise ValueError("group + unit: shares must sum to at most 1")
        return self


class Hoard(_Strict):
    """Competition: reports for a rival (``rivals``) are held back until the holder's
    next ``until`` meeting (it wants to be first with the leadership), with chance
    ``p_hold``, or never passed on, with chance ``p_never``."""

    rivals: Seq(Name, 1)
    until: Name
    p_hold: Prob
    p_never: Prob = 0.0

    @model_validator(mode="after")
    def _sum(self):
        if self.p_hold + self.p_never > 1 + 1e-9:
            raise ValueError("p_hold + p_never: must sum to at most 1")
        return self


class Interest(_Strict):
    """A consumer's area of interest: the events its outcomes are measured over (the
    sectors, kinds and families it is responsible for; each left out means all)."""

    sectors: Optional[Seq(Name, 1)] = None
    kinds: Optional[Seq(Name, 1)] = None
    families: Optional[Seq(Family, 1)] = None

    def describe(self) -> str:
        parts = [f"{what}: {', '.join(v)}" for what, v in
                 (("sectors", self.sectors), ("kinds", self.kinds), ("families", self.families)) if v]
        return "; ".join(parts) or "all events"


class _Node(_Strict):
    """Fields every node has: how it forwards, whether it is a consumer (and over which
    events it is measured), whom it trusts and how it copes."""

    routing: Literal["each", "choose"] = "each"
    dedupe: bool = True
    consumer: bool = False
    interest: Optional[Interest] = None
    acts_at: Optional[Name] = None
    groups: Seq(Name) = ()
    org: Optional[Name] = None
    coping: Seq(Literal[COPING]) = ()
    classify: Optional[Classify] = None
    intrep_h: Optional[Distribution] = None
    hoard: Optional[Hoard] = None
    analysis: bool = False
    label: Optional[Annotated[str, Field(min_length=1, max_length=80)]] = None
    """Display name in tables, figures and the lab (the node's name when absent)."""

    @model_validator(mode="after")
    def _coping_consistent(self):
        if "normalisation" in self.coping and len(self.coping) > 1:
            raise ValueError("coping: normalisation (follow the formal structure) excludes the others")
        if len(set(self.coping)) != len(self.coping):
            raise ValueError("coping: a strategy is listed twice")
        return self


class Accreditation(_Strict):
    """A platform contributes nothing until the UN has accredited it: from
    ``deployed_day`` (may be before the start) for ``duration_days`` (drawn once a run)."""

    deployed_day: Annotated[float, Field(ge=-3650, le=36600)]
    duration_days: Distribution


class Tasking(_Strict):
    """Tasks reach the unit at random, ``per_week`` on average; for ``window_h`` after
    a task it writes reports with chance ``p_written`` (and observes with chance
    ``p_observe``, if given) instead of its untasked chances."""

    per_week: Annotated[float, Field(ge=0, le=1000)]
    window_h: Positive
    p_written: Prob
    p_observe: Optional[Prob] = None


class Rotation(_Strict):
    """Units rotate: every ``every_days`` from ``first_day`` a new contingent arrives
    and, for ``learning_days``, observes with chance ``p_observe_new`` (it does not yet
    know the area) instead of ``p_observe``."""

    every_days: Positive
    first_day: Annotated[float, Field(ge=-36600, le=36600)]
    learning_days: NonNeg
    p_observe_new: Prob


class Written(_Strict):
    """A commander-centric unit's written report, beside the word its patrols give
    their chief: sent only on links with ``channel = "written"``."""

    p: Prob
    delay_h: Distribution
    after_patrol: bool = False


class Collector(_Node):
    """``[collectors.NAME]``: a unit that observes events and releases reports."""

    culture: Literal["branch", "commander"]
    sectors: Seq(Name, 1)
    kinds: Optional[Seq(Name, 1)] = None
    tags: Seq(Name) = ()
    watch: Literal["continuous", "patrols"]
    patrols: Optional[Patrols] = None
    p_observe: Prob
    p_report: Prob
    report_delay_h: Distribution
    report_after_patrol: bool = False
    written: Optional[Written] = None
    precision: Prob = 1.0
    imagery: bool = False
    imagery_channel: Optional[Name] = None
    accreditation: Optional[Accreditation] = None
    tasking: Optional[Tasking] = None
    literacy: Prob = 1.0
    dictation_h: Optional[Distribution] = None
    formats: bool = False
    pool: Optional[Name] = None
    rotation: Optional[Rotation] = None

    @model_validator(mode="after")
    def _watch_needs_patrols(self):
        if self.watch == "patrols" and self.patrols is None:
            raise ValueError('patrols: watch = "patrols" needs a [patrols] table')
        if self.watch == "continuous" and (self.patrols is not None or self.report_after_patrol
                                           or self.pool is not None
                                           or (self.written is not None and self.written.after_patrol)):
            raise ValueError('watch: "continuous" takes no patrols, pool or after-patrol reporting')
        if self.imagery and self.imagery_channel is None:
            raise ValueError("imagery_channel: imagery needs the trust group it may travel in")
        if self.literacy < 1 and self.dictation_h is None:
            raise ValueError("dictation_h: needed when literacy < 1 (the delay when the patrol cannot write)")
        if self.tasking is not None and self.written is None and self.culture == "commander":
            raise ValueError("tasking: a commander-centric unit's tasking acts on its written reports; add [written]")
        return self


class Duty(_Strict):
    """Daily duty hours of a staff cell; outside them nothing new is started."""

    start_h: HourOfDay
    end_h: HourOfDay

    @model_validator(mode="after")
    def _not_empty(self):
        if self.start_h == self.end_h:
            raise ValueError("end_h: duty hours must not be empty (start_h == end_h)")
        return self


class Background(_Strict):
    """A staff cell's routine work besides incoming reports (its own products, requests,
    administration): tasks arrive as a Poisson stream, ``per_day`` on average, each
    taking ``work_h`` of one analyst, in the same inbox as the reports."""

    per_day: Annotated[float, Field(ge=0, le=1e5)]
    work_h: Distribution


class Cell(_Node):
    """``[cells.NAME]``: a staff cell, a FIFO inbox served by ``analysts`` in parallel."""

    analysts: Annotated[int, Field(ge=0, le=100000)]
    work_h: Distribution
    inbox: Optional[Annotated[int, Field(ge=0, le=10**9)]] = None
    duty: Optional[Duty] = None
    current_pull: Optional[Prob] = None
    background: Optional[Background] = None


class Commander(_Node):
    """``[commanders.NAME]``: a commander who hears and passes word on (no queue)."""


MIN_MEETING_EVERY_H = 0.01


def _not_absurdly_often(every_h: float) -> float:
    # a meeting every few microseconds is a typing error, and a board meeting that
    # often would run practically for ever (1e-7 h: 1.2e8 board meetings in 5 days)
    if every_h < MIN_MEETING_EVERY_H:
        raise ValueError(f"a meeting is held at most every {MIN_MEETING_EVERY_H:g} h (36 s): "
                         f"every_h must be at least {MIN_MEETING_EVERY_H:g}")
    return every_h


class Meeting(_Strict):
    """``[meetings.NAME]``: a meeting held every ``every_h`` hours from ``from_day``."""

    first_h: HourOfDay
    every_h: Annotated[float, Field(gt=0, le=1e6), AfterValidator(_not_absurdly_often)]
    from_day: NonNeg = 0.0
    until_day: Optional[NonNeg] = None

    def next_at(self, t: float) -> float:
        """The first meeting at or after hour ``t`` (``inf`` when none is left, or when
        ``t`` itself is ``inf``: after a wait for a meeting that never comes)."""
        if t == math.inf:
            return math.inf
        start = self.from_day * 24 + self.first_h
        if t <= start:
            k = 0
        else:
            k = math.ceil((t - start) / self.every_h - 1e-12)
        at = max(start + k * self.every_h, t)  # never before t, whatever the rounding
        if self.until_day is not None and at > self.until_day * 24:
            return math.inf
        return at

    def next_at_array(self, t):
        """:meth:`next_at` over a numpy array (``nan`` stays ``nan``)."""
        import numpy as np

        t = np.asarray(t, dtype=float)
        start = self.from_day * 24 + self.first_h
        with np.errstate(invalid="ignore"):
            k = np.maximum(np.ceil((t - start) / self.every_h - 1e-12), 0)
            at = np.maximum(start + k * self.every_h, t)
            if self.until_day is not None:
                at = np.where(at > self.until_day * 24, np.inf, at)
        return np.where(np.isnan(t), np.nan, at)


class Link(_Strict):
    """``[[links]]``: ``from`` passes reports to ``to`` with chance ``p`` and a delay."""

    src: Name = Field(alias="from")
    to: Name
    p: Prob = 1.0
    transit_h: Distribution = Fixed(value=0.0)
    meeting: Optional[Name] = None
    families: Optional[Seq(Family, 1)] = None
    kinds: Optional[Seq(Name, 1)] = None
    channel: Literal["report", "written"] = "report"
    informal: bool = False
    task: bool = False
    pull: bool = False
    when: Optional[FrozenDict(Name, Name)] = None


class Switch(_Strict):
    """``[switches.NAME]``: a structural choice; links with ``when = { NAME = ... }``
    exist only when it is set to that value."""

    value: Name
    choices: Seq(Name, 1)

    @model_validator(mode="after")
    def _in_choices(self):
        if self.value not in self.choices:
            raise ValueError(f"value: must be one of {list(self.choices)}")
        return self


class Pool(_Strict):
    """``[pools.NAME]``: people or vehicles a patrol needs (an escort, say)."""

    capacity: Annotated[int, Field(ge=0, le=100000)]


class Board(_Strict):
    """``[boards.NAME]``: a coordination board: at each ``meeting`` its members pass
    each other what they learned since the last one and are willing to share (it
    shares; it cannot task). Each member brings a given item with chance ``p_bring``
    (it judges what the others need); competition, classification and othering still
    apply. A member told of an event that another member has already analysed works it
    again itself with chance ``p_rework`` (duplication of effort), else takes note of
    it without analysing it."""

    meeting: Name
    members: Seq(Name, 2)
    p_bring: Prob = 1.0
    p_rework: Prob = 1.0


class Mechanisms(_Strict):
    """``[mechanisms]``: switch whole mechanisms off (all on by default)."""

    classification: bool = True
    sanitisation: bool = True
    accreditation: bool = True
    tasking: bool = True
    competition: bool = True
    boards: bool = True
    coping: bool = True
    escorts: bool = True
    pull: bool = True
    literacy: bool = True
    rotations: bool = True


class Metrics(_Strict):
    """``[metrics]``: the bypass rate (of the current events ``bypass_consumer`` knew
    of, the share it heard first through a commander before ``bypass_branch`` received
    any report of them), the planning horizon over which long-term intelligence
    is judged (``within_planning``), and the ``headline`` metrics comparison tables
    and forest plots show (flat names; empty: see :func:`reporting_sim.metrics.headline`)."""

    bypass_consumer: Optional[Name] = None
    bypass_branch: Optional[Name] = None
    planning_horizon_h: Positive = 168.0
    headline: Seq(Annotated[str, Field(min_length=1, max_length=300)]) = ()


class Uncertainty(_Strict):
    """``[uncertainties."PATH"]``: the plausible range of the setting at ``PATH`` (the
    dotted paths sweeps use, e.g. ``cells.u2.analysts``, ``links[u2->asifu].p``): ``low``
    and ``high`` (with ``distribution`` and, for a triangle, its ``mode``), or ``values``
    (a switch or a choice), or ``fixed = true``; ``also`` names settings that take the
    same value in every world; ``reason`` says why. Checked further by
    :func:`reporting_sim.uncertainties.check` (paths exist, ends within the field's bounds)."""

    low: Optional[float] = None
    high: Optional[float] = None
    distribution: Literal["uniform", "triangular", "loguniform"] = "uniform"
    mode: Optional[float] = None
    values: Optional[Annotated[tuple[Any, ...], Field(strict=False, min_length=2)]] = None
    also: Seq(Annotated[str, Field(min_length=1, max_length=300)]) = ()
    fixed: bool = False
    reason: Annotated[str, Field(min_length=3, max_length=2000)]

    @model_validator(mode="after")
    def _one_form(self):
        return _check_uncertainty_form(self)


def _check_uncertainty_form(u: "Uncertainty") -> "Uncertainty":
    ranged = u.low is not None or u.high is not None
    if sum([ranged, u.values is not None, u.fixed]) != 1:
        raise ValueError("give low and high, or values = [...], or fixed = true (exactly one)")
    if ranged:
        if u.low is None or u.high is None:
            raise ValueError("low and high go together")
        if not u.low < u.high:
            raise ValueError(f"low must be less than high (low = {u.low:g}, high = {u.high:g}; "
                             "a number that does not vary is fixed = true)")
        if u.distribution == "triangular" and (u.mode is None or not u.low <= u.mode <= u.high):
            raise ValueError("mode: a triangular distribution needs low <= mode <= high")
        if u.distribution == "loguniform" and u.low <= 0:
            raise ValueError("low: a loguniform distribution needs low > 0")
    if u.mode is not None and u.distribution != "triangular":
        raise ValueError('mode: only for distribution = "triangular"')
    if u.values is not None and len(set(map(repr, u.values))) != len(u.values):
        raise ValueError("values: a value is listed twice")
    return u


class Scenario(_Strict):
    """A whole scenario, immutable once validated. Build it with :func:`load`."""

    scenario: Header
    kinds: FrozenDict(Name, Kind)
    sources: FrozenDict(Name, Source)
    collectors: FrozenDict(Name, Collector)
    cells: FrozenDict(Name, Cell) = Field(default_factory=dict)
    commanders: FrozenDict(Name, Commander) = Field(default_factory=dict)
    meetings: FrozenDict(Name, Meeting) = Field(default_factory=dict)
    links: Seq(Link) = ()
    switches: FrozenDict(Name, Switch) = Field(default_factory=dict)
    pools: FrozenDict(Name, Pool) = Field(default_factory=dict)
    boards: FrozenDict(Name, Board) = Field(default_factory=dict)
    mechanisms: Mechanisms = Mechanisms()
    metrics: Metrics = Metrics()
    uncertainties: FrozenDict(Annotated[str, Field(min_length=1, max_length=300)], Uncertainty) = Field(
        default_factory=dict)

    # -- derived views (no state of their own) -------------------------------------
    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def nodes(self) -> dict[str, _Node]:
        """Every node by name: collectors, then cells, then commanders."""
        return {**self.collectors, **self.cells, **self.commanders}

    @property
    def consumers(self) -> list[str]:
        """Names of the consumer nodes, in file order (collectors, cells, commanders)."""
        return [n for n, node in self.nodes.items() if node.consumer]

    @property
    def sectors(self) -> list[str]:
        return list(dict.fromkeys(s.sector for s in self.sources.values()))

    def link_active(self, link: "Link") -> bool:
        """Whether ``link`` exists under the scenario's switches."""
        return link.when is None or all(self.switches[k].value == v for k, v in link.when.items())

    @property
    def active_links(self) -> list["Link"]:
        """The links that exist under the current switches, in file order."""
        return [link for link in self.links if self.link_active(link)]

    def node_type(self, name: str) -> str:
        for kind in ("collectors", "cells", "commanders"):
            if name in getattr(self, kind):
                return kind[:-1]
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the file's own shape (aliases, no empty fields): this one world,
        without the ``[uncertainties]`` (ranges that describe other worlds)."""
        return self.model_dump(mode="python", by_alias=True, exclude_none=True, exclude={"uncertainties"})

    def to_toml(self) -> str:
        """The resolved scenario as TOML: every default written out (its
        ``[uncertainties]`` too)."""
        import tomli_w

        return tomli_w.dumps(self.model_dump(mode="python", by_alias=True, exclude_none=True))


# --------------------------------------------------------------------------- loading

BUILTIN_PACKAGE = "reporting_sim.scenarios"


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package."""
    files = resources.files(BUILTIN_PACKAGE).iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".toml"))


def builtin_text(name: str) -> str:
    """The TOML text of built-in scenario ``name``."""
    if name not in builtin_names():
        raise ScenarioError("", "scenario", f"no built-in scenario {name!r} "
                            f"(built-ins: {', '.join(builtin_names())})")
    return resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


def read_toml_text(text: str | bytes, source: str) -> dict:
    """Parse TOML text, turning every failure into a one-line :class:`ScenarioError`."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(source, "file", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    limits.check_toml_text(text, source)  # bound the parser's work before it starts
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "file", f"not valid TOML: {exc}")


def read_file(path: str | Path) -> dict:
    """Read a TOML file into plain data, with clear errors for missing or bad files.
    Only regular files are read: a device (``/dev/zero``), a FIFO or a socket is
    refused without reading from it, so a wrong path cannot block or exhaust memory."""
    path = Path(path)
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(str(path), "file", "is a folder, not a scenario file")
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(str(path), "file", "is not a regular file (a device, pipe or socket)")
        if st.st_size > limits.limit("FILE_BYTES"):
            raise limits.too_much(str(path), "file", "FILE_BYTES", st.st_size)
        with path.open("rb") as fh:
            raw = fh.read(limits.limit("FILE_BYTES") + 1)
    except FileNotFoundError:
        raise ScenarioError(str(path), "file", "no such file")
    except IsADirectoryError:
        raise ScenarioError(str(path), "file", "is a folder, not a scenario file")
    except OSError as exc:
        raise ScenarioError(str(path), "file", f"cannot be read ({exc.strerror or exc})")
    if len(raw) > limits.limit("FILE_BYTES"):
        raise limits.too_much(str(path), "file", "FILE_BYTES", f"{len(raw)}+")
    return read_toml_text(raw, str(path))


def _loc_to_field(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union", "json-or-python")) or part in (
            "fixed", "exponential", "uniform", "triangular", "lognormal", "gamma"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _first_error(exc: ValidationError, source: str) -> ScenarioError:
    err = exc.errors(include_url=False)[0]
    field = _loc_to_field(err["loc"])
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif err["type"] == "extra_forbidden":
        msg = "unknown key (not part of the scenario format; check the spelling)"
    elif err["type"] == "missing":
        msg = "required but missing"
    else:
        msg = msg[0].lower() + msg[1:]
    if "input" in err and err["type"] not in ("missing", "extra_forbidden") and not isinstance(
        err["input"], (dict, list)
    ):
        msg += f" (got {err['input']!r})"
    more = len(exc.errors()) - 1
    if more:
        msg += f" [and {more} more problem{'s' if more > 1 else ''}]"
    return ScenarioError(source, field, msg)


def parse(data: dict, source: str = "<scenario>") -> Scenario:
    """Validate plain data (as read from TOML) into a :class:`Scenario`."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    check_graph(scenario, source)
    if scenario.uncertainties:
        from .uncertainties import check

        check(data, scenario, source)
    return scenario


def path_exists(path: Path, field: str = "file") -> bool:
    """Whether ``path`` names something (a dangling link too); a name the system
    cannot look up (a part over 255 bytes, say) is a one-line error, not a traceback."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError) as exc:
        raise ScenarioError(str(path), field, f"cannot be used ({getattr(exc, 'strerror', None) or exc})") from None
    return True


def _read_any(name_or_path: str, folder: Path | None = None) -> tuple[dict, str]:
    """Plain data and a source label for a file (relative to ``folder``) or a built-in.
    A bare built-in name (``minusma-2015``) always means the built-in, whatever lies in
    the working folder; a file of that name is read as ``./minusma-2015``."""
    name = str(name_or_path)
    if name in builtin_names():
        label = f"{name} (built-in)"
        return read_toml_text(builtin_text(name), label), label
    path = Path(name_or_path)
    if folder is not None and not path.is_absolute():
        path = folder / path  # relative to the variant's folder, never the working folder
    if path_exists(path) or path.suffix == ".toml":
        return read_file(path), str(path)
    raise ScenarioError(str(name_or_path), "scenario", "no such file and no built-in "
                        f"scenario of that name (built-ins: {', '.join(builtin_names())})")


def load_data(name_or_path: str | Path) -> tuple[dict, str]:
    """The plain scenario data of a file, built-in or variant (changes applied), and
    the source label that error messages use; not yet validated."""
    from . import variants

    data, source = _read_any(str(name_or_path))
    if variants.is_variant(data):
        data = variants.resolve(data, Path(source), _read_any)
        data.pop("uncertainties", None)  # a what-if is a point; robustness draws worlds from its base's
    return data, source


def load(name_or_path: str | Path) -> Scenario:
    """Load a scenario file, a what-if variant file, or a built-in scenario by name."""
    data, source = load_data(name_or_path)
    return parse(data, source)


# ------------------------------------------------------------------ graph checks

def _unknown(what: str, name: str, known) -> str:
    known = sorted(known)
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"unknown {what} {name!r} (known: {shown or 'none'})"


def check_graph(sc: Scenario, source: str) -> None:
    """Cross-reference checks that need the whole scenario (after field validation)."""
    def fail(field, msg):
        raise ScenarioError(source, field, msg)

    seen: dict[str, str] = {}
    for kind in ("collectors", "cells", "commanders"):
        for name in getattr(sc, kind):
            if name in seen:
                fail(f"{kind}.{name}", f"name already used by {seen[name]}.{name}; node names must be unique")
            seen[name] = kind
    nodes = sc.nodes
    for sname, src in sc.sources.items():
        for kind in src.mix:
            if kind not in sc.kinds:
                fail(f"sources.{sname}.mix.{kind}", _unknown("kind", kind, sc.kinds))
    sectors = set(sc.sectors)
    for cname, col in sc.collectors.items():
        for s in col.sectors:
            if s not in sectors:
                fail(f"collectors.{cname}.sectors", _unknown("sector", s, sectors))
        for k in col.kinds or ():
            if k not in sc.kinds:
                fail(f"collectors.{cname}.kinds", _unknown("kind", k, sc.kinds))
    for name, node in nodes.items():
        if node.interest is not None:
            where = f"{seen[name]}.{name}.interest"
            if not node.consumer:
                fail(where, "only a consumer (consumer = true) has an area of interest")
            for s in node.interest.sectors or ():
                if s not in sectors:
                    fail(f"{where}.sectors", _unknown("sector", s, sectors))
            for k in node.interest.kinds or ():
                if k not in sc.kinds:
                    fail(f"{where}.kinds", _unknown("kind", k, sc.kinds))
        if node.acts_at is not None:
            where = f"{seen[name]}.{name}.acts_at"
            if not node.consumer:
                fail(where, "only a consumer (consumer = true) acts at a meeting")
            if node.acts_at not in sc.meetings:
                fail(where, _unknown("meeting", node.acts_at, sc.meetings))
    out: dict[str, list[int]] = {n: [] for n in nodes}
    for i, link in enumerate(sc.links):
        if link.src not in nodes:
            fail(f"links[{i}].from", _unknown("node", link.src, nodes))
        if link.to not in nodes:
            fail(f"links[{i}].to", _unknown("node", link.to, nodes))
        if link.to in sc.collectors:
            fail(f"links[{i}].to", f"{link.to!r} is a collector; collectors observe events and do not receive reports")
        if link.to == link.src:
            fail(f"links[{i}].to", "a node cannot pass reports to itself")
        if link.meeting is not None and link.meeting not in sc.meetings:
            fail(f"links[{i}].meeting", _unknown("meeting", link.meeting, sc.meetings))
        for k in link.kinds or ():
            if k not in sc.kinds:
                fail(f"links[{i}].kinds", _unknown("kind", k, sc.kinds))
        for k, v in (link.when or {}).items():
            if k not in sc.switches:
                fail(f"links[{i}].when.{k}", _unknown("switch", k, sc.switches))
            if v not in sc.switches[k].choices:
                fail(f"links[{i}].when.{k}", f"{v!r} is not a choice of switch {k!r} "
                     f"(choices: {', '.join(sc.switches[k].choices)})")
        if sc.link_active(link):
            out[link.src].append(i)
    for name, idx in out.items():
        if nodes[name].routing == "choose":
            total = sum(sc.links[i].p for i in idx)
            if total > 1 + 1e-9:
                fail(f"{seen[name]}.{name}.routing", f'"choose" picks one link, so the p of its links must sum to at most 1 (they sum to {total:g})')
    for name, node in nodes.items():
        where = f"{seen[name]}.{name}"
        if node.hoard is not None:
            for r in node.hoard.rivals:
                if r not in nodes:
                    fail(f"{where}.hoard.rivals", _unknown("node", r, nodes))
            if node.hoard.until not in sc.meetings:
                fail(f"{where}.hoard.until", _unknown("meeting", node.hoard.until, sc.meetings))
        if getattr(node, "pool", None) is not None and node.pool not in sc.pools:
            fail(f"{where}.pool", _unknown("pool", node.pool, sc.pools))
    for i, link in enumerate(sc.links):
        if link.channel == "written":
            src = sc.collectors.get(link.src)
            if src is None or src.written is None:
                fail(f"links[{i}].channel", '"written" links leave a collector that has a [written] table')
    groups = {g for node in nodes.values() for g in node.groups}
    for cname, col in sc.collectors.items():
        if col.imagery_channel is not None and col.imagery_channel not in groups:
            fail(f"collectors.{cname}.imagery_channel", _unknown("trust group", col.imagery_channel, groups)
                 + "; imagery travels raw only among nodes of this group")
    for bname, board in sc.boards.items():
        if board.meeting not in sc.meetings:
            fail(f"boards.{bname}.meeting", _unknown("meeting", board.meeting, sc.meetings))
        if len(set(board.members)) != len(board.members):
            fail(f"boards.{bname}.members", "a member is listed twice")
        for m in board.members:
            if m not in nodes:
                fail(f"boards.{bname}.members", _unknown("node", m, nodes))
            if m in sc.collectors:
                fail(f"boards.{bname}.members", f"{m!r} is a collector; board members are cells or commanders")
            if not nodes[m].dedupe:
                fail(f"boards.{bname}.members", f"{m!r} has dedupe = false; a board passes members only what "
                     "they do not hold yet, so its members must drop repeats (dedupe = true), or every "
                     "meeting would pass the same items round again")
    for m in (sc.metrics.bypass_consumer, sc.metrics.bypass_branch):
        if m is not None:
            if m not in nodes:
                fail("metrics", _unknown("node", m, nodes))
            if not nodes[m].consumer:
                fail("metrics", f"{m!r} must be a consumer (consumer = true) to compare arrivals")
    if (sc.metrics.bypass_consumer is None) != (sc.metrics.bypass_branch is None):
        fail("metrics", "bypass_consumer and bypass_branch go together")
    if not sc.consumers:
        fail("(top level)", "no node is a consumer (consumer = true): nothing would be measured")
    _check_cycles(sc, source, seen)


def _may_take_no_time(sc: Scenario, a: str, b: str) -> bool:
    """Whether a report can go from node ``a`` to node ``b`` in no time: ``a`` has no
    work (a cell with positive mean work always takes time) and some link ``a -> b``
    has no transit. A meeting does not count as time: a report that reaches a link just
    as its meeting starts goes on at once."""
    if a in sc.cells and sc.cells[a].work_h.mean > 0:
        return False
    return any(link.src == a and link.to == b and link.p > 0 and not link.transit_h.mean > 0
               for link in sc.active_links)


def _cycles(succ: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of the graph ``succ`` that contain a cycle
    (more than one node; a node cannot link to itself), each in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(succ):
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            n, it = work[-1]
            for m in it:
                if m not in index:
                    index[m] = low[m] = counter
                    counter += 1
                    stack.append(m)
                    on_stack.add(m)
                    work.append((m, iter(succ[m])))
                    break
                if m in on_stack:
                    low[n] = min(low[n], index[m])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[n])
                if low[n] == index[n]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == n:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def _a_cycle(succ: dict[str, list[str]], start: str) -> list[str]:
    """A shortest closed walk ``[start, ..., start]`` in ``succ`` (``start`` lies on a
    cycle)."""
    prev: dict[str, Optional[str]] = {start: None}
    queue = [start]
    for n in queue:  # breadth first; the list grows while it is read
        for m in succ[n]:
            if m == start:
                path = [n]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return path[::-1] + [start]
            if m not in prev:
                prev[m] = n
                queue.append(m)
    raise AssertionError(f"{start} lies on no cycle")


def _check_cycles(sc: Scenario, source: str, kinds: dict[str, str]) -> None:
    """A cycle must contain a node that drops repeats (``dedupe = true``) or consist of
    "choose" nodes only (one copy goes round, as in a queueing network with feedback);
    otherwise copies of one report would multiply without end. And a cycle of nodes
    that keep repeats must take time on every way round, or a report could go round
    for ever at one instant.

    Only nodes that keep repeats matter (a node that drops them ends any cycle through
    it for a report). Every cycle is found: the check works on the strongly connected
    components, not on the cycles one depth-first search happens to meet."""
    nodes = sc.nodes
    risky = {n for n, node in nodes.items() if not node.dedupe}
    succ: dict[str, list[str]] = {n: [] for n in sorted(risky)}
    for link in sc.active_links:
        if link.src in risky and link.to in risky and link.to not in succ[link.src]:
            succ[link.src].append(link.to)
    for comp in _cycles(succ):
        each = [n for n in comp if nodes[n].routing == "each"]
        if each:
            sub = {n: [m for m in succ[n] if m in comp] for n in comp}
            m = each[0]
            cycle = _a_cycle(sub, m)
            raise ScenarioError(source, f"{kinds[m]}.{m}.dedupe",
                                f"cycle {' -> '.join(cycle)} has a node that copies reports to every link "
                                "and no node that drops repeats; set dedupe = true on one of them")
    for comp in _cycles(succ):
        _check_hops(sc, source, kinds, comp, {n: [m for m in succ[n] if m in comp] for n in comp})
    instant = {n: [m for m in succ[n] if _may_take_no_time(sc, n, m)] for n in succ}
    for comp in _cycles(instant):
        sub = {n: [m for m in instant[n] if m in comp] for n in comp}
        m = comp[0]
        cycle = _a_cycle(sub, m)
        raise ScenarioError(source, f"{kinds[m]}.{m}",
                            f"cycle {' -> '.join(cycle)} can take no time (no work or transit on some way "
                            "round; a meeting does not delay a report that arrives as it starts): a report "
                            "could go round for ever at one instant")


MAX_CYCLE_HOPS = 1000
"""At most this many hops, on average, that one report may make round a cycle of
nodes that keep repeats before it leaves it, so every run ends (see
docs/scenario-format.md, "cycles")."""


def _check_hops(sc: Scenario, source: str, kinds: dict[str, str], comp: list[str], sub: dict) -> None:
    """Refuse a cycle of "choose" nodes round which a report would go for ever, or for
    more than :data:`MAX_CYCLE_HOPS` hops on average: with ``Q[i, j]`` the chance that
    node ``i`` passes a report to node ``j`` of the cycle (the p of its links, an upper
    bound: link filters and gates only lower it), the mean hops before leaving from
    each node solve ``(I - Q) h = 1``."""
    import numpy as np

    pos = {n: i for i, n in enumerate(comp)}
    q = np.zeros((len(comp), len(comp)))
    for link in sc.active_links:
        if link.src in pos and link.to in pos:
            q[pos[link.src], pos[link.to]] += link.p
    try:
        hops = np.linalg.solve(np.eye(len(comp)) - q, np.ones(len(comp)))
    except np.linalg.LinAlgError:
        hops = np.full(len(comp), np.inf)
    bad = ~np.isfinite(hops) | (hops < 0) | (hops > MAX_CYCLE_HOPS)
    if not bad.any():
        return
    worst = comp[int(np.argmax(np.where(np.isfinite(hops) & (hops >= 0), hops, np.inf)))]
    how = ("for ever (the p of its links leave no way out)" if not np.isfinite(hops).all() or (hops < 0).any()
           else f"for {float(np.max(hops)):.3g} hops on average")
    raise ScenarioError(source, f"{kinds[worst]}.{worst}.routing",
                        f"cycle {' -> '.join(_a_cycle(sub, worst))} keeps a report going round {how} (at most "
                        f"{MAX_CYCLE_HOPS} allowed); lower the p of a link on it, or set dedupe = true on one of its nodes")
