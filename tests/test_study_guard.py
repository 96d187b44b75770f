"""The study guard (``reporting_sim/study/guard.py``): the one path every study command
goes through (compare, experiment, check-study, robustness), and each protection it
gives: the run limit, the folder claim (no file, no link, no ``.``, no foreign folder),
design identity, the lock, checksummed resumable runs, no timings in identity files,
clean-up after a failed start (hardening 3, items 1, 2, 6, 7, 12 and 20: robustness and
check-study went without them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import DATA, assert_one_line_error, run_cli
from helpers import out_file as _file, out_foreign as _foreign, out_link as _link  # an --out in the way
from reporting_sim.errors import ScenarioError
from reporting_sim.study import guard, output
from reporting_sim.study.execution import Job

TOY, SURE = str(DATA / "toy-threshold.toml"), str(DATA / "toy-threshold-sure.toml")
CLAIM = """[[claims]]
id = "a"
claim = "x"
section = "[paper §3 case]"
change = "y"
metric = "hq.current.in_time"
expected = "+"
[claims.set.links]
"""


def toy(out, *more, worlds="3"):
    return run_cli("robustness", TOY, SURE, "--worlds", worlds, "-r", "1", "--days", "3", "--jobs", "1",
                   "--no-progress", *more, "--out", out)


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def toy_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("guard")
    code, out, err = toy(d / "study")
    assert code == 0, err
    return d / "study"


# ------------------------------------------------------------------ the run limit (items 1, 2)

def test_item1_check_study_honours_the_run_limit(tmp_path, monkeypatch):
    """Item 1: check-study ran any number of replications, whatever REPORTING_SIM_MAX_RUNS
    said (compare refused the same at once)."""
    (tmp_path / "c.toml").write_text(CLAIM.replace("[claims.set.links]\n", "[claims.set.mechanisms]\ntasking = false\n")
                                     .replace("hq.current.in_time", "u2.in_time"), encoding="utf-8")
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "3")
    code, out, err = run_cli("check-study", "--no-builtin", "--claims", "c.toml", "--days", "1", "-r", "2",
                             "--jobs", "1", cwd=tmp_path)
    assert_one_line_error(code, out, err, "check-study", "--replications", "2 scenarios x 2 replications = 4",
                          "REPORTING_SIM_MAX_RUNS")


def test_item2_robustness_honours_the_run_limit_before_drawing_worlds(tmp_path, monkeypatch):
    """Item 2: ``robustness --worlds 100000`` started writing runs."""
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "11")
    code, out, err = toy(tmp_path / "o", worlds="6")
    # the most runs it may make: every world and scenario at the cap of sequential replications (issue #22)
    assert_one_line_error(code, out, err, "--worlds", "6 worlds x 2 scenarios x up to 6 replications = 72",
                          "REPORTING_SIM_MAX_RUNS")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ the folder claim (items 6, 12)



def _run_folder(d):
    (d / "o").mkdir()
    (d / "o" / "run.json").write_text("{}")
    (d / "o" / "ledger.parquet").write_text("x")


@pytest.mark.parametrize("make,out,needle", [
    (_file, "o", "must be a folder"), (_foreign, "o", "not this robustness study's results"),
    (_link, "o", "symbolic link"), (_run_folder, "o", "not this robustness study's results"),
    (lambda d: (d / "keep.txt").write_text("x"), ".", "not '.' or '..'"),
], ids=["file", "foreign", "symlink", "run-folder", "dot"])
def test_item6_item12_robustness_refuses_a_folder_that_is_not_its_own(tmp_path, make, out, needle):
    """Item 6: ``--out FILE`` gave NotADirectoryError. Item 12: robustness wrote into a
    foreign non-empty folder, through a symbolic link and into ``--out .``."""
    make(tmp_path)
    before = tree(tmp_path)
    code, stdout, err = run_cli("robustness", TOY, SURE, "--worlds", "2", "-r", "1", "--days", "1", "--jobs", "1",
                                "--out", out, cwd=tmp_path)
    assert_one_line_error(code, stdout, err, "--out", needle)
    assert tree(tmp_path) == before and not list(tmp_path.glob("results"))


def test_item12_another_design_is_refused_and_the_same_design_resumes(toy_folder, tmp_path):
    """Item 12: a second study of another design overwrote the first's result.json."""
    import shutil

    folder = tmp_path / "s"
    shutil.copytree(toy_folder, folder)
    before = tree(folder)
    code, out, err = toy(folder, worlds="2")
    assert_one_line_error(code, out, err, "--out", "another robustness study")
    assert tree(folder) == before
    code, out, err = toy(folder)  # the same design: every run is taken from the store
    assert code == 0, err
    last = json.loads((folder / guard.TIMINGS_FILE).read_text("utf-8").splitlines()[-1])
    stored = len(list((folder / "runs").glob("*.json")))
    assert last["runs_run"] == 0 and last["runs_reused"] == stored > 0, last
    assert {k: v for k, v in tree(folder).items() if k != guard.TIMINGS_FILE} == \
        {k: v for k, v in before.items() if k != guard.TIMINGS_FILE}


