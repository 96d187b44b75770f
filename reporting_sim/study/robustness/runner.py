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
import time
from pathlib import Path
from typing import Optional

import pandas as pd

from ...errors import ScenarioError
from ...hashing import digest
from ...metric_names import JSON_UNITS, direction, min_effect
from ...scenario.uncertainties import Space
from .. import guard, output
from ..execution import Job, close_bar, default_jobs, pool_map, progress_bar, set_bar_total

from ..experiment import Member, resolve_member, unique_labels
from ..seeds import world_seed
from .analysis import analyse, look_level, summary_frame, world_effects
from .spec import default_metrics, load_study_file, need_explore


class Study:
    """A base, its variants and the worlds they are tested in (see the module docstring)."""

    analysis_jobs = 1  # processes for the analysis's permutation nulls (set by run)

    def __init__(self, name: str, members: list[Member], *, worlds: int, replications: int, days: float,
                 seed: int, metrics: Optional[list[str]] = None, metric: Optional[str] = None,
                 sampling: str = "lhs", warmup_days: float = 0.0, prim_density: float = 0.9,
                 max_boxes: int = 2, spec_text: str = "", source: str = "robustness",
                 verdicts: Optional[dict[str, str]] = None, min_effects: Optional[dict[str, float]] = None,
                 max_replications: Optional[int] = None, batch: Optional[int] = None, permutations: int = 19,
                 worlds_from: Optional[str] = None, windows: int = 0):
        unique_labels(members, source)
        need_explore()
        self.name, self.members, self.base = name, members, members[0]
        self.n_worlds, self.replications, self.days, self.seed = worlds, replications, days, seed
        self.sampling, self.warmup_days = sampling, warmup_days
        self.prim_density, self.max_boxes, self.spec_text = prim_density, max_boxes, spec_text
        self.space = _space(self.base)
        self._set_metrics(metric, metrics, verdicts or {}, min_effects or {}, source)
        self.windows = _windows(windows, self.metrics, source)
        self.max_replications = _cap(replications, max_replications)
        self.batch = max(1, int(batch if batch is not None else (1 if self.windows else 2)))
        self.permutations = permutations
        self.worlds_from, self.source = worlds_from, source
        self.worlds = self._draw_worlds(worlds, seed, sampling)
        self.held = {m.label: self.space.held_by(m.data, self.base.data) for m in members}

    def _set_metrics(self, metric: Optional[str], metrics: Optional[list[str]], verdicts: dict[str, str],
                     min_effects: dict[str, float], source: str) -> None:
        """The metrics judged (``metric`` first, then ``metrics`` or the standard set,
        then every variant's verdict metric and every metric given a minimum effect),
        checked; each variant's verdict metric; the minimum effects; and what must be
        decided per variant."""
        self.metrics = self._named_metrics(metric, metrics)
        self.metric = self.metrics[0]
        self.verdicts = _verdict_metrics(self.members[1:], self.metric, verdicts, source)
        self.metrics = _extend(_extend(self.metrics, self.verdicts.values()), min_effects)  # a question's own measure
        self._check_metrics(source)
        self.min_effects = {m: min_effect(m, min_effects) for m in self.metrics}
        self.deciding = {label: list(dict.fromkeys([vm, *min_effects])) for label, vm in self.verdicts.items()}
        """Per variant, the metrics whose worlds' verdicts must be decided: its verdict
        metric and every metric given a minimum effect of its own."""

    def _named_metrics(self, metric: Optional[str], metrics: Optional[list[str]]) -> list[str]:
        """``metric`` first, then ``metrics`` (default: the standard set, the base's
        headline consumer first), each once."""
        from ...measures.metrics import headline_consumer

        sc = self.base.scenario
        named = metrics or default_metrics(sc.consumers, headline_consumer(sc))
        return list(dict.fromkeys(([metric] if metric else []) + list(named)))

    def _draw_worlds(self, n: int, seed: int, sampling: str) -> list[dict]:
        """``n`` worlds drawn from the space, or the plausible worlds of a calibration;
        within the run limit (checked before drawing; a worlds file says its own
        number, so after reading it)."""
        if self.worlds_from is None:
            self._check_runs()
            return self.space.worlds(n, seed, sampling)
        from ..worlds import read_worlds

        table = read_worlds(self.worlds_from, self.space)
        worlds = [dict(zip(self.space.paths, row)) for row in table.itertuples(index=False, name=None)]
        self.n_worlds, self.sampling = len(worlds), "plausible worlds from " + str(self.worlds_from)
        self._check_runs()
        return worlds

    @classmethod
    def from_file(cls, path: str | Path, *, worlds: Optional[int] = None, replications: Optional[int] = None,
                  days: Optional[float] = None, windows: Optional[int] = None,
                  max_replications: Optional[int] = None) -> "Study":
        """A study file (``[experiment]`` and ``[robustness]``); ``worlds``,
        ``replications`` and ``days`` override the file's (a smaller trial run), and so do
        ``windows`` and ``max_replications`` (the same questions in another design)."""
        path = Path(path)
        sf = load_study_file(path)
        e, r = sf.experiment, sf.robustness
        members = _resolve([e.base, *e.variants], path.parent)
        worlds_from = _worlds_file(path, r.worlds_from)
        return cls(e.name, members, worlds=worlds or r.worlds, replications=replications or e.replications,
                   days=days or e.days, seed=e.seed,
                   metrics=e.metrics, metric=r.metric, sampling=r.sampling, warmup_days=e.warmup_days,
                   prim_density=r.prim_density, max_boxes=r.max_boxes, spec_text=path.read_text("utf-8"),
                   source=str(path), verdicts=r.verdicts, min_effects=r.min_effect or None,
                   max_replications=max_replications or r.max_replications, worlds_from=worlds_from,
                   windows=(r.windows or 0) if windows is None else windows, batch=r.batch)

    @classmethod
    def from_args(cls, base: str, variant_refs: list[str], *, worlds: int, replications: int, days: float,
                  seed: int, metrics: Optional[list[str]] = None, sampling: str = "lhs",
                  min_effects: Optional[dict[str, float]] = None, max_replications: Optional[int] = None,
                  worlds_from: Optional[str] = None, windows: int = 0) -> "Study":
        """A study from the command line's arguments (``robustness BASE VARIANT...``),
        named by a digest of everything it computes (a rerun finds its folder)."""
        members = _resolve([base, *variant_refs], None)
        drawn = [worlds, sampling] if worlds_from is None else [_file_digest(worlds_from)]
        asked = [min_effects, max_replications] if min_effects or max_replications else []
        asked += [["windows", windows]] if windows else []
        name = _study_name(members, drawn + [replications, days, seed, metrics] + asked)
        return cls(name, members, worlds=worlds, replications=replications, days=days, seed=seed,
                   metrics=metrics, sampling=sampling, min_effects=min_effects, max_replications=max_replications,
                   worlds_from=worlds_from, windows=windows)

    def _check_metrics(self, source: str) -> None:
        """Every metric judged is known in every scenario and says which way is better."""
        for m in self.members:
            _check_known(self.metrics, m, source)
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
        counts = counts or self._first_counts()
        return [(self._job(m, w, r, datas[m.label]), w, m.label) for r, m in _job_order(self.members, counts)]

    def _job(self, m: Member, w: int, r: int, data: dict) -> Job:
        """Replication ``r`` of scenario ``m`` in world ``w`` (the world's own seed)."""
        return Job.make(f"{m.label}@w{w}", data, f"{m.source} (world {w})", r, world_seed(self.seed, w, r),
                        self.days, self.warmup_days, windows=self.windows, window_metrics=self.metrics)

    def _first_counts(self) -> dict[str, int]:
        """Replications per scenario label in a world's first round."""
        return {m.label: self.replications for m in self.members}

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

    def _check_runs(self) -> None:
        """The study's most runs within the run limit (a one-line error otherwise)."""
        guard.check_runs(self.planned_runs(), self.source, self.runs_field(self.source), self.runs_how())

    def design_id(self) -> str:
        """What the study computes, whatever its replications or metrics: its scenarios,
        worlds, horizon, warm-up and seed (a rerun resumes; another design is refused)."""
        windows = [["windows", self.windows]] if self.windows else []
        return digest([[[m.label, m.data] for m in self.members], self.worlds, self.days, self.warmup_days,
                       self.seed, self.sampling] + windows)

    def plan(self) -> guard.Plan:
        return guard.Plan("robustness", self.name, self.design_id(), self.planned_runs(), source=self.source,
                          field=self.runs_field(self.source), how=self.runs_how())

    def run(self, folder: Optional[Path] = None, *, n_jobs: Optional[int] = None, dask=None,
            progress: bool = False, chunk_worlds: int = 50) -> dict:
        """Run (or resume) every world through the study guard (:mod:`..guard`: the run
        limit, the folder's claim and lock, checksummed resumable runs), adding
        replications where a verdict is still undecided (module docstring); returns the
        result (see :func:`analyse`) and its ``wall_time_s``."""
        # the analysis's permutation nulls on this machine's processes (not Dask's)
        self.analysis_jobs = 1 if dask is not None else default_jobs() if n_jobs is None else int(n_jobs)
        with guard.claim(folder, self.plan(), n_jobs=n_jobs, dask=dask) as g:
            self._write_inputs(g)
            t0 = time.perf_counter()
            rows = self._run_rounds(g, progress, chunk_worlds)
            self.runs_wall_s = time.perf_counter() - t0  # the runs alone, without the analysis (benchmarks/)
            self.frame = self._frame([rows[k] for k in sorted(rows)])
            result = self._result()
            self._write_outputs(g, result)
        return {**result, "wall_time_s": g.wall_s}

    def _run_rounds(self, g, progress: bool, chunk_worlds: int) -> dict[tuple, dict]:
        """Every round of replications, until no world's verdict is undecided (or the cap)."""
        counts = {w: self._first_counts() for w in range(self.n_worlds)}
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
            close_bar(bar)
        return rows

    def _result(self) -> dict:
        """The study's numbers (:func:`analyse`) with its header, uncertainties, the
        variants' questions and costs, and the number of runs."""
        variants = self.members[1:]
        with pool_map(self.analysis_jobs) as map_:
            result = analyse(self.frame, self.worlds_frame(), self.base.label, [m.label for m in variants],
                             self.metrics, self.verdicts, seed=self.seed, prim_density=self.prim_density,
                             max_boxes=self.max_boxes, min_effects=self.min_effects, level=look_level(self.looks()),
                             permutations=self.permutations, held=self.held, windows=self.windows, map_=map_)
        result.update(self._header())
        result["uncertainties"] = self.space.describe()
        result["questions"] = {m.label: _question(m) for m in variants}
        result["costs"] = {m.label: _cost(m) for m in variants}
        result["runs"] = len(self.frame)
        return result

    def _run_round(self, worlds: list[int], counts, rows, g, bar, chunk_worlds) -> None:
        """Run what ``counts`` asks of ``worlds`` and is not yet in ``rows``, a chunk of
        worlds' scenarios in memory at a time."""
        for first in range(0, len(worlds), chunk_worlds):
            planned = self._missing(worlds[first:first + chunk_worlds], counts, rows)
            _keep_rows(rows, planned, g.run([job for job, _, _ in planned], bar))

    def _missing(self, worlds: list[int], counts, rows) -> list[tuple[Job, int, str]]:
        """The runs ``counts`` asks of ``worlds`` that ``rows`` does not hold yet."""
        planned = [t for w in worlds for t in self.world_jobs(w, counts[w])]
        return [(job, w, label) for job, w, label in planned if (w, label, job.replication) not in rows]

    def _grow(self, worlds: list[int], counts, rows, bar) -> set[int]:
        """Add ``batch`` replications (up to the cap) to the base and to every variant
        still undecided on its verdict metric, per world; the worlds that grew."""
        need = self._undecided(worlds, counts, rows)
        for w, label in sorted(need):
            self._add_batch(counts[w], label)
        grown = {w for w, _ in need}
        if grown:
            set_bar_total(bar, sum(sum(c.values()) for c in counts.values()))
        return grown

    def _add_batch(self, counts: dict[str, int], label: str) -> None:
        """One world's ``batch`` more replications of ``label`` (up to the cap), and of
        the base as many as any variant there has."""
        counts[label] = min(counts[label] + self.batch, self.max_replications)
        counts[self.base.label] = max(counts[self.base.label], counts[label])

    def _undecided(self, worlds: list[int], counts, rows) -> set[tuple[int, str]]:
        """The (world, variant) pairs below the cap whose verdict on some metric it
        must decide (:attr:`deciding`) is still undecided."""
        frame = _rows_of(rows, set(worlds))
        level, need = look_level(self.looks()), set()
        for label, metric in self._deciding_pairs():
            eff = world_effects(frame, self.base.label, label, metric, self.min_effects[metric], level,
                                windows=self.windows)
            need |= {(w, label) for w in self._pending(eff, worlds, counts, label)}
        return need

    def _deciding_pairs(self) -> list[tuple[str, str]]:
        """Each (variant, metric) whose worlds' verdicts must be decided, in order."""
        return [(v, m) for v, ms in self.deciding.items() for m in ms]

    def _pending(self, eff: pd.DataFrame, worlds: list[int], counts, label: str) -> list[int]:
        """The worlds where ``label`` is below the cap and its verdict (``eff``) still open."""
        return [w for w in worlds if counts[w][label] < self.max_replications and _open(eff, w)]

    def _header(self) -> dict:
        """What the study is: its design and sizes (the head of result.json and run.json)."""
        head = {"worlds_from": self.worlds_from} if self.worlds_from else {}
        if self.windows:
            head["windows"] = self.windows
        return {**head, "study": self.name, "base": self.base.label, "worlds": self.n_worlds,
                "replications": self.replications, "max_replications": self.max_replications,
                "batch": self.batch, "days": self.days, "seed": self.seed,
                "sampling": self.sampling, "metric": self.metric, "units": JSON_UNITS,
                "held": _held_lists(self.held)}

    def worlds_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.worlds, columns=self.space.paths)
        df.index.name = "world"
        return df

    def _frame(self, rows: list[dict]) -> pd.DataFrame:
        """The runs: ids and the judged metrics first, then the other measures, then
        the world's assumptions (``u:PATH``)."""
        df = pd.DataFrame(rows)
        keep = ["world", "scenario", "replication", "seed", "key", *self.metrics]
        skip = set(keep) | {"label", "days", "warmup_days"}
        df = df[keep + [c for c in df.columns if c not in skip]]
        worlds = self.worlds_frame().reset_index()
        worlds.columns = ["world"] + [f"u:{p}" for p in self.space.paths]
        return df.merge(worlds, on="world", how="left")

    # -- folder --------------------------------------------------------------------
    def _write_inputs(self, g: guard.Claim) -> None:
        """The study file, the worlds, each scenario as run and the base's sources."""
        if self.spec_text:
            g.write("study.toml", self.spec_text)
        g.write("worlds.csv", self.worlds_frame().to_csv())
        for m in self.members:
            g.write(f"scenarios/{m.label}.toml", m.scenario.to_toml())
        for name, text in _sources(self.base.source).items():
            g.write(name, text)

    def _write_outputs(self, g: guard.Claim, result: dict) -> None:
        """The runs, summary, result and run.json: what was computed and how, never
        when or how fast (the guard keeps that in timings.jsonl), so two clean runs of
        one study write the same bytes."""
        if g.folder is None:
            return
        g.write("runs.parquet", _parquet(self.frame))
        g.write("summary.csv", summary_frame(result).to_csv(index=False))
        g.write("result.json", json.dumps(result, indent=2, default=str) + "\n")
        g.write("run.json", json.dumps(self._run_info(), indent=2) + "\n")

    def _run_info(self) -> dict:
        """run.json: the header, the scenarios, the runs and rounds, the seeds' rule and the versions."""
        return {**self._header(), "members": [m.label for m in self.members], "runs": len(self.frame),
                "seeds": "world_seed(seed, world, replication): each world its own, common to its scenarios",
                "rounds": getattr(self, "rounds", None),
                "versions": output.versions(), "timings": guard.TIMINGS_FILE}


