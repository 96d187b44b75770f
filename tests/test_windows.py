"""A world's error from its runs' windows (batch means, ``[robustness] windows``): the
windows partition a run's events, the windowed interval's arithmetic, its error against
the toy's analytic one and its coverage of the toy's known truth, one replication
deciding where replications alone cannot, and the one-line refusals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers import DATA, ROOT, assert_one_line_error, run_cli
from reporting_sim.errors import ScenarioError
from reporting_sim.measures import metrics
from reporting_sim.model import simulate
from reporting_sim.scenario import load as load_scenario
from reporting_sim.study.robustness import Study
from reporting_sim.study.robustness.analysis import NO_DIFFERENCE, look_level, windowed_verdict, world_effects

TOY, SURE = str(DATA / "toy-threshold.toml"), str(DATA / "toy-threshold-sure.toml")
METRIC = "hq.current.in_time"


@pytest.mark.parametrize("warmup", [0.0, 3.0])
def test_windows_partition_the_runs_events(warmup):
    rec = simulate(load_scenario("minusma-2015"), 1, 30, warmup_days=warmup)
    whole = metrics.flat(metrics.summary(rec))
    parts = metrics.by_window(rec, 6, ["events", "force_commander.current.in_time"])
    counts = [parts[metrics.window_key("events", i)] for i in range(6)]
    assert sum(counts) == whole["events"] and min(counts) > 0  # every event in exactly one window
    shares = [parts[metrics.window_key("force_commander.current.in_time", i)] for i in range(6)]
    assert len(set(shares)) > 1  # each window measured on its own events, not the run's


def _by_window_by_definition(rec, windows: int, names) -> dict:
    """Window i's value by definition: flat(summary(...)) of the records cut to the window."""
    from dataclasses import replace

    edges = np.linspace(rec.warmup_days * 24.0, rec.days * 24.0, windows + 1)
    led_t, ev_t = rec.ledger["t_h"].to_numpy(), rec.events["t_h"].to_numpy()
    out = {}
    for i in range(windows):
        hi = np.inf if i == windows - 1 else edges[i + 1]
        part = replace(rec, warmup_days=0.0, ledger=rec.ledger[(led_t >= edges[i]) & (led_t < hi)],
                       events=rec.events[(ev_t >= edges[i]) & (ev_t < hi)])
        values = metrics.flat(metrics.summary(part))
        out.update({metrics.window_key(n, i): values.get(n, math.nan) for n in names})
    return out


@pytest.mark.parametrize("name, days, warmup", [("minusma-2015", 40, 0.0), ("minusma-2015", 45, 5.0),
                                                 (str(ROOT / "experiments" / "scenarios" / "minusma-2014.toml"), 30, 0.0)])
def test_windows_in_one_pass_give_every_windowable_metric_exactly_as_its_definition(name, days, warmup):
    # by_window computes each window's measures in one pass over the run's frames; by
    # definition they are summary() of the run cut to the window: every windowable
    # flat name (and a few that are not measures at all: NaN) must be the same number,
    # bit for bit, in every window
    rec = simulate(load_scenario(name), 2, days, warmup_days=warmup)
    names = [n for n in metrics.flat(metrics.summary(rec)) if metrics.windowable(n)]
    names += ["nobody.in_time", "duplication.nothing", f"{rec.consumers[0]}.current.nothing"]
    assert len(names) > 100
    got, want = metrics.by_window(rec, 7, names), _by_window_by_definition(rec, 7, names)
    assert got.keys() == want.keys()
    differ = [k for k in want if not (got[k] == want[k] or (math.isnan(got[k]) and math.isnan(want[k])))]
    assert not differ, [(k, got[k], want[k]) for k in differ[:5]]
    assert sum(not math.isnan(v) for v in got.values()) > len(got) / 3  # most are measured


