"""What a person reads, as a new user reads it (hardening 3, items 24-28): one rule for
units everywhere (percent for shares, percentage points for their differences, hours
for times, whole counts as whole numbers; JSON keeps fractions and says so), intervals
of positive quantities that stay positive, bottleneck and verdict wording that says
what it counts, a footer that counts what the table shows, no row shown twice, no
matplotlib warning on the terminal, and one last line ranking the options.
"""

from __future__ import annotations

import json
import re
import warnings

import pandas as pd
import pytest

from helpers import DATA, VARIANTS, run_cli, small_files
from reporting_sim.metric_names import bounds, clip, flat_names
from reporting_sim.present import glossary, tables

TOY, SURE = str(DATA / "toy-threshold.toml"), str(DATA / "toy-threshold-sure.toml")


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("units") / "run"
    code, o, err = run_cli("run", "--days", "20", "--seed", "3", "--trace", "--out", out)
    assert code == 0, err
    return out


def _result(base_mean=0.11, diffs=None, metric="force_commander.current.in_time"):
    """A comparison result (the compare --json contract) with one metric."""
    diffs = diffs or {"a": (0.012, 0.008, 0.015), "b": (0.0, -0.004, 0.003), "c": (0.005, 0.001, 0.009)}
    out = {"experiment": "x", "base": "base", "replications": 4, "days": 10.0, "seed": 1,
           "variants": {"base": {"metrics": {metric: {"mean": base_mean, "ci95": [0.1, 0.12]}}}}}
    for label, (d, lo, hi) in diffs.items():
        out["variants"][label] = {"metrics": {metric: {"mean": base_mean + d, "ci95": [0.1, 0.13],
                                                       "diff_vs_base": {"mean": d, "ci95": [lo, hi]}}}}
    return out


# ------------------------------------------------------------------ item 24: one rule for units

@pytest.mark.parametrize("value,name,shown,diff", [
    (0.11, "force_commander.current.in_time", "11.0%", "+11.0 pp"), (14.54, "u2.latency_p50", "14.5 h", "+14.5 h"),
    (394.0, "events", "394", "+394"), (394.5, "events", "394.5", "+394.5"), (-0.0001, "u2.in_time", "0.0%", "0.0"),
    (0.463, "cell.u2.utilisation", "46.3%", "+46.3 pp"), (None, "u2.in_time", "-", "-"),
])
def test_item24_one_rule_for_every_number_a_person_reads(value, name, shown, diff):
    """Item 24: run printed percent, compare/robustness/check-study fractions, the
    report points; counts printed as 394.00."""
    assert glossary.number(value, name) == shown
    assert glossary.change(value, name).startswith(diff)


def test_item24_compare_prints_percent_and_points_and_its_json_keeps_fractions(tmp_path):
    small_files(tmp_path)
    code, out, err = run_cli("compare", "small.toml", "v.toml", "-r", "2", "--days", "1", "--jobs", "1",
                             "--metric", "force_cdr.in_time", "--metric", "events", "--out", "o", cwd=tmp_path)
    assert code == 0, err
    base = [ln for ln in out.splitlines() if ln.strip().startswith("force_cdr.in_time")]
    assert re.search(r"\d+\.\d%\s+\[(\d+\.\d|-), (\d+\.\d|-)\]$", base[0]), base[0]
    assert re.search(r"([+-]\d+\.\d|0\.0) pp\s+\[", base[1]), base[1]
    events = [ln for ln in out.splitlines() if ln.strip().startswith("events")]
    assert not re.search(r"\.\d{2,}", events[0]), events[0]  # a count: never 394.00
    assert "percentage points (pp)" in out and "--json keeps shares as fractions" in out
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    m = result["variants"][result["base"]]["metrics"]["force_cdr.in_time"]
    assert 0 <= m["mean"] <= 1 and "fractions from 0 to 1" in result["units"]


