"""Results folders: written exactly where ``--out`` names (never through a symbolic
link, never beside it), never over a folder that is not a run, named safely from the
scenario by default (under ``results/``), as open as their files, and cleaned of the
temporary folders an interrupted run leaves behind.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import SMALL, assert_one_line_error, dump, invoke, run_cli, small_files, small_with


# ------------------------------------------------------------------ the default folder and scenario names

@pytest.mark.parametrize("name", ["../../evil", "a/b", "..", "/tmp/evil", "x/../../y", ".hidden", "a\\b"])
def test_a_scenario_name_cannot_make_folders_elsewhere(name, tmp_path):
    """The default results folder is named after the scenario: a name with ``/`` or
    ``..`` is refused before anything is written."""
    work = tmp_path / "work"
    work.mkdir()
    data = small_with(scenario__name=name)
    (work / "s.toml").write_bytes(dump(data))
    with contextlib.chdir(work):
        res = invoke("run", "s.toml", "--days", "1")
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith("error: s.toml: scenario.name: ")
    assert sorted(os.listdir(work)) == ["s.toml"]
    assert sorted(os.listdir(tmp_path)) == ["work"]


def test_the_default_results_folder_is_under_results(tmp_path):
    with contextlib.chdir(tmp_path):
        (tmp_path / "s.toml").write_bytes(dump(SMALL))
        res = invoke("run", "s.toml", "--days", "1", "--seed", "3")
        assert res.exit_code == 0, res.output
    made = list((tmp_path / "results").iterdir())
    assert len(made) == 1 and made[0].name.startswith("small-seed3-")
    assert sorted(os.listdir(tmp_path)) == ["results", "s.toml"]


# ------------------------------------------------------------------ --out

def run_out(out: str, cwd: Path):
    with contextlib.chdir(cwd):
        return invoke("run", "s.toml", "--days", "1", "--out", out)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def outdir(tmp_path):
    """A working folder ``work`` with ``s.toml`` in it, inside ``tmp_path``."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.toml").write_bytes(dump(SMALL))
    return work


def test_out_with_dotdot_in_the_middle_writes_exactly_there(outdir):
    (outdir / "a").mkdir()
    res = run_out("a/../res", outdir)
    assert res.exit_code == 0, res.output
    assert (outdir / "res" / "summary.json").is_file()
    assert sorted(os.listdir(outdir)) == ["a", "res", "s.toml"]
    assert list((outdir / "a").iterdir()) == []


def test_out_through_a_missing_folder_and_dotdot_creates_nothing_else(outdir):
    """``--out nox/../res`` must not leave a folder ``nox`` behind (it did: it created
    it, then the rename failed with a traceback)."""
    res = run_out("nox/../res", outdir)
    if res.exit_code == 0:
        assert (outdir / "res" / "summary.json").is_file()
    else:
        assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1, res.output
        assert res.stderr.startswith("error: nox/../res: --out: ")
        assert not (outdir / "res").exists()
    assert not (outdir / "nox").exists()
    assert not [p for p in os.listdir(outdir) if p.endswith(".partial")]


@pytest.mark.parametrize("out", [".", "..", "sub/..", "./", "../sub/.."])
def test_out_naming_no_folder_is_refused(out, outdir):
    """``--out .`` in an empty folder crashed (rmdir of '.'), ``--out sub/..`` too;
    a destination must end in a folder name."""
    (outdir / "sub").mkdir()
    before = tree(outdir.parent)
    empty = outdir / "sub"
    with contextlib.chdir(empty):  # an empty working folder: '.' would be allowed as 'empty'
        res = invoke("run", str(outdir / "s.toml"), "--days", "1", "--out", out)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.splitlines()
    named = str(Path(out))  # as click hands it on ("./" is ".")
    assert len(lines) == 1 and lines[0].startswith(f"error: {named}: --out: "), res.stderr
    assert tree(outdir.parent) == before


@pytest.mark.parametrize("target", ["empty", "full", "dangling", "file"])
def test_out_as_a_symlink_is_refused(target, outdir):
    """Results go where ``--out`` names, never through a symbolic link to somewhere
    else (a link to an empty folder crashed, a dangling one too)."""
    elsewhere = outdir.parent / "elsewhere"
    elsewhere.mkdir()
    if target == "full":
        (elsewhere / "keep.txt").write_text("mine")
    dest = {"empty": elsewhere, "full": elsewhere, "dangling": outdir.parent / "nothing",
            "file": elsewhere / "f.txt"}[target]
    if target == "file":
        dest.write_text("mine")
    (outdir / "link").symlink_to(dest)
    before = tree(outdir.parent)
    res = run_out("link", outdir)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: link: --out: "), res.stderr
    assert tree(outdir.parent) == before


