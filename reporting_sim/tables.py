"""Plain-text tables of summaries, for the terminal and ``summary.txt``.

Rendering only: every number comes from a summary dict made by
:func:`reporting_sim.metrics.summary`.
"""

from __future__ import annotations

from .records import OUTCOMES

_SHORT = {"in_time": "in time", "late": "late", "not_observed": "not obs", "not_reported": "not rep",
          "withheld": "withheld", "not_shared": "not shrd", "in_flight": "in flight"}


def _pct(x) -> str:
    return "   -" if x is None else f"{100 * x:5.1f}"


def _h(x) -> str:
    return "    -" if x is None else f"{x:6.1f}"


def format_summary(s: dict) -> str:
    """The run summary as a readable table (shares in percent, latencies in hours)."""
    lines = [
        f"scenario {s['scenario']}  seed {s['seed']}  days {s['days']:g}"
        + (f"  (warm-up {s['warmup_days']:g} d left out)" if s.get("warmup_days") else ""),
        f"events {s['events']}  (current {s['events_by_family']['current']}, "
        f"long-term {s['events_by_family']['long_term']})  reports {s['reports']['created']}",
        "",
        "Current intelligence: share of events per outcome (%) and latency of what arrived (h)",
    ]
    lines += _outcome_table(s, "current")
    lines += ["", "Long-term (X-PMESII) intelligence"]
    lines += _outcome_table(s, "long_term")
    if s.get("bypass_rate") is not None:
        lines += ["", f"bypass rate: {100 * s['bypass_rate']:.1f}% of the events the "
                  "Force Commander heard of reached him through the command chain before U2 knew"]
    if s.get("cells"):
        lines += ["", f"{'staff cell':<22}{'util %':>8}{'wait h':>8}{'queue':>8}{'worked':>8}{'overflow':>9}"]
        for name, c in s["cells"].items():
            util = "   -" if c["utilisation"] is None else f"{100 * c['utilisation']:6.1f}"
            lines.append(f"{name:<22}{util:>8}{_h(c['mean_wait_h']):>8}"
                         f"{(c['mean_queue'] or 0):8.2f}{c['started']:8d}{c['overflow']:9d}")
    return "\n".join(lines)


def _outcome_table(s: dict, family: str) -> list[str]:
    head = f"{'consumer':<22}" + "".join(f"{_SHORT[o]:>10}" for o in OUTCOMES) + f"{'p50 h':>8}{'p90 h':>8}"
    rows = [head]
    for name, c in s["consumers"].items():
        f = c["by_family"][family]
        if not f["events"]:
            continue
        rows.append(f"{name:<22}" + "".join(f"{_pct(f['outcomes'][o]):>10}" for o in OUTCOMES)
                    + f"{_h(f['latency_h']['p50']):>8}{_h(f['latency_h']['p90']):>8}")
    if len(rows) == 1:
        rows.append("(no events of this family)")
    return rows


def _ci(lo, hi) -> str:
    if lo is None or hi is None:
        return "[   -   ,   -   ]"
    return f"[{lo:+.4f},{hi:+.4f}]"


def _val(x) -> str:
    return "    -   " if x is None else f"{x:8.4f}"


TABLE_METRICS = ("force_commander.in_time", "force_commander.current.in_time", "force_commander.fidelity",
                 "u2.in_time", "u2.current.in_time", "u2.fidelity", "asifu.in_time", "asifu.current.in_time",
                 "jmac.in_time", "jmac.long_term.in_time", "sector_west_commander.current.in_time",
                 "sector_east_commander.current.in_time", "sector_north_commander.current.in_time",
                 "srsg.in_time", "bypass_rate", "duplication.share")


def format_comparison(result: dict, metrics: list[str] | None = None) -> str:
    """A comparison as a table: the base's mean and 95% interval, and for each variant
    the paired difference from the base; ``*`` marks a difference whose interval
    excludes zero."""
    labels = list(result["variants"])
    base = result["base"]
    block = result["variants"][base]["metrics"]
    names = metrics or [m for m in TABLE_METRICS if m in block] or list(block)
    lines = [f"{result.get('experiment', '')}: {result['replications']} replications of "
             f"{result['days']:g} days, seeds {result['seed']}..{result['seed'] + result['replications'] - 1}, "
             "common random numbers; 95% t intervals; * = the difference's interval excludes 0", ""]
    for label in labels:
        lines.append(f"{'scenario ' + label:<44}" + ("base: mean [95% CI]" if label == base else "difference from the base [95% CI]"))
        for name in names:
            m = result["variants"][label]["metrics"].get(name)
            if m is None:
                continue
            if label == base:
                lines.append(f"  {name:<42}{_val(m['mean'])} {_ci(*m['ci95'])}")
            else:
                d = m["diff_vs_base"]
                lo, hi = d["ci95"]
                star = "*" if lo is not None and hi is not None and (lo > 0 or hi < 0) else " "
                lines.append(f"  {name:<42}{_val(d['mean'])} {_ci(lo, hi)} {star}")
        lines.append("")
    return "\n".join(lines).rstrip()


def format_sweep(result: dict) -> str:
    """A sweep: each point's parameters and mean metric, then the ranking."""
    sw = result["sweep"]
    metric = sw["metric"]
    lines = [f"{result.get('experiment', '')}: {sw['method']} sweep, {sw['points']} points x "
             f"{result['replications']} replications; metric {metric}", ""]
    for label, block in list(result["variants"].items())[:40]:
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in block.get("parameters", {}).items())
        m = block["metrics"][metric]
        lines.append(f"  {label}  {_val(m['mean'])} {_ci(*m['ci95'])}  {params}")
    if len(result["variants"]) > 40:
        lines.append(f"  ... {len(result['variants']) - 40} more points in summary.csv")
    lines += ["", f"parameters ranked by their effect on {metric}:"]
    for i, name in enumerate(sw["ranking"], 1):
        idx = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sw["indices"][name].items())
        lines.append(f"  {i}. {name}  ({idx})")
    return "\n".join(lines)