def test_item12_a_locked_folder_is_told_in_one_line(toy_folder, tmp_path):
    """Item 12: robustness took no lock; two identical studies ran in one folder at once."""
    import shutil

    folder = tmp_path / "s"
    shutil.copytree(toy_folder, folder)
    with output.folder_lock(folder, "s"):
        assert_one_line_error(*toy(folder), "--out", "another reporting-sim process")
    assert tree(folder) == tree(toy_folder)


def test_item12_a_bad_dask_address_leaves_nothing(tmp_path):
    """Item 12: a bad ``--dask`` address left a partial folder behind."""
    code, out, err = run_cli("robustness", TOY, SURE, "--worlds", "2", "-r", "1", "--days", "1",
                             "--dask", "tcp://127.0.0.1:1", "--out", "o", cwd=tmp_path)
    assert_one_line_error(code, out, err, "--dask", "cannot reach")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ resumable runs (item 7)

@pytest.mark.parametrize("damage", ["truncate", "edit", "symlink"])
def test_item7_a_damaged_stored_run_is_run_again(toy_folder, tmp_path, damage):
    """Item 7: after one runs/*.json was truncated, edited or replaced by a symbolic
    link, every rerun of robustness failed with a TypeError."""
    import shutil

    folder = tmp_path / "s"
    shutil.copytree(toy_folder, folder)
    expected = (folder / "result.json").read_bytes()
    run = sorted((folder / "runs").glob("*.json"))[0]
    text = run.read_text("utf-8")
    if damage == "truncate":
        run.write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "edit":
        record = json.loads(text)
        record["row"]["hq.current.in_time"] = 0.123
        run.write_text(json.dumps(record), encoding="utf-8")
    else:
        (tmp_path / "other.json").write_text(text, encoding="utf-8")  # a whole record, but not here
        run.unlink()
        run.symlink_to(tmp_path / "other.json")
    code, out, err = toy(folder)
    assert code == 0, err
    assert run.name in err and "running it again" in err, err
    assert (folder / "result.json").read_bytes() == expected
    assert not run.is_symlink()


# ------------------------------------------------------------------ identity files (item 20)

def test_item20_two_clean_runs_write_the_same_bytes(toy_folder, tmp_path):
    """Item 20: result.json, run.json and runs.parquet held timings, so two clean runs
    of one study differed byte for byte. Only timings.jsonl may differ now."""
    code, out, err = toy(tmp_path / "again")
    assert code == 0, err
    a, b = tree(toy_folder), tree(tmp_path / "again")
    assert set(a) == set(b)
    differ = [name for name in a if a[name] != b[name]]
    assert differ == [guard.TIMINGS_FILE], differ
    assert any(name.startswith("runs/") for name in a) and "figures/differences.svg" in a
    line = json.loads(a[guard.TIMINGS_FILE].decode().splitlines()[0])
    assert {"wall_time_s", "written_at", "argv", "runs_run"} <= set(line)


