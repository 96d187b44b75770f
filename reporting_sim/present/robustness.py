"""A robustness study shown: its text table and verdicts, its figures (the differences
across worlds, PRIM boxes, the assumptions' importance) and its section of the HTML
report, all drawn from the study's stored results (``result.json``, ``runs.parquet``,
``worlds.csv``)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..metric_names import direction, size
from ..study.robustness.analysis import summary_frame, world_means


def window_words(result: dict) -> list[tuple[str, str]]:
    """The definition of a windowed study's error (nothing for a study without windows)."""
    k = result.get("windows")
    if not k:
        return []
    return [("windows", f"each world's error (se) comes from {k} equal windows of every run (batch means: the "
                        "spread of the windows' paired differences), so a world can be settled by one replication; "
                        f"replications per world: {result['replications']} to {result['max_replications']}")]


def window_check_words(check: dict) -> str:
    """A windowed question's check in words (``windows_check`` of the analysis)."""
    if not check.get("pairs"):
        return "no world ran two replications, so the windows' error was not checked on the study's runs"
    misses = check.get("misses")
    if misses is None:  # a result written before windows_check kept its count
        misses = round(check["miss_95"] * check["pairs"])
    text = (f"{misses} of {check['pairs']} pairs of independent runs fall outside each other's "
            "windowed 95% interval "
            f"(5% expected; p = {check['p_value']:.2g})")
    if check["understated"]:
        text += ": the windows understate this question's error, so judge it with replications (no windows)"
    return text


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


DEFINITIONS = [
    ("better in", "share of worlds where the variant's paired interval (over the world's replications) lies above "
                  "zero and its mean difference is at least the minimum effect worth counting; [95% Wilson interval]"),
    ("equiv / worse / undec", "share of worlds whose interval lies within plus or minus the minimum effect / "
                              "that are worse as 'better in' is better / not settled when replications ran out"),
    ("effect, between, within", "the mean effect across worlds (pp for shares); the spread of the true effect between worlds "
                                "(sd); the error of one world's mean difference (se)"),
    ("p05 p50 p95", "the difference variant - base across worlds, at the 5th, 50th and 95th percentile "
                    "(percentage points for shares, hours for times)"),
    ("regret p50/p90", "how far short of the best scenario of each world (base included), in the metric's units "
                       "(percentage points for shares)"),
    ("best", "in how many worlds it was the best scenario (ties go to the base)"),
]


def _change(x, metric: str) -> str:
    """A difference in the metric's units (pp for a share, h for a time); ``-`` when missing."""
    from .glossary import change

    return "-" if x is None else change(x, metric)


def _min_effect(result: dict, metric: str) -> str:
    value = (result.get("min_effects") or {}).get(metric)
    return "-" if value is None else size(value, metric)


def format_result(result: dict, labels: dict | None = None) -> str:
    """The study as text: a table for the verdict metric (differences in the metric's
    units: percentage points for shares, hours for times), each verdict, then one line
    ranking the options (:func:`ranking_line`)."""
    from .glossary import TEXT_UNITS, change

    m = result["metric"]
    lines = [f"robustness of {len(result['variants'])} variant(s) of {result['base']} across "
             f"{result['worlds']} worlds x {result['replications']} replications of {result['days']:g} days",
             f"metric: {m} ({'higher' if direction(m) > 0 else 'lower'} is better; minimum effect worth counting "
             f"{_min_effect(result, m)}); units: {TEXT_UNITS}", ""]
    head = f"{'variant':<34} {'better in':>18} {'equiv':>5} {'worse':>5} {'undec':>5} {'effect':>9} " \
           f"{'between':>9} {'within':>9} {'p05':>9} {'p95':>9} {'regret p50/p90':>19} {'best':>5}"
    lines += [head, "-" * len(head)]
    base_best = result["best_counts"][m][result["base"]]
    for v, block in result["variants"].items():
        e = block["metrics"][m]
        lo, hi = e["share_better_ci95"]
        regret = f"{change(e['regret_p50'] or 0, m)}/{change(e['regret_p90'] or 0, m)}".replace("+", "")
        spread = (lambda x: "-" if x is None else size(x, m))
        lines.append(f"{v:<34} {_pct(e['share_better']):>5} [{_pct(lo):>4},{_pct(hi):>5}] "
                     f"{_pct(e['share_equivalent']):>5} {_pct(e['share_worse']):>5} {_pct(e['share_undecided']):>5} "
                     f"{_change(e['mean_effect'], m):>9} {spread(e['between_sd']):>9} {spread(e['within_se']):>9} "
                     f"{_change(e['diff_p05'], m):>9} {_change(e['diff_p95'], m):>9} {regret:>19} "
                     f"{result['best_counts'][m][v]:>5}")
    lines.append(f"{'(base: ' + result['base'] + ')':<34} best in {base_best} worlds")
    lines += ["", *[f"  {k}: {d}" for k, d in DEFINITIONS + window_words(result)], "", "verdicts:"]
    lines += [f"- {block['verdict']}" for block in result["variants"].values()]
    checks = [(v, b["windows_check"]) for v, b in result["variants"].items() if b.get("windows_check")]
    if checks:
        lines += ["", "windows check (each question's own measure):"]
        lines += [f"- {v}: {window_check_words(c)}" for v, c in checks]
    lines += ["", ranking_line(result, labels)]
    return "\n".join(lines)


