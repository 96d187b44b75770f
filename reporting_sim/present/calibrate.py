"""A calibration's result as text: per wave the worlds kept, the emulators' coverage,
each pattern's implausibility, and what conflicts (from the stored result only)."""

from __future__ import annotations


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _g(x) -> str:
    return "-" if x is None else f"{x:.2g}"


IMPLAUSIBILITY = ("implausibility = distance of the world's number from the pattern's range over "
                  "sqrt(tolerance^2 + replication variance of the mean + emulator variance); a world is "
                  "non-implausible when its {rank} implausibility over the patterns is at most {cut:g}")
COVERAGE = ("coverage = share of run worlds whose mean lay inside the 95% interval of an emulator fitted "
            "without them (5-fold; goal: at least 90%)")


def wave_lines(w: dict) -> list[str]:
    head = (f"wave {w['wave']}: {w['non_implausible']} of {w['worlds']} worlds non-implausible "
            f"({_pct(w['non_implausible_fraction'])}); emulator coverage {_pct(w.get('coverage'))}")
    if w.get("candidates"):
        head += (f"; screened {w['candidates']} candidates ({w['screened_per_run']:.0f} per run), "
                 f"{_pct(w['candidates_non_implausible_fraction'])} non-implausible by the emulators")
    if w.get("coverage_of_previous_emulators") is not None:
        head += f"; the previous wave's emulators covered {_pct(w['coverage_of_previous_emulators'])} of its worlds"
    lines = [head, f"  {'pattern':<34} {'p50':>6} {'p90':>6} {'max':>6}  above cut-off  inputs kept"]
    for pid, s in w["implausibility"].items():
        em = w["emulators"].get(pid, {})
        lines.append(f"  {pid:<34} {_g(s['p50']):>6} {_g(s['p90']):>6} {_g(s['max']):>6}  "
                     f"{_pct(s['share_above_cutoff']):>13}  {', '.join(em.get('active', [])[:3])}")
    return lines


def format_result(result: dict) -> str:
    lines = [f"calibrate: {result['scenario']}, {len(result['patterns'])} patterns, {result['replications']} "
             f"replications of {result['days']:g} days per world (seed {result['seed']})",
             IMPLAUSIBILITY.format(rank=result["implausibility_measure"], cut=result["cutoff"]), COVERAGE, ""]
    for w in result["waves"]:
        lines += wave_lines(w) + [""]
    lines.append(f"{result['plausible']} of {result['worlds_run']} worlds run are plausible: {result['plausible_worlds']}")
    for c in result["conflicts"]:
        lines.append(f"conflict: {' + '.join(c['patterns'])}: {c['why']}")
    for x in result.get("left_out", []):
        lines.append(f"left out: {x['id']}: {x['why']}")
    return "\n".join(lines)