# ------------------------------------------------------------------ the guard as a library

def _job(i=0):
    return Job.make("x", {"scenario": {"name": "x"}}, "x", i, i, 1.0)


def test_claim_without_a_folder_checks_the_run_limit(monkeypatch):
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "5")
    plan = guard.Plan("calibration", "c", "d", 6, source="calibrate", field="--samples", how="6 samples")
    with pytest.raises(ScenarioError, match="calibrate: --samples: 6 samples = 6 runs planned"):
        with guard.claim(None, plan):
            pass
    with guard.claim(None, guard.Plan("calibration", "c", "d", 5)) as g:
        assert g.folder is None and g.store is None
        g.write("x.json", "{}")  # nothing to write into: a no-op


def test_a_failed_start_removes_what_it_made_but_keeps_finished_runs(tmp_path):
    plan = guard.Plan("calibration", "c", "d1", 1)
    with pytest.raises(RuntimeError):
        with guard.claim(tmp_path / "new" / "o", plan) as g:
            g.write("inputs.toml", "x = 1\n")
            raise RuntimeError("failed before any run")
    assert not (tmp_path / "new").exists()  # the folders it made, all of them
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError):
        with guard.claim(tmp_path / "empty", plan) as g:
            g.write("sub/inputs.toml", "x = 1\n")
            raise RuntimeError("failed")
    assert (tmp_path / "empty").is_dir() and not list((tmp_path / "empty").iterdir())
    with pytest.raises(KeyboardInterrupt):
        with guard.claim(tmp_path / "kept", plan) as g:
            g.store.save(_job(), {"label": "x", "replication": 0, "seed": 0, "key": _job().key})
            raise KeyboardInterrupt
    assert len(list((tmp_path / "kept" / "runs").glob("*.json"))) == 1  # a rerun resumes


def test_a_write_failure_is_one_line_and_says_a_rerun_resumes(tmp_path, monkeypatch):
    import errno

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    plan = guard.Plan("calibration", "c", "d1", 1)
    with pytest.raises(ScenarioError, match=r"No space left on device\); the finished runs are kept"):
        with guard.claim(tmp_path / "o", plan) as g:
            g.store.save(_job(), {"label": "x", "replication": 0, "seed": 0, "key": _job().key})
            monkeypatch.setattr(guard, "write_atomic", full)
            g.write("result.json", "{}")


def test_the_claim_refuses_a_link_inside_its_folder_and_another_kind(tmp_path):
    plan = guard.Plan("calibration", "c", "d1", 1)
    (tmp_path / "elsewhere").mkdir()
    with guard.claim(tmp_path / "o", plan) as g:
        (tmp_path / "o" / "figures").symlink_to(tmp_path / "elsewhere")
        with pytest.raises(ScenarioError, match="symbolic link inside"):
            g.write("figures/a.svg", "<svg/>")
    assert not list((tmp_path / "elsewhere").iterdir())
    with pytest.raises(ScenarioError, match="another calibration study"):
        with guard.claim(tmp_path / "o", guard.Plan("selection", "s", "d1", 1)):
            pass
    mark = json.loads((tmp_path / "o" / guard.DESIGN_FILE).read_text())
    assert mark == {"kind": "calibration", "name": "c", "design": "d1"}