def test_out_inside_a_symlinked_folder_stays_inside_it(outdir):
    """A link on the way (not the last part) is an ordinary folder: the results land in
    the folder it points to, under the name given, and nowhere else."""
    real = outdir.parent / "real"
    real.mkdir()
    (outdir / "via").symlink_to(real)
    res = run_out("via/res", outdir)
    assert res.exit_code == 0, res.output
    assert (real / "res" / "summary.json").is_file()
    assert sorted(os.listdir(real)) == ["res"]
    assert sorted(os.listdir(outdir)) == ["s.toml", "via"]


@pytest.mark.parametrize("out", ["s.toml/x", "/proc/x/y", "/dev/null/x"])
def test_out_that_cannot_be_written_is_a_clean_error(out, outdir):
    res = run_out(out, outdir)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: --out: "), res.stderr
    assert sorted(os.listdir(outdir)) == ["s.toml"]


def test_results_files_are_written_only_inside_out(outdir):
    """Nothing of a run is written beside the results folder (the temporary folder is
    renamed into place), whatever the scenario contains."""
    data = small_with(scenario__description="../../x", commanders__hq__org="..")
    (outdir / "s.toml").write_bytes(dump(data))
    res = run_out("res", outdir)
    if res.exit_code == 2:  # an org named '..' may well be refused; then nothing is written
        assert sorted(os.listdir(outdir)) == ["s.toml"]
        return
    assert sorted(os.listdir(outdir)) == ["res", "s.toml"]
    assert sorted(os.listdir(outdir.parent)) == ["work"]
    files = [p for p in (outdir / "res").rglob("*")]
    assert all(p.is_file() and p.parent == outdir / "res" for p in files)


def test_out_naming_an_existing_file_gives_one_line(outdir):
    (outdir / "taken.txt").write_text("mine")
    res = run_out("taken.txt", outdir)
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        "error: taken.txt: --out: exists already; choose a new folder (results are never overwritten)"]
    assert (outdir / "taken.txt").read_text() == "mine"


@pytest.mark.parametrize("command", ["compare", "experiment"])
def test_experiment_out_naming_a_file_gives_one_line(tmp_path, command):
    from reporting_sim.cli import cli

    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    exp = tmp_path / "e.toml"
    exp.write_text('[experiment]\nname = "e"\nbase = "minusma-2015"\nreplications = 2\ndays = 5\n')
    variant = str(Path(__file__).resolve().parent.parent / "experiments" / "variants" / "jcb-daily.toml")
    args = (["compare", "minusma-2015", variant, "-r", "2", "--days", "5"] if command == "compare"
            else ["experiment", str(exp)])
    res = CliRunner().invoke(cli, args + ["--out", str(taken)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--out" in lines[0]
    assert taken.read_text() == "mine"


def test_overwrite_never_replaces_a_folder_that_is_not_a_run(tmp_path):
    from click.testing import CliRunner

    from reporting_sim.cli import cli

    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    r = CliRunner().invoke(cli, ["run", "--days", "3", "--out", str(keep), "--overwrite"])
    assert r.exit_code == 2 and "exists already" in r.output
    assert (keep / "notes.txt").read_text() == "precious"


# ------------------------------------------------------------------ run folders (issue #13, items 12, 14)

def test_item12_trace_and_bottlenecks_refuse_to_write_through_a_symbolic_link(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    small_files(tmp_path)
    for command in ("trace", "bottlenecks"):
        code, out, err = run_cli(command, "small.toml", "--days", "1", "--out", "link", cwd=tmp_path)
        assert_one_line_error(code, out, err, "--out", "symbolic link")
    assert not any((tmp_path / "elsewhere").iterdir())


def test_item12_a_results_folder_is_as_open_as_its_files(run_folder):
    """Item 12: results folders were created 0700 while their files were 0644."""
    mask = os.umask(0)
    os.umask(mask)
    assert run_folder.stat().st_mode & 0o777 == 0o777 & ~mask
    assert (run_folder / "run.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_item14_a_partial_folder_left_by_an_interrupted_run_is_cleaned_by_the_next(tmp_path):
    """Item 14: an interrupted ``run`` left ``.NAME.xxxx.partial/`` for ever. The next
    run into the same parent removes those whose writer is gone, and only those."""
    import platform

    small_files(tmp_path)
    (tmp_path / "res").mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = tmp_path / "res" / ".old.abc123.partial"
    live = tmp_path / "res" / ".busy.def456.partial"
    for folder, pid in ((dead, gone.pid), (live, os.getpid())):
        folder.mkdir()
        (folder / ".owner").write_text(f"{pid} {platform.node()}\n")
    foreign = tmp_path / "res" / ".mine.partial"
    foreign.mkdir()
    code, out, err = run_cli("run", "small.toml", "--days", "1", "--out", "res/new", cwd=tmp_path)
    assert code == 0, err
    assert not dead.exists() and live.exists() and foreign.exists()
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == [".busy.def456.partial", ".mine.partial", "new"]
    assert not (tmp_path / "res" / "new" / ".owner").exists()
