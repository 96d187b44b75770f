"""A robustness study's numbers, pure functions of its runs and worlds: per variant and
metric each world's verdict (better, equivalent within the minimum effect worth
counting, worse, or undecided) from its paired interval, the shares of worlds of each
verdict with Wilson intervals, the variance components (mean effect, spread between
worlds, error within a world), the spread of the difference and the regret; for the
verdict metric, scenario discovery (:mod:`.discovery`: PRIM boxes and feature scores,
each reported only where it beats the same procedure on shuffled outcomes) and a
one-sentence verdict.

A world's verdict, from the paired differences variant - base over its replications
(``sign``: +1 when higher is better), their mean ``d`` and interval ``[lo, hi]`` at
level ``level`` (:func:`world_verdict`), with ``m`` the minimum effect worth counting:

* *no difference*: every paired difference is exactly zero (the variant changes nothing);
* *better*: ``lo > 0`` and ``d >= m`` (surely better, by at least the minimum on its estimate);
* *worse*: ``hi < 0`` and ``d <= -m``;
* *equivalent*: ``-m < lo`` and ``hi < m`` (the whole interval inside the minimum effect);
* *undecided*: none of these (more replications would decide it).

The three decided verdicts exclude each other. A sequential study looks at a world's
interval after each batch of replications; with ``L`` looks it uses the level
``1 - 0.05 / L`` at every look (a union bound), so each world's verdict is wrong with
probability at most 5% however many looks it took (:func:`look_level`).

With windows (``[robustness] windows``), the interval's error comes from each run's
windows instead (:func:`windowed_verdict`, batch means), so a world is judged from its
first replication on; the rules above are the same."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from ...measures.stats import number_or_none
from ...metric_names import amount, direction, min_effect, size


def _wilson(k: int, n: int) -> list:
    if n == 0:
        return [None, None]
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def _q(x: np.ndarray, q: float):
    return number_or_none(np.percentile(x, q)) if len(x) else None


def world_means(frame: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean of each metric over the replications, per (world, scenario)."""
    return frame.groupby(["world", "scenario"], sort=True)[metrics].mean()


VERDICTS = ("better", "equivalent", "worse", "undecided")
NO_DIFFERENCE = "no difference"


def look_level(looks: int, alpha: float = 0.05) -> float:
    """The interval level at each of ``looks`` looks at one world (Bonferroni over the
    looks: the verdict is wrong with probability at most ``alpha`` overall)."""
    return 1.0 - alpha / max(1, int(looks))


def world_verdict(diffs, m: float, sign: int, level: float = 0.95) -> str:
    """One world's verdict from its paired differences ``diffs`` (variant - base, one per
    replication), the minimum effect ``m`` and the better direction ``sign`` (see the
    module docstring)."""
    from ...measures.stats import mean_ci

    x = _measured(diffs)
    if len(x) and not x.any():
        return NO_DIFFERENCE
    d, lo, hi = mean_ci((sign * x).tolist(), level)
    if len(x) < 2 or math.isnan(lo):
        return "undecided"
    return interval_verdict(d, lo, hi, m)


def _measured(diffs) -> np.ndarray:
    """The paired differences that were measured (not missing, not NaN)."""
    return np.asarray([v for v in diffs if v is not None and not math.isnan(v)], dtype=float)


def interval_verdict(d: float, lo: float, hi: float, m: float) -> str:
    """The decided verdict of a mean difference ``d`` with interval ``[lo, hi]`` in the
    better direction (the rules of the module docstring), else "undecided"."""
    if lo > 0 and d >= m:
        return "better"
    if hi < 0 and d <= -m:
        return "worse"
    return "equivalent" if -m < lo and hi < m else "undecided"


