"""The Python API (docs/api.md): the example script runs, the functions do what they
say, and importing the package or asking for help loads no heavy library."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import reporting_sim as rs
from helpers import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
HEAVY = ("pandas", "matplotlib", "simpy", "scipy", "numpy", "pyarrow")


def test_example_script_runs():
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "api_example.py"), "15", "2"], env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("ok")
    assert "asifu-in-u2-branch: force_commander.current.in_time:" in r.stdout


def test_simulate_is_reproducible_and_read_results_reads_a_run(tmp_path):
    a = rs.simulate("minusma-2015", seed=4, days=8)
    b = rs.simulate(rs.load("minusma-2015"), seed=4, days=8)
    assert a.ledger.equals(b.ledger)
    from click.testing import CliRunner

    from reporting_sim.cli import cli

    r = CliRunner().invoke(cli, ["run", "--days", "8", "--seed", "4", "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    back = rs.read_results(tmp_path / "r")
    assert back.ledger["outcome"].astype(str).tolist() == a.ledger["outcome"].astype(str).tolist()
    assert set(rs.summary(a)["definitions"]) >= {"in_time", "late", "latency_p50"}


def test_load_reports_bad_input_as_one_line(tmp_path):
    from reporting_sim.errors import ScenarioError

    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 3\n")
    with pytest.raises(ScenarioError) as exc:
        rs.load(bad)
    assert "\n" not in exc.value.one_line()


@pytest.mark.parametrize("args", [["--help"], ["scenario", "list"],
                                  ["validate", str(ROOT / "reporting_sim" / "scenario" / "builtin" / "minusma-2015.toml")]])
def test_cheap_commands_load_no_heavy_library(args):
    code = ("import sys, runpy; sys.argv = ['reporting-sim'] + %r\n"
            "try:\n    runpy.run_module('reporting_sim', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in %r if m in sys.modules])" % (args, HEAVY))
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in r.stdout, r.stdout + r.stderr


def test_import_is_cheap():
    r = subprocess.run([sys.executable, "-c", "import sys, reporting_sim; print([m for m in %r if m in sys.modules])"
                        % (HEAVY + ("pydantic",),)], env=ENV, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
