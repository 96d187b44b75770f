"""One self-contained HTML report of a run or an experiment folder.

The page carries everything inline (figures as base64 PNG, styles in the page, no
scripts, no links to fetch), so it opens offline in any browser and can be mailed as
one file: the summary tables, the figures of :mod:`.plots`, the bottlenecks when the
run was traced, the comparisons and forest plot of an experiment, and the scenario's
provenance notes (which settings rest on the study, a public source or an assumption).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import tempfile
from pathlib import Path

import pandas as pd

from . import metrics, plots, provenance, views
from .errors import ScenarioError
from .output import read_run
from .records import OUTCOMES

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;display:block;margin:.8em 0}
.meta{color:#555;font-size:.9em}.sig{font-weight:bold}
details{margin:.5em 0}summary{cursor:pointer;color:#225}
"""


def _img(png: Path, alt: str) -> str:
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame, fmt=None) -> str:
    return df.to_html(border=0, na_rep="-", float_format=fmt or (lambda x: f"{x:.3f}"), escape=True)


def _pct(x):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _outcome_table(summary: dict, family: str) -> pd.DataFrame:
    rows = {}
    for name, c in summary["consumers"].items():
        f = c["by_family"][family]
        if not f["events"]:
            continue
        rows[name] = {**{o: _pct(f["outcomes"][o]) for o in OUTCOMES},
                      "p50 h": f["latency_h"]["p50"], "p90 h": f["latency_h"]["p90"],
                      "fidelity %": _pct(f["fidelity"])}
    return pd.DataFrame.from_dict(rows, orient="index")


def _provenance_section(folder: Path) -> str:
    parts = ["<h2>Provenance of the scenario</h2>"]
    sources = sorted(folder.glob("*source.toml"))
    if not sources:
        return parts[0] + "<p>No scenario source text was stored with these results.</p>"
    for src in sources:
        items = provenance.notes(src.read_text("utf-8"))
        counts = provenance.tag_counts(items)
        parts.append(f"<p><b>{html.escape(src.name)}</b>: {len(items)} settings with a note: "
                     f"{counts['paper']} rest on the study, {counts['source']} on a public source, "
                     f"{counts['assumption']} on an assumption, {counts['derived']} are derived. "
                     "Assumptions are the first things to vary.</p>")
        df = pd.DataFrame([{"setting": i["path"], "value": i["value"], "provenance": i["note"]} for i in items])
        parts.append(f"<details><summary>all {len(items)} notes of {html.escape(src.name)}</summary>"
                     f"{df.to_html(border=0, index=False, escape=True)}</details>")
    return "\n".join(parts)


def run_report(folder: Path, work: Path) -> str:
    rec = read_run(folder)
    info = json.loads((folder / "run.json").read_text("utf-8"))
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    start = _dt.date.fromisoformat(str(_start_date(folder)))
    body = [f"<h1>reporting-sim: {html.escape(rec.scenario)}</h1>",
            f"<p class='meta'>seed {rec.seed}, {rec.days:g} simulated days from {start}, "
            f"{summary['events']} events, {summary['reports']['created']} reports; run in "
            f"{info.get('wall_time_s', '?')} s with reporting-sim {info.get('versions', {}).get('reporting-sim', '?')}, "
            f"simpy {info.get('versions', {}).get('simpy', '?')}, written {html.escape(str(info.get('written_at', '')))}</p>"]
    if summary.get("bypass_rate") is not None:
        body.append(f"<p>Bypass rate: <b>{_pct(summary['bypass_rate'])}%</b> of the events the Force Commander "
                    "heard of reached him through the command chain before U2 knew.</p>")
    for fam, title in (("current", "Current intelligence"), ("long_term", "Long-term (X-PMESII) intelligence")):
        body.append(f"<h2>{title}: outcomes (% of events) and latency (h)</h2>")
        body.append(_table(_outcome_table(summary, fam), lambda x: f"{x:.1f}"))
    led = rec.ledger
    body.append("<h2>Where the intelligence was lost</h2>")
    body.append(_img(plots.outcome_breakdown(led, work / "outcomes"), "outcome breakdown per consumer"))
    body.append("<h2>How long it took</h2>")
    body.append(_img(plots.latency_distribution(led, work / "latency"), "latency distribution per consumer"))
    body.append("<h2>Over the mission's time</h2>")
    weekly = metrics.weekly(led, rec.events, metrics.tag_groups(rec.meta))
    body.append(_img(plots.weekly_timeliness(weekly, work / "weekly"), "weekly timeliness"))
    cells = metrics.cell_table(rec.cells)
    body.append("<h2>Staff cells</h2>" + _table(cells))
    if rec.trace is not None:
        budgets = views.time_budgets(rec, "current")
        if len(budgets):
            body.append("<h2>Where the hours go (current intelligence)</h2>")
            body.append(_img(plots.time_budget(budgets, work / "budget"), "time budget per consumer"))
            bn = views.bottlenecks(rec, "current", budgets).head(12)
            body.append("<h3>Bottlenecks</h3>" + _table(bn, lambda x: f"{x:.2f}"))
            top = [n for n in bn.index if n in set(rec.cells["cell"])][:4]
            if top:
                series = {n: views.occupancy(rec, n, "queue", 24.0) for n in top}
                body.append(_img(plots.occupancy(series, work / "occupancy"), "queue length over time"))
    else:
        body.append("<p class='meta'>Run with <code>--trace</code> to see where the hours go and the bottlenecks.</p>")
    body.append(_provenance_section(folder))
    return _page(f"reporting-sim: {rec.scenario}", body)


