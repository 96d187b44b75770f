"""A robustness study run: worlds drawn from the base's ``[uncertainties]``, the base and
every variant run in each world with common random numbers, through the executors and
the resumable run store; the runs, worlds, summary and result written to the study's
folder. The runner computes and stores; it draws no figure (that is
:mod:`reporting_sim.present.robustness`, from the stored results).

Each world has its own seeds (:func:`world_seed`: replication ``r`` of world ``w``),
common to the base and every variant within the world, so replication noise is
independent between worlds. Replications are added sequentially: every world starts
with ``replications``; after each round, a world where some variant's verdict on its
verdict metric is still undecided (:func:`.analysis.world_verdict`) gets ``batch`` more
replications of the base and of those variants, until every verdict is decided or
``max_replications`` is reached. The rounds depend only on the runs' numbers, so the
study is the same serially, on a pool or on Dask, and a rerun resumes it."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Optional

import pandas as pd

from ...errors import ScenarioError
from ...hashing import digest
from ...metric_names import JSON_UNITS, direction, min_effect
from ...scenario.uncertainties import Space
from .. import guard, output
from ..execution import Job, progress_bar
from ..experiment import Member, resolve_member, unique_labels
from ..seeds import world_seed
from .analysis import analyse, look_level, summary_frame, world_effects
from .spec import default_metrics, load_study_file, need_explore


class Study:
    """A base, its variants and the worlds they are tested in (see the module docstring)."""

    def __init__(self, name: str, members: list[Member], *, worlds: int, replications: int, days: float,
                 seed: int, metrics: Optional[list[str]] = None, metric: Optional[str] = None,
                 sampling: str = "lhs", warmup_days: float = 0.0, prim_density: float = 0.9,
                 max_boxes: int = 2, spec_text: str = "", source: str = "robustness",
                 verdicts: Optional[dict[str, str]] = None, min_effects: Optional[dict[str, float]] = None,
                 max_replications: Optional[int] = None, batch: int = 2, permutations: int = 19,
                 worlds_from: Optional[str] = None):
        unique_labels(members, source)
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
        from ...measures.metrics import headline_consumer

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
        self.metrics += [n for n in (min_effects or {}) if n not in self.metrics]  # a question's own measure
        self._check_metrics(source)
        self.min_effects = {m: min_effect(m, min_effects) for m in self.metrics}
        self.deciding = {label: list(dict.fromkeys([vm, *(min_effects or {})])) for label, vm in self.verdicts.items()}
        """Per variant, the metrics whose worlds' verdicts must be decided: its verdict
        metric and every metric given a minimum effect of its own."""
        self.max_replications = max(replications, max_replications or max(3 * replications, 6))
        self.batch, self.permutations = max(1, int(batch)), permutations
        self.worlds_from, self.source = worlds_from, source
        if worlds_from is None:  # the limit before drawing (a worlds file says its own number)
            guard.check_runs(self.planned_runs(), source, self.runs_field(source), self.runs_how())
        self.worlds = self._draw_worlds(worlds, seed, sampling)
        if worlds_from is not None:
            guard.check_runs(self.planned_runs(), source, self.runs_field(source), self.runs_how())
        self.held = {m.label: self.space.held_by(m.data, self.base.data) for m in members}

    def _draw_worlds(self, n: int, seed: int, sampling: str) -> list[dict]:
        """``n`` worlds drawn from the space, or the plausible worlds of a calibration."""
        if self.worlds_from is None:
            return self.space.worlds(n, seed, sampling)
        from ..worlds import read_worlds

        table = read_worlds(self.worlds_from, self.space)
        worlds = [dict(zip(self.space.paths, row)) for row in table.itertuples(index=False, name=None)]
        self.n_worlds, self.sampling = len(worlds), "plausible worlds from " + str(self.worlds_from)
        return worlds

    @classmethod
    def from_file(cls, path: str | Path, *, worlds: Optional[int] = None, replications: Optional[int] = None,
                  days: Optional[float] = None) -> "Study":
        """A study file (``[experiment]`` and ``[robustness]``); ``worlds``,
        ``replications`` and ``days`` override the file's (a smaller trial run)."""
        path = Path(path)
        sf = load_study_file(path)
        e, r = sf.experiment, sf.robustness
        members = [resolve_member(e.base, path.parent)] + [resolve_member(v, path.parent) for v in e.variants]
        worlds_from = _worlds_file(path, r.worlds_from)
        return cls(e.name, members, worlds=worlds or r.worlds, replications=replications or e.replications,
                   days=days or e.days, seed=e.seed,
                   metrics=e.metrics, metric=r.metric, sampling=r.sampling, warmup_days=e.warmup_days,
                   prim_density=r.prim_density, max_boxes=r.max_boxes, spec_text=path.read_text("utf-8"),
                   source=str(path), verdicts=r.verdicts, min_effects=r.min_effect or None,
                   max_replications=r.max_replications, worlds_from=worlds_from)

    @classmethod
    def from_args(cls, base: str, variant_refs: list[str], *, worlds: int, replications: int, days: float,
                  seed: int, metrics: Optional[list[str]] = None, sampling: str = "lhs",
                  min_effects: Optional[dict[str, float]] = None, max_replications: Optional[int] = None,
                  worlds_from: Optional[str] = None) -> "Study":
        members = [resolve_member(base, None)] + [resolve_member(v, None) for v in variant_refs]
        drawn = [worlds, sampling] if worlds_from is None else [_file_digest(worlds_from)]
        name = "robustness-" + members[0].label + "-" + digest(
            [[m.label, m.data] for m in members] + drawn + [replications, days, seed, metrics]
            + ([min_effects, max_replications] if min_effects or max_replications else []))[:8]
        return cls(name, members, worlds=worlds, replications=replications, days=days, seed=seed,
                   metrics=metrics, sampling=sampling, min_effects=min_effects, max_replications=max_replications,
                   worlds_from=worlds_from)

    def _check_metrics(self, source: str) -> None:
        from ...metric_names import flat_names

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
    def world_data(self, w: int) -> dict[str, dict]:
        """Each scenario's data in world ``w``."""
        return {m.label: self.space.apply(m.data, self.worlds[w], m.source, self.held[m.label]) for m in self.members}

    def world_jobs(self, w: int, counts: Optional[dict[str, int]] = None,
                   datas: Optional[dict] = None) -> list[tuple[Job, int, str]]:
        """The runs of world ``w``: (job, world, scenario label), replication-major;
        ``counts``: replications per scenario label (default: ``replications`` each)."""
        datas = datas or self.world_data(w)
        counts = counts or {m.label: self.replications for m in self.members}
        out = []
        for r in range(max(counts.values())):
            for m in self.members:
                if r < counts[m.label]:
                    job = Job.make(f"{m.label}@w{w}", datas[m.label], f"{m.source} (world {w})", r,
                                   world_seed(self.seed, w, r), self.days, self.warmup_days)
                    out.append((job, w, m.label))
        return out

    def looks(self) -> int:
        """How many times a world's interval may be looked at (rounds of replications)."""
        return 1 + math.ceil(max(0, self.max_replications - self.replications) / self.batch)

    # -- the study guard -----------------------------------------------------------
    def planned_runs(self) -> int:
        """The most runs the study may make: every world and scenario at the cap."""
        return self.n_worlds * self.max_replications * len(self.members)

    def runs_how(self) -> str:
        return (f"{self.n_worlds} worlds x {len(self.members)} scenarios x up to {self.max_replications} "
                "replications")

    @staticmethod
    def runs_field(source: str) -> str:
        return "robustness.worlds" if source.endswith(".toml") else "--worlds"

    def design_id(self) -> str:
        """What the study computes, whatever its replications or metrics: its scenarios,
        worlds, horizon, warm-up and seed (a rerun resumes; another design is refused)."""
        return digest([[[m.label, m.data] for m in self.members], self.worlds, self.days, self.warmup_days,
                       self.seed, self.sampling])

    def plan(self) -> guard.Plan:
        return guard.Plan("robustness", self.name, self.design_id(), self.planned_runs(), source=self.source,
                          field=self.runs_field(self.source), how=self.runs_how())

    def run(self, folder: Optional[Path] = None, *, n_jobs: Optional[int] = None, dask=None,
            progress: bool = False, chunk_worlds: int = 50) -> dict:
        """Run (or resume) every world through the study guard (:mod:`..guard`: the run
        limit, the folder's claim and lock, checksummed resumable runs), adding
        replications where a verdict is still undecided (module docstring); returns the
        result (see :func:`analyse`) and its ``wall_time_s``."""
        with guard.claim(folder, self.plan(), n_jobs=n_jobs, dask=dask) as g:
            self._write_inputs(g)
            rows = self._run_rounds(g, progress, chunk_worlds)
            self.frame = self._frame([rows[k] for k in sorted(rows)])
            result = self._result()
            self._write_outputs(g, result)
        return {**result, "wall_time_s": g.wall_s}

    def _run_rounds(self, g, progress: bool, chunk_worlds: int) -> dict[tuple, dict]:
        """Every round of replications, until no world's verdict is undecided (or the cap)."""
        counts = {w: {m.label: self.replications for m in self.members} for w in range(self.n_worlds)}
        bar = progress_bar(progress, self.n_worlds * self.replications * len(self.members), self.name)
        rows: dict[tuple, dict] = {}
        self.rounds = 0
        try:
            todo = set(range(self.n_worlds))
            while todo:
                self._run_round(sorted(todo), counts, rows, g, bar, chunk_worlds)
                self.rounds += 1
                todo = self._grow(sorted(todo), counts, rows, bar)
        finally:
            if bar is not None:
                bar.close()
        return rows

    def _result(self) -> dict:
        result = analyse(self.frame, self.worlds_frame(), self.base.label, [m.label for m in self.members[1:]],
                         self.metrics, self.verdicts, seed=self.seed, prim_density=self.prim_density,
                         max_boxes=self.max_boxes, min_effects=self.min_effects, level=look_level(self.looks()),
                         permutations=self.permutations, held=self.held)
        result.update(self._header())
        result["uncertainties"] = self.space.describe()
        result["questions"] = {m.label: getattr(m.scenario, "description", "") or "" for m in self.members[1:]}
        result["costs"] = {m.label: _cost(m) for m in self.members[1:]}
        result["runs"] = len(self.frame)
        return result

    def _run_round(self, worlds: list[int], counts, rows, g, bar, chunk_worlds) -> None:
        """Run what ``counts`` asks of ``worlds`` and is not yet in ``rows``, a chunk of
        worlds' scenarios in memory at a time."""
        for first in range(0, len(worlds), chunk_worlds):
            planned = [t for w in worlds[first:first + chunk_worlds] for t in self.world_jobs(w, counts[w])
                       if (w, t[2], t[0].replication) not in rows]
            got = g.run([job for job, _, _ in planned], bar)
            for job, w, label in planned:
                rows[(w, label, job.replication)] = {**got[job.key], "world": w, "scenario": label,
                                                     "replication": job.replication}

    def _grow(self, worlds: list[int], counts, rows, bar) -> set[int]:
        """Add ``batch`` replications (up to the cap) to the base and to every variant
        still undecided on its verdict metric, per world; the worlds that grew."""
        frame = pd.DataFrame([r for (w, _, _), r in rows.items() if w in set(worlds)])
        level, need = look_level(self.looks()), set()
        base = self.base.label
        for label, metric in [(v, m) for v, ms in self.deciding.items() for m in ms]:
            eff = world_effects(frame, base, label, metric, self.min_effects[metric], level)
            need |= {(w, label) for w in worlds if counts[w][label] < self.max_replications
                     and (w not in eff.index or eff.at[w, "verdict"] == "undecided")}
        for w, label in sorted(need):
            counts[w][label] = min(counts[w][label] + self.batch, self.max_replications)
            counts[w][base] = max(counts[w][base], counts[w][label])
        grown = {w for w, _ in need}
        if bar is not None and grown:
            bar.total = sum(sum(c.values()) for c in counts.values())
            bar.refresh()
        return grown

    def _header(self) -> dict:
        head = {"worlds_from": self.worlds_from} if self.worlds_from else {}
        return {**head, "study": self.name, "base": self.base.label, "worlds": self.n_worlds,
                "replications": self.replications, "max_replications": self.max_replications,
                "batch": self.batch, "days": self.days, "seed": self.seed,
                "sampling": self.sampling, "metric": self.metric, "units": JSON_UNITS,
                "held": {k: sorted(v) for k, v in self.held.items() if v}}

    def worlds_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.worlds, columns=self.space.paths)
        df.index.name = "world"
        return df

    def _frame(self, rows: list[dict]) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        keep = ["world", "scenario", "replication", "seed", "key"] + [m for m in self.metrics]
        others = [c for c in df.columns if c not in keep and c not in ("label", "days", "warmup_days")]
        df = df[keep + others]
        worlds = self.worlds_frame().reset_index()
        worlds.columns = ["world"] + [f"u:{p}" for p in self.space.paths]
        return df.merge(worlds, on="world", how="left")

    # -- folder --------------------------------------------------------------------
    def _write_inputs(self, g: guard.Claim) -> None:
        if self.spec_text:
            g.write("study.toml", self.spec_text)
        g.write("worlds.csv", self.worlds_frame().to_csv())
        for m in self.members:
            g.write(f"scenarios/{m.label}.toml", m.scenario.to_toml())
        from ...scenario.provenance import source_texts

        base = self.base.source  # the base's file, or a built-in's label
        for name, text in source_texts(base if Path(base).is_file() else base.split(" (built-in)")[0]).items():
            g.write(name, text)

    def _write_outputs(self, g: guard.Claim, result: dict) -> None:
        """The runs, summary, result and run.json: what was computed and how, never
        when or how fast (the guard keeps that in timings.jsonl), so two clean runs of
        one study write the same bytes."""
        if g.folder is None:
            return
        frame = self.frame.copy()
        for c in frame.columns:  # a column of mixed or non-numeric values is written as text
            if frame[c].dtype == object:
                frame[c] = frame[c].astype(str)
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        g.write("runs.parquet", buf.getvalue())
        g.write("summary.csv", summary_frame(result).to_csv(index=False))
        g.write("result.json", json.dumps(result, indent=2, default=str) + "\n")
        info = {**self._header(), "members": [m.label for m in self.members], "runs": len(self.frame),
                "seeds": "world_seed(seed, world, replication): each world its own, common to its scenarios",
                "rounds": getattr(self, "rounds", None),
                "versions": output.versions(), "timings": guard.TIMINGS_FILE}
        g.write("run.json", json.dumps(info, indent=2) + "\n")


def _cost(member) -> Optional[dict]:
    """A variant's cost from its file (``[variant.cost]``), or ``None``."""
    from ..packages import cost_of

    try:
        amount, unit, reason = cost_of(member)
    except ScenarioError:
        return None
    return {"amount": amount, "unit": unit, "reason": reason}


def _worlds_file(path: Path, name: Optional[str]) -> Optional[str]:
    """A study file's ``worlds_from``, relative to the file (a missing file is one line)."""
    if name is None:
        return None
    worlds_from = str(path.parent / name)
    if not Path(worlds_from).is_file():
        raise ScenarioError(str(path), "robustness.worlds_from", f"no file {worlds_from!r} (paths are relative "
                            "to the experiment file; run the calibration first: reporting-sim calibrate)")
    return worlds_from


def _file_digest(path: str) -> str:
    """The content hash of a worlds file (a missing one is read, and refused, later)."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return str(path)
