"""Ranking and selection: which option is best on one metric, with a guarantee.

``reporting-sim select BASE VARIANT... --metric M --delta D --pcs P`` runs the options
(the base and each variant) with common random numbers (replication ``r`` of every
option uses the same seed) and Kim and Nelson's fully sequential procedure KN (Kim &
Nelson 2001, "A fully sequential procedure for indifference-zone selection in
simulation", ACM TOMACS 11(3)), :class:`KN`:

1. every option runs ``n0`` replications (first stage; 5 by default: the guarantee
   holds for any ``n0 >= 2``; a small first stage lets a clear winner stop early, a
   larger one (Kim and Nelson use 10) narrows the continuation region for close options); ``S2[i, l]`` is the sample
   variance of the paired differences ``X_i - X_l`` over them (CRN make it small);
2. with ``k`` options and ``alpha = 1 - P``, ``eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2``
   and ``h2 = 2 eta (n0 - 1)``;
3. after each further replication ``r`` (the survivors only), option ``i`` is dropped
   when, for some survivor ``l``, its mean is below ``l``'s by more than
   ``W[i, l](r) = max(0, D / (2 r) * (h2 S2[i, l] / D**2 - r))``;
4. it stops when one option is left, or when ``r`` exceeds every survivor pair's
   ``h2 S2 / D**2`` (all ``W`` are 0: the best mean is taken; ties go to the first, the base).

Guarantee: if the best option is at least ``D`` better than every other (in the
metric's better direction), it is selected with probability at least ``P``
(normal outputs; KN's theorem). ``equal_allocation_replications`` is what a design
giving every option the same number of replications needs for the same guarantee,
from the same first stage: the two-stage procedure with CRN and a Bonferroni bound
over the ``k - 1`` pairs (Clark & Yang 1986), where every option gets
``N = max(n0, max over pairs of ceil(t**2 S2[i, l] / D**2))`` replications,
``t`` the ``1 - alpha / (k - 1)`` quantile of Student's t with ``n0 - 1`` degrees of
freedom; in all ``k N``.

Across plausible worlds (``--worlds N``: Latin hypercube over the base's
``[uncertainties]``; ``--worlds-from FILE``: the worlds a calibration kept) the
procedure runs in each world with the world's own seeds, and the result gives the
share of worlds in which each option is selected. Runs go through the executors and
the resumable run store (:mod:`.execution`); rounds depend only on the runs' numbers,
so a rerun or another executor gives the same answer.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import ScenarioError
from ..hashing import digest
from ..metric_names import direction, flat_names
from ..model.streams import replication_seed
from . import guard
from .execution import Job, progress_bar


# ------------------------------------------------------------------ the procedure

def kn_h2(k: int, pcs: float, n0: int) -> float:
    """KN's ``h**2`` for ``k`` options, the nominal probability of correct selection
    ``pcs`` and a first stage of ``n0`` replications."""
    alpha = 1.0 - pcs
    eta = 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return 2.0 * eta * (n0 - 1)


def equal_allocation(s2: np.ndarray, delta: float, pcs: float, n0: int) -> int:
    """Replications per option of the two-stage Bonferroni procedure with CRN (module
    docstring) from the first-stage variances of the differences ``s2``."""
    from scipy.stats import t

    k = len(s2)
    q = float(t.ppf(1.0 - (1.0 - pcs) / (k - 1), n0 - 1))
    return int(max(n0, math.ceil(q * q * float(np.max(s2)) / delta ** 2)))


class KN:
    """The state of one KN selection (module docstring): feed it each option's value
    per replication (:meth:`add`), ask what to run next (:meth:`wanted`), and read
    :attr:`selected` once :attr:`done`. Values are signed so that higher is better."""

    def __init__(self, labels: list[str], delta: float, pcs: float, n0: int = 10, batch: int = 1,
                 cap: Optional[int] = None):
        if len(labels) < 2:
            raise ValueError("selection needs at least two options")
        self.labels, self.delta, self.pcs, self.n0, self.batch = list(labels), delta, pcs, n0, max(1, batch)
        self.cap = cap
        """The most replications an option gets (``None``: no cap); at the cap the best
        mean among the survivors is taken and :attr:`capped` says so (KN's guarantee
        does not hold for that selection)."""
        self.capped = False
        self.h2 = kn_h2(len(labels), pcs, n0)
        self.values: dict[str, list] = {a: [] for a in labels}
        self.alive, self.r = list(labels), 0
        self.eliminated: dict[str, dict] = {}
        self.s2: Optional[np.ndarray] = None
        self.selected: Optional[str] = None

    @property
    def done(self) -> bool:
        return self.selected is not None

    def wanted(self) -> list[tuple[str, int]]:
        """The (option, replication) pairs to run next."""
        if self.done:
            return []
        return [(a, r) for r in range(self.r, self._upto()) for a in self.alive if len(self.values[a]) <= r]

    def _upto(self) -> int:
        """One past the last replication of the next stage: the first stage's ``n0``,
        then ``batch`` more at a time, never beyond the cap."""
        upto = self.n0 if self.r < self.n0 else self.r + self.batch
        return upto if self.cap is None else min(upto, self.cap)

    def add(self, label: str, r: int, value: float) -> None:
        vals = self.values[label]
        vals.extend([None] * (r + 1 - len(vals)))
        vals[r] = float(value)

    def _have(self, r: int) -> bool:
        return all(len(self.values[a]) > r and self.values[a][r] is not None for a in self.alive)

    def advance(self) -> None:
        """Take in every replication all survivors have, dropping options as KN says."""
        if self.r < self.n0 and not self._first_stage():
            return
        while not self.done and self._have(self.r):
            self.r += 1
            self._screen()

    def _first_stage(self) -> bool:
        """Once every option has its first ``n0`` replications: the variances of the
        pairwise differences, and the first screen. Whether the stage is done."""
        if not self._have(self.n0 - 1):
            return False
        x = np.array([self.values[a][:self.n0] for a in self.labels], dtype=float)
        self.s2 = np.array([[np.var(x[i] - x[j], ddof=1) for j in range(len(x))] for i in range(len(x))])
        self.r = self.n0
        self._screen()
        return True

    def _mean(self, a: str) -> float:
        return float(np.mean(self.values[a][:self.r]))

    def _screen(self) -> None:
        idx = {a: i for i, a in enumerate(self.labels)}
        means = {a: self._mean(a) for a in self.alive}
        out = [a for a in self.alive if self._beaten(a, means, idx)]
        self.alive = [a for a in self.alive if a not in out]
        self._decide(means, idx)

    def _decide(self, means: dict, idx: dict) -> None:
        """Select the last survivor, or the best survivor once every continuation region
        has closed or the cap is reached."""
        if len(self.alive) == 1:
            self.selected = self.alive[0]
        elif self._closed() or self._at_cap():
            self.capped = not self._closed()
            self.selected = max(self.alive, key=lambda a: (means[a], -idx[a]))

    def _beaten(self, a: str, means: dict, idx: dict) -> bool:
        """Whether a survivor's mean is below option ``a``'s by more than ``W``; notes by whom."""
        for b in self.alive:
            if a != b and means[a] < means[b] - self._w(idx[a], idx[b]):
                self.eliminated[a] = {"at": self.r, "by": b}
                return True
        return False

    def _at_cap(self) -> bool:
        return self.cap is not None and self.r >= self.cap

    def _w(self, i: int, j: int) -> float:
        return max(0.0, self.delta / (2 * self.r) * (self.h2 * self.s2[i, j] / self.delta ** 2 - self.r))

    def _closed(self) -> bool:
        """Every survivor pair's continuation region has closed (all ``W`` are 0)."""
        idx = [self.labels.index(a) for a in self.alive]
        return all(self.r >= self.h2 * self.s2[i, j] / self.delta ** 2 for i in idx for j in idx if i != j)

    def equal_allocation(self) -> Optional[int]:
        return None if self.s2 is None else equal_allocation(self.s2, self.delta, self.pcs, self.n0)


