"""Reproducibility of results files, byte for byte.

* The same scenario and seed give **byte-identical** results files (ledger.parquet,
  events.parquet, trace.parquet, summary.json and every other file; run.json up to its
  timing and command-line fields) from separate processes with different
  ``PYTHONHASHSEED`` values, for a built-in scenario and for a variant.
* An experiment gives a byte-identical folder (every file but timings.jsonl, the one
  that holds timings and the command line) whether its runs go serially
  (``--jobs 1``) or to a process pool (``--jobs 2``), each in its own process with its
  own hash seed; for a comparison and for a sweep.

(``tests/test_determinism.py`` compares ledgers and summaries across processes, and
``tests/test_experiments.py`` serial, pool and Dask runs in one process; this file adds
the files as written, byte for byte. The golden back-test: ``tests/test_golden.py``.)
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from helpers import EXE, VARIANTS
from reporting_sim.cli import cli

RUN_VOLATILE = {"wall_time_s", "written_at", "argv", "run_seconds_total"}


def script(args, cwd: Path, hashseed: str):
    env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONWARNINGS="ignore")
    proc = subprocess.run([str(EXE), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def in_parallel(calls):
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [f.result() for f in [pool.submit(fn, *args) for fn, *args in calls]]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def without(d: dict, keys) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def assert_same_run_folders(a: Path, b: Path):
    fa, fb = files(a), files(b)
    assert set(fa) == set(fb)
    assert {"ledger.parquet", "events.parquet", "summary.json", "trace.parquet", "run.json"} <= set(fa)
    for name in fa:
        if name == "run.json":
            ja, jb = json.loads(fa[name]), json.loads(fb[name])
            assert without(ja, RUN_VOLATILE) == without(jb, RUN_VOLATILE)
        else:
            assert fa[name] == fb[name], f"{name} differs between the runs"


@pytest.mark.slow
@pytest.mark.parametrize("target,seed", [("minusma-2015", 11),
                                         (str(VARIANTS / "asifu-in-u2-branch.toml"), 3)])
def test_same_seed_gives_byte_identical_files_in_separate_processes(target, seed, tmp_path):
    args = ["run", target, "--days", "20", "--seed", seed, "--trace", "--json"]
    outs = {h: tmp_path / f"hash-{h}" for h in ("0", "4242", "random")}
    procs = in_parallel([(script, args + ["--out", out], tmp_path, h) for h, out in outs.items()])
    assert procs[0].stdout == procs[1].stdout == procs[2].stdout
    first, *others = outs.values()
    for other in others:
        assert_same_run_folders(first, other)
    # and in this process (the console script and the library agree)
    here = tmp_path / "here"
    res = CliRunner().invoke(cli, [str(a) for a in args + ["--out", here]])
    assert res.exit_code == 0, res.output
    assert_same_run_folders(first, here)
    # a different seed does change the files (the comparison can fail)
    other = tmp_path / "other-seed"
    script(["run", target, "--days", "20", "--seed", seed + 1, "--trace", "--out", other], tmp_path, "0")
    assert files(first)["ledger.parquet"] != files(other)["ledger.parquet"]


def experiment_file(folder: Path, sweep: bool) -> Path:
    body = f"""
[experiment]
name = "repro-{'sweep' if sweep else 'compare'}"
base = "minusma-2015"
days = 25
seed = 5
replications = {2 if sweep else 3}
"""
    if sweep:
        body += """metrics = ["force_commander.in_time", "u2.latency_p50", "cell.u2.utilisation"]
[sweep]
method = "grid"
metric = "force_commander.in_time"
[sweep.parameters."cells.u2.analysts"]
values = [2, 5]
[sweep.parameters."links[sector_west_commander->force_commander].p"]
values = [0.3, 0.9]
"""
    else:
        body += f"""variants = ["{VARIANTS / 'trained-u2.toml'}", "{VARIANTS / 'jcb-daily.toml'}"]
"""
    f = folder / ("sweep.toml" if sweep else "compare.toml")
    f.write_text(body, encoding="utf-8")
    return f


def assert_same_experiment_folders(a: Path, b: Path):
    """Every file byte for byte, but timings.jsonl: the one file of a study's folder
    that holds timings and the command line (hardening 3, item 20; before it run.json
    and each run's record under runs/ held wall times too)."""
    fa, fb = files(a), files(b)
    assert set(fa) == set(fb)
    runs = [n for n in fa if n.startswith("runs/")]
    assert runs and "timings.jsonl" in fa
    for name in fa:
        if name != "timings.jsonl":  # runs.parquet, summary.csv, result.json, run.json, runs/*.json, scenarios/...
            assert fa[name] == fb[name], f"{name} differs between serial and parallel"


@pytest.mark.slow
@pytest.mark.parametrize("sweep", [False, True], ids=["compare", "sweep"])
def test_serial_and_parallel_experiments_write_the_same_files(sweep, tmp_path):
    f = experiment_file(tmp_path, sweep)
    serial, pool = tmp_path / "serial", tmp_path / "pool"
    in_parallel([(script, ["experiment", f, "--jobs", "1", "--no-progress", "--out", serial], tmp_path, "1"),
                 (script, ["experiment", f, "--jobs", "2", "--no-progress", "--out", pool], tmp_path, "2")])
    assert_same_experiment_folders(serial, pool)
    df = pd.read_parquet(serial / "runs.parquet")
    assert len(df) == (8 if sweep else 9)
    assert df["seed"].nunique() == (2 if sweep else 3)