def test_windowed_interval_arithmetic():
    # one run, four windows: pooled variance ((-0.01)^2 + 0.01^2) / 3, error sqrt(var / 4)
    d, se, verdict = windowed_verdict([0.05], [[0.04, 0.06, 0.05, 0.05]], 0.01, +1, 0.95)
    assert d == pytest.approx(0.05) and se == pytest.approx(math.sqrt(0.0002 / 3 / 4))
    assert verdict == "better"  # 0.05 -/+ t(3) 0.004 = [0.037, 0.063]: above 0 and by at least 0.01
    assert windowed_verdict([0.05], [[0.04, 0.06, 0.05, 0.05]], 0.01, -1, 0.95)[2] == "worse"
    assert windowed_verdict([0.002], [[0.001, 0.003, 0.002, 0.002]], 0.01, +1, 0.95)[2] == "equivalent"
    assert windowed_verdict([0.05], [[0.0, 0.1, 0.05, 0.05]], 0.01, +1, 0.95)[2] == "undecided"
    # two runs, one with a window that measured nothing: 3 + 2 degrees of freedom
    d2, se2, _ = windowed_verdict([0.05, 0.03], [[0.04, 0.06, 0.05, 0.05], [0.02, 0.04, 0.03, np.nan]], 0.01, +1)
    pooled = (0.0002 + 0.0002) / 5
    assert d2 == pytest.approx(0.04) and se2 == pytest.approx(math.sqrt(pooled * (1 / 4 + 1 / 3) / 4))
    assert windowed_verdict([0.0], [[0.0, 0.0, 0.0]], 0.01, +1)[2] == NO_DIFFERENCE
    assert windowed_verdict([0.05], [[0.05, np.nan, np.nan]], 0.01, +1)[2] == "undecided"  # no spread to read


@pytest.fixture(scope="module")
def toy_windows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy-windows") / "study"
    study = Study.from_args(TOY, [SURE], worlds=40, replications=1, days=20, seed=3, windows=10,
                            max_replications=1)
    result = study.run(folder, n_jobs=1)
    study.folder = folder
    return study, result, pd.read_parquet(folder / "runs.parquet")


def _toy_effects(frame: pd.DataFrame, level: float) -> pd.DataFrame:
    return world_effects(frame, "toy-threshold", "toy-threshold-sure", METRIC, 0.01, level, windows=10)


def test_windowed_error_is_the_toys_analytic_error(toy_windows):
    # The base loses each report with p = 0.5 and the variant none, independently per event,
    # so a run's difference has the error 0.5 / sqrt(events); the windows must find it.
    _, _, frame = toy_windows
    eff = _toy_effects(frame, 0.95)
    events = frame[frame.scenario == "toy-threshold"].set_index("world")["events"]
    ratio = eff["se"] / (0.5 / np.sqrt(events.reindex(eff.index)))
    # 40 worlds, 9 degrees of freedom each: the mean ratio has an sd of about 0.04; windows
    # of unequal counts overstate it a little (the mean of 1/n exceeds 1/mean n)
    assert 0.85 <= ratio.mean() <= 1.2, ratio.describe()


def test_windowed_interval_covers_the_toys_truth(toy_windows):
    # truth: +0.5 where the shelf life exceeds the sure link's 5 h, else -0.5 (every event
    # outlives the fast link's 1 h)
    study, _, frame = toy_windows
    eff = _toy_effects(frame, 0.95)
    shelf = pd.Series([w["kinds.news.shelf_life_h"] for w in study.worlds]).reindex(eff.index)
    truth = np.where(shelf > 5.0, 0.5, -0.5)
    half = 2.262 * eff["se"]  # t(9) at 95%
    misses = int((np.abs(eff["diff"] - truth) > half).sum())
    assert misses <= 6, misses  # 2 expected of 40; more than 6 has probability 0.003


def test_one_replication_decides_with_windows_and_not_without(toy_windows, tmp_path):
    _, result, frame = toy_windows
    assert (frame.groupby("world")["replication"].nunique() == 1).all()
    verdicts = result["variants"]["toy-threshold-sure"]["world_verdicts"]
    assert verdicts.count("undecided") <= 4 and result["windows"] == 10
    m = result["variants"]["toy-threshold-sure"]["metrics"][METRIC]
    assert abs(m["share_better"] - 5 / 9) <= 0.12  # the shelf life exceeds 5 h in 5/9 of [1, 10]
    plain = Study.from_args(TOY, [SURE], worlds=40, replications=1, days=20, seed=3, max_replications=1)
    off = plain.run(tmp_path / "plain", n_jobs=1)["variants"]["toy-threshold-sure"]["world_verdicts"]
    assert set(off) == {"undecided"}  # one replication and no windows: no interval at all


def test_windows_are_part_of_a_runs_identity():
    a = Study.from_args(TOY, [SURE], worlds=2, replications=1, days=5, seed=3).world_jobs(0)
    b = Study.from_args(TOY, [SURE], worlds=2, replications=1, days=5, seed=3, windows=4).world_jobs(0)
    assert {j.key for j, _, _ in a}.isdisjoint(j.key for j, _, _ in b)
    assert all(j.windows == 4 and METRIC in j.window_metrics for j, _, _ in b)