def kn_select(draw: Callable[[int, list[int]], list[float]], k: int, delta: float, pcs: float,
              n0: int = 10, max_replications: int = 100000) -> tuple[int, dict[int, int]]:
    """KN on a sampler: ``draw(r, options)`` gives replication ``r`` of the listed
    options (higher is better; common random numbers are the sampler's business).
    Returns the selected option and each option's replications."""
    kn = KN([str(i) for i in range(k)], delta, pcs, n0)
    while not kn.done:
        want = kn.wanted()
        _check_stops(want, max_replications)
        _draw_wanted(kn, want, draw)
        kn.advance()
    return int(kn.selected), {int(a): len(v) for a, v in kn.values.items()}


def _check_stops(want: list[tuple[str, int]], max_replications: int) -> None:
    """KN wants more, and within ``max_replications``; else it did not stop."""
    if not want or max(r for _, r in want) >= max_replications:
        raise RuntimeError("KN did not stop within max_replications")


def _draw_wanted(kn: KN, want: list[tuple[str, int]], draw: Callable[[int, list[int]], list[float]]) -> None:
    """Draw the ``want``-ed replications, one call of ``draw`` per replication number,
    and add them to ``kn``."""
    by_r: dict[int, list[int]] = {}
    for a, r in want:
        by_r.setdefault(r, []).append(int(a))
    for r, opts in sorted(by_r.items()):
        for a, v in zip(opts, draw(r, opts)):
            kn.add(str(a), r, v)


