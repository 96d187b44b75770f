"""Decisions a planner can act on (issue 22): verdicts that beat noise, selection with
common random numbers (KN), packages within a budget. Statistical cores are tested on
pure stand-ins with a known truth (cheap); the simulation wiring on the toy scenario
of ``tests/data/toy-threshold*.toml``, a few days long."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from helpers import DATA, assert_one_line_error, run_cli
from reporting_sim.study import guard, selection
from reporting_sim.study.packages import pareto_front, ranking_stability, robustness_measures
from reporting_sim.study.robustness import Study, discover, prim_boxes, world_verdict
from reporting_sim.study.selection import KN, equal_allocation, kn_h2, kn_select

TOY = str(DATA / "toy-threshold.toml")
SURE, HALF, NULL = (str(DATA / f"toy-threshold-{n}.toml") for n in ("sure", "half", "null"))
SURE_COSTED, FAST = str(DATA / "toy-threshold-sure-costed.toml"), str(DATA / "toy-threshold-fast.toml")
METRIC = "hq.current.in_time"


# ------------------------------------------------------------------ KN on a stand-in with a known best

def _slippage(k: int, delta: float, rng, rho: float = 0.5):
    """A sampler of ``k`` normal options, option 0 better by ``delta`` (the slippage
    configuration, KN's least favourable); correlation ``rho`` by common random numbers."""
    def draw(r, options):
        common = rng.normal()
        return [(delta if a == 0 else 0.0) + math.sqrt(rho) * common + math.sqrt(1 - rho) * rng.normal()
                for a in options]
    return draw


@pytest.mark.parametrize("n0", [5, 10])
def test_kn_achieves_at_least_the_nominal_probability_of_correct_selection(n0):
    """200 macroreplications of KN in the slippage configuration (best exactly delta
    better, the hardest case the guarantee covers): the share that select the best is
    at least the nominal 0.95 (KN is conservative: its bound is not tight)."""
    rng = np.random.default_rng(2024 + n0)
    picks = [kn_select(_slippage(4, 0.5, rng), 4, 0.5, 0.95, n0=n0)[0] for _ in range(200)]
    assert np.mean(np.array(picks) == 0) >= 0.95


def test_kn_drops_options_early_and_uses_fewer_runs_than_equal_allocation():
    rng = np.random.default_rng(7)
    used, eq = [], []
    for _ in range(50):
        kn = KN(["a", "b", "c", "d"], 0.5, 0.95, n0=5)
        draw = _slippage(4, 2.0, rng)  # a clear best
        while not kn.done:
            for a, r in kn.wanted():
                kn.add(a, r, draw(r, [ord(a) - 97])[0])
            kn.advance()
        assert kn.selected == "a"
        used.append(sum(len(v) for v in kn.values.values()))
        eq.append(4 * kn.equal_allocation())
    assert np.mean(used) < np.mean(eq)


def test_kn_with_identical_options_stops_and_takes_the_first():
    """Two options that never differ (a variant that changes nothing): the continuation
    region is empty, KN stops at once and ties go to the first (the base)."""
    chosen, reps = kn_select(lambda r, opts: [1.0 for _ in opts], 2, 0.1, 0.9, n0=5)
    assert chosen == 0 and reps == {0: 5, 1: 5}


def test_kn_constants_match_the_formula():
    h2 = kn_h2(4, 0.95, 10)  # Kim & Nelson 2001: h2 = 2 eta (n0 - 1)
    eta = 0.5 * ((2 * 0.05 / 3) ** (-2 / 9) - 1)
    assert h2 == pytest.approx(2 * eta * 9)
    assert equal_allocation(np.array([[0.0, 4.0], [4.0, 0.0]]), 1.0, 0.95, 5) > 5


# ------------------------------------------------------------------ select on the toy

def _select(tmp_path, name, *extra):
    code, out, err = run_cli("select", TOY, SURE, HALF, "--metric", METRIC, "--delta", "0.05", "--days", "4",
                             "--seed", "3", "--json", "--out", tmp_path / name, *extra)
    assert code == 0, err
    return json.loads(out)


def _same(a: dict, b: dict) -> None:
    a, b = dict(a), dict(b)
    a.pop("wall_time_s"), b.pop("wall_time_s")
    assert a == b


def test_select_contract_and_the_clear_best(tmp_path):
    r = _select(tmp_path, "s")
    assert r["selected"] == "toy-threshold-sure"  # shelf life 6 h: the sure 5 h link is always in time
    assert r["pcs"] == 0.95 and r["delta"] == 0.05
    assert set(r["options"]) == {"toy-threshold", "toy-threshold-sure", "toy-threshold-half"}
    assert all({"replications", "mean"} <= set(o) for o in r["options"].values())
    assert r["equal_allocation_replications"] >= sum(o["replications"] for o in r["options"].values())


def test_brief_of_a_compare_folder_is_one_line(tmp_path):
    """brief reads decision studies; given a compare folder it ended in KeyError: 'metric'
    (a traceback). Now one line naming the file and what brief reads."""
    out = tmp_path / "cmp"
    code, _, err = run_cli("compare", TOY, SURE, "-r", "2", "--days", "3", "--out", str(out))
    assert code == 0, err
    code, o, err = run_cli("brief", str(out))
    assert_one_line_error(code, o, err, "result.json", "robustness, select or packages")


@pytest.mark.slow
def test_select_is_the_same_serially_pooled_and_on_dask(tmp_path):
    a = _select(tmp_path, "serial", "--jobs", "1")
    _same(a, _select(tmp_path, "pool", "--jobs", "2"))
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        _same(a, _select(tmp_path, "dask", "--dask", cluster.scheduler_address))


def test_select_across_worlds_gives_each_options_share(tmp_path):
    r = _select(tmp_path, "w", "--worlds", "4", "--jobs", "1")
    shares = r["worlds"]["share_selected"]
    assert r["worlds"]["count"] == 4 and sum(shares.values()) == pytest.approx(1.0)
    assert r["selected"] == max(shares, key=shares.get)


def test_an_interrupted_select_resumes_to_the_same_answer(tmp_path, monkeypatch):
    whole = _select(tmp_path, "whole", "--jobs", "1")
    real = guard.execute

    def dies_after_some(jobs, on_result, **kw):
        real(list(jobs)[:4], on_result, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(guard, "execute", dies_after_some)
    code, _, _ = run_cli("select", TOY, SURE, HALF, "--metric", METRIC, "--delta", "0.05", "--days", "4",
                         "--seed", "3", "--json", "--out", tmp_path / "cut", "--jobs", "1")
    assert code != 0 and len(list((tmp_path / "cut" / "runs").glob("*.json"))) == 4
    monkeypatch.setattr(guard, "execute", real)
    _same(whole, _select(tmp_path, "cut", "--jobs", "1"))


@pytest.mark.parametrize("args, needle", [
    (["--metric", "hq.no_such", "--delta", "0.1"], "--metric"),
    (["--metric", "cell.hq.utilisation", "--delta", "0.1"], "--metric"),
    (["--metric", METRIC, "--delta", "0"], "--delta"),
    (["--metric", METRIC, "--delta", "-1"], "--delta"),
    (["--metric", METRIC, "--delta", "0.1", "--pcs", "1"], "--pcs"),
    (["--metric", METRIC, "--delta", "0.1", "--pcs", "0"], "--pcs"),
])
def test_bad_select_specs_are_one_line(tmp_path, args, needle):
    assert_one_line_error(*run_cli("select", TOY, SURE, *args, "--days", "1", "--out", tmp_path / "x"), needle)
    assert not (tmp_path / "x").exists()


def test_conflicting_variants_cannot_be_composed(tmp_path):
    code, out, err = run_cli("select", TOY, f"{SURE_COSTED}+{FAST}", "--metric", METRIC, "--delta", "0.1",
                             "--days", "1", "--out", tmp_path / "x")
    assert_one_line_error(code, out, err, "links[scout->hq]", "cannot be composed")


# ------------------------------------------------------------------ packages

def test_pareto_front_of_a_toy_with_a_known_front():
    costs = [0, 1, 2, 2, 3, 5]
    objectives = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.5], [2.0, 0.5], [1.5, 0.5]])
    # 3 is beaten by 2 (same cost, better on both); 5 by 4 (cheaper, better on both)
    assert pareto_front(costs, objectives) == [0, 1, 2, 4]