def experiment_report(folder: Path, work: Path) -> str:
    from .tables import TABLE_METRICS

    result = json.loads((folder / "result.json").read_text("utf-8"))
    body = [f"<h1>reporting-sim experiment: {html.escape(result.get('experiment', ''))}</h1>",
            f"<p class='meta'>{result['replications']} replications of {result['days']:g} days per scenario, "
            f"seeds {result['seed']}..{result['seed'] + result['replications'] - 1}, common random numbers; "
            "means with 95% t intervals; differences paired by replication.</p>"]
    base = result["base"]
    if "sweep" in result:
        sw = result["sweep"]
        body.append(f"<h2>Sensitivity of {html.escape(sw['metric'])} ({html.escape(sw['method'])}, "
                    f"{sw['points']} points)</h2>")
        rank = pd.DataFrame([{"parameter": n, **sw["indices"][n]} for n in sw["ranking"]])
        body.append(_table(rank.set_index("parameter"), lambda x: f"{x:.4g}"))
    else:
        names = [m for m in TABLE_METRICS if m in result["variants"][base]["metrics"]] or \
            list(result["variants"][base]["metrics"])[:16]
        body.append("<h2>What-if differences from the base</h2>")
        body.append(_img(plots.forest(result, work / "forest", names[:8]), "forest plot of differences"))
        rows = {}
        for m in names:
            b = result["variants"][base]["metrics"][m]
            row = {base: f"{b['mean']:.4f} [{b['ci95'][0]:.4f}, {b['ci95'][1]:.4f}]" if b["ci95"][0] is not None
                   else f"{b['mean']:.4f}"}
            for v, block in result["variants"].items():
                if v == base:
                    continue
                d = block["metrics"][m]["diff_vs_base"]
                lo, hi = d["ci95"]
                sig = lo is not None and hi is not None and (lo > 0 or hi < 0)
                row[v] = f"{d['mean']:+.4f}{' *' if sig else ''}"
            rows[m] = row
        body.append("<p>Base: mean [95% interval]; variants: paired difference from the base, * where its "
                    "interval excludes zero.</p>")
        body.append(pd.DataFrame.from_dict(rows, orient="index").to_html(border=0, escape=True))
    scen = folder / "scenarios" / f"{base}.toml"
    if scen.exists():
        body.append(f"<details><summary>the base scenario as run ({html.escape(scen.name)})</summary>"
                    f"<pre>{html.escape(scen.read_text('utf-8'))}</pre></details>")
    body.append(_provenance_section(folder))
    return _page(f"reporting-sim experiment: {result.get('experiment', '')}", body)


def _start_date(folder: Path):
    import tomllib

    data = tomllib.loads((folder / "scenario.toml").read_text("utf-8"))
    return data.get("scenario", {}).get("start_date", "2015-01-01")


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def build(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run or experiment folder; returns its path."""
    from .execution import write_atomic

    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError(str(folder), "folder", "no such results folder")
    with tempfile.TemporaryDirectory() as tmp:
        from . import robustness

        if robustness.is_results(folder):  # a robustness study (issue #10)
            page = _page(f"reporting-sim robustness: {folder.name}",
                         [robustness.report_section(folder, Path(tmp)), _provenance_section(folder)])
        elif (folder / "result.json").exists():
            page = experiment_report(folder, Path(tmp))
        else:
            page = run_report(folder, Path(tmp))
    out = Path(out) if out is not None else folder / "report.html"
    write_atomic(out, page)
    return out
