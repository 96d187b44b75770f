"""A robustness study run: worlds drawn from the base's ``[uncertainties]``, the base and
every variant run in each world with common random numbers, through the executors and
the resumable run store; the runs, worlds, summary and result written to the study's
folder. The runner computes and stores; it draws no figure (that is
:mod:`reporting_sim.present.robustness`, from the stored results)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Optional

import pandas as pd

from ...errors import ScenarioError
from ...hashing import digest
from ...metric_names import JSON_UNITS, direction
from ...model.streams import replication_seed
from ...scenario.uncertainties import Space
from .. import guard, output
from ..execution import Job, progress_bar
from ..experiment import Member, resolve_member, unique_labels
from .analysis import analyse, summary_frame
from .spec import default_metrics, load_study_file, need_explore


class Study:
    """A base, its variants and the worlds they are tested in (see the module docstring)."""

    def __init__(self, name: str, members: list[Member], *, worlds: int, replications: int, days: float,
                 seed: int, metrics: Optional[list[str]] = None, metric: Optional[str] = None,
                 sampling: str = "lhs", warmup_days: float = 0.0, prim_density: float = 0.9,
                 max_boxes: int = 2, spec_text: str = "", source: str = "robustness",
                 verdicts: Optional[dict[str, str]] = None):
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
        self._check_metrics(source)
        self.source = source
        guard.check_runs(self.planned_runs(), source, self.runs_field(source), self.runs_how())
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

    # -- the study guard -----------------------------------------------------------
    def planned_runs(self) -> int:
        return self.n_worlds * self.replications * len(self.members)

    def runs_how(self) -> str:
        return f"{self.n_worlds} worlds x {len(self.members)} scenarios x {self.replications} replications"

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
        limit, the folder's claim and lock, checksummed resumable runs); returns the
        result (see :func:`analyse`) and its ``wall_time_s``."""
        with guard.claim(folder, self.plan(), n_jobs=n_jobs, dask=dask) as g:
            self._write_inputs(g)
            per_world = self.replications * len(self.members)
            bar = progress_bar(progress, self.n_worlds * per_world, self.name)
            rows: list[dict] = []
            try:
                for first in range(0, self.n_worlds, chunk_worlds):  # a chunk's scenarios in memory at a time
                    planned = [t for w in range(first, min(first + chunk_worlds, self.n_worlds))
                               for t in self.world_jobs(w)]
                    got = g.run([job for job, _, _ in planned], bar)
                    for job, w, label in planned:
                        rows.append({**got[job.key], "world": w, "scenario": label, "replication": job.replication})
            finally:
                if bar is not None:
                    bar.close()
            self.frame = self._frame(rows)
            result = analyse(self.frame, self.worlds_frame(), self.base.label, [m.label for m in self.members[1:]],
                             self.metrics, self.verdicts, seed=self.seed, prim_density=self.prim_density,
                             max_boxes=self.max_boxes, held=self.held)
            result.update(self._header())
            result["uncertainties"] = self.space.describe()
            self._write_outputs(g, result)
        return {**result, "wall_time_s": g.wall_s}

    def _header(self) -> dict:
        return {"study": self.name, "base": self.base.label, "worlds": self.n_worlds,
                "replications": self.replications, "days": self.days, "seed": self.seed,
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
                "seeds": f"seed + replication ({self.seed}..{self.seed + self.replications - 1}) in every world",
                "versions": output.versions(), "timings": guard.TIMINGS_FILE}
        g.write("run.json", json.dumps(info, indent=2) + "\n")
