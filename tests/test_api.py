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


# ------------------------------------------------------------------ arguments checked as the CLI checks them (hardening 3)

from reporting_sim.errors import ScenarioError  # noqa: E402


@pytest.mark.parametrize("kwargs,field,needle", [
    ({"days": float("inf")}, "days", "not a finite number"), ({"days": 1e9}, "days", "at most 36600"),
    ({"days": "5"}, "days", "not a number"), ({"days": 0}, "days", "more than 0"),
    ({"seed": 1.5}, "seed", "not a whole number"), ({"seed": "1"}, "seed", "not a whole number"),
    ({"seed": True}, "seed", "not a whole number"), ({"seed": -1}, "seed", "from 0 to"),
    ({"trace": "no"}, "trace", "not true or false"), ({"trace": 1}, "trace", "not true or false"),
    ({"warmup_days": 9, "days": 2}, "warmup_days", "less than the horizon"),
])
def test_h3_items3_18_simulate_checks_its_arguments_as_run_checks_its_options(kwargs, field, needle):
    """Item 3: ``simulate(days=inf)`` (or 1e9) never returned; item 18: ``seed=1.5`` ran
    as seed 1, ``seed='1'`` and ``days='5'`` were accepted, ``trace='no'`` traced. The
    API now refuses what ``reporting-sim run`` refuses, with the same words."""
    with pytest.raises(ScenarioError) as exc:
        rs.simulate("minusma-2015", **kwargs)
    line = exc.value.one_line()
    assert line.startswith(f"{field}: ") and needle in line and "\n" not in line, line
    value = kwargs.get(field)
    if field in ("days", "seed") and type(value) in (int, float):  # the CLI says the same of the same value
        from helpers import run_cli

        code, out, err = run_cli("run", "--no-save", f"--{field}", repr(value))
        assert code == 2 and err.strip() == f"error: --{field}: {exc.value.message}", err


@pytest.mark.parametrize("records", [None, {}, "minusma-2015", 3])
def test_h3_item10_summary_of_something_else_is_one_line(records):
    """Item 10: ``summary(None)`` (a dict, a string) gave AttributeError."""
    with pytest.raises(ScenarioError, match="records: .* is not a run's records"):
        rs.summary(records)


@pytest.mark.parametrize("kwargs,needle", [
    ({"replications": 0}, "replications: 0 is not a whole number from 2 to 100000"),
    ({"replications": 2.5}, "replications: 2.5 is not a whole number"),
    ({"metrics": "force_commander.in_time"}, "metrics: 'force_commander.in_time' is not a list of names"),
    ({"n_jobs": 0}, "n_jobs: 0 is not a whole number from 1"), ({"days": float("nan")}, "days: nan"),
    ({"seed": 2**62 + 1}, "seed:"), ({"folder": 3}, "folder:"),
])
def test_h3_item10_compare_checks_its_arguments(kwargs, needle):
    """Item 10: ``compare(replications=0)`` gave a raw pydantic ValidationError."""
    with pytest.raises(ScenarioError) as exc:
        rs.compare("minusma-2015", "minusma-2015", **kwargs)
    assert needle in exc.value.one_line(), exc.value.one_line()


def test_h3_item10_read_results_of_a_damaged_or_missing_folder_is_one_line(tmp_path):
    """Item 10: ``read_results()`` on a result.json holding NaN gave JSONDecodeError."""
    (tmp_path / "result.json").write_text('{"base": "a", "replications": NaN, "variants": {"a": {"metrics": {}}}}')
    with pytest.raises(ScenarioError, match="damaged"):
        rs.read_results(tmp_path)
    with pytest.raises(ScenarioError, match="no such results folder"):
        rs.read_results(tmp_path / "nowhere")
    for bad in (None, 3):
        with pytest.raises(ScenarioError, match="folder"):
            rs.read_results(bad)


def test_h3_the_api_and_the_cli_check_with_the_same_rules():
    """One rule per value (reporting_sim/arguments.py): the option types of the CLI are
    built from the same functions the API calls."""
    from reporting_sim import arguments
    from reporting_sim.cli import options

    assert options.SEED.rule is arguments.seed and options.DAYS.rule is arguments.days
    assert options.count(2).rule is arguments.count
