"""One self-contained HTML report of a run or an experiment folder.

The page carries everything inline (figures as base64 PNG, styles in the page, no
scripts, no links to fetch), so it opens offline in any browser and can be mailed as
one file: the summary tables, the figures of :mod:`.plots`, the bottlenecks when the
run was traced, which stage caps each consumer's share (its ceilings, from reruns of the
run's scenario), the comparisons and forest plot of an experiment, and the scenario's
provenance notes (which settings rest on the study, a public source or an assumption).
"""

from __future__ import annotations

import base64
import json
import math
import tempfile
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from ..measures import metrics, views
from ..measures.stats import holm, p_from_ci
from . import plots
from ..scenario import provenance
from ..errors import ScenarioError
from ..study import output
from ..study.output import read_run
from ..metric_names import OUTCOMES

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;display:block;margin:.8em 0 .2em}
figure{margin:1em 0}figcaption{color:#444;font-size:.88em;margin-bottom:1em}
.meta{color:#555;font-size:.9em}.sig{font-weight:bold}.caveat{background:#fff8e1;border-left:4px solid #f9a825;padding:.4em .8em}
.scroll{overflow-x:auto;max-width:100%}
dl.glossary dt{font-weight:bold;margin-top:.4em}dl.glossary dd{margin-left:1.5em}
details{margin:.5em 0}summary{cursor:pointer;color:#225}
"""

_ENV = None


def _env():
    """The template engine: jinja2 with autoescape on, so every value read from a
    results folder is escaped (a crafted folder cannot inject markup or scripts)."""
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return _ENV


def h(template: str, **values) -> Markup:
    """Render an HTML snippet; every ``{{ value }}`` is escaped."""
    return Markup(_env().from_string(template).render(**values))


def _img(png: Path, alt: str, caption: str = "") -> Markup:
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return h('<figure><img alt="{{ alt }}" src="data:image/png;base64,{{ data }}">'
             "{% if caption %}<figcaption>{{ caption }}</figcaption>{% endif %}</figure>",
             alt=alt, data=data, caption=caption)


def _table(df: pd.DataFrame, fmt=None) -> Markup:
    # pandas escapes every cell and label (escape=True): safe to mark as markup
    return Markup('<div class="scroll">' + df.to_html(border=0, na_rep="-", escape=True,
                                                      float_format=fmt or (lambda x: f"{x:.3f}")) + "</div>")


def _pct(x):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _outcome_table(summary: dict, family: str) -> pd.DataFrame:
    rows = {}
    for name, c in summary["consumers"].items():
        f = c["by_family"][family]
        if not f["events"]:
            continue
        rows[name] = {**{f"{o} %": _pct(f["outcomes"][o]) for o in OUTCOMES},
                      "p50 h": f["latency_h"]["p50"], "p90 h": f["latency_h"]["p90"],
                      "fidelity %": _pct(f["fidelity"])}
    return pd.DataFrame.from_dict(rows, orient="index")


def _glossary_section(kinds: dict | None = None) -> Markup:
    from . import glossary

    return h("<h2>Glossary: what each measure means</h2><p class='meta'>{{ units }}</p>"
             "{% if kinds %}<p>When \"in time\" ends, per kind of event (each shelf life is a setting of the "
             "scenario, with where its number comes from):</p><ul>{% for k in kinds %}<li>{{ k }}</li>{% endfor %}"
             "</ul>{% endif %}"
             "<dl class='glossary'>{% for name, unit, text in terms %}<dt>{{ name }}{% if unit %} ({{ unit }})"
             "{% endif %}</dt><dd>{{ text }}</dd>{% endfor %}</dl>",
             units=glossary.UNITS_NOTE, kinds=glossary.kinds_lines(kinds or {}),
             terms=[(n, u, t) for n, (u, t) in glossary.TERMS.items()])


def _provenance_section(folder: Path) -> Markup:
    parts = [Markup("<h2>Provenance of the scenario</h2>")]
    sources = sorted(folder.glob("*source.toml"))
    if not sources:
        return parts[0] + Markup("<p>No scenario source text was stored with these results.</p>")
    for src in sources:
        items = provenance.notes(src.read_text("utf-8", errors="replace"))
        counts = provenance.tag_counts(items)
        parts.append(h("<p><b>{{ name }}</b>: {{ n }} settings with a note: {{ c.paper }} rest on the study, "
                       "{{ c.source }} on a public source, {{ c.assumption }} on an assumption, {{ c.derived }} "
                       "are derived. Assumptions are the first things to vary.</p>",
                       name=src.name, n=len(items), c=counts))
        df = pd.DataFrame([{"setting": i["path"], "value": i["value"], "provenance": i["note"]} for i in items])
        parts.append(h("<details><summary>all {{ n }} notes of {{ name }}</summary>{{ table }}</details>",
                       n=len(items), name=src.name, table=Markup(df.to_html(border=0, index=False, escape=True))))
    return Markup("\n").join(parts)


def _stored_scenario(folder: Path):
    """The scenario stored with a run's results (None if it cannot be read)."""
    from .. import scenario as scenario_mod

    try:
        return scenario_mod.parse(scenario_mod.read_file(folder / "scenario.toml"), str(folder / "scenario.toml"))
    except (ScenarioError, OSError):
        return None


def _labels(folder: Path) -> dict[str, str]:
    """Display labels of the nodes that have one in the stored scenario."""
    sc = _stored_scenario(folder)
    return {} if sc is None else {n: node.label for n, node in sc.nodes.items() if node.label}


def _kinds(folder: Path) -> dict:
    """Each kind's family, shelf life and provenance note, from the stored scenario."""
    from . import glossary

    sc = _stored_scenario(folder)
    if sc is None:
        return {}
    src = sorted(folder.glob("*source.toml"))
    text = src[0].read_text("utf-8", errors="replace") if src else None
    return glossary.kinds_info(sc, text)


def _num_or_text(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def run_report(folder: Path, work: Path) -> str:
    """The HTML page of the run in ``folder`` (figures drawn in ``work``): its header,
    outcome tables, figures, staff cells, where the hours go (traced runs), glossary
    and provenance."""
    rec = read_run(folder)
    info = json.loads((folder / "run.json").read_text("utf-8"))
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    start = output.stored_start_date(folder)
    labels = _labels(folder)
    body = _run_header(rec, info, summary, start) + _run_outcomes(summary, labels)
    body += _run_figures(rec, work, start)
    body += _run_cells(rec, labels) + _run_hours(rec, work) + _run_ceilings(folder, rec, work)
    body.append(_glossary_section(_kinds(folder)))
    body.append(_provenance_section(folder))
    return _page(f"reporting-sim: {rec.scenario}", body)


def _run_header(rec, info: dict, summary: dict, start) -> list:
    """Title, what was run with what, the single-run caveat and the bypass rate."""
    from . import glossary

    versions = info.get("versions", {}) if isinstance(info.get("versions"), dict) else {}
    body = [h("<h1>reporting-sim: {{ name }}</h1><p class='meta'>seed {{ seed }}, {{ days }} simulated days from "
              "{{ start }}, {{ events }} events, {{ reports }} reports; run in {{ wall }} s with reporting-sim "
              "{{ v_rs }}, simpy {{ v_simpy }}, written {{ written }}</p>"
              "<p class='caveat'>{{ caveat }}</p>",
              name=rec.scenario, seed=_num_or_text(rec.seed), days=f"{rec.days:g}", start=start,
              events=_num_or_text(summary.get("events", "?")),
              reports=_num_or_text(summary.get("reports", {}).get("created", "?")),
              wall=_num_or_text(info.get("wall_time_s", "?")), v_rs=versions.get("reporting-sim", "?"),
              v_simpy=versions.get("simpy", "?"), written=str(info.get("written_at", "")),
              caveat=glossary.SINGLE_RUN_CAVEAT)]
    if summary.get("bypass_rate") is not None:
        body.append(h("<p>Bypass rate: <b>{{ v }}%</b>: {{ d }}.</p>", v=_pct(summary["bypass_rate"]),
                      d=glossary.define("bypass_rate")))
    if summary.get("bypass_before_briefing") is not None:
        body.append(h("<p>Bypass before briefing: <b>{{ v }}%</b>: {{ d }}.</p>",
                      v=_pct(summary["bypass_before_briefing"]), d=glossary.define("bypass_before_briefing")))
    return body


def _run_outcomes(summary: dict, labels: dict) -> list:
    """One outcome table per family of intelligence."""
    body = []
    for fam, title in (("current", "Current intelligence"), ("long_term", "Long-term (X-PMESII) intelligence")):
        body.append(h("<h2>{{ t }}: outcomes (% of events) and latency (h)</h2>", t=title))
        body.append(_table(_outcome_table(summary, fam).rename(index=labels), lambda x: f"{x:.1f}"))
        body.append(h("<p class='meta'>Each row: one consumer; each outcome column the share of the events that "
                      "ended so for it (the outcome columns add up to 100%); p50/p90: latency from the event to "
                      "the first arrival, over what arrived; see the glossary below.</p>"))
    return body


def _run_figures(rec, work: Path, start) -> list:
    """Figures 1-3: where the intelligence was lost, how long it took, week by week."""
    led = rec.ledger
    body = [Markup("<h2>Where the intelligence was lost</h2>")]
    body.append(_img(plots.outcome_breakdown(led, work / "outcomes"), "outcome breakdown per consumer",
                     "Figure 1. For each consumer, what became of the current events: in time, late, or why "
                     "it never arrived (not observed, not reported, withheld by a gate, not passed on, still in "
                     "flight at the end). Shares of all current events, in percent."))
    body.append(Markup("<h2>How long it took</h2>"))
    body.append(_img(plots.latency_distribution(led, work / "latency"), "latency distribution per consumer",
                     "Figure 2. Hours from the event to the consumer's first report of it, over the current "
                     "events that arrived (log scale)."))
    body.append(Markup("<h2>Over the mission's time</h2>"))
    weekly = metrics.weekly(led, rec.events, metrics.tag_groups(rec.meta))
    body.append(_img(plots.weekly_timeliness(weekly, work / "weekly", start=start, days=rec.days,
                                                headline=output.run_headline(rec)), "weekly timeliness",
                     "Figure 3. Share of each week's current events that each consumer knew in time (one panel "
                     "per consumer, the headline consumer first), and the share of all events seen by collectors "
                     "of each tag. A last week cut short by the run's end is shaded: its few events make its "
                     "share unreliable."))
    return body


def _run_cells(rec, labels: dict) -> list:
    """The staff cells' table with its definitions."""
    from . import glossary

    cells = metrics.cell_table(rec.cells)
    cells["utilisation"] = 100 * cells["utilisation"]  # a share, in percent as everywhere a person reads
    for c in ("started", "overflow"):
        cells[c] = cells[c].astype(int)
    cells = cells.rename(columns={"utilisation": "utilisation %"})
    return [Markup("<h2>Staff cells</h2>") + _table(cells.rename(index=labels)),
            h("<p class='meta'>utilisation: {{ u }}; mean_wait_h: {{ w }}; mean_queue: {{ q }}.</p>",
              u=glossary.TERMS["utilisation"][1], w=glossary.TERMS["mean_wait_h"][1],
              q=glossary.TERMS["mean_queue"][1])]


def _run_hours(rec, work: Path) -> list:
    """Traced runs: where the hours go (figure 4), the bottlenecks and the busiest
    cells' queues (figure 5); otherwise how to get them."""
    if rec.trace is None:
        return [Markup("<p class='meta'>Run with <code>--trace</code> to see where the hours go and the "
                       "bottlenecks.</p>")]
    budgets = views.time_budgets(rec, "current")
    if not len(budgets):
        return []
    body = [Markup("<h2>Where the hours go (current intelligence)</h2>")]
    body.append(_img(plots.time_budget(budgets, work / "budget"), "time budget per consumer",
                     "Figure 4. Mean hours from the event to the consumer's first report, split by where "
                     "they went (observe, write, transit, meeting waits, inbox queue, analyst work, "
                     "sanitising, holding back); the parts sum to the latency."))
    bn = views.bottlenecks(rec, "current", budgets).head(12)
    body.append(Markup("<h3>Bottlenecks</h3>") + _table(_bottleneck_view(bn), lambda x: f"{x:.2f}"))
    body.append(Markup("<p class='meta'>late h: hours late first arrivals spent at the node; late pairs led: late "
                       "(event, consumer) pairs for which it was the largest single delay; stopped here: events that "
                       "some other consumer wanted but never got, whose reports went no further than this node (by how "
                       "they stopped: kept, as a consumer keeps what reaches it; not passed on; withheld by a gate; "
                       "inbox full); utilisation in percent.</p>"))
    return body + _busiest_queues(rec, bn, work)


def _busiest_queues(rec, bn: pd.DataFrame, work: Path) -> list:
    """Figure 5: the inbox queues of the (at most four) staff cells highest in the bottlenecks."""
    top = [n for n in bn.index if n in set(rec.cells["cell"])][:4]
    if not top:
        return []
    series = {n: views.occupancy(rec, n, "queue", 24.0) for n in top}
    return [_img(plots.occupancy(series, work / "occupancy"), "queue length over time",
                 "Figure 5. Reports waiting in the inbox of the busiest cells, mean per day.")]


def _run_ceilings(folder: Path, rec, work: Path) -> list:
    """Which stage caps each consumer's share: the run's scenario rerun once per stage
    made perfect (its seed and days), with the waterfall of the headline consumer."""
    from ..study.ceilings import ceilings
    from .ceilings import html_section

    sc = _stored_scenario(folder)
    if sc is None:
        return []
    result = ceilings(sc, days=rec.days, replications=1, seed=rec.seed, warmup_days=rec.warmup_days)
    who = metrics.headline_consumer(sc)
    return [html_section(result, who, _waterfall_figure(result, who, work))]


def _waterfall_figure(result: dict, who, work: Path):
    """Figure 6: the headline consumer's waterfall of current intelligence (``None``
    without a headline consumer or its current block)."""
    block = (result["consumers"].get(who) or {}).get("current") if who else None
    if block is None:
        return None
    return _img(plots.waterfall(block, work / "waterfall", f"{who}, current intelligence"),
                "where the in-time share is lost, stage by stage",
                "Figure 6. The headline consumer's in-time share of current intelligence today, then what "
                "each stage made perfect in turn would add (in the order a report meets them), and what "
                "stays lost otherwise. One replication with this run's seed: `reporting-sim ceilings` "
                "gives intervals.")


_STOPPED_WORDS = {"absorbed": "kept", "not_shared": "not passed on", "withheld": "withheld", "overflow": "inbox full"}


def _bottleneck_view(bn: pd.DataFrame) -> pd.DataFrame:
    """The bottleneck table as a person reads it: counts as whole numbers, utilisation
    in percent, and the stopped-here columns named for what they count (not as the
    node's own losses), how they stopped beside how many."""
    out, stops = _stops_beside_count(bn)
    _as_counts(out, [c for c in ("late_pairs_led", "lost_events") if c in out] + stops)
    if "utilisation" in out:
        out["utilisation"] = 100 * out["utilisation"]
    return out.rename(columns={**_BOTTLENECK_NAMES, **{c: f"stopped here: {_STOPPED_WORDS.get(c[5:], c[5:])}"
                                                       for c in stops}})


def _as_counts(table: pd.DataFrame, columns: list[str]) -> None:
    """``columns`` of ``table`` as whole numbers, in place (a count missing at a node is none there)."""
    for c in columns:
        table[c] = table[c].fillna(0).round().astype(int)


def _stops_beside_count(bn: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A copy with the ``lost:STATE`` columns right after ``lost_events``, and their names."""
    stops = sorted(c for c in bn.columns if c.startswith("lost:"))
    order = [c for c in bn.columns if c not in stops]
    at = order.index("lost_events") + 1 if "lost_events" in order else len(order)
    return bn[order[:at] + stops + order[at:]].copy(), stops


_BOTTLENECK_NAMES = {"late_hours": "late h", "late_pairs_led": "late pairs led", "lost_events": "stopped here",
                     "utilisation": "utilisation %", "mean_wait_h": "mean wait h", "mean_queue": "mean queue"}


def stored_headline(folder: Path, base: str) -> list[str]:
    """The headline metrics of an experiment's base scenario, as stored with its
    results (``[]`` when it cannot be read: every metric is shown then)."""
    from .. import scenario as scenario_mod
    from ..measures.metrics import headline

    path = folder / "scenarios" / f"{base}.toml"
    try:
        return headline(scenario_mod.parse(scenario_mod.read_file(path), str(path)))
    except (ScenarioError, OSError):
        return []


def experiment_report(folder: Path, work: Path) -> str:
    from . import glossary

    result = json.loads((folder / "result.json").read_text("utf-8"))
    reps = int(result["replications"])
    body = [h("<h1>reporting-sim experiment: {{ name }}</h1><p class='meta'>{{ reps }} replications of {{ days }} "
              "days per scenario, seeds {{ s0 }}..{{ s1 }}, common random numbers; means with 95% t intervals; "
              "differences paired by replication. {{ units }}</p>",
              name=result.get("experiment", ""), reps=reps, days=f"{float(result['days']):g}",
              s0=int(result["seed"]), s1=int(result["seed"]) + reps - 1, units=glossary.UNITS_NOTE)]
    base = result["base"]
    if "sweep" in result:
        sw = result["sweep"]
        body.append(h("<h2>Sensitivity of {{ m }} ({{ meth }}, {{ n }} points)</h2>", m=sw["metric"],
                      meth=sw["method"], n=sw["points"]))
        rank = pd.DataFrame([{"parameter": n, **sw["indices"][n]} for n in sw["ranking"]])
        body.append(_table(rank.set_index("parameter"), lambda x: f"{x:.4g}"))
    else:
        body += _comparison(result, folder, work, base, reps, stored_headline(folder, base))
    scen = folder / "scenarios" / f"{base}.toml"
    if scen.exists():
        body.append(h("<details><summary>the base scenario as run ({{ name }})</summary><pre>{{ text }}</pre>"
                      "</details>", name=scen.name, text=scen.read_text("utf-8", errors="replace")))
    body.append(_glossary_section())
    body.append(_provenance_section(folder))
    return _page(f"reporting-sim experiment: {result.get('experiment', '')}", body)


def _questions(folder: Path, labels: list[str]) -> list[tuple[str, str, str]]:
    """Each variant's question and expectation, from its stored scenario's description
    and, where the variant file is in the folder, its ``[variant]`` table."""
    heads = _named_heads(folder)
    out = []
    for label in labels:
        head = heads.get(label, {})
        q, e = _stored_question(folder, label, _text(head, "question"), _text(head, "expectation"))
        out.append((label, q.strip().splitlines()[0] if q.strip() else "", e))
    return out


def _text(table: dict, key: str) -> str:
    """``table[key]`` as text, empty where it is missing or empty."""
    return str(table.get(key, "") or "")


def _named_heads(folder: Path) -> dict[str, dict]:
    """The ``[variant]`` tables of the variant files the experiment named, by their
    names, where those files can still be read."""
    heads: dict[str, dict] = {}
    for ref in _variant_refs(folder):
        head = _variant_head(folder, str(ref))
        if head is not None:
            heads[head["name"]] = head
    return heads


def _variant_refs(folder: Path) -> list:
    """The variant files the experiment named (``experiment.json``'s ``variants``; none
    when it cannot be read or is not a list)."""
    try:
        refs = json.loads((folder / "experiment.json").read_text("utf-8")).get("variants") or []
    except (OSError, ValueError, AttributeError):
        return []
    return refs if isinstance(refs, list) else []


def _variant_head(folder: Path, ref: str) -> dict | None:
    """The named ``[variant]`` table of the file ``ref`` (as given, or in ``folder``)."""
    for path in (Path(ref), folder / ref):
        head = _read_toml(path).get("variant")
        if isinstance(head, dict) and isinstance(head.get("name"), str):
            return head
    return None


def _read_toml(path: Path) -> dict:
    """The TOML file at ``path``, or an empty table when it cannot be read."""
    import tomllib

    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _stored_question(folder: Path, label: str, q: str, e: str) -> tuple[str, str]:
    """``q`` and ``e`` completed from the variant's stored files in ``folder`` (its
    ``[variant]`` table, else the scenario's description) where they are empty."""
    for path in (folder / "variants" / f"{label}.toml", folder / "scenarios" / f"{label}.toml"):
        data = _read_toml(path)
        if data:
            q, e = q or _file_question(data), e or _file_expectation(data)
    return q, e


def _file_head(data: dict) -> dict:
    """A stored file's ``[variant]`` table (empty when it has none)."""
    return data.get("variant") if isinstance(data.get("variant"), dict) else {}


def _file_question(data: dict) -> str:
    """A stored file's question: its ``[variant]`` question, else its scenario's description."""
    return str(_file_head(data).get("question", "") or data.get("scenario", {}).get("description", "") or "")


def _file_expectation(data: dict) -> str:
    """A stored file's ``[variant]`` expectation (empty when none)."""
    return _text(_file_head(data), "expectation")


def _comparison(result: dict, folder: Path, work: Path, base: str, reps: int, standard) -> list:
    from . import glossary

    block = result["variants"][base]["metrics"]
    names, selection = _shown_metrics(block, standard)
    variants = [v for v in result["variants"] if v != base]
    tests = [(m, v) for m in names for v in variants]
    adj = _holm_adjusted(result, tests, reps)
    out = [Markup("<h2>The questions</h2>"), _questions_table(folder, variants),
           Markup("<h2>What-if differences from the base</h2>"),
           _img(plots.forest(result, work / "forest", names), "forest plot of differences",
                f"Figure 1. Each variant's paired difference from {base} with its 95% interval, for "
                f"{len(names)} of the {len(block)} metrics ({selection}); shares on one shared axis in percentage "
                "points, hours on their own. Filled: the 95% interval excludes zero (unadjusted; the table's stars "
                "are Holm-adjusted).")]
    rows = {m: _comparison_row(result, base, m, variants, adj) for m in names}
    out.append(h("<p>Rows: {{ n }} of the {{ total }} metrics ({{ sel }}); base: mean [95% interval, shares "
                 "clipped to 0..100%]; variants: paired difference from the base (percentage points for shares, "
                 "hours for times), * where it stays significant at 5% after Holm's adjustment for the "
                 "{{ tests }} differences shown (the family-wise error rate is controlled).</p>",
                 n=len(names), total=len(block), sel=selection, tests=len(tests)))
    out.append(_table(pd.DataFrame.from_dict(rows, orient="index")))
    out.append(h("<details><summary>what each metric measures</summary><ul>{% for m, d in defs %}<li><b>{{ m }}"
                 "</b>: {{ d }}</li>{% endfor %}</ul></details>", defs=[(m, glossary.define(m)) for m in names]))
    return out


def _questions_table(folder: Path, variants: list[str]):
    """The table of each variant's question and what the study leads one to expect."""
    return h("<table><tr><th>variant</th><th>question</th><th>what the study leads one to expect</th></tr>"
             "{% for v, q, e in rows %}<tr><td>{{ v }}</td><td style='text-align:left'>{{ q or '-' }}</td>"
             "<td style='text-align:left'>{{ e or '-' }}</td></tr>{% endfor %}</table>",
             rows=_questions(folder, variants))


def _shown_metrics(block: dict, standard) -> tuple[list[str], str]:
    """The metrics a comparison shows (the ``standard`` ones in ``block``, else every
    metric) and how the page names that selection."""
    names = [m for m in standard if m in block]
    if names:
        return names, "the standard selection"
    return list(block), "every metric"


def _holm_adjusted(result: dict, tests: list[tuple[str, str]], reps: int) -> dict[tuple[str, str], float]:
    """Holm-adjusted p-values of the paired differences ``(metric, variant)`` in ``tests``."""
    diffs = [result["variants"][v]["metrics"][m]["diff_vs_base"] for m, v in tests]
    return dict(zip(tests, holm([p_from_ci(d["mean"], d["ci95"], reps) for d in diffs])))


def _comparison_row(result: dict, base: str, m: str, variants: list[str], adj: dict) -> dict[str, str]:
    """One metric's row: the base's mean [95%] (shares clipped to 0..100%), its unit, and
    each variant's paired difference (* where Holm-adjusted p < 0.05)."""
    from . import glossary

    b = result["variants"][base]["metrics"][m]
    share = glossary.is_share(m)
    k, unit = (100.0, "%") if share else (1.0, glossary.unit(m) or "")
    row = {f"{base} (mean [95%])": _base_cell(b, share, k), "unit": unit}
    for v in variants:
        d = result["variants"][v]["metrics"][m]["diff_vs_base"]
        row[v] = f"{_scaled(d['mean'], k, True)}{_star(adj[(m, v)])}"
    return row


def _base_cell(b: dict, share: bool, k: float) -> str:
    """The base's mean and 95% interval scaled by ``k`` (a share's interval clipped to 0..1 first)."""
    lo, hi = b["ci95"]
    if share and lo is not None:
        lo, hi = max(0.0, lo), min(1.0, hi)
    return f"{_scaled(b['mean'], k)} [{_scaled(lo, k)}, {_scaled(hi, k)}]"


def _star(p: float) -> str:
    """`` *`` for a Holm-adjusted p-value below 0.05, else nothing."""
    return " *" if p < 0.05 else ""


def _scaled(x, k: float, sign: bool = False) -> str:
    """``k * x`` with one decimal (signed when ``sign``), ``-`` for none."""
    if x is None:
        return "-"
    return f"{k * x:+.1f}" if sign else f"{k * x:.1f}"


def _page(title: str, body: list) -> str:
    return h("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{{ title }}</title>"
             "<style>{{ css }}</style></head><body>\n{% for part in body %}{{ part }}\n{% endfor %}</body></html>\n",
             title=title, css=Markup(CSS), body=body)


def build(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run or experiment folder; returns its path."""
    from ..study.execution import write_atomic

    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError(str(folder), "folder", "no such results folder")
    with tempfile.TemporaryDirectory() as tmp:
        from . import robustness

        if robustness.is_results(folder):  # a robustness study (issue #10)
            from .brief import brief_html

            page = _page(f"reporting-sim robustness: {folder.name}",  # the planner's brief is the first page
                         [brief_html(folder), robustness.report_section(folder, Path(tmp)), _provenance_section(folder)])
        elif (folder / "result.json").exists():
            page = experiment_report(folder, Path(tmp))
        else:
            page = run_report(folder, Path(tmp))
    out = Path(out) if out is not None else folder / "report.html"
    write_atomic(out, page)
    return out