def paired_table(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``metric`` by (world, replication) rows and scenario columns."""
    return frame.pivot_table(index=["world", "replication"], columns="scenario", values=metric, aggfunc="first",
                             dropna=False)


def world_effects(frame: pd.DataFrame, base: str, variant: str, metric: str, m: float, level: float,
                  table: Optional[pd.DataFrame] = None, windows: int = 0) -> pd.DataFrame:
    """Per world: replications paired, mean difference variant - base, its standard
    error and the world's verdict (in the metric's better direction). With ``windows``,
    the standard error comes from the runs' windows (:func:`windowed_verdict`)."""
    if windows:
        table = window_table(frame, metric, windows) if table is None else table
        return _windowed_effects(table, base, variant, metric, m, level)
    table = paired_table(frame, metric) if table is None else table
    sign = direction(metric)
    d = (table[variant] - table[base]).dropna()
    rows = [_world_row(w, g.to_numpy(dtype=float), m, sign, level) for w, g in d.groupby(level="world")]
    return pd.DataFrame(rows, columns=["world", "n", "diff", "se", "verdict"]).set_index("world")


def windowed_verdict(diffs, window_diffs, m: float, sign: int, level: float = 0.95) -> tuple[float, float, str]:
    """One world's mean difference, its standard error and its verdict when every run is
    cut into windows (batch means: Law and Kelton, section 9.5.3). ``diffs``: the
    world's paired run differences (variant - base, one per replication); ``window_diffs``:
    one row per replication, the same difference on each window of the run. The error
    of a run's difference is estimated from the spread of its windows' differences
    (pooled over the world's runs: the within-run variance over ``k`` windows, divided
    by ``k``), so one replication already gives an interval, on ``sum(k - 1)``
    degrees of freedom; the mean is the runs' own. It holds where windows far apart in
    time are nearly independent: ``bench_decisions.py`` measures how often the
    interval misses on the shipped study's runs."""
    x, w = np.asarray(diffs, dtype=float), np.asarray(window_diffs, dtype=float).reshape(len(diffs), -1)
    keep = np.isfinite(x)
    x, w = x[keep], w[keep]
    if len(x) and not x.any() and not np.nan_to_num(w).any():
        return 0.0, 0.0, NO_DIFFERENCE
    ss, k = _window_spread(w)
    dof = int(np.sum(np.maximum(k - 1, 0)))
    if not len(x) or dof < 1:
        return (float(x.mean()) if len(x) else math.nan), math.nan, "undecided"
    pooled = float(np.sum(ss) / dof)
    se = math.sqrt(pooled * float(np.sum(1.0 / k[k > 0])) / len(x) ** 2)
    d = float(x.mean())
    half = float(student_t.ppf(0.5 + level / 2, dof)) * se
    verdict = interval_verdict(sign * d, sign * d - half, sign * d + half, m)
    return d, se, verdict


def _window_spread(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per run (a row of its windows' differences ``w``, NaN where a window measured
    nothing): the sum of squared deviations from the run's window mean, and how many
    windows it has. The windowed error rule: a run's variance over ``k`` windows is
    ``ss / (k - 1)``, its difference's ``ss / (k - 1) / k`` (:func:`windowed_verdict`
    pools the first over a world's runs, :func:`window_pair_statistics` reads the
    second run by run)."""
    k = np.isfinite(w).sum(axis=1)
    with np.errstate(invalid="ignore"):
        ss = np.nansum((w - np.nanmean(w, axis=1, keepdims=True)) ** 2, axis=1)
    return ss, k


def window_table(frame: pd.DataFrame, metric: str, windows: int) -> pd.DataFrame:
    """``metric`` and its windows (``frame``'s
    :func:`~reporting_sim.measures.metrics.window_key` columns) by (world, replication)
    rows and (column, scenario) columns: :func:`paired_table` for a windowed study."""
    from ...measures.metrics import window_key

    cols = [metric] + [window_key(metric, i) for i in range(windows)]
    table = frame.pivot_table(index=["world", "replication"], columns="scenario", values=cols, aggfunc="first",
                              dropna=False)
    return table.reindex(columns=cols, level=0)  # the windows in time order (the pivot sorts names)


def _window_diffs(table: pd.DataFrame, base: str, variant: str, metric: str):
    """Per world of a :func:`window_table`, its paired run differences and, one row per
    run, its windows' paired differences."""
    cols = list(dict.fromkeys(table.columns.get_level_values(0)))
    diff = pd.concat({c: table[c][variant] - table[c][base] for c in cols}, axis=1).dropna(subset=[metric])
    windows = [c for c in cols if c != metric]
    for w, g in diff.groupby(level="world"):
        yield w, g[metric].to_numpy(float), g[windows].to_numpy(float)


