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


# ------------------------------------------------------------------ the brief

DEFINITIONS = [
    ("better", "a world where the variant's paired interval (over its replications, same seeds as the base) lies "
               "above zero and its mean difference is at least the minimum effect worth counting"),
    ("equivalent", "a world where the whole interval lies within plus or minus the minimum effect"),
    ("worse", "as better, on the other side"),
    ("undecided", "a world where replications ran out (the cap) before the interval settled"),
    ("plausible worlds", "settings of the uncertain assumptions drawn from their ranges (or kept by a calibration)"),
]


def _recommend(m: dict) -> str:
    b, e, w = m["share_better"] or 0, m["share_equivalent"] or 0, m["share_worse"] or 0
    if m.get("share_no_difference") == 1:
        return "Do not do it for this measure: it makes no difference in any plausible world"
    if b >= 0.75:
        return "Do it: it is better by a margin worth counting in most plausible worlds"
    if w >= 0.25 and b < 0.5:
        return "Do not do it: it is worse by a margin worth counting in a quarter of the plausible worlds or more"
    if e >= 0.5:
        return "Not for this measure: in most plausible worlds it changes nothing worth counting"
    return "Not settled: whether it helps depends on the world"


def _hinges(block: dict, result: dict, words) -> str:
    if block.get("fails_when"):
        b = block["fails_when"][0]
        parts = [f"{words(p)} in {' or '.join(map(str, lim))}" if isinstance(lim[0], (str, bool))
                 else f"{words(p)} between {lim[0]:.3g} and {lim[1]:.3g}" for p, lim in b["box"].items()]
        return (f"it is not better mainly where {' and '.join(parts)} ({_pct(b['coverage'])} of the worlds where "
                f"it is not better lie there; beats shuffled outcomes, p {b['p_null']:.2g})")
    if block.get("importance"):
        return "its effect depends most on " + ", ".join(
            f"{words(e['path'])}" for e in block["importance"][:3]) + " (each beats shuffled outcomes)"
    return "no assumption decides it: no box or feature score beats the same procedure on shuffled outcomes"


def _would_change(block: dict, m: dict) -> str:
    out = []
    if block.get("fails_when"):
        out.append("evidence that the mission lies in the box above")
    if (m.get("between_sd") or 0) > m["min_effect"]:
        out.append(f"narrower assumptions (a calibration): the effect varies between worlds by more than the "
                   f"minimum effect (sd {m['between_sd']:.2g} against {m['min_effect']:g})")
    if m.get("share_undecided"):
        out.append(f"more replications in the {_pct(m['share_undecided'])} of worlds still undecided")
    out.append(f"a different minimum effect worth counting (now {m['min_effect']:g})")
    return "; ".join(out)


def robustness_brief(result: dict) -> list[str]:
    """One paragraph per question of a robustness study, in plain words."""
    from ..study.robustness import words

    lines = []
    for v, block in result["variants"].items():
        vm = block.get("verdict_metric", result["metric"])
        m = block["metrics"][vm]
        cost = (result.get("costs") or {}).get(v)
        lo, hi = m["share_better_ci95"]
        ci = m.get("mean_effect_ci95") or [None, None]
        lines += [f"## {(result.get('questions') or {}).get(v) or v}", "",
                  f"- **Recommendation** ({v}, judged on `{vm}`, {'higher' if direction(vm) > 0 else 'lower'} is "
                  f"better): {_recommend(m)}.",
                  f"- **How sure**: better in {_pct(m['share_better'])} [{_pct(lo)}, {_pct(hi)}] of "
                  f"{m['worlds_judged']} plausible worlds, equivalent in {_pct(m['share_equivalent'])}, worse in "
                  f"{_pct(m['share_worse'])}, undecided in {_pct(m['share_undecided'])} (each world's verdict wrong "
                  f"with probability at most 5%); mean effect {_num(m['mean_effect'])} [{_num(ci[0])}, "
                  f"{_num(ci[1])}], minimum worth counting {m['min_effect']:g}.",
                  "- **Cost**: " + (f"{cost['amount']:g} {cost['unit']} ({cost['reason']})" if cost else "not given"),
                  f"- **What it hinges on**: {_hinges(block, result, words)}.",
                  f"- **What would change it**: {_would_change(block, m)}.", ""]
    return lines


