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


def format_packages(result: dict) -> str:
    """A packages study as text: the front, then every package with its robustness."""
    m = result["metrics"][0]
    unit = result["unit"]
    lines = [f"packages within {result['budget']:g} {unit}, across {result['worlds']} plausible worlds x "
             f"{result['replications']} replications ({result['runs']} runs)", ""]
    head = f"{'package':<60} {'cost':>7} {m[:28]:>28} {'regret':>8} {'meets':>6} {'front':>5}"
    lines += [head, "-" * len(head)]
    for e in sorted(result["packages"], key=lambda e: (e["cost"], e["label"])):
        r = e["robustness"]
        lines.append(f"{(e['label'] or result['base'])[:60]:<60} {e['cost']:>7g} {e['objectives'][m]:>28.4f} "
                     f"{r['minimax_regret']:>8.4f} {_pct(r['satisficing']):>6} {'*' if e['on_front'] else '':>5}")
    rk = result["ranking"]
    lines += ["", "best by mean: {mean}; by minimax regret: {minimax_regret}; by share of worlds meeting the "
              "threshold: {satisficing}".format(**rk["best_by"]),
              "the three measures " + ("agree on the best package" if rk["same_best"] else "disagree on the best "
                                       "package: which to prefer depends on how much the planner fears the worst world"),
              "  regret: the largest shortfall, over the worlds, from the best package of that world",
              "  meets: the share of worlds where the package " + (
                  f"reaches {result['satisficing']['threshold']:g}" if "threshold" in result["satisficing"] else
                  f"beats the base of the world by at least {result['satisficing']['beats_base_by']:g}")]
    for x in result["excluded"]:
        lines.append(f"  not composed: {'+'.join(x['variants'])}: {x['why']}")
    return "\n".join(lines)