def _windowed_effects(table: pd.DataFrame, base: str, variant: str, metric: str, m: float,
                      level: float) -> pd.DataFrame:
    """:func:`world_effects` from the runs' windows (a :func:`window_table`)."""
    sign, rows = direction(metric), []
    for w, x, win in _window_diffs(table, base, variant, metric):
        d, se, verdict = windowed_verdict(x, win, m, sign, level)
        rows.append({"world": w, "n": len(x), "diff": d, "se": se, "verdict": verdict})
    return pd.DataFrame(rows, columns=["world", "n", "diff", "se", "verdict"]).set_index("world")


def window_pair_statistics(frame: pd.DataFrame, base: str, variant: str, metric: str, windows: int) -> np.ndarray:
    """The test of the windows' error on a study's own runs: for every world with two
    replications or more, runs 1 and 2 (3 and 4, ...) are independent, so the
    difference of their results over the root sum of their windowed errors squared is
    about Student's t on ``2 (windows - 1)`` degrees of freedom where the windows' error
    holds; larger values, more often than that, mean the windows understate it."""
    out = []
    for _, x, win in _window_diffs(window_table(frame, metric, windows), base, variant, metric):
        ss, k = _window_spread(win)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(ss / (k - 1) / k)
        for a in range(0, len(x) - 1, 2):
            den = math.hypot(se[a], se[a + 1])
            if den > 0:
                out.append((x[a] - x[a + 1]) / den)
    return np.asarray(out, dtype=float)


def windows_check(frame: pd.DataFrame, base: str, variant: str, metric: str, windows: int) -> dict:
    """How often pairs of a study's own runs fall outside each other's windowed 95%
    interval (:func:`window_pair_statistics`): ``pairs``, ``miss_95`` (5% expected where
    the windows' error holds) and ``p_value`` (one-sided binomial: that many misses or
    more at 5%), ``misses`` (how many pairs fall outside); ``understated`` when
    ``p_value`` is below 0.05."""
    from scipy.stats import binomtest

    t = np.abs(window_pair_statistics(frame, base, variant, metric, windows))
    if not len(t):
        return {"pairs": 0, "misses": 0, "miss_95": None, "expected_95": 0.05, "p_value": None,
                "understated": False}
    k = int(np.sum(t > student_t.ppf(0.975, 2 * (windows - 1))))
    p = float(binomtest(k, len(t), 0.05, alternative="greater").pvalue)
    return {"pairs": int(len(t)), "misses": k, "miss_95": k / len(t), "expected_95": 0.05, "p_value": p,
            "understated": p < 0.05}


def _world_row(w, x: np.ndarray, m: float, sign: int, level: float) -> dict:
    """World ``w``'s paired differences ``x``: how many, their mean, its standard error
    (``nan`` below two) and the world's verdict."""
    se = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return {"world": w, "n": len(x), "diff": float(x.mean()), "se": se, "verdict": world_verdict(x, m, sign, level)}


def variance_components(eff: pd.DataFrame) -> dict:
    """The mean effect across worlds with its 95% interval (t over the worlds), the
    spread of the true effect between worlds (``between_sd``: the sd of the worlds'
    mean differences less what their own replication error explains, method of
    moments) and the error of one world's mean difference (``within_se``: root mean
    square of the worlds' standard errors)."""
    from ...measures.stats import mean_ci

    d, se = eff["diff"].to_numpy(float), eff["se"].to_numpy(float)
    mean, lo, hi = mean_ci(d.tolist())
    within = float(np.sqrt(np.nanmean(se ** 2))) if np.isfinite(se).any() else math.nan
    between = _between_sd(d, within)
    return {"mean_effect": number_or_none(mean), "mean_effect_ci95": [number_or_none(lo), number_or_none(hi)],
            "between_sd": number_or_none(between), "within_se": number_or_none(within)}