@pytest.mark.parametrize("args,needles", [
    (["--windows", "1"], ["--windows", "2 to 1000"]),
    (["--windows", "6", "--metric", "cell.hq.mean_wait_h"], ["--windows", "cell.hq.mean_wait_h"]),
])
def test_bad_windows_are_one_line(tmp_path, args, needles):
    code, out, err = run_cli("robustness", TOY, SURE, "--worlds", "2", "--days", "2", "--out", tmp_path / "s", *args)
    assert_one_line_error(code, out, err, *needles)
    assert not (tmp_path / "s").exists()


def test_a_study_file_with_windows_is_read_and_checked(tmp_path):
    text = (DATA.parent.parent / "experiments" / "study-robustness.toml").read_text("utf-8")
    study = Study.from_file(DATA.parent.parent / "experiments" / "study-robustness.toml", windows=12,
                            replications=1, max_replications=4)
    assert study.windows == 12 and study.batch == 1 and study.looks() == 4 and look_level(4) == 0.9875
    bad = tmp_path / "study.toml"
    bad.write_text(text.replace("[robustness]\n", "[robustness]\nwindows = 1\n").replace(
        '"variants/', f'"{DATA.parent.parent / "experiments" / "variants"}/'), "utf-8")
    with pytest.raises(ScenarioError, match="robustness.windows"):
        Study.from_file(bad)


def test_a_windowed_study_says_where_its_error_comes_from(toy_windows):
    from reporting_sim.present.brief import brief
    from reporting_sim.present.robustness import format_result

    study, result, _ = toy_windows
    words = "error (se) comes from 10 equal windows of every run"
    assert words in format_result(result) and words in brief(study.folder)
    plain = dict(result, windows=None)
    assert "windows" not in format_result(plain).split("verdicts:")[0]


def test_a_windowed_study_is_the_same_serial_and_pooled(tmp_path):
    def study():
        return Study.from_args(TOY, [SURE], worlds=4, replications=1, days=6, seed=3, windows=6, max_replications=3)
    a = study().run(tmp_path / "serial", n_jobs=1)
    b = study().run(tmp_path / "pool", n_jobs=2, chunk_worlds=2)
    for r in (a, b):
        r.pop("wall_time_s")
    assert a == b
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "serial" / "runs.parquet"),
                                  pd.read_parquet(tmp_path / "pool" / "runs.parquet"))


def test_the_windows_check_flags_an_understated_error():
    from reporting_sim.study.robustness.analysis import windows_check
    from reporting_sim.measures.metrics import window_key

    rng = np.random.default_rng(5)
    rows = []
    for w in range(40):  # windows with sd 0.01 each; a run-level term the windows cannot see
        for r in range(2):
            shared = rng.normal(0, 0.02)
            win = rng.normal(0, 0.01, 6) + shared
            rows.append({"world": w, "replication": r, "scenario": "a", "m": 0.0,
                         **{window_key("m", i): 0.0 for i in range(6)}})
            rows.append({"world": w, "replication": r, "scenario": "b", "m": float(win.mean()),
                         **{window_key("m", i): float(x) for i, x in enumerate(win)}})
    frame = pd.DataFrame(rows)
    bad = windows_check(frame, "a", "b", "m", 6)
    assert bad["pairs"] == 40 and bad["understated"] and bad["miss_95"] > 0.3
    for row in rows:  # without the run-level term the windows' error holds
        if row["scenario"] == "b":
            win = rng.normal(0, 0.01, 6)
            row.update({"m": float(win.mean()), **{window_key("m", i): float(x) for i, x in enumerate(win)}})
    good = windows_check(pd.DataFrame(rows), "a", "b", "m", 6)
    assert not good["understated"] and good["miss_95"] <= 0.15


def test_a_windowed_studys_text_gives_its_check(toy_windows, tmp_path):
    from reporting_sim.present.robustness import format_result

    _, result, _ = toy_windows
    check = result["variants"]["toy-threshold-sure"]["windows_check"]
    assert check["pairs"] == 0  # one replication a world: nothing to check it on
    assert "was not checked" in format_result(result)
    two = Study.from_args(TOY, [SURE], worlds=10, replications=2, days=10, seed=3, windows=6, max_replications=2)
    got = two.run(tmp_path / "two", n_jobs=1)["variants"]["toy-threshold-sure"]["windows_check"]
    assert got["pairs"] == 10 and not got["understated"]  # the toy's windows are independent