def test_item24_the_run_reports_figure1_is_in_percent_and_its_tables_count_in_whole_numbers(traced_run, tmp_path):
    """Item 24: Figure 1 of the run report had a 0-1 axis under a caption in percent;
    the bottleneck table printed counts as 394.00."""
    from reporting_sim.measures import views
    from reporting_sim.present import plots
    from reporting_sim.present.report import _bottleneck_view
    from reporting_sim.study.output import read_run

    rec = read_run(traced_run)
    plots.outcome_breakdown(rec.ledger, tmp_path / "f1")
    svg = (tmp_path / "f1.svg").read_text()
    assert "% of the current events of each consumer" in svg.replace("&#39;", "'")
    view = _bottleneck_view(views.bottlenecks(rec, "current"))
    counts = [c for c in view.columns if c.startswith(("stopped here", "late pairs"))]
    assert counts and all(pd.api.types.is_integer_dtype(view[c]) for c in counts), view.dtypes
    assert view["utilisation %"].max() > 1  # percent, not a fraction


# ------------------------------------------------------------------ item 25: what the bottleneck tables count

def test_item25_a_consumer_with_no_current_interest_has_no_current_budget_or_panel(traced_run, tmp_path):
    """Item 25: JMAC (long-term interest only) appeared in the current-intelligence time
    budget, and the weekly figure had an empty JMAC panel without a note."""
    from reporting_sim.measures import metrics, views
    from reporting_sim.present import plots
    from reporting_sim.study.output import read_run

    rec = read_run(traced_run)
    interested = set(metrics.of_interest(rec.ledger).query("family == 'current'")["consumer"].astype(str))
    budgets = views.time_budgets(rec, "current")
    assert set(budgets["consumer"]) <= interested and "jmac" not in set(budgets["consumer"])
    weekly = metrics.weekly(rec.ledger, rec.events, metrics.tag_groups(rec.meta), days=rec.days)
    panels, _ = plots._weekly_panels(weekly, None, "force_commander")
    assert "in_time:jmac" not in panels and plots.no_current_interest(weekly) == ["jmac"]
    plots.weekly_timeliness(weekly, tmp_path / "w", headline="force_commander")
    assert "not drawn (no current events of their interest): jmac" in (tmp_path / "w.svg").read_text()


def test_item25_the_bottleneck_table_says_where_news_stopped_not_what_a_node_lost(traced_run):
    from reporting_sim.cli import cli
    from click.testing import CliRunner

    r = CliRunner().invoke(cli, ["bottlenecks", str(traced_run), "--out", str(traced_run.parent / "bn-figs")])
    assert r.exit_code == 0, r.output
    assert "stopped" in r.output and "not what the node itself lost" in r.output and "lost ev" not in r.output


# ------------------------------------------------------------------ item 26: intervals of positive quantities

def test_item26_a_mean_interval_never_leaves_what_the_quantity_allows(tmp_path):
    """Item 26: with 2 replications a latency's interval went negative
    (14.54 [-45.89, +74.98] h); a share's could pass 100%."""
    from reporting_sim.study.experiment import Experiment

    small_files(tmp_path)
    exp = Experiment.comparison(str(tmp_path / "small.toml"), [str(tmp_path / "v.toml")], replications=2, days=1.0,
                                seed=1, metrics=["force_cdr.latency_p50", "force_cdr.in_time"])
    exp.rows = [{"label": m.label, "replication": r, "force_cdr.latency_p50": lat, "force_cdr.in_time": share}
                for m in exp.members for r, (lat, share) in enumerate([(1.0, 0.02), (30.0, 0.99)])]
    res = exp.result()
    for label, block in res["variants"].items():
        lat, share = block["metrics"]["force_cdr.latency_p50"], block["metrics"]["force_cdr.in_time"]
        assert lat["ci95"][0] == 0.0 and lat["ci95"][1] > lat["mean"], lat
        assert share["ci95"] == [0.0, 1.0], share
        if "diff_vs_base" in lat:
            assert lat["diff_vs_base"]["ci95"] == [0.0, 0.0]  # differences may be negative: not clipped


def test_item26_every_flat_metric_has_bounds_that_agree_with_the_glossary():
    for name in flat_names(["a", "b"], ["c"]):
        low, high = bounds(name)
        assert low == 0.0 and (high == 1.0) == glossary.is_share(name), name
    assert clip("a.in_time", -0.2, 1.3) == (0.0, 1.0) and clip("a.latency_p50", None, 5.0) == (None, 5.0)


