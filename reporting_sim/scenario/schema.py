"""The scenario schema: every table of a scenario file as an immutable pydantic model.

The file format itself (what each table means) is described in :mod:`.scenario` and
docs/scenario-format.md. Here are the types: a strict base (unknown keys refused, no
type coercion, no ``nan``), the small vocabulary the tables share (``Name``,
``Prob``, ``Seq``, ``FrozenDict``...), one model per table with the checks that need
only that table (a mix sums to 1, a patrol ends before the next leaves, a meeting is
not absurdly frequent...), and :class:`Scenario`, the whole file, with derived views
(``nodes``, ``consumers``, ``active_links``). Validation raises pydantic's errors;
:mod:`.scenario_loading` turns the first into one
:class:`~reporting_sim.errors.ScenarioError` line, and checks that need the whole
scenario (names a field refers to, cycles) live in :mod:`.scenario_checks`. No SimPy
and no file access here.
"""

from __future__ import annotations

import datetime as _dt
import math
from types import MappingProxyType
from typing import Annotated, Any, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WrapSerializer,
    model_validator,
)

from .calendar import Calendar
from .distributions import Distribution, Fixed

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


class Duty(_Strict):
    """Daily duty hours of a staff cell; outside them nothing new is started."""

    start_h: HourOfDay
    end_h: HourOfDay

    @model_validator(mode="after")
    def _not_empty(self):
        if self.start_h == self.end_h:
            raise ValueError("end_h: duty hours must not be empty (start_h == end_h)")
        return self

    def holds(self, hour: float) -> bool:
        """Whether hour of the day ``hour`` (0 <= hour < 24) is within duty."""
        if self.start_h < self.end_h:
            return self.start_h <= hour < self.end_h
        return hour >= self.start_h or hour < self.end_h


CHANNELS = ("call", "product", "report")
"""The kinds of link news reaches a consumer by, named after the node it last left: a
commander's word (``call``: by phone or radio), a staff cell's ``product`` (a written
product or briefing; also what a board member passes on), a collecting unit's own
``report``."""

ON_ARRIVAL = "arrival"
"""``Acting.at`` for news acted on when it comes (not at a meeting)."""


class Acting(_Strict):
    """``acts.CHANNEL``: when a consumer can act on news that reached it by one channel:
    at the next ``at`` meeting (``"arrival"``: when it comes), and, with ``duty``, only
    within those hours of the day (news outside them waits for the start of duty)."""

    at: Name = ON_ARRIVAL
    duty: Optional[Duty] = None


def _rule_words(rule: Acting) -> str:
    when = "when it comes" if rule.at == ON_ARRIVAL else f"at {rule.at}"
    if rule.duty is not None:
        when += f" within {rule.duty.start_h:g}-{rule.duty.end_h:g} h"
    return when


class _Node(_Strict):
    """Fields every node has: how it forwards, whether it is a consumer (and over which
    events it is measured, and when it can act on what it knows), whom it trusts and
    how it copes."""

    routing: Literal["each", "choose"] = "each"
    dedupe: bool = True
    consumer: bool = False
    interest: Optional[Interest] = None
    acts_at: Optional[Name] = None
    """The meeting at which a consumer acts on news by a channel ``acts`` does not name."""
    acts: Optional[FrozenDict(Literal[CHANNELS], Acting)] = None
    """Per channel (:data:`CHANNELS`), when the consumer can act on news that came by it."""
    groups: Seq(Name) = ()
    org: Optional[Name] = None
    coping: Seq(Literal[COPING]) = ()
    classify: Optional[Classify] = None
    intrep_h: Optional[Distribution] = None
    hoard: Optional[Hoard] = None
    analysis: bool = False
    label: Optional[Annotated[str, Field(min_length=1, max_length=80)]] = None
    """Display name in tables, figures and the lab (the node's name when absent)."""

    def acting_meetings(self) -> list[str]:
        """The meetings at which this consumer acts on news of some channel
        (``acts_at`` first), each once."""
        names = [self.acts_at] + [rule.at for rule in (self.acts or {}).values()]
        return list(dict.fromkeys(n for n in names if n not in (None, ON_ARRIVAL)))

    def describe_acting(self) -> str:
        """When this consumer can act, in words (``""``: on arrival, by every channel)."""
        parts = [f"on a {ch} {_rule_words(rule)}" for ch, rule in (self.acts or {}).items()]
        parts += [f"{'otherwise ' if parts else ''}at {m}" for m in (self.acts_at,) if m is not None]
        return "acts " + ", ".join(parts) if parts else ""

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
        for rule in _COLLECTOR_RULES:
            problem = rule(self)
            if problem is not None:
                raise ValueError(problem)
        return self


