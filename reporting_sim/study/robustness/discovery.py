"""Scenario discovery that must beat noise: which assumptions decide whether a variant helps.

With 50 worlds and 131 uncertain assumptions, PRIM finds a dense box (density 0.9-1.0,
10-12 restricted assumptions) around the failing worlds even when the outcomes are pure
noise, and an extra-trees feature score of 0.03-0.05 is what noise gives. So here:

1. the assumptions are *screened* to at most :data:`SCREEN` (15) before PRIM and the
   feature scores: those whose rank correlation (a correlation ratio for a switch or
   choice) with the variant's gain is largest;
2. the same procedure (screening, PRIM, feature scores) is run on ``permutations``
   shuffles of the outcomes (the worlds' gains and verdicts, permuted together): the
   permutation null;
3. a box is reported only where its coverage x density beats every shuffle's first box
   (p <= 1 / (permutations + 1), 0.05 with 19), and an assumption only where its score
   beats the highest score of every shuffle (the maximum over assumptions: a
   family-wise test); otherwise the answer is that no assumption decides it.

Each assumption is also named in the scenario's words (:func:`words`), not as a path.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Optional

import numpy as np
import pandas as pd

SCREEN = 15
"""The most assumptions PRIM and the feature scores see."""


def _x_frame(worlds: pd.DataFrame) -> pd.DataFrame:
    """The worlds as PRIM's inputs: switches and choices as categories, numbers as
    floats; only the assumptions that vary between the worlds."""
    x = worlds.copy()
    for c in x.columns:
        x[c] = _as_input(x[c])
    return x[[c for c in x.columns if x[c].nunique() > 1]]


def _as_input(col: pd.Series) -> pd.Series:
    """One assumption's column as a category (a switch, or a choice: anything not a
    number, text held as objects or as strings) or as floats."""
    if col.dtype == bool or not pd.api.types.is_numeric_dtype(col):
        return col.astype(str).astype("category")
    return col.astype(float)


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
        for _ in range(max_boxes):
            found = _next_box(p, x, fails, density, ints)
            if found is None:
                break
            out.append(found)
            if found["density"] < density:
                break
    return out


def _next_box(p, x: pd.DataFrame, fails: np.ndarray, density: float, ints) -> Optional[dict]:
    """PRIM's next box at its chosen point of the peeling trajectory (see
    :func:`prim_boxes`); ``None`` when PRIM finds none, or the box restricts nothing
    or holds no world."""
    box = _found_box(p)
    if box is None:
        return None
    traj = box.peeling_trajectory.reset_index(drop=True)
    i = _chosen_step(traj, density)
    limits = _box_limits(x, box.box_lims[i], box.box_lims[0], ints)
    inside = _inside(x, limits)
    n_in, k_in = int(inside.sum()), int((inside & fails).sum())
    if not limits or n_in == 0:
        return None
    qp = {c: _worst_qp(box.qp[i].get(c)) for c in limits}
    return {"box": limits, "coverage": k_in / int(fails.sum()), "density": k_in / n_in, "worlds": n_in,
            "qp": qp, "significant": all(_significant(q) for q in qp.values()),
            "trajectory": traj[["coverage", "density", "mass", "res_dim"]].astype(float).round(6)
            .to_dict(orient="list"), "chosen": i}


def _found_box(p):
    """PRIM's next box, or ``None`` once it finds none."""
    try:
        return p.find_box()
    except Exception:  # ema raises once nothing is left to find
        return None


def _chosen_step(traj: pd.DataFrame, density: float) -> int:
    """The step of a peeling trajectory with the most coverage among those of at least
    ``density`` (else among all), the densest of equal coverage (the last such)."""
    dense = traj[traj["density"] >= density]
    pick = dense if len(dense) else traj  # most coverage, then most density
    return int(pick.sort_values(["coverage", "density"], kind="stable").index[-1])


def _significant(q: Optional[float]) -> bool:
    """Whether a limit's quasi-p value is below 0.05."""
    return q is not None and q < 0.05


def _box_limits(x: pd.DataFrame, lims, init, ints) -> dict:
    """The limits of a PRIM box that differ from the initial box: a set of categories,
    or [low, high] (whole numbers for the integer assumptions ``ints``)."""
    limits = {}
    for c in x.columns:
        lim = _limit(lims[c].iloc[0], lims[c].iloc[1], init[c].iloc[0], init[c].iloc[1], c in ints)
        if lim is not None:
            limits[c] = lim
    return limits