# ------------------------------------------------------------------ item 27: footers, repeats, verdicts, warnings

def test_item27_the_footer_counts_the_differences_shown_and_a_repeated_row_is_shown_once():
    """Item 27: compare's footer counted 83 differences while 16 were shown;
    jmac.in_time and jmac.long_term.in_time were identical rows."""
    res = _result(metric="jmac.in_time")
    for block in res["variants"].values():  # JMAC's interest is long-term only: the same numbers
        block["metrics"]["jmac.long_term.in_time"] = block["metrics"]["jmac.in_time"]
        block["metrics"]["u2.in_time"] = block["metrics"]["jmac.in_time"]  # another consumer's: kept
        block["metrics"]["hidden"] = block["metrics"]["jmac.in_time"]
    shown = ["jmac.in_time", "jmac.long_term.in_time", "u2.in_time"]
    text = tables.format_comparison(res, shown)
    assert "jmac.long_term.in_time" not in text and text.count("u2.in_time") == 4
    note = tables.multiplicity_note(res, shown)
    assert "among the 6 differences shown" in note
    assert "jmac.long_term.in_time (the same numbers as jmac.in_time)" in note


def test_item27_a_verdict_says_better_than_the_base_and_names_a_replaced_setting():
    """Item 27: "asifu-in-u2-branch raises ... in 42% of worlds" read as if it always
    raised it; a verdict said its effect depends on a link the variant removes."""
    from reporting_sim.study.robustness.analysis import verdict

    m = {"worlds_judged": 50, "share_unchanged": 0.0, "share_better": 0.42, "share_better_ci95": [0.29, 0.56],
         "share_equivalent": 0.3, "share_worse": 0.28, "share_undecided": 0.0, "min_effect": 0.01,
         "mean_effect": -0.002, "mean_effect_ci95": [-0.006, 0.002], "between_sd": 0.01, "within_se": 0.003,
         "diff_p50": -0.002, "diff_p05": -0.03, "diff_p95": 0.02}
    text = verdict("asifu-in-u2-branch", "u2.current.in_time", m, [], [{"path": "links[asifu->u2].p", "score": 1}],
                   pd.DataFrame(), None, frozenset({"links[asifu->u2].p"}))
    assert text.startswith("asifu-in-u2-branch is better on u2.current.in_time by at least 1.0 pp in 42% "
                           "[29%, 56%] of 50 plausible worlds, equivalent in 30%, worse in 28%"), text
    assert "mean effect -0.2 pp" in text and "raises" not in text
    assert "(a setting this variant replaces: the effect depends on the base's value of it)" in text  # named in words (#22)