def test_runs_are_run_once_per_key_and_taken_from_the_store(tmp_path, monkeypatch):
    """``Claim.run`` runs a key once even when two jobs share it, and a second session
    takes every run from the store (each row without its wall time)."""
    from reporting_sim.study import guard as g_mod

    calls = []

    def fake_execute(jobs, on_result, **kw):
        for job in jobs:
            calls.append(job.key)
            on_result(job, {"label": job.label, "replication": job.replication, "seed": job.seed,
                            "key": job.key, "wall_s": 1.5, "m": 1.0})

    monkeypatch.setattr(g_mod, "execute", fake_execute)
    jobs = [_job(0), _job(0), _job(1)]
    plan = guard.Plan("calibration", "c", "d1", 3)
    with guard.claim(tmp_path / "o", plan) as g:
        rows = g.run(jobs)
    assert len(calls) == 2 and set(rows) == {jobs[0].key, jobs[2].key}
    assert all("wall_s" not in r for r in rows.values()) and g.run_seconds == 3.0
    stored = json.loads(next((tmp_path / "o" / "runs").glob("*.json")).read_text())
    assert "wall_s" not in stored["row"]
    with guard.claim(tmp_path / "o", plan) as g:
        assert g.run(jobs) == rows and g.reused == 2
    assert len(calls) == 2
    lines = (tmp_path / "o" / guard.TIMINGS_FILE).read_text().splitlines()
    assert [json.loads(x)["runs_run"] for x in lines] == [2, 0]


def test_every_study_command_goes_through_the_guard():
    """The study commands' library code claims its folder through the guard, not on its
    own: no other study module writes, locks or stores runs by itself."""
    root = Path(guard.__file__).parent
    for path in [root / "experiment.py", root / "robustness" / "runner.py", root / "claims" / "__init__.py"]:
        text = path.read_text("utf-8")
        for private in ("write_atomic(", "folder_lock(", "RunStore(", "execute(", "connect_dask("):
            assert private not in text, (path.name, private)
    assert "guard.claim(" in (root / "experiment.py").read_text() and \
        "guard.claim(" in (root / "robustness" / "runner.py").read_text()
    assert os.path.exists(root / "guard.py")


def test_a_new_study_command_needs_only_the_guard(tmp_path, monkeypatch):
    """The example of docs/development.md ("Adding a study command"), run: a study kind
    the guard has never seen gets the limit, the claim, resumption and clean files."""
    from reporting_sim.hashing import digest
    from reporting_sim.study.execution import progress_bar
    from reporting_sim.study.experiment import resolve_member

    members = [resolve_member(TOY, None), resolve_member(SURE, None)]

    def calibrate(samples, replications, days, seed, folder):
        n = len(samples) * len(members) * replications
        guard.check_runs(n, "calibrate", "--samples", f"{len(samples)} samples x {replications} replications")
        design = digest([[m.label, m.data] for m in members] + [samples, days, seed])
        plan = guard.Plan("calibration", "calibrate-" + design[:8], design, n, source="calibrate", field="--samples")
        with guard.claim(folder, plan, n_jobs=1) as g:
            g.write("samples.json", json.dumps(samples))
            jobs = [Job.make(m.label, m.data, m.source, r, seed + r, days) for m in members for r in range(replications)]
            rows = g.run(jobs, progress_bar(False, len(jobs), plan.name))
            result = {"mean": sum(r["hq.current.in_time"] for r in rows.values()) / len(rows)}
            g.write("result.json", json.dumps(result) + "\n")
        return {**result, "wall_time_s": g.wall_s}

    first = calibrate([1], 2, 1.0, 3, tmp_path / "cal")
    again = calibrate([1], 2, 1.0, 3, tmp_path / "cal")  # resumes: every run from the store
    assert first["mean"] == again["mean"]
    assert [json.loads(x)["runs_reused"] for x in (tmp_path / "cal" / guard.TIMINGS_FILE).read_text().splitlines()] == [0, 4]
    with pytest.raises(ScenarioError, match="another calibration study"):
        calibrate([2], 2, 1.0, 3, tmp_path / "cal")
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "3")
    with pytest.raises(ScenarioError, match="calibrate: --samples: 1 samples x 2 replications = 4"):
        calibrate([1], 2, 1.0, 3, tmp_path / "cal2")
    assert not (tmp_path / "cal2").exists()