# ------------------------------------------------------------------ the study

MAX_REPLICATIONS = 500
"""The most replications an option gets in one world unless ``--max-replications``
says otherwise: it bounds the study's runs (for the run limit) and ends a selection
whose options are closer than ``--delta`` can tell apart at that cost."""


def check_spec(metric: str, delta: float, pcs: float, known: list[str], source: str = "select") -> None:
    """One line for a bad metric, ``delta`` or ``pcs``."""
    _check_metric(metric, known, source)
    _check_guarantee(delta, pcs, source)


def _check_metric(metric: str, known: list[str], source: str) -> None:
    """One line for a metric that is unknown or has no better direction."""
    if metric not in known:
        raise ScenarioError(source, "--metric", f"unknown metric {metric!r} (names look like "
                            f"{known[4] if len(known) > 4 else 'CONSUMER.current.in_time'})")
    try:
        direction(metric)
    except ScenarioError as exc:
        raise ScenarioError(source, "--metric", exc.message) from None


def _check_guarantee(delta: float, pcs: float, source: str) -> None:
    """One line for an indifference zone ``delta`` or a probability ``pcs`` out of range."""
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0):
        raise ScenarioError(source, "--delta", f"must be a positive number, the smallest difference worth "
                            f"selecting for (got {delta!r})")
    if not (isinstance(pcs, (int, float)) and 0 < pcs < 1):
        raise ScenarioError(source, "--pcs", f"must be a probability between 0 and 1, exclusive (got {pcs!r})")


def _check_sizes(n0: int, cap: int) -> None:
    if not 2 <= n0 <= 100000:
        raise ScenarioError("select", "--n0", f"must be at least 2 (got {n0})")
    if not n0 <= cap <= 100000:
        raise ScenarioError("select", "--max-replications", f"must be a whole number from --n0 ({n0}) to 100000 "
                            f"(got {cap})")


