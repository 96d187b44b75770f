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
