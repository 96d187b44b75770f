"""A planner's brief: per question, in plain words, the recommendation, how sure it is,
what it costs, what it hinges on and what would change it; drawn from stored results
(a robustness study's, a selection's or a packages study's ``result.json``)."""

from __future__ import annotations

from ..metric_names import direction, size
from .glossary import change, define, interval, number, plain


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def format_selection(result: dict) -> str:
    """A selection as text: the selected option and its guarantee, then a row per option."""
    m = result["metric"]
    lines = [f"selected: {result['selected']} on {m} ({result['better']} is better)",
             f"guarantee: if the best option is at least {size(result['delta'], m)} better than every other, it is "
             f"selected with probability at least {result['pcs']:g} (KN, common random numbers)", ""]
    head = f"{'option':<40} {'replications':>12} {'mean':>10} {'dropped at':>11}"
    lines += [head, "-" * len(head)]
    lines += [_option_row(a, o, m) for a, o in result["options"].items()]
    lines.append("")
    lines.append(f"replications: {result['replications']} (equal allocation for the same guarantee: "
                 f"{result['equal_allocation_replications']})")
    lines += _worlds_selected(result.get("worlds"))
    return "\n".join(lines)


def _option_row(a: str, o: dict, metric: str) -> str:
    """One option of a selection: its replications, mean and the stages it was dropped at."""
    dropped = ", ".join(str(e["at"]) for e in o["eliminated"]) or "-"
    return f"{a:<40} {o['replications']:>12} {number(o['mean'], metric, 2):>10} {dropped:>11}"


def _worlds_selected(w) -> list[str]:
    """Across plausible worlds, how often each option was selected (no line without worlds)."""
    if not w:
        return []
    return [f"across {w['count']} plausible worlds ({w['source']}), selected in: " + ", ".join(
        f"{a} {_pct(s)}" for a, s in sorted(w["share_selected"].items(), key=lambda kv: -kv[1]))]


def format_packages(result: dict) -> str:
    """A packages study as text: the front, then every package with its robustness."""
    m = result["metrics"][0]
    unit = result["unit"]
    lines = [f"packages within {result['budget']:g} {unit}, across {result['worlds']} plausible worlds x "
             f"{result['replications']} replications ({result['runs']} runs)", *_searched(result), ""]
    head = f"{'package':<60} {'cost':>7} {m[:28]:>28} {'regret':>8} {'meets':>6} {'front':>5}"
    lines += [head, "-" * len(head)]
    lines += [_package_row(e, m, result["base"])
              for e in sorted(result["packages"], key=lambda e: (e["cost"], e["label"]))]
    rk = result["ranking"]
    lines += ["", "best by mean: {mean}; by minimax regret: {minimax_regret}; by share of worlds meeting the "
              "threshold: {satisficing}".format(**rk["best_by"]),
              "the three measures " + ("agree on the best package" if rk["same_best"] else "disagree on the best "
                                       "package: which to prefer depends on how much the planner fears the worst world"),
              "  regret: the largest shortfall, over the worlds, from the best package of that world",
              "  meets: the share of worlds where the package " + _meets_words(result["satisficing"], m)]
    for x in result["excluded"]:
        lines.append(f"  not composed: {'+'.join(x['variants'])}: {x['why']}")
    return "\n".join(lines)


def _searched(result: dict) -> list[str]:
    """A line saying how a searched study found its packages (none for an enumerated one)."""
    s = result.get("search") or {}
    if s.get("method") != "NSGA-II (pymoo)":
        return []
    return [f"more than {s['enumerate_max']} combinations within the budget: searched with NSGA-II (population "
            f"{s['population']}, at most {s['generations']} generations and {s['max_packages']} packages); "
            f"{s['evaluated']} packages run; the front is that of the packages run"]


def _package_row(e: dict, m: str, base: str) -> str:
    """One package: its cost, its mean on ``m``, its regret, share meeting, and a star on the front."""
    r = e["robustness"]
    return (f"{(e['label'] or base)[:60]:<60} {e['cost']:>7g} {number(e['objectives'][m], m):>28} "
            f"{size(r['minimax_regret'], m):>8} {_pct(r['satisficing']):>6} {'*' if e['on_front'] else '':>5}")


def _meets_words(satisficing: dict, metric: str) -> str:
    """What meeting the satisficing rule means: a threshold reached, or the base beaten by a margin."""
    if "threshold" in satisficing:
        return f"reaches {number(satisficing['threshold'], metric)}"
    return f"beats the base of the world by at least {size(satisficing['beats_base_by'], metric)}"


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
    """The recommendation in words, from the shares of worlds where the variant is better, equivalent, worse."""
    if m.get("share_no_difference") == 1:
        return "Do not do it for this measure: it makes no difference in any plausible world"
    return _by_shares(_share(m, "share_better"), _share(m, "share_equivalent"), _share(m, "share_worse"))


def _share(m: dict, key: str) -> float:
    """A share of worlds from a verdict block, 0 where it is missing."""
    return m[key] or 0


def _by_shares(b: float, e: float, w: float) -> str:
    """The recommendation where the variant makes a difference somewhere: by the shares
    of worlds where it is better (``b``), equivalent (``e``) and worse (``w``)."""
    if b >= 0.75:
        return "Do it: it is better by a margin worth counting in most plausible worlds"
    if w >= 0.25 and b < 0.5:
        return "Do not do it: it is worse by a margin worth counting in a quarter of the plausible worlds or more"
    if e >= 0.5:
        return "Not for this measure: in most plausible worlds it changes nothing worth counting"
    return "Not settled: whether it helps depends on the world"