class Selection:
    """Options (``members``: the base first), a metric and a guarantee, in one world
    (the scenarios as written) or across plausible worlds (module docstring):
    ``worlds`` drawn from the base's ``[uncertainties]``, or those of the file
    ``worlds_from``; the run limit is checked before any world is drawn."""

    def __init__(self, members: list, *, metric: str, delta: float, pcs: float, days: float, seed: int,
                 n0: int = 5, worlds: Optional[int] = None, worlds_from: Optional[Path] = None,
                 max_replications: int = MAX_REPLICATIONS, warmup_days: float = 0.0, batch: int = 1):
        if len(members) < 2:
            raise ScenarioError("select", "VARIANT", "give at least one variant besides the base")
        base = members[0]
        check_spec(metric, delta, pcs, flat_names(base.scenario.consumers, list(base.scenario.cells)))
        _check_sizes(n0, max_replications)
        self.members, self.metric, self.delta, self.pcs = members, metric, float(delta), float(pcs)
        self.days, self.seed, self.n0, self.warmup_days, self.batch = days, seed, n0, warmup_days, batch
        self.cap, self.sign = max_replications, direction(metric)
        self.labels = [m.label for m in members]
        self.worlds, self.runs_field = None, _runs_field(worlds, worlds_from)
        self.worlds, self.space, self.worlds_source = plausible_worlds(base, worlds, worlds_from, seed,
                                                                       check=self.check_runs)
        self.name = "select-" + self.labels[0] + "-" + self.design()[:8]

    def design(self) -> str:
        return digest([[[m.label, m.data] for m in self.members], self.metric, self.delta, self.pcs, self.days,
                       self.seed, self.n0, self.warmup_days, self.batch, self.worlds, self.cap])

    # -- the study guard -----------------------------------------------------------
    def n_worlds(self) -> int:
        return 1 if self.worlds is None else len(self.worlds)

    def planned_runs(self, n_worlds: Optional[int] = None) -> int:
        """The most runs the selection may make: every option at the cap in every world."""
        return (n_worlds or self.n_worlds()) * len(self.members) * self.cap

    def runs_how(self, n_worlds: Optional[int] = None) -> str:
        n = n_worlds or self.n_worlds()
        where = f"{n} worlds x " if n > 1 or self.worlds is not None else ""
        return f"{where}{len(self.members)} options x up to {self.cap} replications (--max-replications)"

    def check_runs(self, n_worlds: int) -> None:
        """The run limit for ``n_worlds`` worlds (before they are drawn)."""
        guard.check_runs(self.planned_runs(n_worlds), "select", self.runs_field, self.runs_how(n_worlds))

    def plan(self) -> guard.Plan:
        return guard.Plan("selection", self.name, self.design(), self.planned_runs(), source="select",
                          field=self.runs_field, how=self.runs_how())

    # -- jobs ----------------------------------------------------------------------
    def _datas(self, w: Optional[int]) -> dict[str, dict]:
        if w is None:
            return {m.label: m.data for m in self.members}
        base = self.members[0]
        return {m.label: self.space.apply(m.data, self.worlds[w], m.source, self.space.held_by(m.data, base.data))
                for m in self.members}

    def _job(self, w: Optional[int], label: str, r: int, datas: dict) -> Job:
        from .seeds import world_seed

        m = self.members[self.labels.index(label)]
        seed = replication_seed(self.seed, r) if w is None else world_seed(self.seed, w, r)
        where = "" if w is None else f"@w{w}"
        return Job.make(label + where, datas[label], m.source + ("" if w is None else f" (world {w})"), r, seed,
                        self.days, self.warmup_days)

    # -- running -------------------------------------------------------------------
    def run(self, folder: Optional[Path] = None, *, n_jobs: Optional[int] = None, dask=None,
            progress: bool = False) -> dict:
        """Run (or resume) the selection through the study guard (:mod:`.guard`: the run
        limit, the folder's claim and lock, checksummed resumable runs, no timings in
        its files); returns its result (module docstring) and ``wall_time_s``."""
        with guard.claim(folder, self.plan(), n_jobs=n_jobs, dask=dask) as g:
            states = self._rounds(g, progress)
            result = self.result(states)
            g.write("result.json", _json(result))
            g.write("run.json", _json({"study": self.name, "runs": result["replications"],
                                       "timings": guard.TIMINGS_FILE}))
        return {**result, "wall_time_s": g.wall_s}

    def _rounds(self, g: guard.Claim, progress: bool) -> dict:
        """KN's rounds in every world until each has selected (or reached the cap)."""
        states, datas = self._start()
        bar = progress_bar(progress, 0, self.name)
        try:
            while any(not s.done for s in states.values()):
                self._round(g, states, datas, bar)
        finally:
            if bar is not None:
                bar.close()
        return states

    def _start(self) -> tuple[dict, dict]:
        """Per world (``None``: the scenarios as written): a fresh KN, and each option's data."""
        keys = [None] if self.worlds is None else list(range(len(self.worlds)))
        states = {w: KN(self.labels, self.delta, self.pcs, self.n0, self.batch, self.cap) for w in keys}
        return states, {w: self._datas(w) for w in keys}

    def _round(self, g: guard.Claim, states: dict, datas: dict, bar) -> None:
        """Run what every world's KN wants next, feed it the values, and let it screen."""
        planned = [(w, a, r, self._job(w, a, r, datas[w])) for w, s in states.items() for a, r in s.wanted()]
        _grow(bar, len(planned))
        rows = g.run([p[3] for p in planned], bar)
        for w, a, r, job in planned:
            states[w].add(a, r, self.sign * _value(rows[job.key], self.metric))
        for s in states.values():
            s.advance()

    def result(self, states: dict) -> dict:
        """The selection as plain data (the contract of ``select --json``)."""
        opts = self._options(states)
        counts = {a: opts[a]["selected_in"] for a in self.labels}
        out = {"selected": self._most_selected(counts), "pcs": self.pcs, "delta": self.delta, "metric": self.metric,
               "better": "higher" if self.sign > 0 else "lower", "options": opts,
               "equal_allocation_replications": self._equal_allocation(states),
               "replications": sum(o["replications"] for o in opts.values()),
               "max_replications": self.cap, "capped_in": sum(1 for s in states.values() if s.capped),
               "procedure": self._procedure(),
               "days": self.days, "seed": self.seed, "worlds": None}
        if self.worlds is not None:
            out["worlds"] = _world_shares(counts, len(states), self.worlds_source)
        return out

    def _most_selected(self, counts: dict[str, int]) -> str:
        """The option selected in the most worlds (ties: the earlier option)."""
        return max(self.labels, key=lambda a: (counts[a], -self.labels.index(a)))

    def _equal_allocation(self, states: dict) -> int:
        """The replications the two-stage equal allocation would have spent, over the worlds."""
        return sum(len(self.labels) * s.equal_allocation() for s in states.values())

    def _procedure(self) -> dict:
        """The procedure of the result: KN's name, first-stage size and constant."""
        return {"name": "KN (Kim & Nelson 2001), common random numbers", "n0": self.n0,
                "h2": kn_h2(len(self.labels), self.pcs, self.n0),
                "equal_allocation": "two-stage Bonferroni with CRN (Clark & Yang 1986)"}

    def _options(self, states: dict) -> dict:
        """Per option: replications, mean (over worlds of the world's mean), the worlds
        it was selected in and where it was dropped."""
        opts = {a: {"replications": 0, "mean": None, "selected_in": 0, "eliminated": []} for a in self.labels}
        means: dict[str, list] = {a: [] for a in self.labels}
        for w, s in states.items():
            opts[s.selected]["selected_in"] += 1
            for a in self.labels:
                self._tally(opts[a], means[a], w, s, a)
        for a in self.labels:
            opts[a]["mean"] = float(np.mean(means[a]))
        return opts


    def _tally(self, opt: dict, means: list, w, s: KN, a: str) -> None:
        """Add option ``a``'s replications, mean and elimination in world ``w`` (its KN ``s``)."""
        vals = [v for v in s.values[a] if v is not None]
        opt["replications"] += len(vals)
        means.append(self.sign * float(np.mean(vals)))
        if a in s.eliminated:
            opt["eliminated"].append({"world": w, **s.eliminated[a]})


