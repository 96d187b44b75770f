"""Waves of history matching: run worlds, judge them by the study's patterns, emulate, screen, repeat.

Wave 1 draws ``worlds`` worlds from the base scenario's ``[uncertainties]`` by Latin
hypercube and runs each for ``replications`` replications (common random numbers:
replication ``r`` uses seed ``seed + r`` in every world). Each run gives every pattern
its number (:func:`..claims.patterns.value`); per world, their mean and its variance
give each pattern's implausibility (:mod:`.history`). Then one emulator per pattern is
fitted on every world run so far (:mod:`.emulator`), and the next wave draws
``candidates`` worlds, emulates them all (no simulation), keeps those the emulators
do not rule out, and runs ``worlds`` of them for real. A world is *plausible* when its
own runs leave it non-implausible; every plausible world of every wave goes into the
plausible-worlds file (:mod:`..worlds`).

Runs go through the study guard (:mod:`..guard`: the run limit, the folder's claim and
lock, checksummed resumable runs on serial, pooled or Dask executors, timings kept in
``timings.jsonl``): an interrupted calibration resumes, and the
numbers are the same however the runs were spread (everything after the runs happens
in this process, in a fixed order, from fixed seeds).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ...errors import ScenarioError
from ...hashing import digest
from ...model.streams import replication_seed
from ...scenario.uncertainties import Space, value_at
from ...version import __version__
from .. import guard, output
from ..claims import patterns as cp
from ..execution import Job, progress_bar
from ..worlds import worlds_bytes
from . import emulator, history

WORLDS_FILE = "plausible-worlds.parquet"


def _extra_outputs(base, refs: list) -> tuple:
    """The run outputs beyond the flat metrics the patterns ``refs`` read, sorted."""
    flat = cp_flat(base.scenario)
    return tuple(sorted({n for r in refs for n in cp.extra(r.spec, flat)}))


class Calibration:
    """History matching of a base scenario's uncertain settings to the study's patterns."""

    def __init__(self, base, refs: list, *, waves: int, worlds: int, replications: int, days: float,
                 seed: int, candidates: Optional[int] = None, cutoff: float = history.CUTOFF,
                 screen: int = 5, warmup_days: float = 0.0, name: str = "", patterns_text: str = "",
                 left_out: Optional[list] = None, spec_text: str = ""):
        emulator.need_sklearn()
        self.base, self.refs = base, refs
        self.waves, self.n_worlds, self.replications = waves, worlds, replications
        self.days, self.seed, self.warmup_days = days, seed, warmup_days
        self.candidates = candidates if candidates is not None else 100 * worlds
        self.cutoff, self.screen = cutoff, screen
        self.patterns_text, self.spec_text = patterns_text, spec_text
        self.left_out = list(left_out or [])
        self.space = _space(base)
        self._check_plan(refs)
        self.extra = _extra_outputs(base, refs)
        self.start = cp.scenario_start(base.scenario)
        self.ids = [r.spec.id for r in refs]
        self.name = name or ("calibrate-" + base.label + "-" + self.design_id()[:8])

    def _check_plan(self, refs: list) -> None:
        if not refs:
            raise ScenarioError("", "patterns", "no pattern to match (every pattern was left out: "
                                + "; ".join(f"{x['id']}: {x['why']}" for x in self.left_out) + ")")
        guard.check_runs(self.planned_runs(), "calibrate", "--worlds", self.runs_how())

    # -- the study guard -------------------------------------------------------------
    def planned_runs(self) -> int:
        return self.waves * self.n_worlds * self.replications

    def runs_how(self) -> str:
        return f"{self.waves} waves x {self.n_worlds} worlds x {self.replications} replications"

    def plan(self) -> guard.Plan:
        return guard.Plan("calibration", self.name, self.design_id(), self.planned_runs(), source="calibrate",
                          field="--worlds", how=self.runs_how())

    # -- identity --------------------------------------------------------------------
    def patterns_digest(self) -> str:
        return hashlib.sha256(self.patterns_text.encode("utf-8")).hexdigest()

    def design_id(self) -> str:
        """What the calibration computes: scenario, patterns, horizon, seed and sizes."""
        return digest([self.base.data, self.patterns_digest(), [r.spec.id for r in self.refs], self.days,
                       self.warmup_days, self.seed, self.waves, self.n_worlds, self.replications,
                       self.candidates, self.cutoff, self.screen])

    # -- running ---------------------------------------------------------------------
    def run(self, folder: Optional[Path] = None, *, n_jobs: Optional[int] = None, dask=None,
            progress: bool = False) -> dict:
        """Run (or resume) every wave through the study guard (:mod:`..guard`: the run
        limit, the folder's claim and lock, checksummed resumable runs, no timings in its
        files); returns the result (see the module docstring) and ``wall_time_s``."""
        with guard.claim(folder, self.plan(), n_jobs=n_jobs, dask=dask) as g:
            bar = progress_bar(progress, self.planned_runs(), self.name)
            done, waves = Done(), []
            try:
                for k in range(1, self.waves + 1):
                    waves.append(self._wave(k, done, g, bar))
            finally:
                if bar is not None:
                    bar.close()
            result = self._result(waves, done)
            self._write(g, result, done)
        return {**result, "wall_time_s": g.wall_s}

    def _wave(self, k: int, done: "Done", g: guard.Claim, bar) -> dict:
        entry: dict = {"wave": k}
        if k == 1:
            unit = self.space.unit_sample(self.n_worlds, self.seed, "lhs")
        else:
            unit = self._screen(done, entry)
        prior = done.emulators
        means, var = self._run_worlds(k, unit, g, bar)
        imp = self._implausibility(means, var)
        keep = history.measure(imp) <= self.cutoff
        if prior:
            entry["coverage_of_previous_emulators"] = _predictive_coverage(prior, unit, means, var)
        done.add(k, unit, means, var, imp, keep)
        done.emulators = self._fit(done)
        entry.update(self._wave_figures(unit, imp, keep, done))
        return _ordered(entry)

    def _wave_figures(self, unit: np.ndarray, imp: np.ndarray, keep: np.ndarray, done: "Done") -> dict:
        """A wave's worlds, how many are non-implausible, the emulators' coverage, and
        per pattern the implausibility and each emulator's active inputs."""
        cover = self._coverage(done)
        return {"worlds": int(len(unit)), "non_implausible": int(keep.sum()),
                "non_implausible_fraction": float(keep.mean()), "coverage": cover["all"],
                "implausibility": {pid: history.summary(imp[:, j], self.cutoff)
                                   for j, pid in enumerate(self.ids)},
                "emulators": {pid: {"active": [self.space.paths[i] for i in done.emulators[j].active],
                                    "coverage": cover[pid]} for j, pid in enumerate(self.ids)}}

    def _screen(self, done: "Done", entry: dict) -> np.ndarray:
        """Candidates drawn afresh, emulated, and the non-implausible ones taken first
        (then the least implausible), ``worlds`` of them."""
        cand = self.space.unit_sample(self.candidates, self.seed + 7919 * (len(done.waves) + 1), "lhs")
        mu = np.empty((len(cand), len(self.ids)))
        v = np.empty_like(mu)
        for j, em in enumerate(done.emulators):
            mu[:, j], v[:, j] = em.predict(cand)
        rep_var = np.nanmean(done.var, axis=0) if len(done.var) else np.zeros(len(self.ids))
        imp = self._implausibility(mu, v + np.nan_to_num(rep_var, nan=0.0))
        m = history.measure(imp)
        order = np.lexsort((np.arange(len(cand)), m))  # least implausible first; ties by draw order
        entry["candidates"] = int(len(cand))
        entry["candidates_non_implausible_fraction"] = float((m <= self.cutoff).mean())
        entry["screened_per_run"] = float(len(cand) / (self.n_worlds * self.replications))
        chosen = np.sort(order[:self.n_worlds])  # the chosen worlds in draw order
        return cand[chosen]

    def world_values(self, unit_row: np.ndarray) -> dict:
        return {p: value_at(u, kind, float(x)) for (p, u, kind), x in zip(self.space.items, unit_row)}

    def _jobs(self, k: int, unit: np.ndarray) -> list[list[Job]]:
        out = []
        for i, row in enumerate(unit):
            data = self.space.apply(self.base.data, self.world_values(row), f"{self.base.source} (wave {k} world {i})")
            out.append([Job.make(f"w{k}-{i:03d}", data, f"{self.base.source} (wave {k} world {i})", r,
                                 replication_seed(self.seed, r), self.days, self.warmup_days, self.extra)
                        for r in range(self.replications)])
        return out

    def _run_worlds(self, k: int, unit: np.ndarray, g: guard.Claim, bar) -> tuple[np.ndarray, np.ndarray]:
        """Each world's mean pattern numbers over its replications, and their variances."""
        jobs = self._jobs(k, unit)
        got = g.run([j for js in jobs for j in js], bar)
        pairs = [_mean_var(self._values([got[j.key] for j in js])) for js in jobs]
        return np.array([m for m, _ in pairs]), np.array([v for _, v in pairs])

    def _values(self, rows: list[dict]) -> np.ndarray:
        """Replications x patterns: each run's number for each pattern."""
        return np.array([[cp.value(r.spec, row, self.start) for r in self.refs] for row in rows])

    def _implausibility(self, x: np.ndarray, var: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        for j, r in enumerate(self.refs):
            lo, hi = cp.target(r.spec)
            out[:, j] = history.implausibility(x[:, j], var[:, j], lo, hi, cp.tolerance(r.spec))
        return out

    def _fit(self, done: "Done") -> list:
        return [emulator.fit(done.unit, done.means[:, j], done.var[:, j], k=self.screen, seed=self.seed)
                for j in range(len(self.ids))]

    def _coverage(self, done: "Done") -> dict:
        """Held-out coverage per pattern and pooled (``all``: hits over worlds judged)."""
        out, hits, n = {}, 0.0, 0
        for j, pid in enumerate(self.ids):
            c = emulator.held_out_coverage(done.unit, done.means[:, j], done.var[:, j], k=self.screen, seed=self.seed)
            out[pid] = c
            if c is not None:
                m = int(np.sum(~np.isnan(done.means[:, j])))
                hits, n = hits + c * m, n + m
        out["all"] = hits / n if n else None
        return out

    # -- results -----------------------------------------------------------------------
    def _result(self, waves: list[dict], done: "Done") -> dict:
        keep = done.all_keep()
        return {"calibration": self.name, "scenario": self.base.label, "days": self.days,
                "replications": self.replications, "seed": self.seed, "cutoff": self.cutoff,
                "implausibility_measure": history.which_rank(len(self.ids)), "patterns": self.ids,
                "tolerances": {r.spec.id: cp.tolerance(r.spec) for r in self.refs},
                "left_out": self.left_out, "waves": waves, "plausible_worlds": WORLDS_FILE,
                "plausible": int(keep.sum()), "worlds_run": int(len(keep)),
                "conflicts": history.conflicts(done.all_imp(), self.ids, self.cutoff),
                "scenario_digest": digest(self.base.data), "patterns_digest": self.patterns_digest()}

    def plausible_frame(self, done: "Done") -> pd.DataFrame:
        rows = [self.world_values(u) for u, ok in zip(done.unit, done.all_keep()) if ok]
        return pd.DataFrame(rows, columns=self.space.paths)

    def worlds_table(self, done: "Done") -> pd.DataFrame:
        """Every world run: wave, settings, implausibility measure and per pattern its
        mean number and implausibility."""
        df = pd.DataFrame([self.world_values(u) for u in done.unit], columns=self.space.paths)
        df.insert(0, "wave", done.wave_of)
        df["implausibility"] = history.measure(done.all_imp())
        df["plausible"] = done.all_keep()
        for j, pid in enumerate(self.ids):
            df[f"value:{pid}"] = done.means[:, j]
            df[f"implausibility:{pid}"] = done.all_imp()[:, j]
        return df

    def _write(self, g: guard.Claim, result: dict, done: "Done") -> None:
        """The plausible worlds, every world run, the inputs, the result and run.json:
        what was computed and how, never when or how fast (the guard keeps that in
        timings.jsonl), so two clean runs write the same bytes."""
        if g.folder is None:
            return
        meta = {"scenario_digest": result["scenario_digest"], "patterns_digest": result["patterns_digest"],
                "seed": self.seed, "wave": self.waves, "version": __version__, "scenario": self.base.label,
                "cutoff": self.cutoff, "days": self.days, "replications": self.replications,
                "patterns": self.ids, "worlds_run": result["worlds_run"]}
        g.write(WORLDS_FILE, worlds_bytes(self.plausible_frame(done), meta))
        g.write("worlds.csv", self.worlds_table(done).to_csv(index=False))
        g.write("patterns.toml", self.patterns_text)
        if self.spec_text:
            g.write("experiment.toml", self.spec_text)
        g.write("scenario.toml", self.base.scenario.to_toml())
        g.write("result.json", json.dumps(result, indent=2, default=str) + "\n")
        info = {"calibration": self.name, "runs": int(len(done.unit) * self.replications),
                "versions": output.versions(), "timings": guard.TIMINGS_FILE}
        g.write("run.json", json.dumps(info, indent=2) + "\n")


class Done:
    """Everything the waves so far have run and found, in wave order."""

    def __init__(self):
        self.waves: list[int] = []
        self.unit = np.zeros((0, 0))
        self.means = self.var = self.imp = np.zeros((0, 0))
        self.keep = np.zeros(0, dtype=bool)
        self.wave_of: list[int] = []
        self.emulators: list = []

    def add(self, k, unit, means, var, imp, keep) -> None:
        first = not self.waves
        self.waves.append(k)
        self.unit = unit if first else np.vstack([self.unit, unit])
        self.means = means if first else np.vstack([self.means, means])
        self.var = var if first else np.vstack([self.var, var])
        self.imp = imp if first else np.vstack([self.imp, imp])
        self.keep = np.concatenate([self.keep, keep])
        self.wave_of += [k] * len(unit)

    def all_imp(self) -> np.ndarray:
        return self.imp

    def all_keep(self) -> np.ndarray:
        return self.keep


def _space(base) -> Space:
    """The base scenario's uncertain settings (one-line errors when there are none)."""
    if not base.scenario.uncertainties:
        raise ScenarioError(base.source, "uncertainties", "the base scenario has no [uncertainties] table: "
                            "nothing to calibrate")
    space = Space(base.data, base.scenario)
    if not space.items:
        raise ScenarioError(base.source, "uncertainties", "every uncertainty is fixed: nothing to calibrate")
    return space


def cp_flat(sc) -> set:
    from ...measures.patterns import Names

    return Names.of(sc).flat()


def _mean_var(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the mean over the rows (replications) and the variance of that mean
    (0 with one replication: nothing to estimate it from)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(vals, axis=0)
        n = np.sum(~np.isnan(vals), axis=0)
        v = np.where(n > 1, np.nanvar(vals, axis=0, ddof=1) / np.maximum(n, 1), 0.0) if len(vals) > 1 \
            else np.zeros(vals.shape[1])
    return m, v


def _predictive_coverage(emulators: list, unit: np.ndarray, means: np.ndarray, var: np.ndarray):
    """How many of a wave's run means the previous wave's emulators covered (95%)."""
    hits = n = 0
    for j, em in enumerate(emulators):
        ok = ~np.isnan(means[:, j])
        if not ok.any():
            continue
        mu, v = em.predict(unit[ok])
        half = emulator.Z95 * np.sqrt(v + np.nan_to_num(var[ok, j], nan=0.0))
        hits += int(np.sum(np.abs(means[ok, j] - mu) <= half))
        n += int(ok.sum())
    return hits / n if n else None


def _ordered(entry: dict) -> dict:
    first = ("wave", "worlds", "non_implausible", "non_implausible_fraction", "coverage",
             "coverage_of_previous_emulators", "candidates", "candidates_non_implausible_fraction",
             "screened_per_run")
    return {**{k: entry[k] for k in first if k in entry}, **{k: v for k, v in entry.items() if k not in first}}
