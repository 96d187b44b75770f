"""The study's claims as checks: ``reporting-sim check-study``.

A claim is data: a sentence from the field study (Rietjens & Ruffa 2017), the section
it comes from, a change to the scenario (a mechanism switched off, or a what-if
written in the variant format: ``set``, ``set_links``, ``remove_links``, ``add``,
``add_links``, or a ``variant`` file), one metric (a name of :func:`metrics.flat`),
and the direction the study says the change moves it: ``+`` or ``-``, for
``diff = changed - base``. The built-in claims are in ``minusma.toml`` beside this
module; users add their own files (``--claims FILE``), validated the same way.

:func:`check` runs the scenario and every changed scenario through the experiment
machinery (:class:`~reporting_sim.experiment.Experiment`: the same seeds for every
scenario, so replication ``r`` of the base and of each change share their random
numbers; the process pool or Dask) and gives, per claim, the paired mean difference
and its 95% t interval. A claim passes when that interval lies entirely on the
expected side of zero. Claims that make the same change share their runs.
"""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .. import experiment
from . import patterns
from ... import scenario as scenario_mod
from ...measures import patterns as pm
from ...measures import stats
from ...scenario import variants
from ...errors import ScenarioError
from ...hashing import digest
from ...metric_names import amount, flat_names

BUILTIN = "minusma.toml"
BUILTIN_PATTERNS = "minusma-patterns.toml"
CHANGE_KEYS = ("set", "set_links", "remove_links", "add", "add_links")
PASS_RULE = ("pass = the 95% interval of the paired difference (changed - base) lies entirely "
             "on the expected side of zero")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


def _printable(text: str) -> str:
    """Text a person reads, or a path: no control characters (a NUL byte in a path, a
    terminal's escape codes in a claim)."""
    if any(_is_control(c) for c in text):
        raise ValueError("must not hold control characters (a NUL byte, a tab, escape codes)")
    return text


def _is_control(c: str) -> bool:
    """Whether character ``c`` is a control character (below space, or DEL)."""
    return ord(c) < 32 or ord(c) == 127


Text = AfterValidator(_printable)


