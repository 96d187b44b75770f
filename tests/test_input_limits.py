"""Bounded input: nesting depth, line length, key parts, file size, names over 255
bytes and the number of runs a design plans are limited before any work is done, each
refused in one line naming the limit (and the environment variable that raises it);
NaN, infinite or huge sweep values are refused before running (issue #13, items 2, 3,
6, 7).
"""

from __future__ import annotations

import time

import pytest
import tomli_w

from helpers import SMALL_SCENARIO, assert_one_line_error, experiment_text, run_cli, small_files, write_toml
from reporting_sim import scenario

SMALL_TEXT = tomli_w.dumps(SMALL_SCENARIO)


# ------------------------------------------------------------------ deep nesting and bounded work (items 2, 3)

@pytest.mark.parametrize("text", [
    "x = " + "[" * 600 + "]" * 600 + "\n",
    "x = " + "{a = " * 600 + "1" + "}" * 600 + "\n",
    "[scenario]\nname = 'x'\n[kinds]\nthreat = " + "{a = [" * 200 + "]}" * 200 + "\n",
], ids=["arrays", "inline-tables", "mixed"])
@pytest.mark.parametrize("command", ["validate", "run", "experiment"])
def test_item2_deep_nesting_is_refused_in_one_line(text, command, tmp_path):
    """Item 2: 600 nested arrays (1.2 kB) gave RecursionError in the TOML parser."""
    f = tmp_path / "deep.toml"
    if command == "experiment":
        text = experiment_text() + "description = " + text.split("=", 1)[1]
    f.write_text(text, encoding="utf-8")
    code, out, err = run_cli(command, f, *(["--out", tmp_path / "o"] if command != "validate" else []))
    assert_one_line_error(code, out, err, "deep.toml", "REPORTING_SIM_MAX_DEPTH")
    assert not (tmp_path / "o").exists()


def test_item3_a_key_with_thousands_of_parts_is_refused_at_once(tmp_path):
    """Item 3: a key of 30,000 dotted parts took 47 s and 3.6 GB in the parser; keys
    of a few thousand parts on lines within the line limit are bounded too."""
    f = tmp_path / "key.toml"
    f.write_text(".".join(["a"] * 30000) + " = 1\n", encoding="utf-8")
    t0 = time.perf_counter()
    assert_one_line_error(*run_cli("validate", f), "key.toml", "REPORTING_SIM_MAX_LINE_CHARS")
    f.write_text(("\n".join(".".join(["a"] * 4000) + f"{i} = 1" for i in range(100))) + "\n", encoding="utf-8")
    assert_one_line_error(*run_cli("validate", f), "key.toml", "line 1", "REPORTING_SIM_MAX_KEY_PARTS")
    f.write_text("[" + ".".join(["t"] * 100) + "]\n", encoding="utf-8")
    assert_one_line_error(*run_cli("validate", f), "REPORTING_SIM_MAX_KEY_PARTS")
    assert time.perf_counter() - t0 < 10  # the old parser took minutes on the first alone


def test_item3_the_limits_leave_ordinary_files_alone(tmp_path):
    """Floats, dates, dotted keys of a few parts, strings holding brackets, dots and
    '=' (also multi-line ones) do not count against the limits."""
    from reporting_sim.scenario.limits import check_toml_text

    check_toml_text(scenario.builtin_text("minusma-2015"), "minusma")
    text = ('a.b.c = 1.5\nd = 1979-05-27T07:32:00.999\ne = "[[[[ a.b.c.d.e.f = {{{{"\n'
            "f = '''\n" + "x." * 5000 + "\n'''\n" + 'g = [1.1, 2.2,\n 3.3]\nh = { i.j = 1, k = [1.0, {l = 2}] }\n')
    check_toml_text(text, "ok")
    assert scenario.read_toml_text(text, "ok")["h"]["k"][1] == {"l": 2}