def _windows(windows: int, metrics: list[str], source: str) -> int:
    """The windows each run is cut into for a world's error (0: none, the error comes
    from the world's replications); every judged metric must be measurable on a window."""
    from ...measures.metrics import windowable

    field = "robustness.windows" if source.endswith(".toml") else "--windows"
    windows = int(windows or 0)
    if windows == 1 or windows < 0 or windows > 1000:
        raise ScenarioError(source, field, f"{windows} windows: give 2 to 1000 (12 is a good start), or 0 for none")
    bad = [m for m in metrics if not windowable(m)] if windows else []
    if bad:
        raise ScenarioError(source, field, f"{bad[0]} cannot be measured on a window of a run (a cell's counters are "
                            "kept for the whole run); judge it with replications (no windows)")
    return windows


def _space(base: Member) -> Space:
    """The base scenario's uncertain settings (one-line errors when there are none)."""
    if not base.scenario.uncertainties:
        raise ScenarioError(base.source, "uncertainties", "the base scenario has no [uncertainties] "
                            "table: nothing to vary (a variant has none of its own: give its base "
                            "scenario as BASE and the variant after it)")
    space = Space(base.data, base.scenario)
    if not space.items:
        raise ScenarioError(base.source, "uncertainties", "every uncertainty is fixed: nothing to vary")
    return space


