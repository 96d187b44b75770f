"""Hardening 3 (issue #25) for the newer study commands: ``calibrate``, ``select`` and
``packages`` go through the one guarded path (``reporting_sim/study/guard.py``) and get
every protection ``compare``, ``experiment`` and ``robustness`` have, tried from
outside as a new user and an attacker would: the run limit before any work (select
ran any number of runs, and a small ``--delta`` never stopped), ``--out`` a file, a
foreign folder, a link or ``.``, a bad ``--dask`` (calibrate left its folder), clean
runs byte for byte (runs, result.json and run.json held timings), damaged stored runs
(rerun silently) and interruption, and worlds files (select and packages refused every
valid file with an integer setting).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import DATA, assert_one_line_error, run_cli
from helpers import out_file as _file, out_foreign as _foreign, out_link as _link  # an --out in the way
from reporting_sim.study import guard

TOY = str(DATA / "toy-threshold.toml")
SURE, HALF, SURE_COSTED = (str(DATA / f"toy-threshold-{n}.toml") for n in ("sure", "half", "sure-costed"))
CAL_TOY, PATTERNS = str(DATA / "toy-calibrate.toml"), str(DATA / "toy-calibrate-patterns.toml")
METRIC = "hq.current.in_time"
COMMON = ["--jobs", "1", "--no-progress", "--json"]
COMMANDS = {
    "select": ["select", TOY, SURE, HALF, "--metric", METRIC, "--delta", "0.05", "--days", "3", "--seed", "3",
               "--n0", "3"],
    "packages": ["packages", TOY, SURE_COSTED, HALF, "--budget", "10", "--metric", METRIC, "--worlds", "2", "-r", "2",
                 "--days", "3"],
    "calibrate": ["calibrate", CAL_TOY, "--patterns", PATTERNS, "--waves", "2", "--worlds", "6", "-r", "1",
                  "--days", "6", "--candidates", "30"],
}
NAMES = list(COMMANDS)


def cli(name: str, out, *more, cwd=None):
    return run_cli(*COMMANDS[name], *COMMON, *more, "--out", out, cwd=cwd)


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def identity(folder: Path) -> dict:
    """Every file of a study's folder but the session timings."""
    return {k: v for k, v in tree(folder).items() if k != guard.TIMINGS_FILE}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """One clean run of each command: name -> (folder, the --json it printed)."""
    root = tmp_path_factory.mktemp("hard-decisions")
    got = {}
    for name in NAMES:
        code, out, err = cli(name, root / name)
        assert code == 0, err
        got[name] = (root / name, json.loads(out))
    return got


# ------------------------------------------------------------------ the run limit

@pytest.mark.parametrize("name", NAMES)
def test_the_run_limit_refuses_at_once_in_one_line(tmp_path, monkeypatch, name):
    """``REPORTING_SIM_MAX_RUNS=1``: select and packages ran anyway (exit 0)."""
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "1")
    code, out, err = cli(name, tmp_path / "o")
    assert_one_line_error(code, out, err, name, "runs planned", "REPORTING_SIM_MAX_RUNS")
    assert not (tmp_path / "o").exists()


def test_select_is_bounded_by_max_replications(tmp_path, monkeypatch):
    """KN had no cap: with options closer than ``--delta`` can tell apart it never
    stopped. At the cap it takes the best mean and says the guarantee does not hold."""
    args = ["select", TOY, SURE, "--metric", METRIC, "--delta", "1e-9", "--days", "1", "--n0", "2",
            "--max-replications", "4", *COMMON]
    code, out, err = run_cli(*args, "--out", tmp_path / "s")
    assert code == 0, err
    r = json.loads(out)
    assert r["capped_in"] == 1 and r["max_replications"] == 4
    assert all(o["replications"] <= 4 for o in r["options"].values())
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "7")
    assert_one_line_error(*run_cli(*args, "--out", tmp_path / "t"), "--max-replications",
                          "2 options x up to 4 replications", "= 8 runs planned")


