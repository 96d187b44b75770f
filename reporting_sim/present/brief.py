"""A planner's brief: per question, in plain words, the recommendation, how sure it is,
what it costs, what it hinges on and what would change it; drawn from stored results
(a robustness study's, a selection's or a packages study's ``result.json``)."""

from __future__ import annotations

from ..metric_names import direction


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _num(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def format_selection(result: dict) -> str:
    """A selection as text: the selected option and its guarantee, then a row per option."""
    m = result["metric"]
    lines = [f"selected: {result['selected']} on {m} ({result['better']} is better)",
             f"guarantee: if the best option is at least {result['delta']:g} better than every other, it is "
             f"selected with probability at least {result['pcs']:g} (KN, common random numbers)", ""]
    head = f"{'option':<40} {'replications':>12} {'mean':>10} {'dropped at':>11}"
    lines += [head, "-" * len(head)]
    for a, o in result["options"].items():
        dropped = ", ".join(str(e["at"]) for e in o["eliminated"]) or "-"
        lines.append(f"{a:<40} {o['replications']:>12} {_num(o['mean'], 4):>10} {dropped:>11}")
    lines.append("")
    lines.append(f"replications: {result['replications']} (equal allocation for the same guarantee: "
                 f"{result['equal_allocation_replications']})")
    w = result.get("worlds")
    if w:
        lines.append(f"across {w['count']} plausible worlds ({w['source']}), selected in: " + ", ".join(
            f"{a} {_pct(s)}" for a, s in sorted(w["share_selected"].items(), key=lambda kv: -kv[1])))
    return "\n".join(lines)