def _limit(lo, hi, init_lo, init_hi, whole: bool) -> Optional[list]:
    """One assumption's limit when it is narrower than the initial box's: its
    categories (sorted), or [low, high] (whole numbers when ``whole``); else ``None``."""
    if isinstance(lo, set):
        return sorted(lo) if lo != init_lo else None
    return _range_limit(lo, hi, whole) if lo > init_lo or hi < init_hi else None


def _range_limit(lo, hi, whole: bool) -> list:
    """A numeric limit as [low, high]: the whole numbers inside it when ``whole``."""
    return [math.ceil(lo), math.floor(hi)] if whole else [float(lo), float(hi)]


def _inside(x: pd.DataFrame, limits: dict) -> np.ndarray:
    """Which worlds (rows of ``x``) lie inside a box's ``limits``."""
    inside = np.ones(len(x), dtype=bool)
    for c, lim in limits.items():
        inside &= x[c].astype(str).isin(lim).to_numpy() if x[c].dtype.name == "category" else \
            ((x[c] >= lim[0]) & (x[c] <= lim[1])).to_numpy()
    return inside


def _worst_qp(values) -> Optional[float]:
    """The larger quasi-p value of a limit's two ends (Bryant and Lempert 2010; -1: no limit)."""
    vals = [float(v) for v in (values or []) if _is_qp(v)]
    return max(vals) if vals else None


def _is_qp(v) -> bool:
    """Whether ``v`` is a quasi-p value (not missing, not NaN, not the -1 of no limit)."""
    return v is not None and not math.isnan(float(v)) and float(v) >= 0


def _nothing_to_learn(x: pd.DataFrame, y: np.ndarray) -> bool:
    """Whether there is nothing to learn about ``y`` from ``x``: no assumption varies,
    fewer than four worlds, or ``y`` is the same in all."""
    return len(x.columns) == 0 or len(y) < 4 or np.nanstd(y) == 0


def _coded(x: pd.DataFrame) -> pd.DataFrame:
    """``x`` with each category replaced by its code (a float), for the trees."""
    xn = x.copy()
    for c in xn.columns:
        if xn[c].dtype.name == "category":
            xn[c] = xn[c].cat.codes.astype(float)
    return xn