def _hinges(block: dict, result: dict, words) -> str:
    if block.get("fails_when"):
        return _box_words(block["fails_when"][0], words)
    if block.get("importance"):
        return "its effect depends most on " + ", ".join(
            f"{words(e['path'])}" for e in block["importance"][:3]) + " (each beats shuffled outcomes)"
    return "no assumption decides it: no box or feature score beats the same procedure on shuffled outcomes"


def _box_words(b: dict, words) -> str:
    """Where the variant is not better: the box of assumptions, how much it covers, its p against shuffling."""
    parts = [_limit_words(words(p), lim) for p, lim in b["box"].items()]
    return (f"it is not better mainly where {' and '.join(parts)} ({_pct(b['coverage'])} of the worlds where "
            f"it is not better lie there; beats shuffled outcomes, p {b['p_null']:.2g})")


def _limit_words(name: str, lim) -> str:
    """One side of a box: the levels of a categorical setting, or the range of a number."""
    if isinstance(lim[0], (str, bool)):
        return f"{name} in {' or '.join(map(str, lim))}"
    return f"{name} between {lim[0]:.3g} and {lim[1]:.3g}"


def _would_change(block: dict, m: dict, metric: str) -> str:
    out = []
    if block.get("fails_when"):
        out.append("evidence that the mission lies in the box above")
    if (m.get("between_sd") or 0) > m["min_effect"]:
        out.append(f"narrower assumptions (a calibration): the effect varies between worlds by more than the "
                   f"minimum effect (sd {size(m['between_sd'], metric)} against {size(m['min_effect'], metric)})")
    if m.get("share_undecided"):
        out.append(f"more replications in the {_pct(m['share_undecided'])} of worlds still undecided")
    out.append(f"a different minimum effect worth counting (now {size(m['min_effect'], metric)})")
    return "; ".join(out)


def robustness_brief(result: dict) -> list[str]:
    """One paragraph per question of a robustness study, in plain words."""
    from ..study.robustness import words

    lines = []
    for v, block in result["variants"].items():
        lines += _question_lines(v, block, result, words)
    return lines


def _question_lines(v: str, block: dict, result: dict, words) -> list[str]:
    """The paragraph of one variant of a robustness study."""
    vm = block.get("verdict_metric", result["metric"])
    m = block["metrics"][vm]
    lo, hi = m["share_better_ci95"]
    ci = m.get("mean_effect_ci95") or [None, None]
    return [f"## {(result.get('questions') or {}).get(v) or v}", "",
            f"- **Recommendation** ({v}, judged on {plain(vm)} (`{vm}`), "
            f"{'higher' if direction(vm) > 0 else 'lower'} is better): {_recommend(m)}.",
            f"- **How sure**: better in {_pct(m['share_better'])} [{_pct(lo)}, {_pct(hi)}] of "
            f"{m['worlds_judged']} plausible worlds, equivalent in {_pct(m['share_equivalent'])}, worse in "
            f"{_pct(m['share_worse'])}, undecided in {_pct(m['share_undecided'])} (each world's verdict wrong "
            f"with probability at most 5%); mean effect {change(m['mean_effect'], vm)} "
            f"{interval(ci[0], ci[1], vm, diff=True)}, minimum worth counting {size(m['min_effect'], vm)}.",
            "- **Cost**: " + _cost_words((result.get("costs") or {}).get(v)),
            f"- **What it hinges on**: {_hinges(block, result, words)}.",
            f"- **What would change it**: {_would_change(block, m, vm)}.",
            f"- **The measure**: `{vm}`, {define(vm)}.", *_windows_line(block), ""]


def _windows_line(block: dict) -> list[str]:
    """A windowed study's check of its error on this question (nothing without windows)."""
    from .robustness import window_check_words

    check = block.get("windows_check")
    return [f"- **Windows check**: {window_check_words(check)}."] if check else []


def _cost_words(cost) -> str:
    """A variant's cost (amount, unit, reason), or that none was given."""
    return f"{cost['amount']:g} {cost['unit']} ({cost['reason']})" if cost else "not given"


def selection_brief(result: dict) -> list[str]:
    w = result.get("worlds")
    sure = (f"if the best option is at least {size(result['delta'], result['metric'])} better on "
            f"`{result['metric']}`, it is the one "
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
    head = ["# A planner's brief", ""] + _source_lines(result, Path(folder).name)
    from .robustness import window_words

    tail = ["Words used:", ""] + [f"- **{k}**: {d}" for k, d in DEFINITIONS + window_words(result)] + [""]
    return "\n".join(head + brief_lines(result) + (tail if "variants" in result else []))


def _source_lines(result: dict, name: str) -> list[str]:
    """Which study the brief draws on (a robustness or packages study; nothing for a selection)."""
    if "variants" in result and "worlds" in result and "selected" not in result:
        return [f"From `{name}`: base {result['base']}, {result['worlds']} plausible worlds, "
                f"{result['runs']} runs of {result['days']:g} days.", ""]
    return []


_HTML_BLOCKS = (("# ", "<h1>{}</h1>"), ("## ", "<h2>{}</h2>"), ("- ", "<ul><li>{}</li></ul>"))


def _html_line(line: str):
    """One Markdown line of the brief as escaped markup (``None`` for a blank line)."""
    import html
    import re

    text = html.escape(line)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    for prefix, tag in _HTML_BLOCKS:
        if line.startswith(prefix):
            return tag.format(text[len(prefix):])
    return f"<p>{text}</p>" if line.strip() else None


def brief_html(folder):
    """The brief as the first section of the HTML report (headings and bullets), as
    markup: every line is escaped here before its few tags are added."""
    from markupsafe import Markup

    out = [h for h in map(_html_line, brief(folder).splitlines()) if h is not None]
    return Markup("<section class='brief'>" + "\n".join(out) + "</section>")