def _held_lists(held: dict[str, set]) -> dict[str, list]:
    """Per scenario that changes uncertain settings itself, those settings, sorted."""
    return {k: sorted(v) for k, v in held.items() if v}


def _study_name(members: list[Member], design: list) -> str:
    """``robustness-BASE-`` and eight hex digits of the scenarios and the ``design``."""
    return "robustness-" + members[0].label + "-" + digest([[m.label, m.data] for m in members] + design)[:8]


def _keep_rows(rows: dict, planned: list[tuple[Job, int, str]], got: dict[str, dict]) -> None:
    """Each planned run's row (``got`` by job key) under (world, scenario, replication),
    with those three as columns."""
    for job, w, label in planned:
        rows[(w, label, job.replication)] = {**got[job.key], "world": w, "scenario": label,
                                             "replication": job.replication}


def _rows_of(rows: dict, worlds: set[int]) -> pd.DataFrame:
    """The runs so far of the chosen ``worlds``, as a table."""
    return pd.DataFrame([r for (w, _, _), r in rows.items() if w in worlds])


def _cap(replications: int, max_replications: Optional[int]) -> int:
    """The most replications a world gets (default: three times ``replications``, at least 6)."""
    return max(replications, max_replications or max(3 * replications, 6))


def _extend(names: list[str], more) -> list[str]:
    """``names``, then each of ``more`` that is not among them, once."""
    return names + [n for n in dict.fromkeys(more) if n not in names]