def test_item27_matplotlibs_tight_layout_warning_stays_off_the_terminal(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reporting_sim.present.plots import save

    fig, axes = plt.subplots(1, 3, figsize=(2, 1))  # too narrow for its labels: matplotlib warns
    for ax in axes:
        ax.set_ylabel("a long label " * 5)
        ax.set_yticks([0, 1], ["a very long tick label indeed", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning would fail here
        save(fig, tmp_path / "tight")
    assert (tmp_path / "tight.png").exists()


# ------------------------------------------------------------------ item 28: one line ranking the options

def test_item28_the_ranking_line_orders_the_options_best_first_in_points():
    line = tables.ranking_line(_result(), "force_commander.current.in_time", {"force_commander": "Force Commander"})
    assert line.startswith("For the Force Commander's current intelligence in time "
                           "(force_commander.current.in_time; base 11.0%; higher is better): ")
    assert line.index("a +1.2 pp [+0.8, +1.5]") < line.index("c +0.5 pp") < line.index("b 0.0 pp [-0.4, +0.3]")
    lower = _result(metric="u2.latency_p50", diffs={"slow": (2.0, 1.0, 3.0), "fast": (-1.0, -2.0, -0.5)})
    text = tables.ranking_line(lower, "u2.latency_p50")
    assert "lower is better" in text and text.index("fast -1.0 h") < text.index("slow +2.0 h")


def test_item28_compare_and_robustness_end_with_the_ranking_line(tmp_path):
    code, out, err = run_cli("compare", "minusma-2015", VARIANTS / "trained-u2.toml", VARIANTS / "jcb-daily.toml",
                             "-r", "2", "--days", "3", "--jobs", "1", "--out", tmp_path / "c")
    assert code == 0, err
    last = [ln for ln in out.splitlines() if ln.strip()][-2]
    assert last.startswith("For the Force Commander's current intelligence in time (force_commander.current.in_time;")
    assert "trained-u2 " in last and "jcb-daily " in last and " pp [" in last
    code, out, err = run_cli("robustness", TOY, SURE, "--worlds", "3", "-r", "1", "--days", "2", "--jobs", "1",
                             "--out", tmp_path / "r")
    assert code == 0, err
    last = [ln for ln in out.splitlines() if ln.strip()][-2]
    assert last.startswith("For the hq's current intelligence in time (hq.current.in_time; higher is better)")
    assert "toy-threshold-sure " in last and "better in" in last and " pp" in last


def _robustness_result(metric: str, mean: float, ci: list, between_sd: float, min_effect: float) -> dict:
    """A robustness study's result with one question judged on ``metric`` (the keys the brief reads)."""
    m = {"worlds_judged": 50, "share_better": 0.58, "share_better_ci95": [0.44, 0.71], "share_equivalent": 0.28,
         "share_worse": 0.04, "share_undecided": 0.10, "min_effect": min_effect, "mean_effect": mean,
         "mean_effect_ci95": ci, "between_sd": between_sd, "within_se": 0.003}
    return {"metric": metric, "world_level": {}, "variants": {"asifu-in-u2-branch": {
        "verdict_metric": metric, "metrics": {metric: m}}}}


def test_the_brief_gives_effects_in_the_measures_unit_and_says_what_the_measure_is():
    """The planner's brief (#22 item 5) printed a share's mean effect, its interval, the
    minimum effect and the spread between worlds as bare fractions ("mean effect 0.0128
    [0.00814, 0.0175], minimum worth counting 0.01", "sd 0.016 against 0.01") where the
    robustness verdict beside it says "+1.3 pp", and named the measure only by its flat
    name. Now the project's one rule for numbers (percentage points for a share's
    change, hours for a time) and the measure's plain name and definition."""
    from reporting_sim.present.brief import brief_lines
    from reporting_sim.present.glossary import define

    text = "\n".join(brief_lines(_robustness_result("u2.current.in_time", 0.0128, [0.00814, 0.0175], 0.016, 0.01)))
    assert "mean effect +1.3 pp [+0.8, +1.8], minimum worth counting 1.0 pp" in text, text
    assert "(sd 1.6 pp against 1.0 pp)" in text and "(now 1.0 pp)" in text, text
    assert "0.0128" not in text and "0.016" not in text
    assert "judged on the u2's current intelligence in time (`u2.current.in_time`" in text, text
    assert define("u2.current.in_time") in text  # the one-line definition where the number is shown
    hours = "\n".join(brief_lines(_robustness_result("force_commander.current.latency_p50", -1.5, [-2.25, -0.75],
                                                     2.0, 1.0)))
    assert "mean effect -1.5 h [-2.2, -0.8], minimum worth counting 1.0 h" in hours, hours


def test_a_robustness_verdict_gives_the_spread_between_worlds_in_the_measures_unit():
    """The verdict said "mean effect -0.2 pp ..., spread between worlds (sd) 0.01, error
    within a world (se) 0.003": one clause in percentage points, the next in fractions."""
    from reporting_sim.study.robustness.analysis import verdict

    m = _robustness_result("u2.current.in_time", -0.002, [-0.006, 0.002], 0.01, 0.01)["variants"][
        "asifu-in-u2-branch"]["metrics"]["u2.current.in_time"]
    text = verdict("asifu-in-u2-branch", "u2.current.in_time", m, [], [], pd.DataFrame())
    assert "spread between worlds (sd) 1.0 pp, error within a world (se) 0.3 pp" in text, text
