"""What ``reporting-sim ceilings`` shows: which stage caps each consumer's in-time share.

From the plain data of :func:`reporting_sim.study.ceilings.ceilings` (it computes; this
module only writes): :func:`format_ceilings`, the text (a table of every consumer's
ceilings, then one consumer in detail with its waterfall and the definitions);
:func:`html_section`, the same for the HTML report (the waterfall figure is
:func:`reporting_sim.present.plots.waterfall`). Every definition comes from
:mod:`.glossary`.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ..measures.ceilings import STAGES
from . import glossary


def _pct(x) -> str:
    return "     -" if x is None else f"{100 * x:6.1f}"


def _ci_pp(ci) -> str:
    lo, hi = ci
    return "" if lo is None or hi is None else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"


def _ci_pct(ci) -> str:
    lo, hi = ci
    return "" if lo is None or hi is None else f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def _header(result: dict) -> str:
    r = result["replications"]
    seeds = f"seed {result['seed']}" if r == 1 else f"seeds {result['seed']}..{result['seed'] + r - 1}"
    warm = f", warm-up {result['warmup_days']:g} d left out" if result.get("warmup_days") else ""
    return (f"Ceilings of {result['scenario']}: {r} replication{'s' if r != 1 else ''} of {result['days']:g} days "
            f"({seeds}, common random numbers{warm}); shelf lives unchanged")


def _table(result: dict) -> list[str]:
    """Every consumer and family: today's in-time share and each stage's ceiling (%)."""
    short = [glossary.STAGES[s][0] for s in STAGES]
    lines = [f"{'consumer.family':<34}{'today':>7}" + "".join(f"{s[:9]:>10}" for s in short)]
    for c, fams in result["consumers"].items():
        lines += [_table_row(f"{c}.{f}", b) for f, b in fams.items()]
    return lines


def _table_row(name: str, b: dict) -> str:
    """One consumer and family of :func:`_table`: today's share and each stage's ceiling (%)."""
    return f"{name:<34}{_pct(b['in_time']):>7}" + "".join(f"{_pct(b['ceilings'][s]):>10}" for s in STAGES)


def _detail(block: dict, who: str, methods: dict) -> list[str]:
    """One consumer and family: per stage the ceiling, the as-run share, the paired
    change and the method; then the waterfall."""
    lines = [f"{who}: today {100 * block['in_time']:.1f}% {_ci_pct(block['in_time_ci95'])}".rstrip(),
             f"  {'stage':<28}{'ceiling':>8}{'as run':>8}  {'change (pp, 95%)':<18}method"]
    for s in STAGES:
        lines.append(f"  {s:<28}{_pct(block['ceilings'][s]):>8}{_pct(block['as_run'][s]):>8}  "
                     f"{_ci_pp(block['change_ci95'][s]):<18}{methods.get(s, '')}")
    if block.get("waterfall"):
        lines += ["", f"  waterfall: today {100 * block['in_time']:.1f}%"]
        prev = block["in_time"]
        for step in block["waterfall"]:
            lines.append(f"    + {step['stage']:<28}{100 * (step['in_time'] - prev):+6.1f}  -> "
                         f"{100 * step['in_time']:5.1f}%")
            prev = step["in_time"]
        lines.append(f"    lost otherwise (no stage here removes it): {100 * (1 - prev):.1f}%")
    return lines


def _definitions() -> list[str]:
    lines = ["What the numbers mean (shares in %, changes in percentage points):"]
    lines += [f"  {k}: {v}" for k, v in glossary.CEILINGS.items()]
    lines += [f"  {s} ({glossary.STAGES[s][0]}): {glossary.STAGES[s][1]}" for s in STAGES]
    return lines


def format_ceilings(result: dict, consumer: str | None = None, family: str = "current") -> str:
    """The text of ``reporting-sim ceilings``: the table, then ``consumer``'s block of
    ``family`` in detail (if it has one), then the definitions."""
    methods = {s: v["method"] for s, v in result["stages"].items()}
    lines = [_header(result), "", "In-time share today and its ceiling per stage (% of the events of interest):"]
    lines += _table(result)
    block = (result["consumers"].get(consumer) or {}).get(family) if consumer else None
    if block is not None:
        lines += [""] + _detail(block, f"{consumer}, {family.replace('_', '-')} intelligence", methods)
    return "\n".join(lines + [""] + _definitions())


def _html_table(result: dict) -> Markup:
    head = "".join(f"<th>{escape(glossary.STAGES[s][0])}</th>" for s in STAGES)
    rows = [f"<tr><td>{escape(c)}.{escape(f)}</td><td>{escape(_pct(b['in_time']).strip())}</td>"
            + "".join(f"<td>{escape(_pct(b['ceilings'][s]).strip())}</td>" for s in STAGES) + "</tr>"
            for c, fams in result["consumers"].items() for f, b in fams.items()]
    return Markup(f"<div class='scroll'><table><tr><th>consumer.family</th><th>today</th>{head}</tr>"
                  + "".join(rows) + "</table></div>")


def _html_definitions() -> Markup:
    terms = [*glossary.CEILINGS.items(), *((s, glossary.STAGES[s][1]) for s in STAGES)]
    items = [Markup("<dt>") + escape(k) + Markup("</dt><dd>") + escape(v) + Markup("</dd>") for k, v in terms]
    return Markup("<dl class='glossary'>") + Markup("").join(items) + Markup("</dl>")


def html_section(result: dict, consumer: str | None, figure: Markup | None, family: str = "current") -> Markup:
    """The report's section: the table of ceilings (%), the headline consumer's detail
    as preformatted text, the waterfall figure (already embedded) and the definitions."""
    parts = [Markup("<h2>Ceilings: which stage caps the share</h2>"),
             Markup("<p class='meta'>") + escape(_header(result)) + Markup(".</p>"), _html_table(result)]
    parts += _html_detail(result, consumer, family)
    return Markup("\n").join(parts + ([figure] if figure is not None else []) + [_html_definitions()])


def _html_detail(result: dict, consumer: str | None, family: str) -> list:
    """The headline consumer's detail as preformatted text (nothing without its block)."""
    block = (result["consumers"].get(consumer) or {}).get(family) if consumer else None
    if block is None:
        return []
    methods = {s: v["method"] for s, v in result["stages"].items()}
    return [Markup("<pre>") + escape("\n".join(_detail(block, f"{consumer}, {family}", methods))) + Markup("</pre>")]