def _verdict_metrics(variants: list[Member], metric: str, verdicts: dict[str, str], source: str) -> dict[str, str]:
    """Each variant's verdict metric: ``metric``, unless ``verdicts`` (a study file's
    ``[robustness.verdicts]``) names its own."""
    out = {m.label: metric for m in variants}
    for label, name in verdicts.items():
        if label not in out:
            raise ScenarioError(source, f"robustness.verdicts.{label}", "not a variant of this study "
                                f"(variants: {', '.join(out)})")
        out[label] = name
    return out


def _check_known(metrics: list[str], m: Member, source: str) -> None:
    """Every metric of ``metrics`` is one of scenario ``m``'s."""
    from ...metric_names import flat_names

    known = set(flat_names(m.scenario.consumers, list(m.scenario.cells)))
    for name in metrics:
        if name not in known:
            c = m.scenario.consumers[0] if m.scenario.consumers else "CONSUMER"
            raise ScenarioError(source, "metrics", f"unknown metric {name!r} for scenario {m.label!r} "
                                f"(names look like {c}.current.in_time, {c}.latency_p50)")


def _resolve(refs: list, folder: Optional[Path]) -> list[Member]:
    """The base and the variants (names, files or variant files; files relative to ``folder``)."""
    return [resolve_member(ref, folder) for ref in refs]


def _job_order(members: list[Member], counts: dict[str, int]) -> list[tuple[int, Member]]:
    """(replication, scenario) of a world's runs, replication-major, as many of each
    scenario as ``counts`` says."""
    return [(r, m) for r in range(max(counts.values())) for m in members if r < counts[m.label]]


def _open(eff: pd.DataFrame, w: int) -> bool:
    """Whether world ``w``'s verdict is still open: undecided, or no interval yet."""
    return w not in eff.index or eff.at[w, "verdict"] == "undecided"



def _question(member: Member) -> str:
    """A variant's question (its description), or ``""``."""
    return getattr(member.scenario, "description", "") or ""


def _sources(source: str) -> dict[str, str]:
    """The source files of the base (its file, or a built-in's by its label)."""
    from ...scenario.provenance import source_texts

    return source_texts(source if Path(source).is_file() else source.split(" (built-in)")[0])


def _parquet(frame: pd.DataFrame) -> bytes:
    """The runs as Parquet bytes; a column of mixed or non-numeric values is written as text."""
    frame = frame.copy()
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype(str)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


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