def _between_sd(d: np.ndarray, within: float) -> float:
    """The spread of the true effect between worlds: the variance of their mean
    differences ``d`` less the replication error ``within`` squared, floored at 0
    (method of moments; ``nan`` with fewer than two worlds or no error)."""
    total = float(np.var(d, ddof=1)) if len(d) > 1 else math.nan
    if math.isnan(total) or math.isnan(within):
        return math.nan
    return math.sqrt(max(0.0, total - within ** 2))


def verdict_shares(eff: pd.DataFrame) -> dict:
    """Shares of worlds of each verdict (no difference counts as equivalent), with 95%
    Wilson intervals."""
    n = len(eff)
    counts = eff["verdict"].replace(NO_DIFFERENCE, "equivalent").value_counts()
    out: dict = {"worlds_judged": n}
    for v in VERDICTS:
        out.update(_verdict_share(v, int(counts.get(v, 0)), n))
    out["share_no_difference"] = float((eff["verdict"] == NO_DIFFERENCE).mean()) if n else None
    out["replications_per_world"] = _replications_per_world(eff["n"]) if n else None
    return out


def _verdict_share(v: str, k: int, n: int) -> dict:
    """The share of worlds of verdict ``v`` (``k`` of ``n``) and its Wilson interval."""
    return {f"share_{v}": _share(k, n), f"share_{v}_ci95": _wilson(k, n)}


def _replications_per_world(n: pd.Series) -> dict:
    """The fewest, median and most replications the worlds got."""
    return {"min": int(n.min()), "median": float(n.median()), "max": int(n.max())}



def analyse(frame: pd.DataFrame, worlds: pd.DataFrame, base: str, variants: list[str], metrics: list[str],
            verdict_metric, *, seed: int = 0, prim_density: float = 0.9, max_boxes: int = 2,
            min_effects: Optional[dict] = None, level: float = 0.95, names: Optional[dict] = None,
            permutations: int = 19, held: Optional[dict] = None, windows: int = 0, map_=map) -> dict:
    """The study's numbers from its runs (``frame``: one row per world, scenario and
    replication) and its worlds (one row per world, one column per uncertainty);
    ``verdict_metric``: the metric each variant is judged on (one name, or a mapping
    variant -> name); ``min_effects``: metric -> minimum effect worth counting
    (default :func:`reporting_sim.metric_names.min_effect`); ``level``: each world's
    interval level; ``names``: each uncertainty's words (for the verdicts); ``held``:
    variant -> the uncertain settings it changes itself; ``windows``: each run's windows
    give a world's error (:func:`windowed_verdict`), not its replications alone;
    ``map_``: what runs the permutation nulls' procedures (a pool's map spreads them
    over its processes; the numbers are the same)."""
    means = world_means(frame, metrics)
    out: dict = {"variants": {}, "best_counts": {}, "base_regret": {}, "min_effects": {}, "world_level": level}
    for m in metrics:
        out["min_effects"][m] = min_effect(m, min_effects)
        _analyse_metric(frame, means, m, base, variants, out, level, windows)
    for v in variants:
        vm = _verdict_metric_of(verdict_metric, v)
        eff = world_effects(frame, base, v, vm, out["min_effects"][vm], level, windows=windows).reindex(worlds.index)
        if windows:
            out["variants"][v]["windows_check"] = windows_check(frame, base, v, vm, windows)
        _judge(out["variants"][v], v, vm, eff, worlds, seed=seed, prim_density=prim_density, max_boxes=max_boxes,
               permutations=permutations, names=names, held=frozenset((held or {}).get(v, ())), map_=map_)
    return out


def _verdict_metric_of(verdict_metric, v: str) -> str:
    """Variant ``v``'s verdict metric: the one name given, or its entry of the mapping."""
    return verdict_metric if isinstance(verdict_metric, str) else verdict_metric[v]