def ranking_line(result: dict, labels: dict | None = None) -> str:
    """One sentence for the verdict metric: the options ranked by their median change
    across the worlds, best first, each with its 5th-95th percentile and the share of
    worlds where it does better than the base."""
    from .glossary import change, plain

    m = result["metric"]
    way = direction(m)
    rows = sorted(result["variants"].items(), key=lambda kv: -(way * (kv[1]["metrics"][m]["diff_p50"] or 0)))
    parts = [f"{v} {change(b['metrics'][m]['diff_p50'], m)} [{change(b['metrics'][m]['diff_p05'], m)} to "
             f"{change(b['metrics'][m]['diff_p95'], m)}], better in {_pct(b['metrics'][m]['share_better'])} of worlds"
             for v, b in rows]
    return (f"For {plain(m, labels)} ({m}; {'higher' if way > 0 else 'lower'} is better), the median change from "
            f"{result['base']} across {result['worlds']} worlds [5th to 95th percentile]: " + "; ".join(parts) + ".")


def figures(result: dict, frame: pd.DataFrame, worlds: pd.DataFrame, folder: Path) -> list[Path]:
    """The differences across worlds (one shared axis), the PRIM boxes of each variant
    and the assumptions' importance; PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import save

    made = [_differences_figure(result, frame, folder, plt, save)]
    for v, block in result["variants"].items():
        if block["fails_when"]:
            made.append(_prim_figure(v, block["fails_when"][0], worlds, folder / f"prim-{v}", plt, save))
    imp = {v: {e["path"]: e["score"] for e in block.get("importance", [])} for v, block in result["variants"].items()}
    imp = pd.DataFrame(imp).fillna(0.0)
    if len(imp):
        made.append(_importance_figure(imp, len(result["variants"]), folder, plt, save))
    return made


def _differences_figure(result: dict, frame: pd.DataFrame, folder: Path, plt, save) -> Path:
    """Each variant's difference from the base in the verdict metric, a dot per world
    (jittered by a fixed seed), with its 5th-95th percentile bar and median tick."""
    m, base = result["metric"], result["base"]
    variants = list(result["variants"])
    table = world_means(frame, [m])[m].unstack("scenario")
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
    return save(fig, folder / "differences")


def _importance_figure(imp: pd.DataFrame, n_variants: int, folder: Path, plt, save) -> Path:
    """The twelve assumptions that drive some variant's effect most, a heat map of
    their scores per variant."""
    top = imp.max(axis=1).sort_values(ascending=False).index[:12]
    fig, ax = plt.subplots(figsize=(1.5 + 0.7 * n_variants, 0.8 + 0.35 * len(top)))
    im = ax.imshow(imp.loc[top].to_numpy(), cmap="Blues", aspect="auto")
    ax.set_yticks(range(len(top)), top, fontsize=7)
    ax.set_xticks(range(len(imp.columns)), imp.columns, rotation=45, ha="right", fontsize=7)
    fig.colorbar(im, ax=ax, label="feature score (extra trees)")
    ax.set_title("what drives each variant's effect on its verdict metric", fontsize=9)
    return save(fig, folder / "importance")


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


def draw_figures(folder: Path) -> list[Path]:
    """The figures of the robustness study stored in ``folder``, into ``folder/figures``."""
    return replot(folder, Path(folder) / "figures")


def replot(folder: Path, out: Path) -> list[Path]:
    """The figures of a robustness results folder, drawn again into ``out``."""
    return figures(*_read(folder), Path(out))


def report_section(folder: Path, work: Path):
    """The robustness section of ``reporting-sim report`` as HTML markup (every value
    read from the folder escaped here, so the page embeds it as it is): verdicts, the
    table of the verdict metric with its definitions, and the figures."""
    from markupsafe import Markup

    result, frame, worlds = _read(folder)
    pngs = figures(result, frame, worlds, Path(work) / "robustness")

    def esc(x) -> str:
        return html.escape(str(x))
    body = [f"<h2>Robustness across {esc(result['worlds'])} plausible worlds</h2>",
            f"<p class='meta'>Base {esc(result['base'])}; {esc(result['replications'])} replications of "
            f"{esc(format(float(result['days']), 'g'))} days per world and scenario, common random numbers; worlds "
            f"drawn by {esc(result['sampling'])} over {len(result['uncertainties'])} uncertain assumptions "
            f"(seed {esc(result['seed'])}). The table is for {esc(result['metric'])}; each verdict names the "
            "metric its variant is judged on.</p>", "<ul>"]
    body += [f"<li>{esc(b['verdict'])}</li>" for b in result["variants"].values()]
    body.append("</ul>")
    table = summary_frame(result)
    table = table[table["metric"] == result["metric"]].drop(columns=["metric"]).set_index("variant")
    body.append(table.to_html(border=0, na_rep="-", float_format=lambda x: f"{x:.3f}", escape=True))
    body.append("<ul class='meta'>" + "".join(f"<li><b>{esc(k)}</b>: {esc(d)}</li>"
                                           for k, d in DEFINITIONS + window_words(result))
                + "</ul>")
    for png in pngs:
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        body.append(f'<img alt="{esc(Path(png).stem)}" src="data:image/png;base64,{data}">')
    return Markup("\n".join(body))
