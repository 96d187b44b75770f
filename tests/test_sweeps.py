"""Sweeps: grid, Latin hypercube, Morris and Sobol designs set what they say, parameter
paths address links and refuse unknown ones, the shipped sensitivity experiment ranks
the shelf life first, and a sweep over a switch (a category) is ranked by its
correlation ratio (issue #13, item 5).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import ROOT, SMALL_SCENARIO, experiment_text, run_cli, write, write_toml
from reporting_sim.cli import cli
from reporting_sim.study.experiment import Experiment, set_param


# ------------------------------------------------------------------ designs

def sweep_file(tmp_path, method, params, samples=4, reps=1, days=20) -> Path:
    lines = [f"""
[experiment]
name = "sw-{method}"
base = "minusma-2015"
metrics = ["force_commander.current.in_time", "cell.u2.mean_wait_h"]
days = {days}
seed = 3
replications = {reps}
[sweep]
method = "{method}"
samples = {samples}
metric = "force_commander.current.in_time"
"""]
    for name, body in params.items():
        lines.append(f'[sweep.parameters."{name}"]\n{body}\n')
    return write(tmp_path / f"{method}.toml", "\n".join(lines))


def test_grid_sweep_sets_every_combination(tmp_path):
    f = sweep_file(tmp_path, "grid", {"cells.u2.analysts": "values = [1, 3]",
                                      "links[soltg->asifu].p": "values = [0.0, 1.0]"})
    exp = Experiment.from_file(f)
    combos = {(m.scenario.cells["u2"].analysts,
               next(link.p for link in m.scenario.links if link.src == "soltg" and link.to == "asifu"))
              for m in exp.members}
    assert combos == {(1, 0.0), (1, 1.0), (3, 0.0), (3, 1.0)}
    res = exp.run(tmp_path / "o", n_jobs=1)
    assert len(res["variants"]) == 4 and res["sweep"]["points"] == 4
    assert set(res["sweep"]["ranking"]) == {"cells.u2.analysts", "links[soltg->asifu].p"}
    # fewer analysts, longer waits in U2's inbox: the grid shows it
    w = {tuple(b["parameters"].values()): b["metrics"]["cell.u2.mean_wait_h"]["mean"] for b in res["variants"].values()}
    assert w[(1, 0.0)] > w[(3, 0.0)]


def test_lhs_morris_and_sobol_designs(tmp_path):
    params = {"cells.u2.analysts": "low = 1\nhigh = 6", "kinds.attack.shelf_life_h": "low = 2\nhigh = 24"}
    lhs = Experiment.from_file(sweep_file(tmp_path, "lhs", params, samples=5))
    assert len(lhs.members) == 5
    analysts = sorted(m.scenario.cells["u2"].analysts for m in lhs.members)
    assert all(isinstance(a, int) and 1 <= a <= 6 for a in analysts)  # an integer parameter stays integer
    shelf = sorted(m.scenario.kinds["attack"].shelf_life_h for m in lhs.members)
    # a Latin hypercube puts one point in each fifth of the range
    assert [int((s - 2) / (22 / 5)) for s in shelf] == [0, 1, 2, 3, 4]
    morris = Experiment.from_file(sweep_file(tmp_path, "morris", params, samples=3))
    assert len(morris.members) == 3 * (2 + 1)
    res = morris.run(None, n_jobs=1)
    assert set(res["sweep"]["indices"]["kinds.attack.shelf_life_h"]) >= {"mu_star", "sigma"}
    sobol = Experiment.from_file(sweep_file(tmp_path, "sobol", params, samples=4))
    assert len(sobol.members) == 4 * (2 + 2)
    res = sobol.run(None, n_jobs=1)
    assert set(res["sweep"]["indices"]["cells.u2.analysts"]) == {"S1", "ST", "ST_conf"}


@pytest.mark.slow
def test_the_shipped_sensitivity_experiment_ranks_shelf_life_first(tmp_path):
    """The Force Commander acts at a daily briefing, so whether current intelligence
    is still fresh by then (its shelf life) must dominate his timeliness."""
    res = CliRunner().invoke(cli, ["experiment", str(ROOT / "experiments" / "sensitivity-fc-timeliness.toml"),
                                   "--out", str(tmp_path / "s"), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["sweep"]["ranking"][0] == "kinds.armed_group_movement.shelf_life_h"


def test_set_param_addresses_links_and_refuses_unknown_paths():
    data = {"links": [{"from": "a", "to": "b", "p": 0.5}, {"from": "a", "to": "c", "p": 0.5}],
            "cells": {"u2": {"analysts": 3}}}
    set_param(data, "links[a->b].p", 0.9, "t")
    assert data["links"][0]["p"] == 0.9 and data["links"][1]["p"] == 0.5
    from reporting_sim.errors import ScenarioError

    with pytest.raises(ScenarioError, match="no link"):
        set_param(data, "links[b->a].p", 0.9, "t")
    with pytest.raises(ScenarioError, match="u3"):
        set_param(data, "cells.u3.analysts", 1, "t")


# ------------------------------------------------------------------ sweeps over switches and strings (issue #13, item 5)

def with_switch(data: dict) -> dict:
    """The small scenario with a switch choosing whether the S2 cells report to HQ."""
    data = copy.deepcopy(data)
    data["switches"] = {"s2_to_hq": {"value": "yes", "choices": ["yes", "no"]}}
    for link in data["links"]:
        if link["to"] == "hq_g2":
            link["when"] = {"s2_to_hq": "yes"}
    return data


def test_item5_a_grid_over_a_switch_ranks_it_by_its_categorical_effect(tmp_path):
    """Item 5: a grid over ``switches.X.value`` crashed after every run (could not
    convert string to float), and again on rerun. A setting that cuts the HQ off from
    its reports must come out with a large effect (eta), the numeric one alongside."""
    data = with_switch(SMALL_SCENARIO)
    data["sources"] = {k: {**v, "rate_per_day": 6.0} for k, v in data["sources"].items()}
    write_toml(tmp_path / "small.toml", data)
    f = tmp_path / "sw.toml"
    f.write_text(experiment_text('[sweep]\nmethod = "grid"\nmetric = "hq_g2.in_time"\n'
                                 '[sweep.parameters."switches.s2_to_hq.value"]\nvalues = ["yes", "no"]\n'
                                 '[sweep.parameters."cells.hq_g2.analysts"]\nvalues = [1, 2]\n')
                 .replace('metrics = ["force_cdr.in_time"]', 'metrics = ["hq_g2.in_time"]'), encoding="utf-8")
    for attempt in range(2):  # the rerun reads the stored runs
        code, out, err = run_cli("experiment", f, "--out", tmp_path / "o", "--jobs", "1", "--json")
        assert code == 0, err
        sweep = json.loads(out)["sweep"]
        eta = sweep["indices"]["switches.s2_to_hq.value"]["correlation_ratio"]
        assert eta > 0.9, sweep
        assert sweep["ranking"][0] == "switches.s2_to_hq.value"
        assert "spearman_rho" in sweep["indices"]["cells.hq_g2.analysts"]


def test_correlation_ratio_is_zero_without_an_effect_and_one_when_the_setting_decides():
    import numpy as np

    from reporting_sim.study.experiment import correlation_ratio

    assert correlation_ratio(["a", "b", "a", "b"], np.array([1.0, 1.0, 2.0, 2.0])) == 0
    assert correlation_ratio(["a", "b", "a", "b"], np.array([1.0, 2.0, 1.0, 2.0])) == pytest.approx(1)
    assert math.isnan(correlation_ratio(["a", "a"], np.array([1.0, 2.0])))
