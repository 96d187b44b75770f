"""Small pieces the panels share: the measures offered, number formats, HTML tables."""

from __future__ import annotations

import math
from html import escape

from shiny import ui

METRICS = {"current.in_time": "in time (current intelligence)",
           "long_term.in_time": "in time (long-term intelligence)",
           "current.late": "late (current)", "current.not_shared": "not shared (current)",
           "current.withheld": "withheld (current)", "current.latency_p50": "median latency (current, h)",
           "current.fidelity": "precise time and place (current)"}


def fmt(x, share: bool, diff: bool = False) -> str:
    """A mean or difference as the page shows it: shares in percent (differences in
    points), hours with two decimals; ``-`` where undefined."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if share:
        return f"{100 * x:+.1f}" if diff else f"{100 * x:.1f}"
    return f"{x:+.2f}" if diff else f"{x:.2f}"


def interval(lo, hi, share: bool, diff: bool = False) -> str:
    return f"{fmt(lo, share, diff)} .. {fmt(hi, share, diff)}"


def html_table(head: list[str], rows: list[list], cls: str = "lab") -> ui.HTML:
    out = [f"<table class='{cls}'><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>")
    return ui.HTML("".join(out) + "</tbody></table>")


def note(*children, **kw) -> ui.Tag:
    return ui.p(*children, class_="lab-note", **kw)