def _patrols_for_patrol_watch(col: Collector) -> Optional[str]:
    if col.watch == "patrols" and col.patrols is None:
        return 'patrols: watch = "patrols" needs a [patrols] table'
    return None


def _after_patrol(col: Collector) -> bool:
    """Whether the collector's main or written reports wait for the patrol's return."""
    return bool(col.report_after_patrol or (col.written is not None and col.written.after_patrol))


def _nothing_patrol_bound_on_continuous_watch(col: Collector) -> Optional[str]:
    if col.watch == "continuous" and (col.patrols is not None or _after_patrol(col) or col.pool is not None):
        return 'watch: "continuous" takes no patrols, pool or after-patrol reporting'
    return None


def _imagery_has_a_channel(col: Collector) -> Optional[str]:
    if col.imagery and col.imagery_channel is None:
        return "imagery_channel: imagery needs the trust group it may travel in"
    return None


def _dictation_when_illiterate(col: Collector) -> Optional[str]:
    if col.literacy < 1 and col.dictation_h is None:
        return "dictation_h: needed when literacy < 1 (the delay when the patrol cannot write)"
    return None


def _tasking_acts_on_written(col: Collector) -> Optional[str]:
    if col.tasking is not None and col.written is None and col.culture == "commander":
        return "tasking: a commander-centric unit's tasking acts on its written reports; add [written]"
    return None


_COLLECTOR_RULES = (_patrols_for_patrol_watch, _nothing_patrol_bound_on_continuous_watch, _imagery_has_a_channel,
                    _dictation_when_illiterate, _tasking_acts_on_written)
"""A collector's rules across its fields, in order: each gives the problem or ``None``."""


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

    def calendar(self) -> Calendar:
        """When it sits, as plain numbers (:class:`~.calendar.Calendar`)."""
        return Calendar.of(self)

    def next_at(self, t: float) -> float:
        """The first meeting at or after hour ``t`` (see :meth:`.Calendar.next_at`)."""
        return Calendar.of(self).next_at(t)


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
    it without analysing it.

    It also **deconflicts**: at each meeting the analysis members declare what they
    hold and are working on (its register); an analysis member that later gets a
    report of an event another member has declared, by another path, does not analyse
    it again with chance ``p_deconflict`` (it takes note of it), else works it anyway.
    With ``consult``, members enter what they get in the register at once and consult
    it between meetings, not only what was declared at the last one."""

    meeting: Name
    members: Seq(Name, 2)
    p_bring: Prob = 1.0
    p_rework: Prob = 1.0
    p_deconflict: Prob = 0.0
    consult: bool = False


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
    """One form (a range, values or fixed), and that form well made."""
    ranged = u.low is not None or u.high is not None
    if sum([ranged, u.values is not None, u.fixed]) != 1:
        raise ValueError("give low and high, or values = [...], or fixed = true (exactly one)")
    if ranged:
        _check_range_form(u)
    if u.mode is not None and u.distribution != "triangular":
        raise ValueError('mode: only for distribution = "triangular"')
    if u.values is not None:
        _check_values_once(u.values)
    return u


def _check_values_once(values) -> None:
    """No value listed twice."""
    if len(set(map(repr, values))) != len(values):
        raise ValueError("values: a value is listed twice")


def _check_range_ends(u: "Uncertainty") -> None:
    """Both ends given, low below high."""
    if u.low is None or u.high is None:
        raise ValueError("low and high go together")
    if not u.low < u.high:
        raise ValueError(f"low must be less than high (low = {u.low:g}, high = {u.high:g}; "
                         "a number that does not vary is fixed = true)")


def _check_range_form(u: "Uncertainty") -> None:
    """Both ends, in order, and what the distribution needs of them."""
    _check_range_ends(u)
    if u.distribution == "triangular" and (u.mode is None or not u.low <= u.mode <= u.high):
        raise ValueError("mode: a triangular distribution needs low <= mode <= high")
    if u.distribution == "loguniform" and u.low <= 0:
        raise ValueError("low: a loguniform distribution needs low > 0")


class Scenario(_Strict):
    """A whole scenario, immutable once validated. Build it with
    :func:`~reporting_sim.scenario_loading.load` (or ``parse`` for plain data)."""

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
