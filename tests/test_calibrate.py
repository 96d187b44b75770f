"""History matching (``reporting-sim calibrate``) against a toy with a known truth, the
plausible-worlds file, and robustness over it.

The toy (tests/data/toy-calibrate.toml): the headquarters' in-time share equals the
scout's p_observe in expectation; its one pattern asks for [0.6, 0.8] with a tolerance
of 0.02. With 2 replications of 20 days (about 240 events) a world's mean has a
standard error near 0.02, so a world is ruled out (implausibility above 3) once its
p_observe lies more than about 0.09 outside the range: the kept region is about
[0.51, 0.89], and everything below 0.45 or above 0.95 must be cut."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import DATA, assert_one_line_error, run_cli
from reporting_sim.errors import ScenarioError
from reporting_sim.scenario.uncertainties import Space
from reporting_sim.study import calibrate as cal
from reporting_sim.study.experiment import resolve_member
from reporting_sim.study.worlds import read_meta, read_worlds, write_worlds

TOY, PATTERNS = str(DATA / "toy-calibrate.toml"), str(DATA / "toy-calibrate-patterns.toml")
P = "collectors.scout.p_observe"


def toy(**kw):
    args = dict(waves=2, worlds=16, replications=2, days=20, seed=5, patterns=PATTERNS, candidates=400)
    return cal.from_args(TOY, **{**args, **kw})


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cal") / "c"
    result = toy().run(folder, n_jobs=1)
    return result, folder


def test_history_matching_keeps_the_true_region_and_cuts_the_rest(toy_run):
    result, folder = toy_run
    worlds = pd.read_csv(folder / "worlds.csv")
    kept, cut = worlds[worlds["plausible"]], worlds[~worlds["plausible"]]
    assert len(kept) >= 8 and len(cut) >= 3
    assert kept[P].between(0.45, 0.95).all()
    assert not worlds[P].between(0.45, 0.95).all()  # wave 1 spans the space: some worlds far outside
    assert (cut[P] < 0.55).sum() + (cut[P] > 0.85).sum() == len(cut)  # nothing inside the range is cut
    w1, w2 = result["waves"]
    assert w2["non_implausible_fraction"] > w1["non_implausible_fraction"]  # the emulator sends wave 2 to the region
    assert w2["candidates"] == 400 and 0 < w2["candidates_non_implausible_fraction"] < 1


def test_the_emulator_finds_the_input_and_its_intervals_cover(toy_run):
    result, _ = toy_run
    for w in result["waves"]:
        assert w["emulators"]["hq-in-time"]["active"][0] == P  # screening picks the one input that matters
        assert w["coverage"] is not None and w["coverage"] >= 0.8  # held-out coverage of the 95% intervals
    assert result["waves"][1]["coverage_of_previous_emulators"] >= 0.8


def test_the_plausible_worlds_file_reads_back_with_provenance(toy_run):
    result, folder = toy_run
    path = folder / result["plausible_worlds"]
    base = resolve_member(TOY, None)
    space = Space(base.data, base.scenario)
    worlds = read_worlds(path, space)
    assert list(worlds.columns) == space.paths and worlds.index.name == "world"
    assert len(worlds) == result["plausible"] and worlds["cells.hq.analysts"].map(type).eq(int).all()
    meta = read_meta(path)
    assert {"scenario_digest", "patterns_digest", "seed", "wave", "version"} <= set(meta)
    assert meta["seed"] == 5 and meta["wave"] == 2


def test_calibration_is_the_same_pooled_and_resumes_from_its_runs(toy_run, tmp_path):
    result, folder = toy_run
    again = toy().run(folder, n_jobs=2)  # same folder: every run comes from the store
    assert again["waves"] == result["waves"]
    pooled = toy().run(tmp_path / "p", n_jobs=2)
    assert pooled["waves"] == result["waves"] and pooled["conflicts"] == result["conflicts"]


def test_no_plausible_world_names_the_conflict(tmp_path):
    patterns = tmp_path / "clash.toml"
    text = open(PATTERNS).read()
    text += text.replace('"hq-in-time"', '"hq-in-time-low"').replace("[0.6, 0.8]", "[0.0, 0.2]")
    patterns.write_text(text)
    result = toy(patterns=str(patterns), waves=1, worlds=10).run(tmp_path / "c", n_jobs=1)
    assert result["plausible"] == 0 and result["waves"][0]["non_implausible_fraction"] == 0
    assert {"patterns": ["hq-in-time", "hq-in-time-low"]}.items() <= result["conflicts"][0].items()
    assert len(pd.read_parquet(tmp_path / "c" / result["plausible_worlds"])) == 0


def test_a_worlds_file_with_a_wrong_column_is_one_line(toy_run, tmp_path):
    result, folder = toy_run
    base = resolve_member(TOY, None)
    space = Space(base.data, base.scenario)
    good = read_worlds(folder / result["plausible_worlds"], space)
    meta = read_meta(folder / result["plausible_worlds"])
    cases = [(good.assign(**{"cells.nope": 1}), "cells.nope", "unknown path"),
             (good.drop(columns=[P]), P, "missing path"),
             (good.assign(**{P: 1.5}), P, "out of range")]
    for frame, column, words in cases:
        path = tmp_path / "w.parquet"
        write_worlds(path, frame, meta)
        with pytest.raises(ScenarioError, match=words) as exc:
            read_worlds(path, space)
        assert str(path) in str(exc.value) and column in str(exc.value)


def test_robustness_runs_in_the_plausible_worlds(toy_run, tmp_path):
    result, folder = toy_run
    slow = str(DATA / "toy-calibrate-slow.toml")
    code, out, err = run_cli("robustness", TOY, slow, "--worlds-from", folder / result["plausible_worlds"],
                             "--replications", 1, "--days", 5, "--json", "--jobs", 1, "--out", tmp_path / "r")
    assert code == 0, err
    study = json.loads(out)
    assert study["worlds"] == result["plausible"]
    used = pd.read_csv(tmp_path / "r" / "worlds.csv")
    assert used[P].between(0.45, 0.95).all()  # the plausible worlds, not a fresh draw over [0, 1]
    assert study["variants"]["toy-calibrate-slow"]["metrics"]["hq.current.in_time"]["share_better"] == 0
    code, out, err = run_cli("robustness", TOY, slow, "--worlds-from", tmp_path / "none.parquet")
    assert_one_line_error(code, out, err, "--worlds-from", "no file")


@pytest.mark.slow
def test_calibration_on_dask_is_the_same(toy_run, tmp_path):
    result, _ = toy_run
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code, out, err = run_cli("calibrate", TOY, "--patterns", PATTERNS, "--waves", 2, "--worlds", 16,
                                 "--replications", 2, "--days", 20, "--seed", 5, "--candidates", 400,
                                 "--dask", cluster.scheduler_address, "--json", "--out", tmp_path / "d")
    assert code == 0, err
    assert json.loads(out)["waves"] == result["waves"]
