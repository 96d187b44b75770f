"""Hardening, second round (issue #13): each failure found by trying the package as an
attacker and a clumsy user would, kept as a regression test.

Each test names the item of the issue it covers. The scenarios are tiny and the
horizons a few days, so the whole file stays cheap; the CLI runs in process
(``CliRunner``) except where a real process is needed (signals, orphans).
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from reporting_sim import scenario
from reporting_sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args, cwd: Path | None = None):
    """Run the CLI in process; return (exit code, stdout, stderr)."""
    runner = CliRunner()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        res = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    finally:
        os.chdir(old)
    return res.exit_code, res.stdout, res.stderr


def assert_one_line_error(code, out, err, *needles):
    """Exit 2, one ``error:`` line on stderr naming each of ``needles``, no traceback."""
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err + out
    for n in needles:
        assert n in lines[0], (n, lines[0])


def write_toml(path: Path, data: dict) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------ generated large scenarios (item 1)

def large_scenario(n_sectors: int, per_sector: int, days: float = 2.0) -> dict:
    """A force of ``n_sectors`` sectors, each with a battalion, its commander, an S2
    cell and ``per_sector`` more commanders, reporting up to one force HQ; every cell and
    commander is a consumer. ``n_sectors * (per_sector + 3) + 2`` nodes in all."""
    data = {"scenario": {"name": "large", "days": days, "seed": 1},
            "kinds": {"threat": {"family": "current", "shelf_life_h": 24.0},
                      "trend": {"family": "long_term", "shelf_life_h": 500.0}},
            "sources": {}, "collectors": {}, "cells": {}, "commanders": {}, "links": []}
    data["cells"]["hq_g2"] = {"analysts": 4, "work_h": 0.5, "consumer": True}
    data["commanders"]["force_cdr"] = {"consumer": True}
    data["links"].append({"from": "hq_g2", "to": "force_cdr", "transit_h": 0.1})
    for s in range(n_sectors):
        data["sources"][f"src{s}"] = {"sector": f"s{s}", "rate_per_day": 0.5, "mix": {"threat": 0.7, "trend": 0.3}}
        data["collectors"][f"bn{s}"] = {"culture": "commander", "sectors": [f"s{s}"], "watch": "continuous",
                                        "p_observe": 0.6, "p_report": 0.8, "report_delay_h": 0.5}
        data["commanders"][f"cmd{s}"] = {"consumer": True}
        data["cells"][f"s2_{s}"] = {"analysts": 1, "work_h": {"dist": "exponential", "mean": 1.0}, "consumer": True}
        data["links"] += [{"from": f"bn{s}", "to": f"cmd{s}", "transit_h": 0.2},
                          {"from": f"cmd{s}", "to": f"s2_{s}", "transit_h": 0.2},
                          {"from": f"s2_{s}", "to": "hq_g2", "transit_h": 1.0}]
        for k in range(per_sector):
            data["commanders"][f"staff{s}_{k}"] = {"consumer": True}
            data["links"].append({"from": f"s2_{s}", "to": f"staff{s}_{k}", "transit_h": 0.5})
    return data


def test_item1_a_scenario_with_hundreds_of_consumers_runs_and_summarises(tmp_path):
    """Item 1: ten or more consumers wrapped an 8-bit category code; here 2,500 nodes,
    all but the battalions consumers, run and summarise with an outcome per pair."""
    data = large_scenario(n_sectors=60, per_sector=38)
    f = write_toml(tmp_path / "large.toml", data)
    code, out, err = invoke("run", f, "--days", "2", "--json", "--no-save")
    assert code == 0, err
    summary = json.loads(out)
    consumers = summary["consumers"]
    assert len(consumers) == 60 * 40 + 2  # past int16 codes too: (2401 * 2 + 1) * 7 > 32767
    for name, block in consumers.items():
        shares = [v for v in block["outcomes"].values() if v is not None]
        assert shares and abs(sum(shares) - 1) < 1e-9, name


def test_item1_minusma_with_a_tenth_consumer_runs(tmp_path):
    """Item 1 as reported: one more cell of minusma-2015 made a consumer."""
    text = scenario.builtin_text("minusma-2015").replace("[cells.g2_west]\n", "[cells.g2_west]\nconsumer = true\n", 1)
    f = tmp_path / "m10.toml"
    f.write_text(text, encoding="utf-8")
    code, out, err = invoke("run", f, "--days", "3", "--json", "--no-save")
    assert code == 0, err
    assert len(json.loads(out)["consumers"]) == 10