@pytest.mark.parametrize("name", ["select", "packages"])
def test_many_worlds_are_refused_before_any_is_drawn(tmp_path, monkeypatch, name):
    """``--worlds 100000`` drew every world and started running."""
    from reporting_sim.scenario.uncertainties import Space

    def no_drawing(*a, **k):
        raise AssertionError("worlds drawn before the run limit was checked")

    monkeypatch.setattr(Space, "worlds", no_drawing)
    args = [a if a != "2" else "100000" for a in COMMANDS[name]] if name == "packages" else \
        [*COMMANDS[name], "--worlds", "100000"]
    code, out, err = run_cli(*args, *COMMON, "--out", tmp_path / "o")
    assert_one_line_error(code, out, err, "--worlds", "100000 worlds", "REPORTING_SIM_MAX_RUNS")


# ------------------------------------------------------------------ the folder claim



@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("make,out,needle", [
    (_file, "o", "must be a folder"), (_foreign, "o", "not this"), (_link, "o", "symbolic link"),
    (lambda d: (d / "keep.txt").write_text("x"), ".", "not '.' or '..'"),
], ids=["file", "foreign", "symlink", "dot"])
def test_out_must_be_the_studys_own_folder(tmp_path, name, make, out, needle):
    make(tmp_path)
    before = tree(tmp_path)
    assert_one_line_error(*cli(name, out, cwd=tmp_path), "--out", needle)
    assert tree(tmp_path) == before and not (tmp_path / "results").exists()


@pytest.mark.slow
def test_a_bad_dask_address_leaves_nothing(tmp_path):
    """calibrate made its folder before it connected (select and packages connected
    first already; the guard now does it for all three). Slow: the connection waits
    10 s before it gives up."""
    assert_one_line_error(*cli("calibrate", tmp_path / "o", "--dask", "tcp://127.0.0.1:1"), "--dask", "cannot reach")
    assert not (tmp_path / "o").exists()


def test_another_design_is_refused_and_the_first_kept(clean, tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(clean["select"][0], folder)
    before = tree(folder)
    assert_one_line_error(*run_cli(*COMMANDS["select"], *COMMON, "--pcs", "0.9", "--out", folder),
                          "--out", "another selection study")
    assert_one_line_error(*cli("packages", folder), "--out", "another selection study")
    assert tree(folder) == before


# ------------------------------------------------------------------ identity, damage, interruption

@pytest.mark.parametrize("name", NAMES)
def test_two_clean_runs_write_the_same_bytes(clean, tmp_path, name):
    """Stored runs held their wall time, result.json and run.json the session's."""
    first, printed = clean[name]
    code, out, err = cli(name, tmp_path / "again")
    assert code == 0, err
    a, b = tree(first), tree(tmp_path / "again")
    assert set(a) == set(b) and any(k.startswith("runs/") for k in a)
    assert [k for k in a if a[k] != b[k]] == [guard.TIMINGS_FILE]
    assert "wall_time_s" in printed and "wall_time_s" not in json.loads(a["result.json"])


@pytest.mark.parametrize("name", NAMES)
def test_damaged_stored_runs_are_noted_and_run_again(clean, tmp_path, name):
    """A truncated, edited or linked runs/*.json was taken or rerun without a word."""
    folder = tmp_path / "s"
    shutil.copytree(clean[name][0], folder)
    expected = identity(folder)
    cut, edited, linked = sorted((folder / "runs").glob("*.json"))[:3]
    cut.write_text(cut.read_text("utf-8")[:40], encoding="utf-8")
    record = json.loads(edited.read_text("utf-8"))
    record["row"][next(k for k, v in record["row"].items() if isinstance(v, float))] = 0.123
    edited.write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "other.json").write_text(linked.read_text("utf-8"), encoding="utf-8")
    linked.unlink()
    linked.symlink_to(tmp_path / "other.json")
    code, out, err = cli(name, folder)
    assert code == 0, err
    assert all(p.name in err for p in (cut, edited, linked)) and err.count("running it again") == 3, err
    assert identity(folder) == expected and not linked.is_symlink()