def test_item3_a_big_file_is_refused_and_the_limit_can_be_raised(tmp_path, monkeypatch):
    """Item 3: a 16 MiB file of a million keys took 109 s; files are now bounded at
    1 MiB by default (the built-in scenario is about 60 kB), raised by an environment
    variable."""
    f = tmp_path / "many.toml"
    f.write_text(SMALL_TEXT + "".join(f"# {i}\n" for i in range(200000)), encoding="utf-8")
    assert_one_line_error(*run_cli("validate", f), "many.toml", "REPORTING_SIM_MAX_FILE_BYTES")
    monkeypatch.setenv("REPORTING_SIM_MAX_FILE_BYTES", str(4 * 2**20))
    code, out, err = run_cli("validate", f)
    assert code == 0, err


def grid_text(n_params: int, n_values: int) -> str:
    text = experiment_text('[sweep]\nmethod = "grid"\nmetric = "force_cdr.in_time"\n')
    for i in range(n_params):
        text += f'[sweep.parameters."cells.s2_{i % 2}.analysts"]\nvalues = {list(range(1, n_values + 1))}\n' if i < 2 \
            else f'[sweep.parameters."kinds.threat.shelf_life_h"]\nvalues = {[float(v) for v in range(1, n_values + 1)]}\n'
    return text


@pytest.mark.parametrize("sweep", [
    grid_text(2, 60) + '[sweep.parameters."commanders.force_cdr.dedupe"]\nvalues = ' + "[true, false]" + "\n"
    '[sweep.parameters."cells.hq_g2.analysts"]\nvalues = ' + str(list(range(1, 60))) + "\n",
    experiment_text('[sweep]\nmethod = "sobol"\nsamples = 100000\nmetric = "force_cdr.in_time"\n'
                    '[sweep.parameters."cells.hq_g2.analysts"]\nlow = 1\nhigh = 5\n'),
    experiment_text('[experiment.target]\nmetric = "force_cdr.in_time"\nhalf_width = 0.01\nmax_replications = 100000\n'
                    ).replace('replications = 2\n', 'replications = 2\nvariants = ["v.toml"]\n'),
], ids=["grid", "sobol", "target"])
def test_item3_a_design_too_big_to_run_is_refused_before_expanding(sweep, tmp_path):
    """Item 3: a 2 kB grid of 7.8e8 points exhausted memory; sobol with 100,000 samples
    ran away. The planned runs are counted before anything is built or run."""
    write_toml(tmp_path / "small.toml", SMALL_SCENARIO)
    (tmp_path / "v.toml").write_text('[variant]\nname = "v"\nbase = "small.toml"\n', encoding="utf-8")
    f = tmp_path / "big.toml"
    f.write_text(sweep, encoding="utf-8")
    t0 = time.perf_counter()
    assert_one_line_error(*run_cli("experiment", f, "--out", tmp_path / "o", "--jobs", "1"),
                          "big.toml", "REPORTING_SIM_MAX_RUNS")
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "o").exists()