def _judge(block: dict, v: str, vm: str, eff: pd.DataFrame, worlds: pd.DataFrame, *, seed: int,
           prim_density: float, max_boxes: int, permutations: int, names: Optional[dict], held: frozenset,
           map_=map) -> None:
    """Variant ``v``'s verdict on its metric ``vm`` into ``block``: each world's verdict
    (``eff``), where it fails and what drives it (scenario discovery) and the sentence."""
    from .discovery import discover

    block["verdict_metric"] = vm
    block["world_verdicts"] = eff["verdict"].fillna("undecided").tolist()
    found = discover(worlds, direction(vm) * eff["diff"], eff["verdict"], seed, prim_density, max_boxes,
                     permutations=permutations, map_=map_)
    block["fails_when"], block["importance"], block["discovery"] = found
    block["verdict"] = verdict(v, vm, block["metrics"][vm], block["fails_when"], block["importance"], worlds,
                               names, held)


def _analyse_metric(frame: pd.DataFrame, means: pd.DataFrame, m: str, base: str, variants: list[str],
                    out: dict, level: float, windows: int = 0) -> None:
    """Metric ``m`` across the worlds: how often each scenario was best, the base's
    regret, and for each variant its worlds' verdicts, the variance components, the
    spread of its difference and its regret."""
    sign = direction(m)
    scenarios = [base] + variants
    regret, winners = _regrets(means[m].unstack("scenario").reindex(columns=scenarios), sign)
    out["best_counts"][m] = {s: int((winners == s).sum()) for s in scenarios}
    out["base_regret"][m] = {"regret_p50": _q(regret[:, 0], 50), "regret_p90": _q(regret[:, 0], 90)}
    pairs = window_table(frame, m, windows) if windows else paired_table(frame, m)
    for j, v in enumerate(variants, start=1):
        eff = world_effects(frame, base, v, m, out["min_effects"][m], level, pairs, windows)
        out["variants"].setdefault(v, {"metrics": {}})["metrics"][m] = {
            **verdict_shares(eff), **variance_components(eff), "min_effect": out["min_effects"][m],
            **_difference_shares(eff, sign), **_spread(eff["diff"].to_numpy(float), regret[:, j])}


def _regrets(table: pd.DataFrame, sign: int) -> tuple[np.ndarray, pd.Series]:
    """From the worlds' means (``table``: a column per scenario, the base first), each
    scenario's regret in each world where every scenario has a value (how far it falls
    short of that world's best, in the better direction) and each such world's best
    scenario (ties go to the first: the base)."""
    signed = sign * table
    best = signed.max(axis=1, skipna=False)
    ok = ~np.isnan(best.to_numpy())
    regret = best.to_numpy()[:, None] - signed.to_numpy()
    return regret[ok], signed[ok].idxmax(axis=1)


def _difference_shares(eff: pd.DataFrame, sign: int) -> dict:
    """Shares of worlds whose mean difference is better (with its Wilson interval) or
    exactly zero, and of the worlds with an interval, those surely better or worse at 95%."""
    d = eff["diff"].to_numpy(float)
    n, k, same = len(d), int((sign * d > 0).sum()), int((d == 0).sum())
    sig_b = int(((sign * eff["diff"] - _half95(eff)) > 0).sum())
    sig_w = int(((sign * eff["diff"] + _half95(eff)) < 0).sum())
    judged = int(eff["se"].notna().sum())
    return {"share_mean_better": _share(k, n), "share_mean_better_ci95": _wilson(k, n),
            "share_unchanged": _share(same, n), "share_sig_better": _share(sig_b, judged),
            "share_sig_worse": _share(sig_w, judged)}


def _share(k: int, n: int) -> Optional[float]:
    """``k / n``, or ``None`` of no worlds."""
    return k / n if n else None


