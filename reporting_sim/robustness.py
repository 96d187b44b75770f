"""Robust what-if answers: every verdict tested across the plausible worlds of its assumptions.

``compare`` answers "does this variant help?" in one world: the assumptions as written.
A robustness study asks whether the answer holds in every world the study leaves open.
It draws N *worlds* from the base scenario's ``[uncertainties]`` (Latin hypercube by
default, reproducibly from the seed: :mod:`.uncertainties`), and in each world runs
the base and every variant for R replications with common random numbers (replication
``r`` uses seed ``seed + r`` in every world and scenario). A variant keeps its own
changes in every world (trained U2 stays trained); every other uncertain setting takes
the world's value.

Per variant and metric it reports (:func:`analyse`, a pure function of the runs):

* ``share_better``: the share of worlds where the variant's mean over the replications
  is better than the base's, in the metric's *better direction* (:data:`BETTER`, the one
  place that says which way is better), with a 95% Wilson interval;
* ``share_sig_better`` / ``share_sig_worse``: the share of worlds whose paired 95%
  t interval (over the replications) lies wholly on the better / worse side of zero;
* ``diff_p05``, ``diff_p50``, ``diff_p95``: the difference variant - base across worlds;
* ``regret_p50``, ``regret_p90``: how far the variant falls short of the best scenario
  of each world (base included), in the metric's units; and how often each is best;
* for the verdict metric, *scenario discovery*: the boxes of assumption ranges where
  the variant fails to help, found by PRIM (the EMA Workbench's implementation), with
  their coverage and density, and the assumptions ranked by how much they drive its
  effect (extra-trees feature scores); then a one-sentence verdict.

Runs go through the executors of :mod:`.execution` (process pool, ``--jobs``, Dask) and
its :class:`~.execution.RunStore`, so an interrupted study resumes. The folder gets
``runs.parquet`` (world x scenario x replication, with the world's assumptions),
``worlds.csv``, ``summary.csv``, ``result.json``, ``figures/`` and ``run.json``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated, Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import output, scenario as scenario_mod
from .errors import ScenarioError
from .execution import Job, RunStore, execute, write_atomic
from .hashing import digest
from .experiment import Member, Spec, _num, _progress_bar, _unique_labels, resolve_member
from .streams import replication_seed
from .uncertainties import Space

INSTALL = 'scenario discovery needs the EMA Workbench: pip install -e ".[explore]" (or pip install ema_workbench)'

# ------------------------------------------------------------------ better direction

BETTER: dict[str, int] = {
    "in_time": +1, "within_planning": +1, "fidelity": +1, "fidelity_arrived": +1,
    "late": -1, "not_observed": -1, "not_reported": -1, "not_shared": -1, "withheld": -1, "in_flight": -1,
    "latency_p50": -1, "latency_p90": -1, "act_latency_p50": -1, "act_latency_p90": -1,
    "bypass_rate": -1, "share": -1, "mean_wait_h": -1,
}
"""Which way is better, by the last part of a metric's name: +1 higher is better (in
time, within the planning horizon, fidelity), -1 lower is better (late, lost in any way,
latency, the bypass rate, duplicated work, waits). A metric not named here (events,
utilisation) has no better direction and cannot be judged."""


def direction(metric: str) -> int:
    """+1 when a higher value of ``metric`` is better, -1 when lower is better."""
    last = metric.rsplit(".", 1)[-1]
    if last not in BETTER:
        raise ScenarioError("", "metric", f"{metric!r} has no better direction, so no variant can be judged "
                            f"better on it (judged: names ending in {', '.join(sorted(BETTER))})")
    return BETTER[last]


def default_metrics(consumers: list[str], first: Optional[str] = None) -> list[str]:
    """The metrics a study reports when none are named: ``first`` (the scenario's
    headline consumer; by default its first consumer) first."""
    first = first if first in consumers else consumers[0]
    out = [f"{first}.current.in_time"]
    out += [f"{c}.{fam}.in_time" for c in consumers for fam in ("current", "long_term")]
    out += [f"{first}.current.latency_p50", "bypass_rate"]
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------ study files

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class RobustnessSpec(_Strict):
    """``[robustness]``: how many worlds, how they are drawn, and the verdict metric."""

    worlds: Annotated[int, Field(ge=2, le=100000)] = 50
    sampling: Literal["lhs", "random"] = "lhs"
    metric: Optional[str] = None
    verdicts: Annotated[dict[str, str], Field(strict=False)] = {}
    prim_density: Annotated[float, Field(gt=0, le=1)] = 0.9
    max_boxes: Annotated[int, Field(ge=1, le=10)] = 2


class StudyFile(_Strict):
    experiment: Spec
    robustness: RobustnessSpec


def is_study_file(path: str | Path) -> bool:
    """Whether an experiment file has a ``[robustness]`` section."""
    data = scenario_mod.read_file(path)
    return isinstance(data, dict) and "robustness" in data


def load_study_file(path: str | Path) -> StudyFile:
    path = Path(path)
    data = scenario_mod.read_file(path)
    try:
        sf = StudyFile.model_validate(data)
    except ValidationError as exc:
        raise scenario_mod._first_error(exc, str(path)) from None
    if sf.experiment.target is not None:
        raise ScenarioError(str(path), "experiment.target", "a robustness study runs a fixed number of "
                            "replications per world; leave the target out")
    if sf.experiment.warmup_days >= sf.experiment.days:
        raise ScenarioError(str(path), "experiment.warmup_days", "must be less than days")
    return sf


# ------------------------------------------------------------------ the study

class Study:
    """A base, its variants and the worlds they are tested in (see the module docstring)."""

    def __init__(self, name: str, members: list[Member], *, worlds: int, replications: int, days: float,
                 seed: int, metrics: Optional[list[str]] = None, metric: Optional[str] = None,
                 sampling: str = "lhs", warmup_days: float = 0.0, prim_density: float = 0.9,
                 max_boxes: int = 2, spec_text: str = "", source: str = "robustness",
                 verdicts: Optional[dict[str, str]] = None):
        _unique_labels(members, source)
        need_explore()
        self.name, self.members, self.base = name, members, members[0]
        self.n_worlds, self.replications, self.days, self.seed = worlds, replications, days, seed
        self.sampling, self.warmup_days = sampling, warmup_days
        self.prim_density, self.max_boxes, self.spec_text = prim_density, max_boxes, spec_text
        if not self.base.scenario.uncertainties:
            raise ScenarioError(self.base.source, "uncertainties", "the base scenario has no [uncertainties] "
                                "table: nothing to vary (a variant has none of its own: give its base "
                                "scenario as BASE and the variant after it)")
        self.space = Space(self.base.data, self.base.scenario)
        if not self.space.items:
            raise ScenarioError(self.base.source, "uncertainties", "every uncertainty is fixed: nothing to vary")
        from .metrics import headline_consumer

        consumers = self.base.scenario.consumers
        self.metrics = list(dict.fromkeys(([metric] if metric else []) + list(
            metrics or default_metrics(consumers, headline_consumer(self.base.scenario)))))
        self.metric = self.metrics[0]
        self.verdicts = {m.label: self.metric for m in members[1:]}
        for label, name in (verdicts or {}).items():
            if label not in self.verdicts:
                raise ScenarioError(source, f"robustness.verdicts.{label}", "not a variant of this study "
                                    f"(variants: {', '.join(self.verdicts)})")
            self.verdicts[label] = name
        self.metrics += [n for n in self.verdicts.values() if n not in self.metrics]
        self._check_metrics(source)
        self.worlds = self.space.worlds(worlds, seed, sampling)
        self.held = {m.label: self.space.held_by(m.data, self.base.data) for m in members}

    @classmethod
    def from_file(cls, path: str | Path, *, worlds: Optional[int] = None, replications: Optional[int] = None,
                  days: Optional[float] = None) -> "Study":
        """A study file (``[experiment]`` and ``[robustness]``); ``worlds``,
        ``replications`` and ``days`` override the file's (a smaller trial run)."""
        path = Path(path)
        sf = load_study_file(path)
        e, r = sf.experiment, sf.robustness
        members = [resolve_member(e.base, path.parent)] + [resolve_member(v, path.parent) for v in e.variants]
        return cls(e.name, members, worlds=worlds or r.worlds, replications=replications or e.replications,
                   days=days or e.days, seed=e.seed,
                   metrics=e.metrics, metric=r.metric, sampling=r.sampling, warmup_days=e.warmup_days,
                   prim_density=r.prim_density, max_boxes=r.max_boxes, spec_text=path.read_text("utf-8"),
                   source=str(path), verdicts=r.verdicts)

    @classmethod
    def from_args(cls, base: str, variant_refs: list[str], *, worlds: int, replications: int, days: float,
                  seed: int, metrics: Optional[list[str]] = None, sampling: str = "lhs") -> "Study":
        members = [resolve_member(base, None)] + [resolve_member(v, None) for v in variant_refs]
        name = "robustness-" + members[0].label + "-" + digest(
            [[m.label, m.data] for m in members] + [worlds, replications, days, seed, sampling, metrics])[:8]
        return cls(name, members, worlds=worlds, replications=replications, days=days, seed=seed,
                   metrics=metrics, sampling=sampling)

    def _check_metrics(self, source: str) -> None:
        from .metric_names import flat_names

        for m in self.members:
            known = set(flat_names(m.scenario.consumers, list(m.scenario.cells)))
            for name in self.metrics:
                if name not in known:
                    c = m.scenario.consumers[0] if m.scenario.consumers else "CONSUMER"
                    raise ScenarioError(source, "metrics", f"unknown metric {name!r} for scenario {m.label!r} "
                                        f"(names look like {c}.current.in_time, {c}.latency_p50)")
        for name in self.metrics:
            try:
                direction(name)
            except ScenarioError as exc:
                raise ScenarioError(source, "metrics", exc.message) from None

    # -- jobs ----------------------------------------------------------------------
    def world_jobs(self, w: int) -> list[tuple[Job, int, str]]:
        """The runs of world ``w``: (job, world, scenario label), replication-major."""
        out = []
        datas = {m.label: self.space.apply(m.data, self.worlds[w], m.source, self.held[m.label])
                 for m in self.members}
        for r in range(self.replications):
            for m in self.members:
                job = Job.make(f"{m.label}@w{w}", datas[m.label], f"{m.source} (world {w})", r,
                               replication_seed(self.seed, r), self.days, self.warmup_days)
                out.append((job, w, m.label))
        return out

    def run(self, folder: Optional[Path] = None, *, n_jobs: Optional[int] = None, dask=None,
            progress: bool = False, chunk_worlds: int = 50) -> dict:
        """Run (or resume) every world; returns the result (see :func:`analyse`)."""
        store = RunStore(folder) if folder is not None else None
        if folder is not None:
            self._write_inputs(Path(folder))
        started = time.perf_counter()
        per_world = self.replications * len(self.members)
        bar = _progress_bar(progress, self.n_worlds * per_world, self.name)
        rows: list[dict] = []
        try:
            for first in range(0, self.n_worlds, chunk_worlds):  # a chunk's scenarios in memory at a time
                planned = [t for w in range(first, min(first + chunk_worlds, self.n_worlds)) for t in self.world_jobs(w)]
                got = _run_jobs([job for job, _, _ in planned], store, bar, n_jobs, dask)
                for job, w, label in planned:
                    rows.append({**got[job.key], "world": w, "scenario": label, "replication": job.replication})
        finally:
            if bar is not None:
                bar.close()
        self.frame = self._frame(rows)
        result = analyse(self.frame, self.worlds_frame(), self.base.label, [m.label for m in self.members[1:]],
                         self.metrics, self.verdicts, seed=self.seed, prim_density=self.prim_density,
                         max_boxes=self.max_boxes)
        result.update(self._header())
        result["uncertainties"] = self.space.describe()
        result["wall_time_s"] = round(time.perf_counter() - started, 3)
        if folder is not None:
            self._write_outputs(Path(folder), result)
        return result

    def _header(self) -> dict:
        return {"study": self.name, "base": self.base.label, "worlds": self.n_worlds,
                "replications": self.replications, "days": self.days, "seed": self.seed,
                "sampling": self.sampling, "metric": self.metric,
                "held": {k: sorted(v) for k, v in self.held.items() if v}}

    def worlds_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.worlds, columns=self.space.paths)
        df.index.name = "world"
        return df

    def _frame(self, rows: list[dict]) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        keep = ["world", "scenario", "replication", "seed", "key", "wall_s"] + [m for m in self.metrics]
        others = [c for c in df.columns if c not in keep and c not in ("label", "days", "warmup_days")]
        df = df[keep + others]
        worlds = self.worlds_frame().reset_index()
        worlds.columns = ["world"] + [f"u:{p}" for p in self.space.paths]
        return df.merge(worlds, on="world", how="left")

    # -- folder --------------------------------------------------------------------
    def _write_inputs(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.spec_text:
            write_atomic(folder / "study.toml", self.spec_text)
        write_atomic(folder / "worlds.csv", self.worlds_frame().to_csv())
        (folder / "scenarios").mkdir(exist_ok=True)
        for m in self.members:
            write_atomic(folder / "scenarios" / f"{m.label}.toml", m.scenario.to_toml())
        from .provenance import source_texts

        base = self.base.source  # the base's file, or a built-in's label
        for name, text in source_texts(base if Path(base).is_file() else base.split(" (built-in)")[0]).items():
            write_atomic(folder / name, text)

    def _write_outputs(self, folder: Path, result: dict) -> None:
        tmp = folder / ".runs.parquet.tmp"
        frame = self.frame.copy()
        for c in frame.columns:  # a column of mixed or non-numeric values is written as text
            if frame[c].dtype == object:
                frame[c] = frame[c].astype(str)
        frame.to_parquet(tmp, index=False)
        tmp.replace(folder / "runs.parquet")
        write_atomic(folder / "summary.csv", summary_frame(result).to_csv(index=False))
        figures(result, self.frame, self.worlds_frame(), folder / "figures")
        write_atomic(folder / "result.json", json.dumps(result, indent=2, default=str) + "\n")
        info = {**self._header(), "members": [m.label for m in self.members], "runs": len(self.frame),
                "seeds": f"seed + replication ({self.seed}..{self.seed + self.replications - 1}) in every world",
                "wall_time_s": result.get("wall_time_s"),
                "run_seconds_total": round(float(self.frame["wall_s"].sum()), 3),
                "versions": output.versions(), "argv": sys.argv[1:],
                "written_at": _dt.datetime.now().isoformat(timespec="seconds")}
        write_atomic(folder / "run.json", json.dumps(info, indent=2) + "\n")


def need_explore() -> None:
    """Fail early, with the command that installs it, when the EMA Workbench is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ema_workbench.analysis.prim  # noqa: F401
    except ImportError:
        raise ScenarioError("", "robustness", INSTALL) from None


# ------------------------------------------------------------------ analysis

def _wilson(k: int, n: int) -> list:
    if n == 0:
        return [None, None]
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def _q(x: np.ndarray, q: float):
    return _num(np.percentile(x, q)) if len(x) else None


def world_means(frame: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean of each metric over the replications, per (world, scenario)."""
    return frame.groupby(["world", "scenario"], sort=True)[metrics].mean()


def _paired_sides(frame: pd.DataFrame, base: str, variant: str, metric: str, sign: int) -> tuple[int, int, int]:
    """Worlds whose paired 95% interval is wholly better / wholly worse, and worlds judged."""
    from .stats import paired_ci

    a = frame[frame["scenario"] == variant].set_index(["world", "replication"])[metric]
    b = frame[frame["scenario"] == base].set_index(["world", "replication"])[metric]
    better = worse = judged = 0
    for w, va in a.groupby(level=0):
        vb = b.loc[w].reindex(va.index.get_level_values(1))
        _, lo, hi = paired_ci(va.tolist(), vb.tolist())
        if math.isnan(lo) or math.isnan(hi):
            continue
        judged += 1
        lo, hi = sorted((sign * lo, sign * hi))
        better += lo > 0
        worse += hi < 0
    return better, worse, judged


def _run_jobs(jobs: list, store: Optional[RunStore], bar, n_jobs, dask) -> dict[str, dict]:
    """Each job's row by job key: from the store when it holds the run, else run (once
    per key: two worlds can share a scenario) and stored."""
    got: dict[str, dict] = {}
    todo = []
    for job in jobs:
        if store is not None and store.has(job):
            got[job.key] = store.load(job)
            if bar is not None:
                bar.update(1)
        elif job.key not in got:
            todo.append(job)

    def keep(job, row):
        got[job.key] = row
        if store is not None:
            store.save(job, row)

    execute(list({j.key: j for j in todo}.values()), keep, n_jobs=n_jobs, dask=dask, progress=bar)
    return got


def analyse(frame: pd.DataFrame, worlds: pd.DataFrame, base: str, variants: list[str], metrics: list[str],
            verdict_metric, *, seed: int = 0, prim_density: float = 0.9, max_boxes: int = 2) -> dict:
    """The study's numbers from its runs (``frame``: one row per world, scenario and
    replication) and its worlds (one row per world, one column per uncertainty);
    ``verdict_metric``: the metric each variant is judged on (one name, or a mapping
    variant -> name)."""
    means = world_means(frame, metrics)
    out: dict = {"variants": {}, "best_counts": {}, "base_regret": {}}
    for m in metrics:
        _analyse_metric(frame, means, m, base, variants, out)
    for v in variants:
        vm = verdict_metric if isinstance(verdict_metric, str) else verdict_metric[v]
        table = means[vm].unstack("scenario")
        d = (table[v] - table[base]).reindex(worlds.index)
        block = out["variants"][v]
        block["verdict_metric"] = vm
        block["fails_when"], block["importance"] = discover(worlds, direction(vm) * d, seed, prim_density, max_boxes)
        block["verdict"] = verdict(v, vm, block["metrics"][vm], block["fails_when"], block["importance"], worlds)
    return out


def _analyse_metric(frame: pd.DataFrame, means: pd.DataFrame, m: str, base: str, variants: list[str],
                    out: dict) -> None:
    """Metric ``m`` across the worlds: how often each scenario was best, the base's
    regret, and for each variant the share of worlds it does better (and significantly
    better or worse), the spread of its difference and its regret."""
    sign = direction(m)
    scenarios = [base] + variants
    table = means[m].unstack("scenario").reindex(columns=scenarios)
    signed = sign * table
    best = signed.max(axis=1, skipna=False)
    regret = best.to_numpy()[:, None] - signed.to_numpy()
    ok = ~np.isnan(best.to_numpy())
    winners = signed[ok].idxmax(axis=1)  # ties go to the first scenario (the base)
    out["best_counts"][m] = {s: int((winners == s).sum()) for s in scenarios}
    out["base_regret"][m] = {"regret_p50": _q(regret[ok, 0], 50), "regret_p90": _q(regret[ok, 0], 90)}
    for j, v in enumerate(variants, start=1):
        d = (table[v] - table[base]).to_numpy()
        good = ~np.isnan(d)
        n, k, same = int(good.sum()), int((sign * d[good] > 0).sum()), int((d[good] == 0).sum())
        sb, sw, judged = _paired_sides(frame, base, v, m, sign)
        r = regret[ok, j]
        out["variants"].setdefault(v, {"metrics": {}})["metrics"][m] = {
            "share_better": k / n if n else None, "share_better_ci95": _wilson(k, n), "worlds_judged": n,
            "share_unchanged": same / n if n else None,
            "share_sig_better": sb / judged if judged else None,
            "share_sig_worse": sw / judged if judged else None,
            "diff_p05": _q(d[good], 5), "diff_p50": _q(d[good], 50), "diff_p95": _q(d[good], 95),
            "regret_p50": _q(r, 50), "regret_p90": _q(r, 90)}


def _x_frame(worlds: pd.DataFrame) -> pd.DataFrame:
    x = worlds.copy()
    for c in x.columns:
        if x[c].dtype == bool or x[c].dtype == object:
            x[c] = x[c].astype(str).astype("category")
        else:
            x[c] = x[c].astype(float)
    return x[[c for c in x.columns if x[c].nunique() > 1]]


def discover(worlds: pd.DataFrame, gain: pd.Series, seed: int, density: float, max_boxes: int):
    """PRIM boxes of the worlds where ``gain`` (the signed difference) is not positive,
    and extra-trees scores of how much each assumption drives ``gain``."""
    good = gain.notna().to_numpy()
    x = _x_frame(worlds[good]).reset_index(drop=True)
    y = gain.to_numpy()[good]
    fails = y <= 0
    ints = {c for c in worlds.columns if pd.api.types.is_integer_dtype(worlds[c]) and worlds[c].dtype != bool}
    boxes = prim_boxes(x, fails, density, max_boxes, ints) if 0 < fails.sum() < len(fails) else []
    return boxes, feature_scores(x, y, seed)


def prim_boxes(x: pd.DataFrame, fails: np.ndarray, density: float, max_boxes: int,
               ints: frozenset = frozenset()) -> list[dict]:
    """Up to ``max_boxes`` PRIM boxes (EMA Workbench) around the failing worlds: on each
    peeling trajectory, the box of greatest coverage among those of at least ``density``
    (else of all), the densest of equal coverage. ``coverage``: share of all failing worlds inside the box;
    ``density``: share of the worlds inside the box that fail; ``qp``: each limit's quasi-p
    value (a one-sided binomial test of the limit; ``significant`` when all are below 0.05). Limits of integer
    assumptions (``ints``) are the whole numbers inside the box."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        p = prim.Prim(x, fails, threshold=density, peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05)
        out = []
        total = int(fails.sum())
        for _ in range(max_boxes):
            try:
                box = p.find_box()
            except Exception:  # ema raises once nothing is left to find
                break
            if box is None:
                break
            traj = box.peeling_trajectory.reset_index(drop=True)
            dense = traj[traj["density"] >= density]
            pick = dense if len(dense) else traj  # most coverage, then most density
            i = int(pick.sort_values(["coverage", "density"], kind="stable").index[-1])
            limits = _box_limits(x, box.box_lims[i], box.box_lims[0], ints)
            inside = _inside(x, limits)
            n_in, k_in = int(inside.sum()), int((inside & fails).sum())
            if not limits or n_in == 0:
                break
            qp = {c: _worst_qp(box.qp[i].get(c)) for c in limits}
            out.append({"box": limits, "coverage": k_in / total, "density": k_in / n_in, "worlds": n_in,
                        "qp": qp, "significant": all(q is not None and q < 0.05 for q in qp.values()),
                        "trajectory": traj[["coverage", "density", "mass", "res_dim"]].astype(float).round(6)
                        .to_dict(orient="list"), "chosen": i})
            if k_in / n_in < density:
                break
    return out


def _box_limits(x: pd.DataFrame, lims, init, ints) -> dict:
    """The limits of a PRIM box that differ from the initial box: a set of categories,
    or [low, high] (whole numbers for the integer assumptions ``ints``)."""
    limits = {}
    for c in x.columns:
        lo, hi = lims[c].iloc[0], lims[c].iloc[1]
        if isinstance(lo, set):
            if lo != init[c].iloc[0]:
                limits[c] = sorted(lo)
        elif lo > init[c].iloc[0] or hi < init[c].iloc[1]:
            limits[c] = [math.ceil(lo), math.floor(hi)] if c in ints else [float(lo), float(hi)]
    return limits


def _inside(x: pd.DataFrame, limits: dict) -> np.ndarray:
    """Which worlds (rows of ``x``) lie inside a box's ``limits``."""
    inside = np.ones(len(x), dtype=bool)
    for c, lim in limits.items():
        inside &= x[c].astype(str).isin(lim).to_numpy() if x[c].dtype.name == "category" else \
            ((x[c] >= lim[0]) & (x[c] <= lim[1])).to_numpy()
    return inside


def _worst_qp(values) -> Optional[float]:
    """The larger quasi-p value of a limit's two ends (Bryant and Lempert 2010; -1: no limit)."""
    vals = [float(v) for v in (values or []) if v is not None and not math.isnan(float(v)) and float(v) >= 0]
    return max(vals) if vals else None


def feature_scores(x: pd.DataFrame, y: np.ndarray, seed: int) -> list[dict]:
    """Extra-trees importance (EMA Workbench) of each assumption for ``y``, highest first."""
    if len(x.columns) == 0 or len(y) < 4 or np.nanstd(y) == 0:
        return []
    xn = x.copy()
    for c in xn.columns:
        if xn[c].dtype.name == "category":
            xn[c] = xn[c].cat.codes.astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import feature_scoring
        from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

        scores = feature_scoring.get_ex_feature_scores(xn, y, mode=RuleInductionType.REGRESSION,
                                                      nr_trees=200, random_state=int(seed) % 2**32)[0]
    col = scores.columns[0]
    return [{"path": str(p), "score": float(s)} for p, s in scores[col].sort_values(ascending=False).items()]


# ------------------------------------------------------------------ verdicts

def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _condition(box: dict, worlds: pd.DataFrame) -> str:
    parts = []
    for p, lim in box.items():
        if isinstance(lim[0], str) or isinstance(lim[0], bool):
            parts.append(f"{p} is {' or '.join(map(str, lim))}")
            continue
        full_lo, full_hi = float(worlds[p].min()), float(worlds[p].max())
        lo, hi = lim
        if lo == hi:
            parts.append(f"{p} is {lo:.3g}")
        elif lo > full_lo and hi < full_hi:
            parts.append(f"{p} is between {lo:.3g} and {hi:.3g}")
        elif lo > full_lo:
            parts.append(f"{p} is over {lo:.3g}")
        else:
            parts.append(f"{p} is under {hi:.3g}")
    return " and ".join(parts)


def verdict(variant: str, metric: str, m: dict, boxes: list[dict], importance: list[dict],
            worlds: pd.DataFrame) -> str:
    """One sentence a planner can read: how often the variant helps, by how much, and
    where it does not."""
    n = m["worlds_judged"]
    if not n:
        return f"{variant}: no world gave a value of {metric}."
    if m["share_unchanged"] == 1:
        return f"{variant} leaves {metric} unchanged in all {n} plausible worlds."
    lo, hi = m["share_better_ci95"]
    way = "raises" if direction(metric) > 0 else "lowers"
    s = (f"{variant} {way} {metric} (better) in {_pct(m['share_better'])} [{_pct(lo)}, {_pct(hi)}] of "
         f"{n} plausible worlds (median change {m['diff_p50']:+.3g}; 5th-95th percentile "
         f"{m['diff_p05']:+.3g} to {m['diff_p95']:+.3g})")
    if m["share_better"] == 1:
        return s + "."
    sig = [b for b in boxes if b.get("significant")]
    if sig:
        b = sig[0]
        return (s + f"; where it does not, {_condition(b['box'], worlds)} ({_pct(b['coverage'])} of those "
                f"worlds lie in that box, {_pct(b['density'])} of the worlds in it are ones where it does not help).")
    if importance:
        return s + (f"; no clear box of assumptions where it fails (PRIM: none with every quasi-p < 0.05)"
                    if boxes else "") + f"; its effect depends most on {importance[0]['path']}."
    return s + "."


# ------------------------------------------------------------------ tables and figures

def summary_frame(result: dict) -> pd.DataFrame:
    """One row per variant and metric (the numbers of ``result.json``)."""
    rows = []
    for v, block in result["variants"].items():
        for m, e in block["metrics"].items():
            rows.append({"variant": v, "metric": m, "better": "higher" if direction(m) > 0 else "lower",
                         "share_better": e["share_better"], "share_better_ci95_low": e["share_better_ci95"][0],
                         "share_better_ci95_high": e["share_better_ci95"][1],
                         "share_sig_better": e["share_sig_better"], "share_sig_worse": e["share_sig_worse"],
                         "share_unchanged": e["share_unchanged"], "diff_p05": e["diff_p05"], "diff_p50": e["diff_p50"], "diff_p95": e["diff_p95"],
                         "regret_p50": e["regret_p50"], "regret_p90": e["regret_p90"],
                         "best_in_worlds": result["best_counts"][m][v], "worlds": e["worlds_judged"]})
    return pd.DataFrame(rows)


DEFINITIONS = [
    ("better in", "share of worlds where the variant's mean over the replications beats the base's, "
                  "in the metric's better direction; [95% Wilson interval]"),
    ("sig+ / sig-", "share of worlds whose paired 95% interval is wholly better / wholly worse"),
    ("p05 p50 p95", "the difference variant - base across worlds, at the 5th, 50th and 95th percentile"),
    ("regret p50/p90", "how far below the best scenario of each world (base included), in the metric's units"),
    ("best", "in how many worlds it was the best scenario (ties go to the base)"),
]


def format_result(result: dict) -> str:
    """The study as text: a table for the verdict metric, then each verdict."""
    m = result["metric"]
    lines = [f"robustness of {len(result['variants'])} variant(s) of {result['base']} across "
             f"{result['worlds']} worlds x {result['replications']} replications of {result['days']:g} days",
             f"metric: {m} ({'higher' if direction(m) > 0 else 'lower'} is better)", ""]
    head = f"{'variant':<34} {'better in':>18} {'sig+':>5} {'sig-':>5} {'p05':>8} {'p50':>8} {'p95':>8} " \
           f"{'regret p50/p90':>16} {'best':>5}"
    lines += [head, "-" * len(head)]
    base_best = result["best_counts"][m][result["base"]]
    for v, block in result["variants"].items():
        e = block["metrics"][m]
        lo, hi = e["share_better_ci95"]
        f = (lambda x: "-" if x is None else f"{x:+.3f}")
        lines.append(f"{v:<34} {_pct(e['share_better']):>5} [{_pct(lo):>4},{_pct(hi):>5}] "
                     f"{_pct(e['share_sig_better']):>5} {_pct(e['share_sig_worse']):>5} {f(e['diff_p05']):>8} "
                     f"{f(e['diff_p50']):>8} {f(e['diff_p95']):>8} "
                     f"{(e['regret_p50'] or 0):>7.3f}/{(e['regret_p90'] or 0):.3f} "
                     f"{result['best_counts'][m][v]:>5}")
    lines.append(f"{'(base: ' + result['base'] + ')':<34} best in {base_best} worlds")
    lines += ["", *[f"  {k}: {d}" for k, d in DEFINITIONS], "", "verdicts:"]
    lines += [f"- {block['verdict']}" for block in result["variants"].values()]
    return "\n".join(lines)


def figures(result: dict, frame: pd.DataFrame, worlds: pd.DataFrame, folder: Path) -> list[Path]:
    """The differences across worlds (one shared axis), the PRIM boxes of each variant
    and the assumptions' importance; PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import save

    m, base = result["metric"], result["base"]
    variants = list(result["variants"])
    table = world_means(frame, [m])[m].unstack("scenario")
    made = []
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(variants)))
    rng = np.random.default_rng(0)
    for i, v in enumerate(variants):
        d = (table[v] - table[base]).dropna().to_numpy()
        ax.scatter(d, i + rng.uniform(-0.15, 0.15, len(d)), s=8, alpha=0.5, color="#2171b5")
        if len(d):
            p05, p50, p95 = np.percentile(d, [5, 50, 95])
            ax.plot([p05, p95], [i, i], color="black", lw=1.5)
            ax.plot([p50], [i], "k|", ms=14, mew=2)
    ax.axvline(0, color="#d73027", lw=1)
    ax.set_yticks(range(len(variants)), variants)
    ax.invert_yaxis()
    better = "higher" if direction(m) > 0 else "lower"
    ax.set_xlabel(f"{m}: variant - base, one dot per world\n({better} is better; bar: 5th-95th percentile; "
                  "tick: median)")
    made.append(save(fig, folder / "differences"))
    for v, block in result["variants"].items():
        if block["fails_when"]:
            made.append(_prim_figure(v, block["fails_when"][0], worlds, folder / f"prim-{v}", plt, save))
    imp = {v: {e["path"]: e["score"] for e in block.get("importance", [])} for v, block in result["variants"].items()}
    imp = pd.DataFrame(imp).fillna(0.0)
    if len(imp):
        top = imp.max(axis=1).sort_values(ascending=False).index[:12]
        fig, ax = plt.subplots(figsize=(1.5 + 0.7 * len(variants), 0.8 + 0.35 * len(top)))
        im = ax.imshow(imp.loc[top].to_numpy(), cmap="Blues", aspect="auto")
        ax.set_yticks(range(len(top)), top, fontsize=7)
        ax.set_xticks(range(len(imp.columns)), imp.columns, rotation=45, ha="right", fontsize=7)
        fig.colorbar(im, ax=ax, label="feature score (extra trees)")
        ax.set_title("what drives each variant's effect on its verdict metric", fontsize=9)
        made.append(save(fig, folder / "importance"))
    return made


def _prim_figure(variant: str, box: dict, worlds: pd.DataFrame, path: Path, plt, save) -> Path:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.2))
    t = box["trajectory"]
    sc = a.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=14)
    a.scatter([t["coverage"][box["chosen"]]], [t["density"][box["chosen"]]], s=90, facecolors="none",
              edgecolors="#d73027")
    a.set_xlabel("coverage (share of failing worlds in the box)")
    a.set_ylabel("density (share of box that fails)")
    a.set_title(f"{variant}: PRIM peeling trajectory", fontsize=9)
    fig.colorbar(sc, ax=a, label="restricted assumptions")
    names = list(box["box"])
    for i, p in enumerate(names):
        lim = box["box"][p]
        b.plot([0, 1], [i, i], color="#bdbdbd", lw=6)
        if isinstance(lim[0], (int, float)) and not isinstance(lim[0], bool):
            lo, hi = float(worlds[p].min()), float(worlds[p].max())
            x0, x1 = (lim[0] - lo) / (hi - lo), (lim[1] - lo) / (hi - lo)
            b.plot([x0, x1], [i, i], color="#d73027", lw=6)
            b.text(x0, i + 0.25, f"{lim[0]:.3g}", fontsize=7, ha="center")
            b.text(x1, i + 0.25, f"{lim[1]:.3g}", fontsize=7, ha="center")
        else:
            b.text(0.5, i + 0.25, " or ".join(map(str, lim)), fontsize=7, ha="center")
    b.set_yticks(range(len(names)), names, fontsize=7)
    b.set_ylim(-0.7, len(names) - 0.3)
    b.set_xlim(-0.05, 1.05)
    b.set_xlabel("each assumption's sampled range (grey) and the box (red)")
    b.set_title(f"where it fails: coverage {box['coverage']:.0%}, density {box['density']:.0%}", fontsize=9)
    return save(fig, path)


# ------------------------------------------------------------------ report hook

def is_results(folder: Path) -> bool:
    """Whether ``folder`` holds a robustness study's results."""
    f = Path(folder) / "result.json"
    if not f.exists():
        return False
    try:
        return "worlds" in json.loads(f.read_text("utf-8"))
    except (OSError, ValueError):
        return False


def _read(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    folder = Path(folder)
    result = json.loads((folder / "result.json").read_text("utf-8"))
    return result, pd.read_parquet(folder / "runs.parquet"), pd.read_csv(folder / "worlds.csv", index_col="world")


def replot(folder: Path, out: Path) -> list[Path]:
    """The figures of a robustness results folder, drawn again into ``out``."""
    return figures(*_read(folder), Path(out))


def report_section(folder: Path, work: Path) -> str:
    """The robustness section of ``reporting-sim report``: verdicts, the table of the
    verdict metric with its definitions, and the figures."""
    result, frame, worlds = _read(folder)
    pngs = figures(result, frame, worlds, Path(work) / "robustness")
    esc = html.escape
    body = [f"<h2>Robustness across {result['worlds']} plausible worlds</h2>",
            f"<p class='meta'>Base {esc(result['base'])}; {result['replications']} replications of "
            f"{result['days']:g} days per world and scenario, common random numbers; worlds drawn by "
            f"{esc(result['sampling'])} over {len(result['uncertainties'])} uncertain assumptions "
            f"(seed {result['seed']}). The table is for {esc(result['metric'])}; each verdict names the "
            "metric its variant is judged on.</p>", "<ul>"]
    body += [f"<li>{esc(b['verdict'])}</li>" for b in result["variants"].values()]
    body.append("</ul>")
    table = summary_frame(result)
    table = table[table["metric"] == result["metric"]].drop(columns=["metric"]).set_index("variant")
    body.append(table.to_html(border=0, na_rep="-", float_format=lambda x: f"{x:.3f}", escape=True))
    body.append("<ul class='meta'>" + "".join(f"<li><b>{esc(k)}</b>: {esc(d)}</li>" for k, d in DEFINITIONS)
                + "</ul>")
    for png in pngs:
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        body.append(f'<img alt="{esc(Path(png).stem)}" src="data:image/png;base64,{data}">')
    return "\n".join(body)