def test_robustness_measures_and_their_rankings_can_disagree():
    values = np.array([[0.0, 0.0, 0.0],   # the base
                       [0.3, 0.3, -0.2],  # the best mean, a bad worst world
                       [0.1, 0.1, 0.1]])  # modest everywhere
    m = robustness_measures(values, values[0], +1, 0.05)
    assert m["mean"].tolist() == pytest.approx([0.0, 0.4 / 3, 0.1])
    assert m["minimax_regret"].tolist() == pytest.approx([0.3, 0.3, 0.2])
    assert m["satisficing"].tolist() == pytest.approx([0.0, 2 / 3, 1.0])
    rk = ranking_stability(m, +1, ["base", "bold", "steady"])
    assert rk["best_by"] == {"mean": "bold", "minimax_regret": "steady", "satisficing": "steady"}
    assert not rk["same_best"]


def _packages(tmp_path, name, *extra, budget="10"):
    code, out, err = run_cli("packages", TOY, SURE_COSTED, HALF, FAST, "--budget", budget, "--metric", METRIC,
                             "--worlds", "3", "--replications", "2", "--days", "3", "--seed", "2", "--json",
                             "--out", tmp_path / name, *extra)
    assert code == 0, err
    return json.loads(out)


def test_packages_contract_front_and_conflicts(tmp_path):
    r = _packages(tmp_path, "p", "--jobs", "1")
    assert r["budget"] == 10
    labels = {tuple(e["variants"]) for e in r["packages"]}
    assert () in labels and ("toy-threshold-sure-costed",) in labels
    assert all(len(e["variants"]) <= 1 for e in r["packages"])  # every pair changes the one link: excluded
    assert len(r["excluded"]) == 4 and all("cannot be composed" in x["why"] for x in r["excluded"])
    for e in r["front"]:
        assert set(e["robustness"]) == {"mean", "minimax_regret", "satisficing"} and e["cost"] <= 10
    front = [tuple(e["variants"]) for e in r["front"]]
    assert front[0] == ()  # the base costs nothing
    _same(r, _packages(tmp_path, "p", "--jobs", "2"))  # rerun in its folder: the stored runs, same answer