def _spread(d: np.ndarray, r: np.ndarray) -> dict:
    """Percentiles of the worlds' mean differences (5, 50, 95) and of the regret (50, 90)."""
    return {"diff_p05": _q(d, 5), "diff_p50": _q(d, 50), "diff_p95": _q(d, 95),
            "regret_p50": _q(r, 50), "regret_p90": _q(r, 90)}


def _half95(eff: pd.DataFrame) -> pd.Series:
    """Each world's 95% t half-width (NaN below two replications)."""
    from scipy.stats import t

    n = eff["n"].to_numpy(float)
    q = np.where(n > 1, t.ppf(0.975, np.maximum(n - 1, 1)), np.nan)
    return pd.Series(q * eff["se"].to_numpy(float), index=eff.index)


def discover(worlds, gain, seed, density, max_boxes):
    """Scenario discovery as before this study beat noise (kept for callers): see
    :func:`.discovery.discover`."""
    from .discovery import discover as _discover

    boxes, scores, _ = _discover(worlds, gain, None, seed, density, max_boxes)
    return boxes, scores


# ------------------------------------------------------------------ verdicts

def _pct(x) -> str:
    """A share as a whole percentage, or "-"."""
    return "-" if x is None else f"{100 * x:.0f}%"


def _label(path: str, names: Optional[dict]) -> str:
    from .discovery import words

    return (names or {}).get(path) or words(path)


def _condition(box: dict, worlds: pd.DataFrame, names: Optional[dict] = None) -> str:
    """A PRIM box in words: each limit of it, joined by "and"."""
    return " and ".join(_limit_words(_label(p, names), lim, worlds[p]) for p, lim in box.items())


def _limit_words(w: str, lim: list, values: pd.Series) -> str:
    """One limit of a box on setting ``w``: its choices, or its range against the whole
    range the worlds' ``values`` span (a value, between, over or under)."""
    if isinstance(lim[0], (str, bool)):
        return f"{w} is {' or '.join(map(str, lim))}"
    return _range_words(w, lim[0], lim[1], float(values.min()), float(values.max()))


def _range_words(w: str, lo: float, hi: float, full_lo: float, full_hi: float) -> str:
    """A numeric limit ``[lo, hi]`` of setting ``w`` in words, against the whole range
    ``[full_lo, full_hi]`` the worlds span: a value, between, over or under."""
    if lo == hi:
        return f"{w} is {lo:.3g}"
    if lo > full_lo and hi < full_hi:
        return f"{w} is between {lo:.3g} and {hi:.3g}"
    return f"{w} is over {lo:.3g}" if lo > full_lo else f"{w} is under {hi:.3g}"


def _effect_text(m: dict, metric: str) -> str:
    """The verdict's clause on the mean effect (with its interval when it has one), the
    spread between worlds and the error within one; ``""`` without a mean effect."""
    if m.get("mean_effect") is None:
        return ""
    ci = _interval_text(m.get("mean_effect_ci95") or [None, None], metric)
    return (f"; mean effect {amount(m['mean_effect'], metric)}{ci}, spread between worlds (sd) "
            f"{_size(m.get('between_sd'), metric)}, error within a world (se) {_size(m.get('within_se'), metric)}")


def _interval_text(ci: list, metric: str) -> str:
    """`` [lo, hi]`` in the metric's unit, or ``""`` when an end is missing."""
    lo, hi = ci
    return f" [{amount(lo, metric)}, {amount(hi, metric)}]" if lo is not None and hi is not None else ""


def _size(x, metric: str) -> str:
    """A spread or an error of ``metric`` in its unit (:func:`.metric_names.size`), or "-"."""
    return "-" if x is None else size(x, metric)


def verdict(variant: str, metric: str, m: dict, boxes: list[dict], importance: list[dict],
            worlds: pd.DataFrame, names: Optional[dict] = None, held: frozenset = frozenset()) -> str:
    """One sentence a planner can read: in how many worlds the variant is better by at
    least the minimum effect, equivalent or worse; the mean effect and its spread; and,
    only where it beats the permutation null, where it fails and what drives it
    (``held``: the settings the variant changes itself, named as such when its effect
    depends on the base's value of one)."""
    n = m["worlds_judged"]
    if not n:
        return f"{variant}: no world gave a value of {metric}."
    if m.get("share_no_difference") == 1:
        return f"{variant} makes no difference to {metric} in any of the {n} plausible worlds."
    return _shares_sentence(variant, metric, m, n) + _ending(m, boxes, importance, worlds, names, held)


