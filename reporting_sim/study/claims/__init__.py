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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .. import experiment
from ... import scenario as scenario_mod
from ...measures import stats
from ...scenario import variants
from ...errors import ScenarioError
from ...hashing import digest
from ...metric_names import amount, flat_names

BUILTIN = "minusma.toml"
CHANGE_KEYS = ("set", "set_links", "remove_links", "add", "add_links")
PASS_RULE = ("pass = the 95% interval of the paired difference (changed - base) lies entirely "
             "on the expected side of zero")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _printable(text: str) -> str:
    """Text a person reads, or a path: no control characters (a NUL byte in a path, a
    terminal's escape codes in a claim)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("must not hold control characters (a NUL byte, a tab, escape codes)")
    return text


Text = AfterValidator(_printable)


class Claim(_Strict):
    """One ``[[claims]]`` table."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)]
    claim: Annotated[str, Field(min_length=1, max_length=400), Text]
    section: Annotated[str, Field(pattern=r"^\[[^\]]+\]$", max_length=120), Text]
    change: Annotated[str, Field(min_length=1, max_length=200), Text]
    metric: Annotated[str, Field(min_length=1, max_length=200), Text]
    expected: Literal["+", "-"]
    variant: Optional[Annotated[str, Field(min_length=1, max_length=1000), Text]] = None
    same_change_as: Optional[Annotated[str, Field(max_length=80), Text]] = None
    set: dict[str, Any] = {}
    set_links: list[dict[str, Any]] = []
    remove_links: list[dict[str, Any]] = []
    add: dict[str, Any] = {}
    add_links: list[dict[str, Any]] = []

    @model_validator(mode="after")
    def _changes_something(self):
        own = self.variant is not None or any(getattr(self, k) for k in CHANGE_KEYS)
        if own == (self.same_change_as is not None):
            raise ValueError("a claim needs exactly one change: variant = \"FILE\", any of "
                             f"{', '.join(CHANGE_KEYS)}, or same_change_as = \"ID\" (another claim's)")
        return self

    def change_body(self) -> dict:
        """The inline changes, in the variant format."""
        return {k: copy.deepcopy(getattr(self, k)) for k in CHANGE_KEYS if getattr(self, k)}


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

def builtin_text() -> str:
    return resources.files(__name__).joinpath(BUILTIN).read_text("utf-8")


def parse(data: dict, source: str) -> list[ClaimRef]:
    """Validate the plain data of a claims file."""
    try:
        cf = ClaimsFile.model_validate(data)
    except ValidationError as exc:
        err = scenario_mod.first_error(exc, source)
        if "unknown key (not part of the scenario format" in err.message:
            err = ScenarioError(source, err.field, "unknown key (allowed: id, claim, section, change, metric, "
                                f"expected, variant, same_change_as, {', '.join(CHANGE_KEYS)})")
        raise err from None
    refs = [ClaimRef(c, source, i) for i, c in enumerate(cf.claims)]
    _unique_ids(refs)
    return _resolve_shared(refs)


def load(path: str | Path) -> list[ClaimRef]:
    """Read and validate a user's claims file."""
    return parse(scenario_mod.read_file(path), str(path))


def load_builtin() -> list[ClaimRef]:
    label = f"{BUILTIN} (built-in claims)"
    return parse(scenario_mod.read_toml_text(builtin_text(), label), label)


def gather(files: list[str | Path], builtin: bool = True, only: tuple[str, ...] | list[str] = ()) -> list[ClaimRef]:
    """The claims to check: the built-in ones (unless ``builtin`` is false), then each
    file's in order, ids unique across all; only those named in ``only`` if given."""
    refs = load_builtin() if builtin else []
    for f in files:
        refs += load(f)
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
    out = []
    for r in refs:
        other = r.spec.same_change_as
        if other is not None:
            target = by_id.get(other)
            if target is None or target.same_change_as is not None:
                why = "no claim of that id in this file" if target is None else "that claim shares another's change itself"
                raise r.error("same_change_as", f"{other!r}: {why} (name a claim that makes its own change)")
            keep = {k: copy.deepcopy(getattr(target, k)) for k in ("variant",) + CHANGE_KEYS}
            r = ClaimRef(r.spec.model_copy(update=keep), r.source, r.index)
        out.append(r)
    return out