def test_budget_below_every_option_is_one_line(tmp_path):
    code, out, err = run_cli("packages", TOY, SURE_COSTED, HALF, "--budget", "0.5", "--metric", METRIC,
                             "--worlds", "2", "--days", "1", "--out", tmp_path / "x")
    assert_one_line_error(code, out, err, "--budget", "below every option")


def test_an_interrupted_packages_run_resumes_to_the_same_answer(tmp_path, monkeypatch):
    whole = _packages(tmp_path, "whole", "--jobs", "1")
    real = guard.execute

    def dies(jobs, on_result, **kw):
        jobs = list(jobs)
        real(jobs[:3], on_result, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(guard, "execute", dies)
    code, _, _ = run_cli("packages", TOY, SURE_COSTED, HALF, FAST, "--budget", "10", "--metric", METRIC,
                         "--worlds", "3", "--replications", "2", "--days", "3", "--seed", "2", "--json",
                         "--out", tmp_path / "cut", "--jobs", "1")
    assert code != 0 and len(list((tmp_path / "cut" / "runs").glob("*.json"))) == 3
    monkeypatch.setattr(guard, "execute", real)
    _same(whole, _packages(tmp_path, "cut", "--jobs", "1"))


# ------------------------------------------------------------------ verdicts that beat noise

def test_world_verdicts_by_the_minimum_effect():
    assert world_verdict([0.0, 0.0, 0.0], 0.01, +1) == "no difference"
    assert world_verdict([0.0010, 0.0012, 0.0011, 0.0009], 0.01, +1) == "equivalent"  # tiny but sure: not "better"
    assert world_verdict([0.05, 0.06, 0.055, 0.052], 0.01, +1) == "better"
    assert world_verdict([0.05, 0.06, 0.055, 0.052], 0.01, -1) == "worse"  # lower is better
    assert world_verdict([-0.05, 0.06], 0.01, +1) == "undecided"


def test_a_variant_that_changes_nothing_makes_no_difference_in_every_world():
    study = Study.from_args(TOY, [NULL], worlds=6, replications=2, days=3, seed=1)
    r = study.run(None, n_jobs=1)
    block = r["variants"]["toy-threshold-null"]
    assert block["world_verdicts"] == ["no difference"] * 6
    m = block["metrics"][METRIC]
    assert m["share_equivalent"] == 1 and m["share_better"] == 0 and m["share_no_difference"] == 1
    assert m["between_sd"] == 0 and m["within_se"] == 0
    assert r["runs"] == 6 * 2 * 2  # decided at once: no replication added
    assert "no difference" in block["verdict"]


def test_each_world_has_its_own_seeds_and_replications_are_added_only_where_undecided():
    study = Study.from_args(TOY, [SURE], worlds=8, replications=2, days=3, seed=1, max_replications=6)
    jobs = [study.world_jobs(w) for w in (0, 1)]
    assert {j.seed for j, _, _ in jobs[0]} != {j.seed for j, _, _ in jobs[1]}  # not the same seeds in every world
    assert len({j.seed for j, _, label in jobs[0] if j.replication == 0}) == 1  # common within a world
    r = study.run(None, n_jobs=1)
    per_world = study.frame.groupby("world")["replication"].max() + 1
    assert per_world.min() >= 2 and per_world.max() <= 6
    verdicts = r["variants"]["toy-threshold-sure"]["world_verdicts"]
    for w, v in enumerate(verdicts):  # a world stops growing once decided (or at the cap)
        assert v != "undecided" or per_world[w] == 6
    fixed = Study.from_args(TOY, [SURE], worlds=8, replications=2, days=3, seed=1, max_replications=2)
    assert fixed.run(None, n_jobs=1)["runs"] == 8 * 2 * 2  # no sequential growth when the cap is the start


def _noise(seed: int, n: int = 50, d: int = 131):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((n, d)), columns=[f"cells.c{i}.analysts" for i in range(d)])
    x.index.name = "world"
    return x, pd.Series(rng.normal(size=n))