def selection_brief(result: dict) -> list[str]:
    w = result.get("worlds")
    sure = (f"if the best option is at least {result['delta']:g} better on `{result['metric']}`, it is the one "
            f"selected with probability at least {result['pcs']:g}")
    if w:
        sure += "; across {} plausible worlds it is selected in {}".format(
            w["count"], _pct(w["share_selected"][result["selected"]]))
    return [f"## Which option is best on `{result['metric']}`?", "",
            f"- **Recommendation**: {result['selected']}.", f"- **How sure**: {sure}.",
            f"- **Runs**: {result['replications']} (equal allocation would need "
            f"{result['equal_allocation_replications']} for the same guarantee).", ""]


def packages_brief(result: dict) -> list[str]:
    rk = result["ranking"]["best_by"]
    by = {e["label"]: e for e in result["packages"]}
    best = by[rk["mean"]]
    agree = ("the three robustness measures agree" if result["ranking"]["same_best"] else
             f"the measures disagree: by minimax regret {rk['minimax_regret']}, by share of worlds meeting the "
             f"threshold {rk['satisficing']}")
    return [f"## What to do within {result['budget']:g} {result['unit']}?", "",
            f"- **Recommendation**: {best['label']} (best mean of `{result['metrics'][0]}` over "
            f"{result['worlds']} plausible worlds; {agree}).",
            f"- **Cost**: {best['cost']:g} {result['unit']}.",
            "- **The front** (no cheaper package is as good): " + "; ".join(
                f"{e['label']} ({e['cost']:g})" for e in result["front"]) + ".", ""]


def decision_kind(result: dict):
    """Which decision study wrote ``result`` (``"select"``, ``"packages"`` or
    ``"robustness"``), or ``None`` for any other result (a compare, a sweep)."""
    if "selected" in result:
        return "select"
    if "front" in result:
        return "packages"
    if "world_level" in result and "metric" in result:
        return "robustness"
    return None


_BRIEFS = {"select": selection_brief, "packages": packages_brief, "robustness": robustness_brief}


def brief_lines(result: dict) -> list[str]:
    """The brief of any decision result (robustness, selection or packages)."""
    return _BRIEFS[decision_kind(result) or "robustness"](result)


def brief(folder) -> str:
    """The planner's brief of a results folder, as Markdown text."""
    import json
    from pathlib import Path

    result = json.loads((Path(folder) / "result.json").read_text("utf-8"))
    head = ["# A planner's brief", ""]
    if "variants" in result and "worlds" in result and "selected" not in result:
        head += [f"From `{Path(folder).name}`: base {result['base']}, {result['worlds']} plausible worlds, "
                 f"{result['runs']} runs of {result['days']:g} days.", ""]
    tail = ["Words used:", ""] + [f"- **{k}**: {d}" for k, d in DEFINITIONS] + [""]
    return "\n".join(head + brief_lines(result) + (tail if "variants" in result else []))


def brief_html(folder):
    """The brief as the first section of the HTML report (headings and bullets), as
    markup: every line is escaped here before its few tags are added."""
    from markupsafe import Markup

    import html
    import re

    out = []
    for line in brief(folder).splitlines():
        text = html.escape(line)
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
        text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
        if line.startswith("# "):
            out.append(f"<h1>{text[2:]}</h1>")
        elif line.startswith("## "):
            out.append(f"<h2>{text[3:]}</h2>")
        elif line.startswith("- "):
            out.append(f"<ul><li>{text[2:]}</li></ul>")
        elif line.strip():
            out.append(f"<p>{text}</p>")
    return Markup("<section class='brief'>" + "\n".join(out) + "</section>")
