"""Robustness studies: worlds, common random numbers, the analysis against a toy with a
known truth, scenario discovery, execution and resumption, the CLI and the report."""

from __future__ import annotations

import html
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from helpers import DATA, EXE, ROOT
from reporting_sim.cli import cli
from reporting_sim.errors import ScenarioError
from reporting_sim.present.robustness import draw_figures
from reporting_sim.study.robustness import Study, direction

TOY, SURE = str(DATA / "toy-threshold.toml"), str(DATA / "toy-threshold-sure.toml")
THRESHOLD, LOW, HIGH = 5.0, 1.0, 10.0  # the sure link takes 5 h; shelf life uniform on [1, 10] h
METRIC = "hq.current.in_time"


def toy(worlds=40, replications=2, days=20, seed=3):
    return Study.from_args(TOY, [SURE], worlds=worlds, replications=replications, days=days, seed=seed)


@pytest.fixture(scope="module")
def toy_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy") / "study"
    result = toy().run(folder, n_jobs=1)
    assert not (folder / "figures").exists()  # the runner computes and stores; it draws nothing
    draw_figures(folder)
    return result, folder


def frame(folder: Path) -> pd.DataFrame:
    df = pd.read_parquet(folder / "runs.parquet")
    assert "wall_s" not in df  # timings stay out of the identity files (hardening 3, item 20)
    return df.sort_values(["world", "scenario", "replication"]).reset_index(drop=True)


def test_better_direction_is_defined_in_one_place():
    assert direction("force_commander.current.in_time") == 1
    assert direction("u2.long_term.within_planning") == 1 and direction("u2.fidelity") == 1
    assert direction("force_commander.late") == -1 and direction("jmac.not_shared") == -1
    assert direction("force_commander.current.latency_p90") == -1 and direction("bypass_rate") == -1
    with pytest.raises(ScenarioError, match="no better direction"):
        direction("cell.u2.utilisation")


def test_toy_share_of_worlds_better_is_near_the_analytic_share(toy_result):
    result, _ = toy_result
    m = result["variants"]["toy-threshold-sure"]["metrics"][METRIC]
    truth = (HIGH - THRESHOLD) / (HIGH - LOW)  # 5/9: the sure link wins when the shelf life exceeds 5 h
    assert abs(m["share_better"] - truth) <= 0.06, m
    lo, hi = m["share_better_ci95"]
    assert lo < truth < hi
    assert m["diff_p05"] < -0.3 and m["diff_p95"] > 0.3  # it loses everything below, gains half above
    assert result["best_counts"][METRIC]["toy-threshold-sure"] == round(m["share_better"] * 40)


def test_toy_prim_box_ends_near_the_threshold_and_the_shelf_life_matters_most(toy_result):
    result, _ = toy_result
    block = result["variants"]["toy-threshold-sure"]
    box = block["fails_when"][0]
    assert list(box["box"]) == ["kinds.news.shelf_life_h"], box["box"]  # not the irrelevant rate or analysts
    lo, hi = box["box"]["kinds.news.shelf_life_h"]
    assert lo <= LOW + 0.3 and abs(hi - THRESHOLD) <= 0.5, box
    assert box["coverage"] >= 0.9 and box["density"] >= 0.9 and box["significant"]
    assert block["importance"][0]["path"] == "kinds.news.shelf_life_h"
    assert "shelf life (h) of news is under" in block["verdict"]  # named in the scenario's words, not as a path


def test_result_contract_and_files(toy_result):
    result, folder = toy_result
    assert {"base", "worlds", "replications", "uncertainties", "variants"} <= set(result)
    v = result["variants"]["toy-threshold-sure"]
    assert {"metrics", "verdict", "fails_when"} <= set(v)
    assert {"share_better", "share_better_ci95", "diff_p05", "diff_p50", "diff_p95", "regret_p50",
            "regret_p90"} <= set(v["metrics"][METRIC])
    assert {"box", "coverage", "density"} <= set(v["fails_when"][0])
    df = pd.read_parquet(folder / "runs.parquet")
    assert {"world", "scenario", "replication", "u:kinds.news.shelf_life_h"} <= set(df)
    reps = df.groupby("world")["replication"].nunique()  # replications grow until each world is decided
    assert len(reps) == 40 and (reps >= 2).all()
    assert len(df) == 2 * reps.sum()  # base and variant ran every replication of their world
    assert df["u:cells.hq.analysts"].map(type).eq(int).all()  # integers stay integers
    assert json.loads((folder / "result.json").read_text())["worlds"] == 40
    assert len(pd.read_csv(folder / "summary.csv")) == len(result["variants"]) * 4
    assert {"differences.png", "importance.png", "prim-toy-threshold-sure.png"} <= {
        p.name for p in (folder / "figures").iterdir()}


