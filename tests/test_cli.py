"""The ``reporting-sim`` command end to end: in process with ``click.testing.CliRunner``
and as the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from helpers import invoke
from reporting_sim import scenario
from reporting_sim.model import simulate
from reporting_sim.metric_names import OUTCOMES

SCRIPT = Path(sys.executable).with_name("reporting-sim")
RESULT_FILES = {"scenario.toml", "run.json", "summary.json", "summary.txt", "ledger.parquet",
                "events.parquet", "cells.csv", "reports.csv"}


def script(*args, cwd=None, timeout=120):
    assert SCRIPT.exists(), f"console script not installed at {SCRIPT}"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# ------------------------------------------------------------------ a full run

@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "res"
    proc = script("run", "--days", "30", "--seed", "1", "--json", "--out", out)
    return proc, out


def test_run_json_prints_one_json_object(json_run):
    proc, _ = json_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    text = proc.stdout.strip()
    assert text.count("\n") == 0, "--json prints one line, nothing else"
    s = json.loads(text)
    assert isinstance(s, dict)
    assert {"scenario", "seed", "days", "events", "bypass_rate", "consumers"} <= set(s)
    assert s["scenario"] == "minusma-2015" and s["seed"] == 1 and s["days"] == 30
    assert s["events"] > 100
    assert 0 <= s["bypass_rate"] <= 1
    assert {"force_commander", "u2"} <= set(s["consumers"])
    assert set(s["consumers"]) == set(scenario.load("minusma-2015").consumers)
    for name, block in s["consumers"].items():
        assert set(block["outcomes"]) == set(OUTCOMES)
        assert sum(block["outcomes"].values()) == pytest.approx(1.0, abs=1e-9), name
        assert set(block["latency_h"]) >= {"p50", "p90"}
    for name in ("force_commander", "u2"):
        lat = s["consumers"][name]["latency_h"]
        assert 0 < lat["p50"] <= lat["p90"]


# the ``--json`` contract that docs/output.md ("The JSON of `run --json`") promises
JSON_KEYS = {"scenario", "seed", "days", "events", "bypass_rate", "planning_horizon_h", "consumers", "cells",
             "reports", "duplication", "collectors", "pools"}
CONSUMER_KEYS = {"events", "area_of_interest", "outcomes", "latency_h", "act_latency_h", "fidelity",
                 "fidelity_arrived", "by_family"}


def test_run_json_holds_every_key_the_docs_promise(json_run):
    """The ``--json`` contract of docs/output.md (moved there from the README), key by
    key: the top level, each consumer's block and its two families; every block's
    outcome shares sum to 1, or are all null when no event of that family is in the
    consumer's area of interest."""
    s = json.loads(json_run[0].stdout)
    assert JSON_KEYS <= set(s)
    empty = 0
    for name, c in s["consumers"].items():
        assert CONSUMER_KEYS <= set(c), name
        assert set(c["by_family"]) == {"current", "long_term"}
        assert "within_planning" in c["by_family"]["long_term"], name
        for where, block in [("all", c), *c["by_family"].items()]:
            assert set(block["outcomes"]) == set(OUTCOMES), (name, where)
            assert set(block["act_latency_h"]) >= {"p50", "p90"}, (name, where)
            if block["events"]:
                assert sum(block["outcomes"].values()) == pytest.approx(1.0, abs=1e-9), (name, where)
            else:
                empty += 1
                assert all(v is None for v in block["outcomes"].values()), (name, where)
    assert empty < 2 * len(s["consumers"]), "almost every family block was empty: the check would be idle"