def test_prim_on_pure_noise_finds_a_dense_many_dimension_box_but_discovery_reports_nothing():
    """The issue's finding, reproduced: given random outcomes over 50 worlds and 131
    assumptions, PRIM alone finds a dense box of many dimensions; scenario discovery
    (screening and the permutation null) reports neither a box nor a feature score."""
    x, gain = _noise(1)
    raw = prim_boxes(x.reset_index(drop=True), (gain <= 0).to_numpy(), 0.9, 1)
    assert raw and raw[0]["density"] >= 0.9 and len(raw[0]["box"]) >= 5
    boxes, scores = discover(x, gain, 1, 0.9, 2)
    assert boxes == [] and scores == []


@pytest.mark.parametrize("dtype", ["object", "str"])
def test_discovery_takes_switches_and_choices_of_any_text_dtype(dtype):
    """A choice among words (minusma-2015's acts_at: "arrival", "morning_briefing") is
    text: pandas 3 stores it as its own string dtype, not object, and the old check
    cast it to float (`robustness minusma-2015 ...` ended in a ValueError traceback).
    Switches and choices are categories whatever their dtype."""
    x, gain = _noise(2)
    words = np.where(np.arange(len(x)) % 2, "arrival", "morning_briefing")
    x["consumers.fc.acts_at"] = pd.Series(words, index=x.index, dtype=dtype)
    x["mechanisms.boards"] = pd.Series(np.arange(len(x)) % 3 == 0, index=x.index)
    boxes, scores = discover(x, gain, 1, 0.9, 2)
    assert boxes == [] and scores == []


@pytest.mark.slow
def test_discovery_on_noise_rarely_reports_anything():
    """Six noise trials: at most one reports a box or a score (each test is at the 5%
    level), where PRIM alone finds a dense box in nearly every one."""
    reported = dense = 0
    for seed in range(10, 16):
        x, gain = _noise(seed)
        raw = prim_boxes(x.reset_index(drop=True), (gain <= 0).to_numpy(), 0.9, 1)
        dense += bool(raw) and raw[0]["density"] >= 0.9
        boxes, scores = discover(x, gain, seed, 0.9, 2)
        reported += bool(boxes or scores)
    assert dense >= 5 and reported <= 1


def test_min_effect_is_in_the_glossary_and_overridable(tmp_path):
    from reporting_sim.metric_names import min_effect
    from reporting_sim.present.glossary import glossary_lines

    assert min_effect("u2.current.in_time") == 0.01 and min_effect("u2.in_time", {"u2.in_time": 0.03}) == 0.03
    assert any(line.startswith("in_time") and "minimum effect worth counting: 1 pp" in line for line in glossary_lines())
    code, out, err = run_cli("robustness", TOY, SURE, "--worlds", "2", "--days", "1", "--min-effect", "hq.in_time=-1",
                             "--out", tmp_path / "x")
    assert_one_line_error(code, out, err, "--min-effect")


def test_every_metric_with_a_better_direction_has_a_minimum_effect():
    """A metric that can be judged (it has a better direction) can be asked about in a
    study: it needs a minimum effect worth counting (bypass_before_briefing and
    known_in_time had none, so a study listing them was refused)."""
    from reporting_sim.metric_names import BETTER, MIN_EFFECT

    assert set(BETTER) <= set(MIN_EFFECT), set(BETTER) - set(MIN_EFFECT)