class Claim(_Strict):
    """One ``[[claims]]`` table: a mechanism check (a change and the direction it moves
    a metric) or a study pattern (:mod:`.patterns`: a level, an ordering or a pattern
    over time, with its acceptance range; a change is optional)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)]
    kind: Literal["mechanism", "pattern"] = "mechanism"
    claim: Annotated[str, Field(min_length=1, max_length=400), Text]
    section: Annotated[str, Field(pattern=r"^\[[^\]]+\]$", max_length=120), Text]
    change: Optional[Annotated[str, Field(min_length=1, max_length=200), Text]] = None
    metric: Optional[Annotated[str, Field(min_length=1, max_length=200), Text]] = None
    expected: Optional[Literal["+", "-"]] = None
    holds_by: Optional[Literal["definition", "construction", "crn"]] = None
    form: Optional[Literal["level", "ordering", "stretches", "window", "step"]] = None
    quote: Optional[Annotated[str, Field(max_length=1200), Text]] = None
    reading: Optional[Annotated[str, Field(max_length=1200), Text]] = None
    accept: Optional[Annotated[list, Field(strict=False, max_length=10)]] = None
    than: Optional[Annotated[str, Field(min_length=1, max_length=200), Text]] = None
    series: Optional[Annotated[list[str], Field(min_length=1, max_length=20)]] = None
    below: Optional[Annotated[float, Field(strict=False, allow_inf_nan=False)]] = None
    statistic: Optional[Literal["share", "longest"]] = None
    from_: Optional[_dt.date] = Field(default=None, alias="from")
    until: Optional[_dt.date] = None
    before: Optional[_dt.date] = None
    after: Optional[_dt.date] = None
    tolerance: Optional[Annotated[float, Field(strict=False, ge=0, allow_inf_nan=False)]] = None
    variant: Optional[Annotated[str, Field(min_length=1, max_length=1000), Text]] = None
    same_change_as: Optional[Annotated[str, Field(max_length=80), Text]] = None
    set: dict[str, Any] = {}
    set_links: list[dict[str, Any]] = []
    remove_links: list[dict[str, Any]] = []
    add: dict[str, Any] = {}
    add_links: list[dict[str, Any]] = []

    @model_validator(mode="after")
    def _changes_something(self):
        problem = _pattern_change_problem(self) if self.kind == "pattern" else _mechanism_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    def own_change(self) -> bool:
        """Whether the claim makes a change of its own (a variant file or inline changes)."""
        return self.variant is not None or any(getattr(self, k) for k in CHANGE_KEYS)

    def has_change(self) -> bool:
        """Whether the claim changes the scenario (its own change, or another claim's)."""
        return self.same_change_as is not None or self.own_change()

    def change_body(self) -> dict:
        """The inline changes, in the variant format."""
        return {k: copy.deepcopy(getattr(self, k)) for k in CHANGE_KEYS if getattr(self, k)}


def _pattern_change_problem(c: Claim) -> str:
    """What is wrong with a pattern's change (at most one: its own or another's), or ``""``."""
    if c.own_change() and c.same_change_as is not None:
        return "a pattern takes at most one change: its own, or same_change_as"
    return ""


def _mechanism_problem(c: Claim) -> str:
    """What a mechanism claim lacks (exactly one change; its change, metric and
    expected direction), or ``""``."""
    if c.own_change() == (c.same_change_as is not None):
        return ("a claim needs exactly one change: variant = \"FILE\", any of "
                f"{', '.join(CHANGE_KEYS)}, or same_change_as = \"ID\" (another claim's)")
    missing = [key for key in ("change", "metric", "expected") if getattr(c, key) is None]
    return f"a mechanism claim needs {missing[0]} (or kind = \"pattern\")" if missing else ""


class ClaimsFile(_Strict):
    claims: Annotated[list[Claim], Field(min_length=1)]


@dataclass(frozen=True)
class ClaimRef:
    """A validated claim and where it was read (for error messages and relative paths)."""

    spec: Claim
    source: str
    index: int

    @property
    def where(self) -> str:
        return f"claims[{self.index}]"

    def error(self, field: str, message: str) -> ScenarioError:
        return ScenarioError(self.source, f"{self.where}.{field}" if field else self.where, message)


# ------------------------------------------------------------------ reading

def builtin_text(name: str = BUILTIN) -> str:
    return resources.files(__name__).joinpath(name).read_text("utf-8")


def parse(data: dict, source: str) -> list[ClaimRef]:
    """Validate the plain data of a claims file."""
    try:
        cf = ClaimsFile.model_validate(data)
    except ValidationError as exc:
        raise _claims_error(exc, source) from None
    refs = [ClaimRef(c, source, i) for i, c in enumerate(cf.claims)]
    _unique_ids(refs)
    for r in refs:
        _check_kind(r)
    return _resolve_shared(refs)


def _claims_error(exc: ValidationError, source: str) -> ScenarioError:
    """The one-line error of an invalid claims file (an unknown key: with the keys allowed)."""
    err = scenario_mod.first_error(exc, source)
    if "unknown key (not part of the scenario format" not in err.message:
        return err
    return ScenarioError(source, err.field, "unknown key (allowed: id, kind, claim, section, change, metric, "
                         f"expected, holds_by, variant, same_change_as, {', '.join(CHANGE_KEYS)}; "
                         f"patterns also: {', '.join(patterns.PATTERN_KEYS)})")


def _check_kind(r: ClaimRef) -> None:
    """A pattern's form is whole; a mechanism claim has no pattern keys."""
    if r.spec.kind == "pattern":
        patterns.check_form(r)
    elif _has_pattern_keys(r.spec):
        raise r.error("kind", "pattern keys (form, accept, than, series...) need kind = \"pattern\"")


def _has_pattern_keys(c: Claim) -> bool:
    """Whether a claim gives any of the keys only a pattern takes."""
    return any(patterns.field_value(c, k) is not None for k in patterns.PATTERN_KEYS)


def load(path: str | Path) -> list[ClaimRef]:
    """Read and validate a user's claims file."""
    return parse(scenario_mod.read_file(path), str(path))


def load_builtin(names: tuple[str, ...] = (BUILTIN, BUILTIN_PATTERNS)) -> list[ClaimRef]:
    """The built-in claims: the mechanism checks, then the study's patterns."""
    refs = []
    for name in names:
        label = f"{name} (built-in claims)"
        refs += parse(scenario_mod.read_toml_text(builtin_text(name), label), label)
    return refs


def load_builtin_patterns() -> list[ClaimRef]:
    return load_builtin((BUILTIN_PATTERNS,))


def gather(files: list[str | Path], builtin: bool = True, only: tuple[str, ...] | list[str] = ()) -> list[ClaimRef]:
    """The claims to check: the built-in ones (unless ``builtin`` is false), then each
    file's in order, ids unique across all; only those named in ``only`` if given."""
    refs = (load_builtin() if builtin else []) + [r for f in files for r in load(f)]
    if not refs:
        raise ScenarioError("", "--claims", "no claims to check: give a claims file, or leave out --no-builtin")
    _unique_ids(refs)
    return select(refs, list(only))


def _unique_ids(refs: list[ClaimRef]) -> None:
    seen: set[str] = set()
    for r in refs:
        if r.spec.id in seen:
            raise r.error("id", f"{r.spec.id!r} is used by another claim; give each claim its own id")
        seen.add(r.spec.id)


def _resolve_shared(refs: list[ClaimRef]) -> list[ClaimRef]:
    """Give each claim with ``same_change_as`` the change of the claim it names (in the
    same file; that claim must make its own change)."""
    by_id = {r.spec.id: r.spec for r in refs}
    return [r if r.spec.same_change_as is None else _with_change_of(r, by_id) for r in refs]


def _with_change_of(r: ClaimRef, by_id: dict[str, Claim]) -> ClaimRef:
    """Claim ``r`` with the change of the claim its ``same_change_as`` names (which
    must be in ``by_id`` and make its own change)."""
    other = r.spec.same_change_as
    target = by_id.get(other)
    why = _not_shareable(target)
    if why:
        raise r.error("same_change_as", f"{other!r}: {why} (name a claim that makes its own change)")
    keep = {k: copy.deepcopy(getattr(target, k)) for k in ("variant",) + CHANGE_KEYS}
    return ClaimRef(r.spec.model_copy(update=keep), r.source, r.index)


def _not_shareable(target: Optional[Claim]) -> str:
    """Why a claim's change cannot be shared (there is no such claim, or it shares
    another's itself), or ``""``."""
    if target is None:
        return "no claim of that id in this file"
    return "that claim shares another's change itself" if target.same_change_as is not None else ""


def select(refs: list[ClaimRef], only: list[str]) -> list[ClaimRef]:
    """The claims named in ``only`` (all when empty), in file order."""
    if not only:
        return refs
    _check_only(only, {r.spec.id for r in refs})
    return [r for r in refs if r.spec.id in only]


def _check_only(only: list[str], known: set[str]) -> None:
    """Every id of ``--only`` names a claim (one line listing the claims otherwise)."""
    for name in only:
        if name not in known:
            raise ScenarioError("", "--only", f"no claim {name!r} (claims: {', '.join(sorted(known))})")



# ------------------------------------------------------------------ preparing

def changed_data(ref: ClaimRef, base_data: dict, base_source: str) -> dict:
    """The base scenario's data with the claim's change applied (not yet validated)."""
    c = ref.spec
    data = copy.deepcopy(base_data)
    try:
        data = _apply_change(ref, data, base_source)
    except ScenarioError as exc:
        raise _change_error(ref, exc) from None
    data.pop("uncertainties", None)  # a changed scenario is one world; the base's ranges may name what it removed
    data.setdefault("scenario", {})["name"] = "claim-" + digest(_without_header(data))[:10]
    return data


def _apply_change(ref: ClaimRef, data: dict, base_source: str) -> dict:
    """``data`` changed by the claim's variant file (if any), then by its inline changes (if any)."""
    c = ref.spec
    if c.variant is not None:
        data = _apply_variant_file(_relative(c.variant, ref.source), data)
    body = c.change_body()
    if body:
        data = variants.apply({"variant": {"name": c.id, "base": base_source}, **body}, ref.source, data)
    return data


def _change_error(ref: ClaimRef, exc: ScenarioError) -> ScenarioError:
    """A change's error as the claim's: its own field when the claims file is at fault,
    else the variant file's one line under ``variant``."""
    if exc.source == ref.source:
        return ref.error(exc.field, exc.message)
    return ref.error("variant", exc.one_line())


def _apply_variant_file(vpath: Path, data: dict) -> dict:
    """``data`` changed by the variant file at ``vpath`` (which must be a variant file)."""
    vdata = scenario_mod.read_file(vpath)
    if not variants.is_variant(vdata):
        raise ScenarioError(str(vpath), "variant", "required: a variant file has a [variant] table")
    return variants.apply(vdata, str(vpath), data)


def _without_header(data: dict) -> dict:
    """A scenario's data without its ``[scenario]`` header, keys sorted (what it computes)."""
    return {k: data[k] for k in sorted(data) if k != "scenario"}


def _relative(path: str, source: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else Path(source).parent / p


def _check_metric(ref: ClaimRef, sc: scenario_mod.Scenario) -> None:
    known = set(flat_names(sc.consumers, list(sc.cells)))
    if ref.spec.metric not in known:
        raise ref.error("metric", f"unknown metric {ref.spec.metric!r} for scenario {sc.name!r} (names look like "
                        "force_commander.current.in_time, jmac.long_term.not_shared, u2.latency_p50, "
                        "bypass_rate, duplication.share, cell.u2.utilisation)")


def _check_names(ref: ClaimRef, sc: scenario_mod.Scenario) -> None:
    if ref.spec.kind == "pattern":
        patterns.check_names(ref, pm.Names.of(sc), sc.name)
    else:
        _check_metric(ref, sc)


def fit_run(refs: list[ClaimRef], sc: scenario_mod.Scenario, days: float,
            warmup_days: float = 0.0) -> tuple[list[ClaimRef], list[dict]]:
    """The claims whose patterns fit runs of ``days`` of scenario ``sc``, and those left
    out (``{"id", "why"}``). A pattern of a user's file with a date outside the run is
    an error; a built-in pattern that a shorter run cannot judge is left out."""
    kept, left = [], []
    for ref in refs:
        why = _unfit(ref, sc, days, warmup_days) if ref.spec.kind == "pattern" else ""
        if why:
            left.append({"id": ref.spec.id, "why": why})
        else:
            kept.append(ref)
    return kept, left


def _unfit(ref: ClaimRef, sc: scenario_mod.Scenario, days: float, warmup_days: float) -> str:
    """Why a built-in pattern cannot be judged on runs of ``days`` (``""``: it can);
    a user's pattern that cannot is an error. Its names are checked first."""
    patterns.check_names(ref, pm.Names.of(sc), sc.name)
    try:
        patterns.check_dates(ref, patterns.scenario_start(sc), days, warmup_days)
    except ScenarioError as exc:
        if "(built-in claims)" not in ref.source:
            raise
        return exc.message
    return ""


def prepare(scenario_ref: str, refs: list[ClaimRef]) -> tuple[experiment.Member, list[experiment.Member], list[str]]:
    """The base member, one member per distinct change, and each claim's member label
    (a pattern without a change: the base's). Every change and metric is checked
    here, before anything runs."""
    base = experiment.resolve_member(scenario_ref, None)
    members: dict[str, experiment.Member] = {}
    labels = []
    for ref in refs:
        _check_names(ref, base.scenario)
        labels.append(_changed_member(ref, base, members) if ref.spec.has_change() else base.label)
    return base, list(members.values()), labels


def _changed_member(ref: ClaimRef, base: experiment.Member, members: dict[str, experiment.Member]) -> str:
    """The label of the scenario claim ``ref`` changes the base into, added to
    ``members`` once (claims making the same change share it); the changed scenario
    must be valid, differ from the base and know the claim's names."""
    data = changed_data(ref, base.data, base.source)
    label = data["scenario"]["name"]
    if label not in members:
        try:
            members[label] = experiment.Member(label, data, f"{ref.source} {ref.where}")
        except ScenarioError as exc:
            raise ref.error("", f"the changed scenario is not valid: {exc.field}: {exc.message}") from None
    if _without_header(members[label].scenario.to_dict()) == _without_header(base.scenario.to_dict()):
        raise ref.error("", "the change leaves the scenario as it was (every value already so); "
                        "a claim must change something")
    _check_names(ref, members[label].scenario)
    return label


# ------------------------------------------------------------------ running

def check(scenario_ref: str, refs: list[ClaimRef], *, replications: int, days: float, seed: int,
          n_jobs: Optional[int] = None, dask=None, progress: bool = False) -> dict:
    """Run the base and every change for ``replications`` paired replications and
    judge each claim (the ``--json`` contract of ``check-study``)."""
    base = experiment.resolve_member(scenario_ref, None)
    refs, left = fit_run(refs, base.scenario, days)
    base, members, labels = prepare(scenario_ref, refs)
    metric_names, extra = _measures(refs, pm.Names.of(base.scenario).flat())
    spec = experiment.Spec(name="check-study", base=scenario_ref, metrics=metric_names, days=days,
                           seed=seed, replications=replications)
    exp = experiment.Experiment(spec, [base] + members, extra=tuple(extra), where=("check-study", "--replications"))
    exp.run(None, n_jobs=n_jobs, dask=dask, progress=progress)
    df = exp.frame()
    by_label = {label: g.sort_values("replication") for label, g in df.groupby("label", sort=False)}
    start = patterns.scenario_start(base.scenario)
    rows = [_row(r, by_label[label], by_label[base.label], start) for r, label in zip(refs, labels)]
    return {"scenario": base.label, "replications": replications, "days": days, "claims": rows, "left_out": left}


def _measures(refs: list[ClaimRef], flat) -> tuple[list[str], list[str]]:
    """The flat metrics the claims name (their metric and ``than``) and the patterns'
    other measures, each sorted."""
    return _flat_named(refs, flat), _pattern_measures(refs, flat)


def _flat_named(refs: list[ClaimRef], flat) -> list[str]:
    """The flat metrics the claims name as their metric or ``than``, sorted."""
    return sorted({n for r in refs for n in (r.spec.metric, r.spec.than) if n in flat})


def _pattern_measures(refs: list[ClaimRef], flat) -> list[str]:
    """The measures beyond the flat metrics that the patterns need, sorted."""
    return sorted({n for r in refs if r.spec.kind == "pattern" for n in patterns.extra(r.spec, flat)})



def _row(ref: ClaimRef, mine, base, start) -> dict:
    """A claim's row from its member's runs (``mine``) and the base's."""
    if ref.spec.kind == "pattern":
        return patterns.judge(ref, mine.to_dict("records"), start)
    return judge(ref, mine[ref.spec.metric].tolist(), base[ref.spec.metric].tolist())


def judge(ref: ClaimRef, changed: list[float], base: list[float]) -> dict:
    """One mechanism claim's row: the paired mean difference, its 95% interval and the verdict."""
    d, lo, hi = stats.paired_ci(changed, base)
    d, lo, hi = stats.number_or_none(d), stats.number_or_none(lo), stats.number_or_none(hi)
    c = ref.spec
    ok = patterns.on_expected_side(c.expected, lo, hi)
    row = {"id": c.id, "kind": "mechanism", "claim": c.claim, "section": c.section, "change": c.change,
           "metric": c.metric, "expected": c.expected, "diff": d, "ci95": [lo, hi], "pass": bool(ok),
           "judged": PASS_RULE}
    if c.holds_by:
        row["holds_by"] = c.holds_by
    return row


# ------------------------------------------------------------------ showing


DIFF_RULE = ("diff = mean over the paired replications of (changed - base), in percentage points (pp) for a "
             "share, hours (h) for a time; 95% = the t interval of that mean; --json keeps shares as fractions 0..1")


def _g(x: Optional[float], metric: str = "") -> str:
    """A mechanism check's difference in points or hours (``metric`` given), else the number."""
    if metric and x is not None:
        return amount(x, metric)
    return "n/a" if x is None else f"{x:+.3g}"


def _interval(ci, metric: str = "") -> str:
    """An interval ``[lo, hi]`` as :func:`_g` writes its ends."""
    return f"[{_g(ci[0], metric)}, {_g(ci[1], metric)}]"


def _passing(rows: list[dict]) -> int:
    """How many of the rows pass."""
    return sum(r["pass"] for r in rows)


def _verdict(row: dict) -> str:
    """PASS or FAIL."""
    return "PASS" if row["pass"] else "FAIL"


def header(result: dict, seed: int) -> str:
    """The first line: the scenario, the paired replications, their days and seeds."""
    r = result["replications"]
    return (f"check-study: {result['scenario']}, {r} paired replications of {result['days']:g} days "
            f"(seeds {seed}..{seed + r - 1}, common random numbers)")


def _split(result: dict) -> tuple[list[dict], list[dict]]:
    """The result's rows: the mechanism checks, then the study's patterns."""
    rows = result["claims"]
    return _of_kind(rows, "mechanism"), _of_kind(rows, "pattern")


def _of_kind(rows: list[dict], kind: str) -> list[dict]:
    """The rows of one kind (a row without a kind is a mechanism check)."""
    return [r for r in rows if r.get("kind", "mechanism") == kind]


def _range(row: dict) -> str:
    """A pattern's range in words: its accepted interval, or the side of ``than`` it must lie on."""
    if "accept" in row:
        return f"[{row['accept'][0]:.3g}, {row['accept'][1]:.3g}]"
    return f"{'>' if row['expected'] == '+' else '<'} {row['than']}"


def format_text(result: dict, refs: list[ClaimRef], seed: int) -> str:
    """The claims as tables for the terminal: the mechanism checks, then the study's patterns."""
    mech, pats = _split(result)
    lines = [header(result, seed), ""]
    if mech:
        lines += _mechanism_lines(mech)
    if pats:
        lines += _pattern_lines(pats)
    lines += [f"left out: {x['id']}: {x['why']}" for x in result.get("left_out", [])]
    return "\n".join(lines)


def _mechanism_lines(mech: list[dict]) -> list[str]:
    """The terminal's table of the mechanism checks: a line per check with its claim
    and change wrapped below, then how many pass."""
    import textwrap

    lines = ["Mechanism checks (switch a mechanism off or change it; they verify the code, not the calibration)",
             DIFF_RULE, PASS_RULE, "",
             f"{'#':>3}  {'result':<6}  {'exp':<3}  {'diff':>9}  {'95% interval':<22}  {'holds by':<12}  metric"]
    for i, row in enumerate(mech, 1):
        lines.append(f"{i:>3}  {_verdict(row):<6}  {row['expected']:<3}  {_g(row['diff'], row['metric']):>9}  "
                     f"{_interval(row['ci95'], row['metric']):<22}  {row.get('holds_by', '-'):<12}  {row['metric']}")
        lines += textwrap.wrap(f"{row['id']}: {row['claim']} {row['section']}", 96,
                               initial_indent=" " * 5, subsequent_indent=" " * 5)
        lines += textwrap.wrap(f"change: {row['change']}", 96, initial_indent=" " * 5, subsequent_indent=" " * 13)
    return lines + ["", f"{_passing(mech)} of {len(mech)} mechanism checks pass.", ""]


def _pattern_lines(pats: list[dict]) -> list[str]:
    """The terminal's table of the study's patterns: a line per pattern with its claim
    and what it was judged on wrapped below, then how many pass."""
    import textwrap

    lines = ["The study's patterns (acceptance ranges read from the study before any model output)", "",
             f"{'#':>4}  {'result':<6}  {'value':>9}  {'95% interval':<22}  {'accept':<22}  form"]
    for i, row in enumerate(pats, 1):
        lines.append(f"P{i:<3}  {_verdict(row):<6}  {_g(row['value']):>9}  {_interval(row['ci95']):<22}  "
                     f"{_range(row):<22.22}  {row['form']}")
        lines += textwrap.wrap(f"{row['id']}: {row['claim']} {row['section']}", 96,
                               initial_indent=" " * 6, subsequent_indent=" " * 6)
        lines += textwrap.wrap(f"{row['pattern']}; {row['judged']}", 96, initial_indent=" " * 6,
                               subsequent_indent=" " * 6)
    return lines + ["", f"{_passing(pats)} of {len(pats)} study patterns pass."]


_MD_SPECIAL = "\\`*_[]|"


def _md(text: str) -> str:
    """``text`` safe in a Markdown table cell: one line, HTML escaped (a claim's
    ``<script>`` shows as text), and the characters Markdown reads as links, code or
    emphasis, and the cell separator, backslash-escaped."""
    import html

    flat = html.escape(" ".join(str(text).split()), quote=False)
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in flat)


NOT_REPRESENTED = [
    "National political interests (the Netherlands' and Sweden's candidacy for the Security Council, §3 "
    "operational fit) and key leaders playing ASIFU, JMAC and U2 against each other: only their effect, "
    "competition that holds information back, is in the model.",
    "The friction between the Dutch special forces and the Dutch ISR company (§3 cultural fit), and the "
    "mixed reception of what liaison officers brought back: trust is a gate per group, not per relationship.",
    "African troops' local languages and socio-cultural knowledge, and European soldiers' lack of it (§3 "
    "cultural fit): no collector is better at some kinds of events for knowing the area, beyond p_observe.",
    "Civil-military differences of time horizon and the leaving out of Malian actors (§3 cultural fit): "
    "JMAC's and the JOC's interests are fixed by family, not negotiated.",
    "The Force Commander's growing focus on current intelligence over time (§3 strategic fit): his interest "
    "and ASIFU's current pull are constant through a run.",
    "The 2014 accreditation of the Dutch ScanEagle itself (§3 operational fit): the built-in year is 2015, "
    "so the accreditation pattern is read for the Swedish UAVs, as the scenario assumes.",
    "UNDSS, U3 and UNPOL as members of the Joint Coordination Board, and the board's irritation (§3 "
    "strategic fit): the board's members are JMAC, ASIFU, U2, the JOC and the SRSG's office.",
    "The coping strategies as meaning-making (§4): in the model they are sharing rules of a cell, not "
    "what officers think; normalisation changes nothing.",
    "DPKO's and Bamako's different readings of the mandate (§4 normalisation) and the mandate itself.",
]
"""What the field study reports that the model does not represent (docs/validation.md)."""

HOLDS = {"definition": "by definition: the metric is the mechanism's own counter",
         "construction": "by construction: a path added delivers more, one removed less",
         "crn": "only through common random numbers: a small effect made significant by pairing"}


def _mechanism_table(mech: list[dict]) -> list[str]:
    out = ["| # | claim | section | change | metric | expected | diff | 95% interval | holds | result |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for i, row in enumerate(mech, 1):
        out.append(f"| {i} | **{row['id']}**: {_md(row['claim'])} | {_md(row['section'])} | {_md(row['change'])} "
                   f"| `{row['metric']}` | {row['expected']} | {_g(row['diff'], row['metric'])} | {_interval(row['ci95'], row['metric'])} "
                   f"| {row.get('holds_by', '-')} | {_verdict(row)} |")
    return out


def _pattern_table(pats: list[dict]) -> list[str]:
    out = ["| # | pattern | section | the study's words | how the range was read | judged on | value | "
           "95% interval | accept | result |", "|---|---|---|---|---|---|---|---|---|---|"]
    return out + [_pattern_row(i, row) for i, row in enumerate(pats, 1)]


def _pattern_row(i: int, row: dict) -> str:
    """Pattern ``i`` as a row of the Markdown table (its words and reading, its change if any)."""
    note, change = _pattern_notes(row)
    return (f"| P{i} | **{row['id']}**: {_md(row['claim'])}{note} | {_md(row['section'])} "
            f"| {_md(row.get('quote') or '')} | {_md(row.get('reading') or '')}{change} "
            f"| {_md(row['pattern'])} | {_g(row['value'])} | {_interval(row['ci95'])} | {_md(_range(row))} "
            f"| {_verdict(row)} |")


def _pattern_notes(row: dict) -> tuple[str, str]:
    """What a pattern's row adds to its claim (that it holds by construction) and to
    its reading (its change), each ``""`` when there is nothing."""
    note = " (holds by construction)" if row.get("holds_by") == "construction" else ""
    change = f" Change: {_md(row['change'])}." if row.get("change") else ""
    return note, change


def format_markdown(result: dict, refs: list[ClaimRef], seed: int, command: str) -> str:
    """The claims as a Markdown page (``docs/validation.md`` is this, generated)."""
    mech, pats = _split(result)
    out = _markdown_head(result, seed, command, mech, pats)
    out += _pattern_table(pats)
    out += ["", "## Mechanism checks", "", f"- {DIFF_RULE}.", f"- {PASS_RULE}.", ""]
    out += _mechanism_table(mech)
    out += ["", "## What the study says that the model does not represent", ""]
    out += [f"- {x}" for x in NOT_REPRESENTED]
    out += [f"\nLeft out of this run: {x['id']}: {_md(x['why'])}" for x in result.get("left_out", [])]
    return "\n".join(out) + "\n"


def _markdown_head(result: dict, seed: int, command: str, mech: list[dict], pats: list[dict]) -> list[str]:
    """The page's title, the run and its counts, what holds by construction and the
    introduction of the patterns' table."""
    count = {k: sum(r.get("holds_by") == k for r in mech) for k in HOLDS}
    out = [
        "# Validation: the model against the field study", "",
        f"<!-- generated from `{command} --markdown` (docs/validation.md: by scripts/make_validation_doc.py); "
        "do not edit by hand -->", "",
        f"- Run: `{command}`",
        f"- {header(result, seed)}.",
        f"- Mechanism checks: **{_passing(mech)} of {len(mech)} pass**; "
        f"study patterns: **{_passing(pats)} of {len(pats)} pass**.", "",
        "## What holds by construction", "",
        "The mechanism checks switch a mechanism off (or change it) and say which way one metric "
        "moves. None of them can catch a wrong calibration:",
        "",
    ]
    out += [f"- **{count[k]}** hold {text}." for k, text in HOLDS.items()]
    out += ["", "They verify the code. The study's patterns below are the validation: levels, orderings "
            "and patterns over time with acceptance ranges, read from the study's words and committed "
            "before any model output for them was looked at (the commit history shows it); a pattern "
            "the model misses is a finding about the model, not a range to move. Patterns marked "
            "*holds by construction* hold whatever the numbers.", "",
            "## The study's patterns", "",
            "Each is a claims entry of kind `pattern` in `reporting_sim/study/claims/minusma-patterns.toml`. "
            "A level or a pattern over time passes when the 95% interval of its number's mean over the "
            "replications lies inside the range; an ordering when the 95% interval of the paired difference "
            "lies on its side of zero. `reporting-sim calibrate` matches worlds to the same numbers "
            "([calibration](calibration.md)).", ""]
    return out