@pytest.mark.parametrize("name", NAMES)
def test_an_interrupted_study_resumes_to_the_same_bytes(clean, tmp_path, monkeypatch, name):
    real = guard.execute

    def dies_after_two(jobs, on_result, **kw):
        real(list(jobs)[:2], on_result, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(guard, "execute", dies_after_two)
    code, _, _ = cli(name, tmp_path / "cut")
    assert code != 0 and len(list((tmp_path / "cut" / "runs").glob("*.json"))) == 2
    monkeypatch.setattr(guard, "execute", real)
    code, out, err = cli(name, tmp_path / "cut")
    assert code == 0, err
    assert identity(tmp_path / "cut") == identity(clean[name][0])
    sessions = [json.loads(x) for x in (tmp_path / "cut" / guard.TIMINGS_FILE).read_text().splitlines()]
    assert sessions[-1]["runs_reused"] == 2


# ------------------------------------------------------------------ worlds files

GOOD = {"world": [0, 1], "kinds.news.shelf_life_h": [2.0, 8.0], "sources.area.rate_per_day": [10.0, 12.0],
        "cells.hq.analysts": [1, 2]}
META = {b"reporting_sim": json.dumps({"scenario_digest": "x", "patterns_digest": "y", "seed": 1, "wave": 1,
                                      "version": "0"}).encode()}
DECIDE = {"select": ["select", TOY, SURE, "--metric", METRIC, "--delta", "0.05", "--days", "1", "--n0", "2",
                     "--max-replications", "3"],
          "packages": ["packages", TOY, SURE_COSTED, "--budget", "10", "--metric", METRIC, "-r", "1", "--days", "1"]}


def worlds_file(path: Path, **change) -> Path:
    cols = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    pq.write_table(pa.table(cols).replace_schema_metadata(META), path)
    return path


@pytest.mark.parametrize("name", list(DECIDE))
def test_a_valid_worlds_file_with_an_integer_setting_is_used(tmp_path, name):
    """Rows read as Series turned ``cells.hq.analysts`` 1 into 1.0: every valid file was refused."""
    path = worlds_file(tmp_path / "w.parquet")
    code, out, err = run_cli(*DECIDE[name], *COMMON, "--worlds-from", path, "--out", tmp_path / "o")
    assert code == 0, err
    r = json.loads(out)
    assert (r["worlds"]["count"] if name == "select" else r["worlds"]) == 2


@pytest.mark.parametrize("name", list(DECIDE))
@pytest.mark.parametrize("change,needle", [
    ({"cells.hq.analysts": None, "cells.hq.nope": [1, 2]}, "cells.hq.nope: unknown path"),
    ({"cells.hq.analysts": None}, "cells.hq.analysts: missing path"),
    ({"kinds.news.shelf_life_h": [float("nan"), 3.0]}, "kinds.news.shelf_life_h[world 0]"),
    ({"kinds.news.shelf_life_h": ["a", "b"]}, "'a' is not a number"),
    ({"cells.hq.analysts": [1.5, 2.0]}, "not a whole number"),
], ids=["unknown-column", "missing-column", "nan", "text", "fraction"])
def test_a_bad_worlds_file_is_one_line_before_any_run(tmp_path, name, change, needle):
    path = worlds_file(tmp_path / "w.parquet", **change)
    assert_one_line_error(*run_cli(*DECIDE[name], *COMMON, "--worlds-from", path, "--out", tmp_path / "o"),
                          "w.parquet", needle)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ one guarded path

def test_the_decision_commands_use_only_the_guard():
    """No second copy of the protections: the three commands' library code claims its
    folder, stores and runs its runs only through the guard."""
    root = Path(guard.__file__).parent
    for path in [root / "selection.py", root / "packages.py", root / "calibrate" / "runner.py"]:
        text = path.read_text("utf-8")
        for private in ("write_atomic(", "folder_lock(", "RunStore(", "execute(", "connect_dask(", "mkdir("):
            assert private not in text, (path.name, private)
        assert "guard.claim(" in text, path.name
    assert not (root / "decision_folder.py").exists()