def test_common_random_numbers_within_a_world(toy_result):
    _, folder = toy_result
    df = frame(folder)
    events = df.pivot_table(index=["world", "replication"], columns="scenario", values="events")
    assert (events["toy-threshold"] == events["toy-threshold-sure"]).all()  # same ground truth in both


def test_same_numbers_whichever_executor_and_order(tmp_path):
    serial, pool = toy(worlds=4, days=5), toy(worlds=4, days=5)
    a = serial.run(tmp_path / "serial", n_jobs=1)
    b = pool.run(tmp_path / "pool", n_jobs=2, chunk_worlds=2)  # other order, other executor
    for study, r in ((serial, a), (pool, b)):
        # the runs' own wall time (benchmarks/bench_robustness.py) is part of the study's
        assert 0 < study.runs_wall_s <= r.pop("wall_time_s")
    assert a == b
    pd.testing.assert_frame_equal(frame(tmp_path / "serial"), frame(tmp_path / "pool"))
    c = toy(worlds=4, days=5, seed=4).run(None, n_jobs=1)
    assert c["variants"] != a["variants"]


def test_a_variant_keeps_its_own_changes_in_every_world():
    study = Study.from_args("minusma-2015", [str(ROOT / "experiments" / "variants" / "trained-u2.toml")],
                            worlds=3, replications=1, days=5, seed=1)
    assert study.held["trained-u2"] == {"cells.u2.analysts", "cells.u2.work_h.mean"}
    for w in range(3):
        jobs = {label: job for job, _, label in study.world_jobs(w)}
        assert jobs["trained-u2"].data["cells"]["u2"]["analysts"] == 6
        assert jobs["minusma-2015"].data["cells"]["u2"]["analysts"] == study.worlds[w]["cells.u2.analysts"]
        for other in ("cells.g2_east.analysts", "kinds.attack.shelf_life_h"):  # the rest follows the world
            k, n = other.split(".")[:2], other.split(".")[2]
            assert jobs["trained-u2"].data[k[0]][k[1]][n] == study.worlds[w][other.replace("g2_east", "g2_west")]