def _runs_field(worlds: Optional[int], worlds_from) -> str:
    """The option the run limit's message names: what sets the number of runs."""
    return "--worlds-from" if worlds_from is not None else "--worlds" if worlds is not None else "--max-replications"


def _grow(bar, n: int) -> None:
    """Tell the progress bar of ``n`` more jobs (sequential rounds add to its total)."""
    if bar is not None and n:
        bar.total = (bar.total or 0) + n
        bar.refresh()


def _world_shares(counts: dict[str, int], n: int, source: str) -> dict:
    from scipy.stats import binomtest

    shares = {a: k / n for a, k in counts.items()}
    ci = {a: [float(c.low), float(c.high)] for a, k in counts.items()
          for c in [binomtest(k, n).proportion_ci(0.95, method="wilson")]}
    return {"count": n, "source": source, "share_selected": shares, "share_selected_ci95": ci}


def _value(row: dict, metric: str) -> float:
    v = row.get(metric)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        raise ScenarioError("select", "--metric", f"{metric!r} has no value in a run of {row.get('label')!r} "
                            "(no event of its kind reached the consumer); choose another metric or more days")
    return float(v)


def _json(obj) -> str:
    import json

    return json.dumps(obj, indent=2, default=str) + "\n"


# ------------------------------------------------------------------ worlds