def test_item3_compare_counts_its_runs_before_running(tmp_path):
    code, out, err = run_cli("compare", "minusma-2015", "minusma-2015", "--replications", "60000",
                             "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "--replications", "REPORTING_SIM_MAX_RUNS")


# ------------------------------------------------------------------ NaN, infinity, huge (item 6)

@pytest.mark.parametrize("param", [
    'values = [nan]', 'values = [inf]', 'values = [1, -inf]', 'values = [[1, 2]]', 'values = [1e300]',
    'low = -1e308\nhigh = 1e308', 'low = 1\nhigh = inf', 'low = nan\nhigh = 2',
])
def test_item6_sweeps_over_nan_inf_or_huge_values_are_refused_before_running(param, tmp_path):
    """Item 6: sweep ``values = [nan]`` or ``[inf]``, or lhs bounds of +-1e308 on an
    integer parameter, gave ValueError or OverflowError."""
    write_toml(tmp_path / "small.toml", SMALL_SCENARIO)
    method = "grid" if param.startswith("values") else "lhs"
    f = tmp_path / "nan.toml"
    f.write_text(experiment_text(f'[sweep]\nmethod = "{method}"\nsamples = 2\nmetric = "force_cdr.in_time"\n'
                                 f'[sweep.parameters."cells.hq_g2.analysts"]\n{param}\n'), encoding="utf-8")
    code, out, err = run_cli("experiment", f, "--out", tmp_path / "o", "--jobs", "1")
    assert_one_line_error(code, out, err, "nan.toml", "sweep.parameters")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ names too long (item 7)

LONG = "x" * 300


@pytest.mark.parametrize("args", [
    ["validate", f"{LONG}.toml"], ["run", LONG], ["run", "--out", f"{LONG}/o"], ["run", "--out", LONG],
    ["compare", "small.toml", "v.toml", "--out", LONG], ["trace", "--out", LONG],
    ["validate", "vlong.toml"],
])
def test_item7_a_path_part_over_255_bytes_is_an_error_not_a_traceback(args, tmp_path):
    small_files(tmp_path)
    (tmp_path / "v.toml").write_text('[variant]\nname = "v"\nbase = "small.toml"\n', encoding="utf-8")
    (tmp_path / "vlong.toml").write_text(f'[variant]\nname = "v"\nbase = "{LONG}.toml"\n', encoding="utf-8")
    code, out, err = run_cli(*args, "--days", "1", cwd=tmp_path) if args[0] in ("run", "compare", "trace") \
        else run_cli(*args, cwd=tmp_path)
    assert_one_line_error(code, out, err)
    assert "255" in err or "too long" in err, err


# ------------------------------------------------------------------ the limit variables themselves (hardening 3, items 9, 19)

@pytest.mark.parametrize("value", ["-1", "abc", "1e999", "", "0", "1.5", "nan", "99999999999999999999999", "1_000"])
@pytest.mark.parametrize("name", ["REPORTING_SIM_MAX_RUNS", "REPORTING_SIM_MAX_FILE_BYTES", "REPORTING_SIM_MAX_DEPTH"])
def test_h3_item19_a_limit_variable_that_is_not_a_whole_number_in_range_is_named(name, value, monkeypatch):
    """Item 19: -1, abc, 1e999, an empty value, 0, 1.5 or nan silently meant the
    default; item 9: a huge REPORTING_SIM_MAX_FILE_BYTES gave OverflowError. Every
    command, whatever limits it uses, refuses a bad one in one line naming it."""
    monkeypatch.setenv(name, value)
    assert_one_line_error(*run_cli("validate", "minusma-2015"), name, "not a whole number from 1 to")


def test_h3_item9_the_depth_limit_cannot_be_raised_past_the_stack(tmp_path, monkeypatch):
    """Item 9: REPORTING_SIM_MAX_DEPTH=100000 let 3,000 nested arrays through to the
    parser: RecursionError. A limit is bounded by its maximum (DEPTH: 100)."""
    from reporting_sim.scenario import limits

    monkeypatch.setenv("REPORTING_SIM_MAX_DEPTH", "100000")
    f = tmp_path / "deep.toml"
    f.write_text("x = " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    assert_one_line_error(*run_cli("validate", f), "REPORTING_SIM_MAX_DEPTH", f"1 to {limits.MAXIMA['DEPTH']}")
    monkeypatch.setenv("REPORTING_SIM_MAX_DEPTH", str(limits.MAXIMA["DEPTH"]))
    assert_one_line_error(*run_cli("validate", f), "deep.toml", "REPORTING_SIM_MAX_DEPTH")
    f.write_text("x = " + "[" * 99 + "]" * 99 + "\n", encoding="utf-8")  # at the maximum, the parser copes
    scenario.read_file(f)


def test_h3_a_limit_variable_of_no_limit_is_named_and_a_good_one_is_read(monkeypatch):
    from reporting_sim.scenario import limits

    monkeypatch.setenv("REPORTING_SIM_MAX_RUN", "5")  # a typo would otherwise do nothing, silently
    assert_one_line_error(*run_cli("validate", "minusma-2015"), "REPORTING_SIM_MAX_RUN", "not a limit")
    monkeypatch.delenv("REPORTING_SIM_MAX_RUN")
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", " 7 ")
    assert limits.limit("RUNS") == 7 and limits.settings()["DEPTH"] == limits.DEFAULTS["DEPTH"]
    import reporting_sim as rs

    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "x")
    with pytest.raises(scenario.ScenarioError, match="REPORTING_SIM_MAX_RUNS"):
        rs.load("minusma-2015")  # the API checks them as every command does