@pytest.mark.parametrize("args,expected", [
    ([TOY, SURE, "--metric", "cell.hq.utilisation"], "has no better direction"),
    ([SURE, TOY], "has no [uncertainties]"),
    ([TOY, SURE, "--metric", "hq.nonsense"], "unknown metric"),
])
def test_bad_study_inputs_get_one_line(tmp_path, args, expected):
    res = CliRunner().invoke(cli, ["robustness", *args, "--worlds", "2", "--days", "1", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_study_file_runs_through_the_experiment_command_and_reports(tmp_path):
    f = tmp_path / "study.toml"
    f.write_text(f"""
[experiment]
name = "toy-study"
base = "{TOY}"
variants = ["{SURE}"]
metrics = ["{METRIC}"]
days = 5
seed = 2
replications = 2

[robustness]
worlds = 6
""", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["experiment", str(f), "--out", str(out), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    verdict = json.loads((out / "result.json").read_text())["variants"]["toy-threshold-sure"]["verdict"]
    assert verdict.startswith("toy-threshold-sure ") and verdict in res.output and "better" in res.output
    res = CliRunner().invoke(cli, ["report", str(out)])
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text()
    assert "Robustness across 6 plausible worlds" in page and "data:image/png;base64" in page
    assert html.escape(verdict, quote=False) in page
    res = CliRunner().invoke(cli, ["plot", str(out), "--out", str(tmp_path / "figs")])
    assert res.exit_code == 0 and (tmp_path / "figs" / "differences.png").exists(), res.output
    f.write_text(f.read_text().replace("worlds = 6", "worlds = 6\nwhatever = 1"))
    res = CliRunner().invoke(cli, ["experiment", str(f), "--out", str(out), "--jobs", "1"])
    assert res.exit_code == 2 and res.output.startswith(f"error: {f}: robustness.whatever"), res.output


@pytest.mark.slow
def test_an_interrupted_study_resumes_without_loss(tmp_path):
    out = tmp_path / "killed"
    args = ["robustness", TOY, SURE, "--worlds", "8", "--replications", "2", "--days", "60", "--seed", "5",
            "--jobs", "1", "--out", str(out)]
    proc = subprocess.Popen([str(EXE), *args, "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        done = list((out / "runs").glob("*.json")) if (out / "runs").exists() else []
        if len(done) >= 4:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = list((out / "runs").glob("*.json"))
    assert 4 <= len(finished) < 32, f"killed too late to test anything ({len(finished)} runs)"
    assert not (out / "result.json").exists()
    before = {p.name: p.read_text() for p in finished}
    res = CliRunner().invoke(cli, args + ["--json"])
    assert res.exit_code == 0, res.output
    after = {p.name: p.read_text() for p in (out / "runs").glob("*.json")}
    assert all(after[k] == v for k, v in before.items()), "finished runs were redone or changed"
    whole = tmp_path / "whole"
    res = CliRunner().invoke(cli, [a if a != str(out) else str(whole) for a in args])
    assert res.exit_code == 0
    assert len(after) == len(list((whole / "runs").glob("*.json"))) >= 32  # every run of the whole study, once
    pd.testing.assert_frame_equal(frame(out), frame(whole))


def test_findings_are_generated_from_a_results_folder(toy_result, tmp_path):
    import importlib.util

    result, folder = toy_result
    spec = importlib.util.spec_from_file_location("make_findings", ROOT / "scripts" / "make_findings.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "findings.md"
    assert mod.main([str(folder), "--out", str(out)]) == 0
    text = out.read_text()
    from reporting_sim.present.brief import brief_lines

    assert "**40 worlds**" in text and "## All variants on" in text
    assert all(line in text for line in brief_lines(result) if line)  # the brief, generated from the folder
    assert mod.main([str(tmp_path), "--out", str(out)]) == 2  # no results there


def test_without_the_explore_extra_the_command_says_how_to_install(monkeypatch, tmp_path):
    for name in ("ema_workbench", "ema_workbench.analysis", "ema_workbench.analysis.prim"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    res = CliRunner().invoke(cli, ["robustness", TOY, SURE, "--worlds", "2", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and 'pip install -e ".[explore]"' in res.output, res.output
    assert not (tmp_path / "x").exists()


def test_h3_item8_a_variant_that_sets_the_only_uncertainty_is_judged(tmp_path):
    """Item 8: a base whose only uncertainty the variant sets (here the link the sure
    variant makes certain) failed after all its runs (sklearn: max_features 0); with one
    or two assumptions the feature scores still rank them."""
    text = Path(TOY).read_text("utf-8").split("[uncertainties]")[0]
    base = tmp_path / "toy-threshold.toml"
    base.write_text(text + '[uncertainties]\n"links[scout->hq].p" = { low = 0.3, high = 0.9, reason = "a test" }\n',
                    encoding="utf-8")
    (tmp_path / "toy-threshold-sure.toml").write_text(Path(SURE).read_text("utf-8"), encoding="utf-8")
    res = CliRunner().invoke(cli, ["robustness", str(base), str(tmp_path / "toy-threshold-sure.toml"), "--worlds", "6",
                                   "-r", "1", "--days", "5", "--jobs", "1", "--json", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    block = json.loads(res.stdout)["variants"]["toy-threshold-sure"]
    assert isinstance(block["importance"], list)  # reported only where it beats the permutation null (#22)
    from reporting_sim.study.robustness.discovery import feature_scores

    x = pd.DataFrame({"links[scout->hq].p": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]})
    scores = feature_scores(x, np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5]), seed=1)
    assert [e["path"] for e in scores] == ["links[scout->hq].p"]  # one assumption is still ranked


def test_discovery_reads_a_choice_setting_held_as_text_as_a_category():
    """A choice among texts (the built-in scenario's ``commanders.force_commander.acts.call.at``)
    comes as a string column when pandas holds text as strings (pandas 3 by default, or
    ``dtype="string"``), not of dtype object: discovery read it as numbers and the
    robustness command ended in a traceback (ValueError: could not convert string to
    float: 'morning_briefing'). It is a category, and here the one that drives the gain."""
    from reporting_sim.study.robustness.discovery import discover

    rng = np.random.default_rng(1)
    n = 24
    at = pd.Series(["morning_briefing", "on_arrival"] * (n // 2), dtype="string")
    worlds = pd.DataFrame({"cells.hq.analysts": rng.integers(1, 4, n), "acts.at": at})
    gain = pd.Series(np.where(at == "morning_briefing", -1.0, 1.0) + rng.normal(0, 0.1, n))
    boxes, scores, info = discover(worlds, gain, None, seed=1, density=0.9, max_boxes=1, permutations=4)
    assert info["candidates"]["scores"][0] == "acts.at"
    assert boxes and boxes[0]["box"] == {"acts.at": ["morning_briefing"]}


def test_two_variants_judged_on_the_same_unlisted_metric_judge_it_once(tmp_path):
    """A study file whose ``[robustness.verdicts]`` give two variants the same metric that
    ``metrics`` does not list took it twice, and the study ended in a traceback
    (pandas InvalidIndexError: the runs' table had the column twice)."""
    for name in ("toy-threshold.toml", "toy-threshold-sure.toml", "toy-threshold-half.toml"):
        (tmp_path / name).write_text((DATA / name).read_text("utf-8"), encoding="utf-8")
    study = tmp_path / "study.toml"
    study.write_text('[experiment]\nname = "twice"\nbase = "toy-threshold.toml"\n'
                     'variants = ["toy-threshold-sure.toml", "toy-threshold-half.toml"]\n'
                     'metrics = ["hq.current.in_time"]\ndays = 5\nseed = 3\nreplications = 2\n'
                     '[robustness]\nworlds = 4\n[robustness.verdicts]\n'
                     'toy-threshold-sure = "hq.in_time"\ntoy-threshold-half = "hq.in_time"\n', encoding="utf-8")
    s = Study.from_file(study)
    assert s.metrics == ["hq.current.in_time", "hq.in_time"]
    assert s.verdicts == {"toy-threshold-sure": "hq.in_time", "toy-threshold-half": "hq.in_time"}


def test_the_permutation_null_is_the_same_on_a_pool_of_processes():
    """The study spreads its permutation nulls over its pool (``Study.analysis_jobs``,
    ``execution.pool_map``): each shuffle is drawn in order first and its procedure is
    a pure function of its inputs, so the boxes, scores and null are those of the
    builtin ``map``, and every shuffle goes through the pool's map."""
    from reporting_sim.study.execution import pool_map
    from reporting_sim.study.robustness.discovery import discover

    rng = np.random.default_rng(5)
    n = 40
    worlds = pd.DataFrame({"cells.hq.analysts": rng.integers(1, 5, n), "links[scout->hq].p": rng.uniform(0, 1, n),
                           "kinds.attack.shelf_life_h": rng.uniform(10, 40, n)})
    gain = pd.Series(np.where(worlds["links[scout->hq].p"] < 0.4, -1.0, 1.0) + rng.normal(0, 0.2, n))
    serial = discover(worlds, gain, None, seed=2, density=0.9, max_boxes=1, permutations=6)
    calls = []
    with pool_map(2) as pooled:
        def counting(fn, items):
            items = list(items)
            calls.append(len(items))
            return pooled(fn, items)

        parallel = discover(worlds, gain, None, seed=2, density=0.9, max_boxes=1, permutations=6, map_=counting)
    assert calls == [6]
    assert serial == parallel
    assert serial[0] and serial[2]["null_box_max"] is not None  # a box was found and tested against the null
