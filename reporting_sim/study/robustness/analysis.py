"""A robustness study's numbers, pure functions of its runs and worlds: per variant and
metric the share of worlds better, the paired-significant shares, the spread of the
difference and the regret; for the verdict metric, scenario discovery (PRIM boxes and
extra-trees feature scores, from the EMA Workbench) and a one-sentence verdict."""

from __future__ import annotations

import math
import warnings
from typing import Optional

import numpy as np
import pandas as pd

from ...measures.stats import number_or_none
from ...metric_names import amount, direction


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


def _paired_sides(frame: pd.DataFrame, base: str, variant: str, metric: str, sign: int) -> tuple[int, int, int]:
    """Worlds whose paired 95% interval is wholly better / wholly worse, and worlds judged."""
    from ...measures.stats import paired_ci

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


def analyse(frame: pd.DataFrame, worlds: pd.DataFrame, base: str, variants: list[str], metrics: list[str],
            verdict_metric, *, seed: int = 0, prim_density: float = 0.9, max_boxes: int = 2,
            held: Optional[dict] = None) -> dict:
    """The study's numbers from its runs (``frame``: one row per world, scenario and
    replication) and its worlds (one row per world, one column per uncertainty);
    ``verdict_metric``: the metric each variant is judged on (one name, or a mapping
    variant -> name); ``held``: variant -> the uncertain settings it changes itself."""
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
        block["verdict"] = verdict(v, vm, block["metrics"][vm], block["fails_when"], block["importance"], worlds,
                                   frozenset((held or {}).get(v, ())))
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

        # the library's default, a third of the assumptions, is none for one or two of them
        scores = feature_scoring.get_ex_feature_scores(xn, y, mode=RuleInductionType.REGRESSION, nr_trees=200,
                                                      max_features=max(1, int(round(len(xn.columns) / 3))),
                                                      random_state=int(seed) % 2**32)[0]
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
            worlds: pd.DataFrame, held: frozenset = frozenset()) -> str:
    """One sentence a planner can read: how often the variant does better than the
    base, by how much (percentage points for shares), and where it does not; ``held``:
    the settings the variant changes itself (named as such when its effect depends on
    the base's value of one)."""
    n = m["worlds_judged"]
    if not n:
        return f"{variant}: no world gave a value of {metric}."
    if m["share_unchanged"] == 1:
        return f"{variant} leaves {metric} unchanged in all {n} plausible worlds."
    lo, hi = m["share_better_ci95"]
    way = "higher" if direction(metric) > 0 else "lower"
    s = (f"{variant} does better than the base on {metric} ({way} is better) in {_pct(m['share_better'])} "
         f"[{_pct(lo)}, {_pct(hi)}] of {n} plausible worlds (median change {amount(m['diff_p50'], metric)}; "
         f"5th-95th percentile {amount(m['diff_p05'], metric)} to {amount(m['diff_p95'], metric)})")
    if m["share_better"] == 1:
        return s + "."
    sig = [b for b in boxes if b.get("significant")]
    if sig:
        b = sig[0]
        return (s + f"; where it does not, {_condition(b['box'], worlds)} ({_pct(b['coverage'])} of those "
                f"worlds lie in that box, {_pct(b['density'])} of the worlds in it are ones where it does not help).")
    return s + _drivers(importance, boxes, held) + "."


def _drivers(importance: list[dict], boxes: list[dict], held: frozenset) -> str:
    """The verdict's last clause: no clear box, and the assumption its effect depends on most."""
    if not importance:
        return ""
    top = importance[0]["path"]
    whose = " (a setting this variant replaces: the effect depends on the base's value of it)" if top in held else ""
    return ("; no clear box of assumptions where it fails (PRIM: none with every quasi-p < 0.05)" if boxes else "") + \
        f"; its effect depends most on {top}{whose}"


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