def select(refs: list[ClaimRef], only: list[str]) -> list[ClaimRef]:
    """The claims named in ``only`` (all when empty), in file order."""
    if not only:
        return refs
    known = {r.spec.id for r in refs}
    for name in only:
        if name not in known:
            raise ScenarioError("", "--only", f"no claim {name!r} (claims: {', '.join(sorted(known))})")
    return [r for r in refs if r.spec.id in only]


# ------------------------------------------------------------------ preparing

def changed_data(ref: ClaimRef, base_data: dict, base_source: str) -> dict:
    """The base scenario's data with the claim's change applied (not yet validated)."""
    c = ref.spec
    data = copy.deepcopy(base_data)
    try:
        if c.variant is not None:
            vpath = _relative(c.variant, ref.source)
            vdata = scenario_mod.read_file(vpath)
            if not variants.is_variant(vdata):
                raise ScenarioError(str(vpath), "variant", "required: a variant file has a [variant] table")
            data = variants.apply(vdata, str(vpath), data)
        body = c.change_body()
        if body:
            data = variants.apply({"variant": {"name": c.id, "base": base_source}, **body}, ref.source, data)
    except ScenarioError as exc:
        if exc.source == ref.source:
            raise ref.error(exc.field, exc.message) from None
        raise ref.error("variant", exc.one_line()) from None
    data.pop("uncertainties", None)  # a changed scenario is one world; the base's ranges may name what it removed
    data.setdefault("scenario", {})["name"] = "claim-" + digest(_without_header(data))[:10]
    return data


def _without_header(data: dict) -> dict:
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


def prepare(scenario_ref: str, refs: list[ClaimRef]) -> tuple[experiment.Member, list[experiment.Member], list[str]]:
    """The base member, one member per distinct change, and each claim's member label.
    Every change and metric is checked here, before anything runs."""
    base = experiment.resolve_member(scenario_ref, None)
    members: dict[str, experiment.Member] = {}
    labels = []
    for ref in refs:
        _check_metric(ref, base.scenario)
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
        _check_metric(ref, members[label].scenario)
        labels.append(label)
    return base, list(members.values()), labels


# ------------------------------------------------------------------ running

def check(scenario_ref: str, refs: list[ClaimRef], *, replications: int, days: float, seed: int,
          n_jobs: Optional[int] = None, dask=None, progress: bool = False) -> dict:
    """Run the base and every change for ``replications`` paired replications and
    judge each claim (the ``--json`` contract of ``check-study``)."""
    base, members, labels = prepare(scenario_ref, refs)
    metric_names = sorted({r.spec.metric for r in refs})
    spec = experiment.Spec(name="check-study", base=scenario_ref, metrics=metric_names, days=days,
                           seed=seed, replications=replications)
    exp = experiment.Experiment(spec, [base] + members, where=("check-study", "--replications"))
    exp.run(None, n_jobs=n_jobs, dask=dask, progress=progress)
    df = exp.frame()
    by_label = {label: g.sort_values("replication") for label, g in df.groupby("label", sort=False)}
    rows = [judge(r, by_label[label][r.spec.metric].tolist(), by_label[base.label][r.spec.metric].tolist())
            for r, label in zip(refs, labels)]
    return {"scenario": base.label, "replications": replications, "days": days, "claims": rows}


def judge(ref: ClaimRef, changed: list[float], base: list[float]) -> dict:
    """One claim's row: the paired mean difference, its 95% interval and the verdict."""
    d, lo, hi = stats.paired_ci(changed, base)
    d, lo, hi = stats.number_or_none(d), stats.number_or_none(lo), stats.number_or_none(hi)
    c = ref.spec
    ok = lo is not None and hi is not None and (lo > 0 if c.expected == "+" else hi < 0)
    return {"claim": c.claim, "section": c.section, "metric": c.metric, "expected": c.expected,
            "diff": d, "ci95": [lo, hi], "pass": bool(ok)}