def plausible_worlds(base, n: Optional[int], path: Optional[Path], seed: int, sampling: str = "lhs",
                     check: Optional[Callable[[int], None]] = None):
    """The worlds to decide in: ``(None, None, "")`` (the scenario as written) when
    neither ``n`` nor ``path``; else ``(worlds, space, source)``, the worlds from a
    calibration's worlds file (:func:`reporting_sim.study.worlds.read_worlds`) or ``n``
    drawn by ``sampling``. ``check(number of worlds)`` (the study's run limit) is called
    before ``n`` worlds are drawn, or once the file's are read; with neither, ``check(1)``."""
    check = check or (lambda k: None)
    if n is None and path is None:
        check(1)
        return None, None, ""
    if n is not None and path is not None:
        raise ScenarioError(str(path), "--worlds-from", "give --worlds or --worlds-from, not both")
    return _worlds_of(_space(base), n, path, seed, sampling, check)


def _worlds_of(space, n: Optional[int], path: Optional[Path], seed: int, sampling: str,
               check: Callable[[int], None]):
    """``(worlds, space, source)``: ``n`` worlds drawn from ``space``, or those of the
    worlds file ``path``; ``check`` the run limit before drawing or once read."""
    if path is None:
        check(n)
        return space.worlds(n, seed, sampling), space, f"{sampling} ({n} worlds, seed {seed})"
    worlds = _read(path, space)
    check(len(worlds))
    return worlds, space, str(path)


def _space(base):
    from ..scenario.uncertainties import Space

    if not base.scenario.uncertainties:
        raise ScenarioError(base.source, "uncertainties", "the base scenario has no [uncertainties] table: no "
                            "plausible worlds to draw")
    return Space(base.data, base.scenario)


def _read(path: Path, space) -> list[dict]:
    """The worlds of a worlds file, each value in its setting's own type (row by row
    as tuples: a row as a Series would turn the integers of a mixed row into floats)."""
    from .worlds import read_worlds

    frame = read_worlds(path, space)[list(space.paths)]
    return [{p: _plain(v) for p, v in zip(space.paths, row)} for row in frame.itertuples(index=False, name=None)]


def _plain(value):
    """A value of a worlds file as plain Python (numpy scalars become numbers)."""
    return value.item() if hasattr(value, "item") else value