def test_the_output_page_names_every_key_of_the_json_contract():
    """docs/output.md documents each key the test above checks (and the families)."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "output.md").read_text("utf-8")
    section = page.split("## The JSON of `run --json`", 1)[1].split("\n## ", 1)[0]
    for key in sorted(JSON_KEYS | CONSUMER_KEYS | {"current", "long_term", "within_planning", "p50", "p90"}):
        assert f"`{key}`" in section or f'"{key}"' in section, key


def test_run_writes_a_complete_results_folder(json_run):
    proc, out = json_run
    assert proc.returncode == 0, proc.stderr
    assert out.is_dir()
    assert RESULT_FILES <= {p.name for p in out.iterdir()}
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".partial")]
    printed = json.loads(proc.stdout)
    assert json.loads((out / "summary.json").read_text("utf-8")) == printed
    info = json.loads((out / "run.json").read_text("utf-8"))
    assert info["seed"] == 1 and info["days"] == 30 and info["scenario"] == "minusma-2015"
    # the resolved scenario reads back to the same scenario
    again = scenario.parse(tomllib.loads((out / "scenario.toml").read_text("utf-8")), "scenario.toml")
    # (one world of it: the ranges of its assumptions, [uncertainties], stay in the source)
    assert again.model_dump(exclude={"uncertainties"}) == scenario.load("minusma-2015").model_dump(
        exclude={"uncertainties"})
    # the ledger reads back, and is the ledger of the same run made here
    ledger = pd.read_parquet(out / "ledger.parquet")
    assert len(ledger) == printed["events"] * len(printed["consumers"])
    expected = simulate(scenario.load("minusma-2015"), 1, 30).ledger
    pd.testing.assert_frame_equal(ledger, expected)
    # the printed bypass rate follows from the stored ledger: of the current events the
    # Force Commander heard of, those he heard first from a commander strictly before
    # any report of them reached U2
    fc = ledger[(ledger["consumer"] == "force_commander") & (ledger["family"] == "current")].set_index("event_id")
    u2 = ledger[ledger["consumer"] == "u2"].set_index("event_id")["reached_h"]
    heard = fc[fc["arrival_h"].notna()]
    chain = set(scenario.load("minusma-2015").commanders)
    first = heard["via"].isin(chain) & (u2.reindex(heard.index).isna()
                                        | (heard["arrival_h"] < u2.reindex(heard.index)))
    assert printed["bypass_rate"] == pytest.approx(first.mean(), abs=1e-12)
    assert 0 < printed["bypass_rate"] < 1
    events = pd.read_parquet(out / "events.parquet")
    assert len(events) == printed["events"]
    reports = pd.read_csv(out / "reports.csv")
    assert reports["count"].sum() == printed["reports"]["created"]
    cells = pd.read_csv(out / "cells.csv")
    assert set(cells["cell"]) == set(scenario.load("minusma-2015").cells)


def test_run_in_process_matches_console_script(json_run, tmp_path):
    proc, _ = json_run
    res = invoke("run", "--days", "30", "--seed", "1", "--json", "--no-save")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == json.loads(proc.stdout)
    assert res.stderr == ""


def test_run_table_output_and_trace(tmp_path):
    out = tmp_path / "traced"
    res = invoke("run", "--days", "5", "--seed", "3", "--trace", "--out", out)
    assert res.exit_code == 0, res.output
    assert "scenario minusma-2015" in res.stdout and "bypass rate" in res.stdout
    assert str(out) in res.stdout
    trace = pd.read_parquet(out / "trace.parquet")
    assert len(trace) > 0 and (trace["step"] == "end").sum() == trace["report"].nunique()


def test_run_refuses_existing_nonempty_out_folder(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for res in (invoke("run", "--days", "2", "--seed", "1", "--out", out),
                invoke("run", "--days", "2", "--seed", "1", "--json", "--out", out)):
        assert res.exit_code == 2
        line = one_error_line(res.stderr)
        assert str(out) in line and "--out" in line
        assert res.stdout == ""
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine"
    proc = script("run", "--days", "2", "--seed", "1", "--out", out)
    assert proc.returncode == 2
    one_error_line(proc.stderr)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_run_into_existing_empty_folder_is_fine(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    res = invoke("run", "--days", "2", "--seed", "1", "--json", "--out", out)
    assert res.exit_code == 0, res.output
    assert RESULT_FILES <= {p.name for p in out.iterdir()}


def test_run_with_a_horizon_too_short_for_any_event(tmp_path):
    """A run in which no event happens is a valid (if dull) run, not a crash."""
    res = invoke("run", "--days", "0.001", "--seed", "1", "--json", "--out", tmp_path / "short")
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["events"] == 0


# ------------------------------------------------------------------ scenarios

def test_scenario_list():
    res = invoke("scenario", "list")
    assert res.exit_code == 0
    names = [ln.split()[0] for ln in res.stdout.splitlines() if ln.strip()]
    assert "minusma-2015" in names
    assert names == scenario.builtin_names()


@pytest.mark.parametrize("resolved", [False, True])
def test_scenario_show_parses_to_the_same_scenario(resolved, tmp_path):
    args = ["scenario", "show", "minusma-2015"] + (["--resolved"] if resolved else [])
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    shown = scenario.parse(tomllib.loads(res.stdout), "shown")
    if resolved:  # one world, every default written out: the ranges of [uncertainties] stay in the source
        assert shown.model_dump(exclude={"uncertainties"}) == scenario.load("minusma-2015").model_dump(
            exclude={"uncertainties"})
        return
    assert shown == scenario.load("minusma-2015")
    # and the printed text is a scenario file the tools accept
    f = tmp_path / "copy.toml"
    f.write_text(res.stdout, encoding="utf-8")
    assert scenario.load(f) == scenario.load("minusma-2015")
    ok = invoke("validate", f)
    assert ok.exit_code == 0 and ok.stdout.startswith(f"ok: {f}")


def test_scenario_show_unknown_name():
    res = invoke("scenario", "show", "no-such-scenario")
    assert res.exit_code == 2
    line = one_error_line(res.stderr)
    assert "no-such-scenario" in line and "minusma-2015" in line


def test_validate_builtin():
    res = invoke("validate", "minusma-2015")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("ok: minusma-2015: scenario 'minusma-2015'")
    assert res.stderr == ""
    proc = script("validate", "minusma-2015")
    assert proc.returncode == 0 and proc.stdout.startswith("ok: minusma-2015")


def test_scenario_list_console_script():
    proc = script("scenario", "list")
    assert proc.returncode == 0
    assert any(ln.split()[0] == "minusma-2015" for ln in proc.stdout.splitlines() if ln.strip())


# ------------------------------------------------------------------ bad scenario files

GOOD = """\
[scenario]
name = "mini"
description = "a small valid scenario"
days = 2