# ------------------------------------------------------------------ showing

DIFF_RULE = ("diff = mean over the paired replications of (changed - base), in percentage points (pp) for a "
             "share, hours (h) for a time; 95% = the t interval of that mean; --json keeps shares as fractions 0..1")


def _g(x: Optional[float], metric: str) -> str:
    return "n/a" if x is None else amount(x, metric)


def _interval(ci, metric: str) -> str:
    return f"[{_g(ci[0], metric)}, {_g(ci[1], metric)}]"


def _verdict(row: dict) -> str:
    return "PASS" if row["pass"] else "FAIL"


def header(result: dict, seed: int) -> str:
    r = result["replications"]
    return (f"check-study: {result['scenario']}, {r} paired replications of {result['days']:g} days "
            f"(seeds {seed}..{seed + r - 1}, common random numbers)")


def format_text(result: dict, refs: list[ClaimRef], seed: int) -> str:
    """The claims as a table for the terminal: one block per claim."""
    import textwrap

    lines = [header(result, seed), DIFF_RULE, PASS_RULE, "",
             f"{'#':>3}  {'result':<6}  {'exp':<3}  {'diff':>9}  {'95% interval':<22}  metric"]
    for i, (row, ref) in enumerate(zip(result["claims"], refs), 1):
        lines.append(f"{i:>3}  {_verdict(row):<6}  {row['expected']:<3}  {_g(row['diff'], row['metric']):>9}  "
                     f"{_interval(row['ci95'], row['metric']):<22}  {row['metric']}")
        text = f"{ref.spec.id}: {row['claim']} {row['section']}"
        lines += textwrap.wrap(text, 96, initial_indent=" " * 5, subsequent_indent=" " * 5)
        lines += textwrap.wrap(f"change: {ref.spec.change}", 96, initial_indent=" " * 5, subsequent_indent=" " * 13)
    passed = sum(row["pass"] for row in result["claims"])
    lines += ["", f"{passed} of {len(result['claims'])} claims pass."]
    return "\n".join(lines)


_MD_SPECIAL = "\\`*_[]|"


def _md(text: str) -> str:
    """``text`` safe in a Markdown table cell: one line, HTML escaped (a claim's
    ``<script>`` shows as text), and the characters Markdown reads as links, code or
    emphasis, and the cell separator, backslash-escaped."""
    import html

    flat = html.escape(" ".join(str(text).split()), quote=False)
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in flat)


def format_markdown(result: dict, refs: list[ClaimRef], seed: int, command: str) -> str:
    """The claims as a Markdown page (``docs/validation.md`` is this, generated)."""
    passed = sum(row["pass"] for row in result["claims"])
    out = [
        "# Validation: the field study's claims, checked against the model", "",
        f"<!-- generated from `{command} --markdown` (docs/validation.md: by scripts/make_validation_doc.py); "
        "do not edit by hand -->", "",
        "Each row is a claim of the field study (Rietjens & Ruffa 2017), in our words, with the",
        "section it comes from, a change to the scenario, and the direction the study leads one",
        "to expect one metric to move. The claims are data: `reporting_sim/study/claims/minusma.toml`.", "",
        f"- Run: `{command}`",
        f"- {header(result, seed)}.",
        f"- {DIFF_RULE}.",
        f"- {PASS_RULE}.",
        f"- Result: **{passed} of {len(result['claims'])} claims pass.**", "",
        "| # | claim | section | change | metric | expected | diff | 95% interval | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (row, ref) in enumerate(zip(result["claims"], refs), 1):
        out.append(f"| {i} | **{ref.spec.id}**: {_md(row['claim'])} | {_md(row['section'])} | {_md(ref.spec.change)} "
                   f"| `{row['metric']}` | {row['expected']} | {_g(row['diff'], row['metric'])} | {_interval(row['ci95'], row['metric'])} "
                   f"| {_verdict(row)} |")
    return "\n".join(out) + "\n"
