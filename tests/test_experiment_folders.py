"""An experiment's folder is its own: variants are found beside the experiment file, a
folder of another run or experiment is refused, write failures are one line (and a
rerun resumes), a locked folder is told in one line, damaged stored runs are run
again, and the metric files do not depend on serial or parallel running (issue #13,
items 8-11, 15, 17).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import PACKAGE_ROOT, assert_one_line_error, experiment_text, run_cli, small_files


# ------------------------------------------------------------------ what an experiment file names (item 8)

def test_item8_a_variant_is_found_next_to_its_experiment_file_only(tmp_path):
    """Item 8: a variant missing next to its experiment file was silently taken from the
    working folder; missing in both, the error named neither the file nor the field."""
    (tmp_path / "exp").mkdir()
    small_files(tmp_path)  # in the working folder, not beside the experiment
    small_files(tmp_path / "exp")
    (tmp_path / "exp" / "v.toml").unlink()  # the variant is only in the working folder
    f = tmp_path / "exp" / "e.toml"
    f.write_text(experiment_text().replace("replications = 2\n", 'replications = 2\nvariants = ["v.toml"]\n'),
                 encoding="utf-8")
    code, out, err = run_cli("experiment", "exp/e.toml", "--out", "o", cwd=tmp_path)
    assert_one_line_error(code, out, err, "e.toml", "experiment.variants[0]", "relative to the experiment file")
    assert not (tmp_path / "o").exists()


def test_item8_min_replications_above_max_is_an_error(tmp_path):
    small_files(tmp_path)
    f = tmp_path / "e.toml"
    f.write_text(experiment_text('[experiment.target]\nmetric = "force_cdr.in_time"\nhalf_width = 0.1\n'
                                 'min_replications = 6\nmax_replications = 3\n'), encoding="utf-8")
    code, out, err = run_cli("experiment", f, "--out", tmp_path / "o", "--jobs", "1")
    assert_one_line_error(code, out, err, "experiment.target", "min_replications")


# ------------------------------------------------------------------ experiment folders (items 9-11, 15, 17)

def test_item9_compare_and_experiment_refuse_a_folder_that_is_not_their_own(run_folder, tmp_path):
    """Item 9: ``compare --out`` into a run folder replaced its run.json; two experiment
    files of the same name shared ``results/NAME``."""
    import shutil

    folder = tmp_path / "r"
    shutil.copytree(run_folder, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    small_files(tmp_path)
    code, out, err = run_cli("compare", "small.toml", "v.toml", "--out", "r", "--days", "1", "-r", "2",
                             cwd=tmp_path)
    assert_one_line_error(code, out, err, "--out", "not this experiment's")
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    small_files(tmp_path / "a")
    small_files(tmp_path / "b")
    (tmp_path / "a" / "same.toml").write_text(experiment_text(name="same"), encoding="utf-8")
    (tmp_path / "b" / "same.toml").write_text(experiment_text(name="same").replace("days = 1", "days = 2"),
                                              encoding="utf-8")
    code, out, err = run_cli("experiment", "a/same.toml", "--jobs", "1", cwd=tmp_path)
    assert code == 0, err
    code, out, err = run_cli("experiment", "a/same.toml", "--jobs", "1", cwd=tmp_path)  # its own: resumes
    assert code == 0, err
    assert_one_line_error(*run_cli("experiment", "b/same.toml", "--jobs", "1", cwd=tmp_path),
                          "results/same", "another experiment ('same')")


def test_item10_an_experiment_that_cannot_write_says_so_in_one_line(tmp_path, monkeypatch):
    """Item 10: a read-only folder or a full disk gave OSError tracebacks and left
    partial folders. A failure before any run is stored leaves nothing; one after
    keeps the finished runs and says a rerun resumes."""
    import errno

    from reporting_sim.study import guard as guard_mod

    small_files(tmp_path)
    (tmp_path / "e.toml").write_text(experiment_text(), encoding="utf-8")
    real = guard_mod.write_atomic  # every study's files are written by the study guard

    def full_disk(when):
        def write(path, text):
            if Path(path).name == when:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(path, text)
        return write

    monkeypatch.setattr(guard_mod, "write_atomic", full_disk("design.json"))
    code, out, err = run_cli("experiment", "e.toml", "--out", "o", "--jobs", "1", cwd=tmp_path)
    assert_one_line_error(code, out, err, "--out", "No space left on device")
    assert not (tmp_path / "o").exists()
    monkeypatch.setattr(guard_mod, "write_atomic", full_disk("summary.csv"))
    code, out, err = run_cli("experiment", "e.toml", "--out", "o", "--jobs", "1", cwd=tmp_path)
    assert_one_line_error(code, out, err, "No space left on device", "rerun to resume")
    assert len(list((tmp_path / "o" / "runs").glob("*.json"))) == 2
    monkeypatch.setattr(guard_mod, "write_atomic", real)
    code, out, err = run_cli("experiment", "e.toml", "--out", "o", "--jobs", "1", cwd=tmp_path)
    assert code == 0, err


def test_item10_a_read_only_folder_is_refused_before_running(tmp_path):
    small_files(tmp_path)
    (tmp_path / "e.toml").write_text(experiment_text(), encoding="utf-8")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        if os.access(tmp_path / "ro", os.W_OK):
            pytest.skip("running as a user who may write anywhere (root)")
        code, out, err = run_cli("experiment", "e.toml", "--out", "ro/o", "--jobs", "1", cwd=tmp_path)
        assert_one_line_error(code, out, err, "--out", "permission")
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_item11_a_second_process_on_the_same_folder_is_told_in_one_line(experiment_folder, tmp_path):
    """Item 11: two experiments on one folder raced on ``.runs.parquet.tmp``. The
    folder is locked while an experiment runs; temporary names are unique."""
    import shutil

    from reporting_sim.study import output

    folder = tmp_path / "x"
    shutil.copytree(experiment_folder, folder)
    small_files(tmp_path)
    (tmp_path / "e.toml").write_text(experiment_text(), encoding="utf-8")
    with output.folder_lock(folder, "x"):
        code, out, err = run_cli("experiment", "e.toml", "--out", "x", "--jobs", "1", cwd=tmp_path)
    assert_one_line_error(code, out, err, "--out", "another reporting-sim process")
    code, out, err = run_cli("experiment", "e.toml", "--out", "x", "--jobs", "1", cwd=tmp_path)
    assert code == 0, err
    assert not [p for p in folder.rglob("*.tmp")]


def test_item11_concurrent_experiments_on_one_folder_never_trace_back(tmp_path):
    small_files(tmp_path)
    (tmp_path / "e.toml").write_text(experiment_text(), encoding="utf-8")
    cmd = [sys.executable, "-m", "reporting_sim", "experiment", "e.toml", "--out", "x", "--jobs", "1", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [(p.wait(120), p.stderr.read()) for p in procs]
    assert any(code == 0 for code, _ in results), results
    for code, err in results:
        assert "Traceback" not in err, err
        assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1), err


def test_item15_a_damaged_stored_run_is_run_again_and_said_so(experiment_folder, tmp_path):
    """Item 15: an empty ``runs/KEY.json`` made resume crash; one replaced with
    ``{"label": "x"}`` was trusted, and every difference read 0.0."""
    import shutil

    folder = tmp_path / "x"
    shutil.copytree(experiment_folder, folder)
    small_files(tmp_path)
    (tmp_path / "e.toml").write_text(experiment_text(), encoding="utf-8")
    expected = (folder / "result.json").read_text("utf-8")
    runs = sorted((folder / "runs").glob("*.json"))
    other = json.loads(runs[1].read_text("utf-8"))
    runs[0].write_text("", encoding="utf-8")
    runs[1].write_text('{"label": "x"}', encoding="utf-8")
    swapped = dict(other, row={**other["row"], "force_cdr.in_time": 0.123})
    (folder / "runs" / "extra.json").write_text("{}", encoding="utf-8")
    code, out, err = run_cli("experiment", "e.toml", "--out", "x", "--jobs", "1", cwd=tmp_path)
    assert code == 0, err
    assert err.count("running it again") == 2 and runs[0].name in err and runs[1].name in err, err
    assert (folder / "result.json").read_text("utf-8") == expected
    runs[1].write_text(json.dumps(swapped), encoding="utf-8")  # a value edited, checksum not
    code, out, err = run_cli("experiment", "e.toml", "--out", "x", "--jobs", "1", cwd=tmp_path)
    assert code == 0 and "checksum" in err, err
    assert (folder / "result.json").read_text("utf-8") == expected


def test_item17_metric_files_are_byte_identical_serial_or_parallel(tmp_path):
    """Item 17: outputs differed between --jobs 1 and --jobs 2 in wall times only;
    runs.parquet, summary.csv, result.json and run.json now hold no timing (the study
    guard's timings.jsonl does; hardening 3, item 20)."""
    small_files(tmp_path)
    (tmp_path / "e.toml").write_text(experiment_text(), encoding="utf-8")
    for name, jobs in (("s", "1"), ("p", "2")):
        code, out, err = run_cli("experiment", "e.toml", "--out", name, "--jobs", jobs, cwd=tmp_path)
        assert code == 0, err
    for name in ("runs.parquet", "summary.csv", "result.json", "run.json"):
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "p" / name).read_bytes(), name
    assert "wall_time_s" in json.loads((tmp_path / "s" / "timings.jsonl").read_text("utf-8").splitlines()[-1])