def feature_scores(x: pd.DataFrame, y: np.ndarray, seed: int, trees: int = 100) -> list[dict]:
    """Extra-trees importance (EMA Workbench) of each assumption for ``y``, highest first."""
    if _nothing_to_learn(x, y):
        return []
    xn = _coded(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import feature_scoring
        from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

        # the library's default, a third of the assumptions, is none for one or two of them
        scores = feature_scoring.get_ex_feature_scores(xn, y, mode=RuleInductionType.REGRESSION, nr_trees=trees,
                                                      max_features=max(1, int(round(len(xn.columns) / 3))),
                                                      random_state=int(seed) % 2**32)[0]
    col = scores.columns[0]
    return [{"path": str(p), "score": float(s)} for p, s in scores[col].sort_values(ascending=False).items()]




# ------------------------------------------------------------------ screening and the null

def association(x: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """How strongly each assumption goes with ``y``, 0..1: |Spearman rho| for a number,
    the correlation ratio for a switch or choice."""
    from scipy.stats import rankdata

    ry = rankdata(y)
    out = {c: _association_of(x[c], y, ry) for c in x.columns}
    return pd.Series(out, dtype=float).fillna(0.0)


def _association_of(col: pd.Series, y: np.ndarray, ry: np.ndarray) -> float:
    """One assumption's association with ``y`` (``ry``: its ranks): the correlation
    ratio of a category, else |Spearman rho| (0 when either does not vary)."""
    if col.dtype.name == "category":
        return _eta(col.astype(str).to_numpy(), np.asarray(y, float))
    return _rank_correlation(col, ry)


def _rank_correlation(col: pd.Series, ry: np.ndarray) -> float:
    """|Spearman rho| of a numeric assumption with the ranks ``ry`` (0 when either is constant)."""
    from scipy.stats import rankdata

    rx = rankdata(col.to_numpy(float))
    return abs(float(np.corrcoef(rx, ry)[0, 1])) if rx.std() > 0 and ry.std() > 0 else 0.0


def _eta(groups: np.ndarray, y: np.ndarray) -> float:
    """The correlation ratio of ``y`` on ``groups`` (0 when ``y`` does not vary)."""
    total = float(((y - y.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    between = sum(float((groups == g).sum()) * (float(y[groups == g].mean()) - float(y.mean())) ** 2
                  for g in np.unique(groups))
    return math.sqrt(min(between / total, 1.0))


def screen(x: pd.DataFrame, y: np.ndarray, k: int = SCREEN) -> list[str]:
    """The ``k`` assumptions most associated with ``y`` (file order among equals)."""
    a = association(x, y)
    order = sorted(range(len(a)), key=lambda i: (-a.iloc[i], i))
    return [a.index[i] for i in order[:k]]


def _box_stat(boxes: list[dict]) -> float:
    """The first box's coverage x density (0 without a box): what the null compares."""
    return boxes[0]["coverage"] * boxes[0]["density"] if boxes else 0.0


def _procedure(x: pd.DataFrame, y: np.ndarray, fails: np.ndarray, seed: int, density: float, max_boxes: int,
               ints) -> tuple[list[dict], list[dict]]:
    """Screen, then PRIM around the failing worlds and feature scores of the gain."""
    cols = screen(x, y)
    xs = x[cols]
    boxes = prim_boxes(xs, fails, density, max_boxes, ints) if 0 < fails.sum() < len(fails) else []
    return boxes, feature_scores(xs, y, seed)


def discover(worlds: pd.DataFrame, gain: pd.Series, verdicts: Optional[pd.Series], seed: int, density: float,
             max_boxes: int, permutations: int = 19, map_=map) -> tuple[list[dict], list[dict], dict]:
    """Boxes of assumptions where the variant fails to help and the assumptions that
    drive its ``gain`` (the signed difference per world), each kept only where it beats
    the permutation null (module docstring). A world *fails* when its verdict is not
    "better" (``verdicts``), or when its gain is not positive (no verdicts). Returns
    the boxes, the scores and what the null gave. ``map_`` runs the shuffles'
    procedures (the builtin ``map``, or a pool's: each is a pure function of its
    inputs, so the result is the same either way)."""
    x, y, fails = _outcomes(worlds, gain, verdicts)
    ints = _integer_columns(worlds)
    info = {"screened": 0, "permutations": permutations, "null_box_max": None, "null_score_max": None}
    if _nothing_to_learn(x, y):
        return [], [], info
    boxes, scores = _procedure(x, y, fails, seed, density, max_boxes, ints)
    info["screened"] = len(scores) or min(SCREEN, len(x.columns))
    null_box, null_score = _null(x, y, fails, seed, density, ints, permutations, map_)
    info.update(null_box_max=float(null_box.max()), null_score_max=float(null_score.max()),
                candidates={"boxes": len(boxes), "scores": [e["path"] for e in scores[:3]]})
    return _boxes_beating(boxes, null_box, permutations), _scores_beating(scores, null_score, permutations), info


def _boxes_beating(boxes: list[dict], null_box: np.ndarray, permutations: int) -> list[dict]:
    """The boxes whose coverage x density beats every shuffle's first box, each with its p-value."""
    return _beating([dict(b, p_null=_p(b["coverage"] * b["density"], null_box)) for b in boxes], permutations)


def _scores_beating(scores: list[dict], null_score: np.ndarray, permutations: int) -> list[dict]:
    """The feature scores that beat every shuffle's highest score, each with its p-value."""
    return _beating([dict(e, p_null=_p(e["score"], null_score)) for e in scores], permutations)


def _outcomes(worlds: pd.DataFrame, gain: pd.Series, verdicts: Optional[pd.Series]):
    """The worlds with a gain: their assumptions (PRIM's inputs), their gains, and
    whether the variant fails there (its verdict is not "better"; without verdicts,
    its gain is not positive)."""
    good = gain.notna().to_numpy()
    x = _x_frame(worlds[good]).reset_index(drop=True)
    y = gain.to_numpy(dtype=float)[good]
    fails = (verdicts.to_numpy()[good] != "better") if verdicts is not None else (y <= 0)
    return x, y, fails


def _integer_columns(worlds: pd.DataFrame) -> set[str]:
    """The assumptions whose values are whole numbers (not switches)."""
    return {c for c in worlds.columns if _is_integer(worlds[c])}


def _is_integer(col: pd.Series) -> bool:
    """Whether a column holds whole numbers (a switch's booleans are not counted)."""
    return pd.api.types.is_integer_dtype(col) and col.dtype != bool


def _beating(found: list[dict], permutations: int) -> list[dict]:
    """The boxes or scores whose permutation p-value is the smallest ``permutations``
    shuffles allow (1 / (permutations + 1)): they beat every shuffle."""
    return [e for e in found if e["p_null"] <= 1.0 / (permutations + 1) + 1e-12]


def _null(x, y, fails, seed, density, ints, permutations, map_=map) -> tuple[np.ndarray, np.ndarray]:
    """The first box's coverage x density and the highest feature score of the same
    procedure on ``permutations`` shuffles of the outcomes (reproducibly from ``seed``:
    the shuffles drawn first, in order, then each one's procedure run by ``map_``)."""
    rng = np.random.default_rng([int(seed) % 2**32, 7919])
    perms = [rng.permutation(len(y)) for _ in range(permutations)]
    shuffles = [(x, y[perm], fails[perm], seed + 1 + i, density, ints) for i, perm in enumerate(perms)]
    found = list(map_(_null_one, shuffles))
    return np.array([b for b, _ in found], dtype=float), np.array([t for _, t in found], dtype=float)


def _null_one(shuffle: tuple) -> tuple[float, float]:
    """One shuffle's first box statistic and highest feature score (:func:`_null`)."""
    x, y, fails, seed, density, ints = shuffle
    b, s = _procedure(x, y, fails, seed, density, 1, ints)
    return _box_stat(b), (s[0]["score"] if s else 0.0)


def _p(observed: float, null: np.ndarray) -> float:
    """Permutation p-value: (1 + shuffles at least as extreme) / (1 + shuffles)."""
    return float((1 + (null >= observed - 1e-12).sum()) / (1 + len(null)))


# ------------------------------------------------------------------ words

FIELD_WORDS = {
    "analysts": "analysts", "work_h": "work time per report (h)", "shelf_life_h": "shelf life (h)",
    "p": "chance of passing a report on", "transit_h": "transit time (h)", "p_observe": "chance of observing",
    "p_report": "chance of reporting", "literacy": "share who can write a report", "precision": "precision kept",
    "rate_per_day": "events per day", "every_h": "hours between meetings", "first_h": "hour of the meeting",
    "from_day": "first day", "per_day": "per day", "background": "routine work", "classify": "classification",
    "group": "share kept for the in-group", "hoard": "holding back", "p_hold": "chance of holding back",
    "p_never": "chance of never passing on", "current_pull": "pull to current work", "duty": "duty hours",
    "end_h": "end hour", "capacity": "capacity", "intrep_h": "time to write an INTREP (h)",
    "p_bring": "share brought to the board", "p_rework": "chance of redoing analysis", "written": "written reports",
    "report_delay_h": "delay before reporting (h)", "patrols": "patrols", "mean": "mean", "high": "longest",
    "low": "shortest", "report_after_patrol": "reports after a patrol",
}
SECTION_WORDS = {"cells": "staffing and work", "kinds": "shelf lives", "collectors": "collection",
                 "links": "passing reports on", "meetings": "meetings", "sources": "events",
                 "boards": "the coordination board", "pools": "vehicles", "switches": "switches"}
_LINK = re.compile(r"^links\[\s*([^\]\s]+?)\s*->\s*([^\]\s]+?)(?:\s+when\s+(\w+)\s*=\s*(\w+))?\s*\]\.([\w.]+)$")


def _field(parts: list[str]) -> str:
    """A setting's field (its last parts) in words."""
    return " ".join(FIELD_WORDS.get(p, p.replace("_", " ")) for p in parts)


def words(path: str) -> str:
    """An uncertain setting in the scenario's words: ``cells.u2.analysts`` -> "u2's
    analysts"; ``kinds.attack.shelf_life_h`` -> "shelf life (h) of attack";
    ``links[a->b].p`` -> "a to b: chance of passing a report on"."""
    m = _LINK.match(path)
    return _link_words(*m.groups()) if m else _dotted_words(path.split("."))


def _dotted_words(parts: list[str]) -> str:
    """A dotted setting in words: a kind's field "of" the kind, a thing's "'s" field."""
    if len(parts) >= 3 and parts[0] == "kinds":
        return f"{_field(parts[2:])} of {parts[1]}"
    if len(parts) >= 3:
        return f"{parts[1]}'s {_field(parts[2:])}"
    return _field(parts)


def _link_words(src: str, dst: str, switch: Optional[str], choice: Optional[str], rest: str) -> str:
    """A link's setting in words: "a to b (when SWITCH is CHOICE): FIELD"."""
    when = f" (when {switch} is {choice})" if switch else ""
    return f"{src} to {dst}{when}: {_field(rest.split('.'))}"


def group(path: str) -> str:
    """The part of the scenario a setting belongs to, in words (staffing and work,
    shelf lives, collection, passing reports on, ...)."""
    return SECTION_WORDS["links"] if path.startswith("links[") else SECTION_WORDS.get(path.split(".")[0], path.split(".")[0])