[kinds.k]
family = "current"
shelf_life_h = 12

[sources.s]
sector = "x"
rate_per_day = 5
mix = { k = 1.0 }

[collectors.c]
culture = "branch"
sectors = ["x"]
watch = "continuous"
p_observe = 0.5
p_report = 1.0
report_delay_h = 0.5

[cells.cell]
analysts = 2
work_h = 1.0

[commanders.top]
consumer = true

[[links]]
from = "c"
to = "cell"

[[links]]
from = "cell"
to = "top"
p = 0.8
"""


def _sub(old, new):
    assert old in GOOD
    return GOOD.replace(old, new, 1).encode("utf-8")


# name: (file content as bytes, fields that the one error line must name)
BAD = {
    "not_toml": (b"[scenario\nname = 'x'\n", ["file"]),
    "unknown_key": (_sub("days = 2\n", 'days = 2\ncolour = "red"\n'), ["scenario.colour"]),
    "wrong_type": (_sub("analysts = 2", 'analysts = "five"'), ["cells.cell.analysts"]),
    "negative_analysts": (_sub("analysts = 2", "analysts = -1"), ["cells.cell.analysts"]),
    "unknown_unit": (_sub('to = "top"', 'to = "nobody"'), ["links[1].to", "nobody"]),
    "p_over_one": (_sub("p = 0.8", "p = 1.5"), ["links[1].p"]),
    "p_observe_over_one": (_sub("p_observe = 0.5", "p_observe = 1.2"), ["collectors.c.p_observe"]),
    "missing_field": (_sub("p_observe = 0.5\n", ""), ["collectors.c.p_observe"]),
    "mix_not_one": (_sub("mix = { k = 1.0 }", "mix = { k = 0.7 }"), ["sources.s", "mix"]),
    "latin1": (_sub('"a small valid scenario"', '"Caf\u00e9 \u00e0 Gao"').decode("utf-8").encode("latin-1"),
               ["file"]),
}


@pytest.fixture
def good_file(tmp_path):
    f = tmp_path / "good.toml"
    f.write_bytes(GOOD.encode("utf-8"))
    return f


def test_the_good_file_is_good(good_file, tmp_path):
    res = invoke("validate", good_file)
    assert res.exit_code == 0, res.output
    res = invoke("run", good_file, "--seed", "1", "--json", "--out", tmp_path / "ok")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["scenario"] == "mini"


@pytest.fixture(params=sorted(BAD))
def bad_file(request, tmp_path):
    content, fields = BAD[request.param]
    f = tmp_path / f"{request.param}.toml"
    f.write_bytes(content)
    return f, fields


def check_bad_line(line, path, fields):
    assert line.startswith(f"error: {path}: "), line
    for field in fields:
        assert field in line, f"{field!r} not named in: {line}"


def test_validate_bad_file(bad_file):
    f, fields = bad_file
    res = invoke("validate", f)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)
    check_bad_line(one_error_line(res.stderr), f, fields)
    assert res.stdout == ""


def test_run_bad_file_writes_nothing(bad_file, tmp_path):
    f, fields = bad_file
    out = tmp_path / "results-here"
    res = invoke("run", f, "--days", "2", "--seed", "1", "--json", "--out", out)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)
    check_bad_line(one_error_line(res.stderr), f, fields)
    assert res.stdout == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f.name]


def test_console_script_bad_files(tmp_path):
    """All the bad files at once through the installed command: one line each, exit 2,
    never a traceback; ``run`` writes no results folder (not even the default one)."""
    paths = {}
    for name, (content, fields) in BAD.items():
        p = tmp_path / f"{name}.toml"
        p.write_bytes(content)
        paths[name] = (p, fields)
    good = tmp_path / "good.toml"
    good.write_bytes(GOOD.encode("utf-8"))
    proc = script("validate", good, *[p for p, _ in paths.values()], cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == len(BAD)
    for line, (p, fields) in zip(lines, paths.values()):
        check_bad_line(line, p, fields)
    assert proc.stdout.strip() == f"ok: {good}: scenario 'mini', 3 nodes, 2 links, 1 consumers"
    for name in ("wrong_type", "latin1", "not_toml"):
        p, fields = paths[name]
        proc = script("run", p, "--days", "2", cwd=tmp_path)
        assert proc.returncode == 2
        check_bad_line(one_error_line(proc.stderr), p, fields)
        assert proc.stdout == ""
    assert not (tmp_path / "results").exists()


def test_missing_file_and_folder(tmp_path):
    for target, what in ((tmp_path / "nope.toml", "no such file"), (tmp_path, "folder")):
        res = invoke("validate", target)
        assert res.exit_code == 2
        line = one_error_line(res.stderr)
        assert str(target) in line and what in line


# ------------------------------------------------------------------ installability

def _normalise(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_a_declared_dependency():
    """A fresh ``pip install .`` (as .ci/run does) must bring every third-party module the
    package imports, or the command fails at run time (e.g. writing scenario.toml)."""
    import ast
    import configparser
    import re
    from importlib import metadata

    root = Path(__file__).resolve().parents[1]
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg")
    declared = {_normalise(re.split(r"[ ;<>=!~\[]", line.strip())[0])
                for line in cfg["options"]["install_requires"].splitlines() if line.strip()}
    # optional features (e.g. --dask) may import from a declared extra, other than "test"
    extras = cfg["options.extras_require"]
    declared |= {_normalise(re.split(r"[ ;<>=!~\[]", line.strip())[0])
                 for name in extras if name != "test" for line in extras[name].splitlines() if line.strip()}
    imported = set()
    for path in (root / "reporting_sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = sorted(m for m in imported
                         if m not in sys.stdlib_module_names and m != "reporting_sim")
    dists = metadata.packages_distributions()
    missing = [m for m in third_party
               if not any(_normalise(d) in declared for d in dists.get(m, [m]))]
    assert not missing, f"imported but not in setup.cfg install_requires: {missing}"


# ------------------------------------------------------------------ one BLAS thread

def _child(code: str, **env_changes) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, check=True).stdout.strip()


def test_the_command_asks_for_one_blas_thread_before_numpy_is_imported_unless_told_otherwise():
    code = ("import os, sys, reporting_sim.cli as cli; print('numpy' in sys.modules); "
            "sys.argv = ['reporting-sim', '--version']\n"
            "try: cli.main()\nexcept SystemExit: pass\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    assert _child(code).splitlines()[::2] == ["False", "1"]  # numpy not yet imported: the setting counts
    assert _child(code, OPENBLAS_NUM_THREADS="3").splitlines()[::2] == ["False", "3"]  # the user's own setting kept