def _shares_sentence(variant: str, metric: str, m: dict, n: int) -> str:
    """The verdict's shares of worlds (better with its interval, equivalent, worse,
    undecided) and its mean effect, without the final stop."""
    lo, hi = m["share_better_ci95"]
    return (f"{variant} is better on {metric} by at least {amount(m['min_effect'], metric).lstrip('+')} in {_pct(m['share_better'])} "
            f"[{_pct(lo)}, {_pct(hi)}] of {n} plausible worlds, equivalent in {_pct(m['share_equivalent'])}, worse in "
            f"{_pct(m['share_worse'])}, undecided in {_pct(m['share_undecided'])}" + _effect_text(m, metric))


def _ending(m: dict, boxes: list[dict], importance: list[dict], worlds: pd.DataFrame, names: Optional[dict],
            held: frozenset) -> str:
    """The verdict's end: where it fails (a box that beats the null), else what drives
    it (a score that does), else a stop when the worlds agree, else that no assumption
    decides it."""
    if boxes:
        return _box_clause(boxes[0], worlds, names)
    if importance:
        return _driver_clause(importance[0]["path"], names, held)
    if m["share_better"] in (0, 1) or m.get("share_equivalent") == 1:
        return "."
    return "; no assumption decides it (no box or feature score beats the same procedure on shuffled outcomes)."



def _box_clause(b: dict, worlds: pd.DataFrame, names: Optional[dict]) -> str:
    """The end of a verdict with a box that beats the null: where the variant fails to be better."""
    return (f"; it fails to be better mainly where {_condition(b['box'], worlds, names)} "
            f"({_pct(b['coverage'])} of those worlds lie there, {_pct(b['density'])} of the worlds there are "
            f"such; beats the permutation null, p {b['p_null']:.2g}).")


def _driver_clause(top: str, names: Optional[dict], held: frozenset) -> str:
    """The end of a verdict with a feature score that beats the null: what its effect
    depends on most (said to be a setting the variant replaces when it is one)."""
    whose = " (a setting this variant replaces: the effect depends on the base's value of it)" if top in held else ""
    return f"; its effect depends most on {_label(top, names)}{whose} (beats the permutation null)."


def summary_frame(result: dict) -> pd.DataFrame:
    """One row per variant and metric (the numbers of ``result.json``)."""
    return pd.DataFrame([_summary_row(result, v, m, e) for v, block in result["variants"].items()
                         for m, e in block["metrics"].items()])


def _summary_row(result: dict, v: str, m: str, e: dict) -> dict:
    """Variant ``v``'s numbers on metric ``m`` (``e``) as a row of summary.csv."""
    return {"variant": v, "metric": m, "better": "higher" if direction(m) > 0 else "lower",
            "min_effect": e["min_effect"],
            "share_better": e["share_better"], "share_better_ci95_low": e["share_better_ci95"][0],
            "share_better_ci95_high": e["share_better_ci95"][1],
            "share_equivalent": e["share_equivalent"], "share_worse": e["share_worse"],
            "share_undecided": e["share_undecided"], "mean_effect": e["mean_effect"],
            "between_sd": e["between_sd"], "within_se": e["within_se"],
            "share_mean_better": e["share_mean_better"],
            "share_sig_better": e["share_sig_better"], "share_sig_worse": e["share_sig_worse"],
            "share_unchanged": e["share_unchanged"], "diff_p05": e["diff_p05"], "diff_p50": e["diff_p50"],
            "diff_p95": e["diff_p95"], "regret_p50": e["regret_p50"], "regret_p90": e["regret_p90"],
            "best_in_worlds": result["best_counts"][m][v], "worlds": e["worlds_judged"]}
