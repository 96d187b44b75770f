"""The one place where the decision commands (``select``, ``packages``) take their
results folder: refused unless new, empty or their own (the same design), locked while
they run, and kept when it holds finished runs, as experiments are. Issue #25's
guarded path for every study command can replace :func:`claimed` in one edit."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Iterator, Optional

from .. import scenario as scenario_mod
from ..errors import ScenarioError
from . import output
from .execution import write_atomic

MARK = "design.json"


@contextlib.contextmanager
def claimed(folder: Optional[Path], name: str, design: str) -> Iterator[Optional[Path]]:
    """``folder`` (resolved) for a study named ``name`` whose design id is ``design``,
    claimed and locked for the duration; ``None`` stays ``None`` (nothing stored)."""
    if folder is None:
        yield None
        return
    given = str(folder)
    folder = output.destination(Path(folder))
    created = not scenario_mod.path_exists(folder, "--out")
    try:
        _claim(folder, given, name, design)
        with output.folder_lock(folder, given):
            yield folder
    except OSError as exc:
        raise _unwritable(folder, given, created, exc) from None


def _unwritable(folder: Path, given: str, created: bool, exc: OSError) -> ScenarioError:
    """After a failed write: a folder made here is removed unless it holds finished
    runs; the one-line error says which."""
    kept = _removed_unless_runs(folder) if created else False
    return ScenarioError(given, "--out", f"cannot be written ({exc.strerror or exc})"
                         + ("; the finished runs are kept: rerun to resume" if kept else ""))



def _claim(folder: Path, given: str, name: str, design: str) -> None:
    """Refuse ``folder`` unless it is a folder that is new, empty or this design's own;
    then make it and mark it as the study's."""
    mark = folder / MARK
    if _not_a_folder(folder):
        raise ScenarioError(given, "--out", "must be a folder (a study's results; rerunning resumes)")
    if _holds_anything(folder):
        _refuse_other(_read_mark(mark), given, design)
    output.check_writable(folder, given)
    folder.mkdir(parents=True, exist_ok=True)
    if not mark.exists():
        write_atomic(mark, json.dumps({"experiment": name, "design": design}) + "\n")


def _removed_unless_runs(folder: Path) -> bool:
    """Remove a folder made here unless it holds finished runs; whether it was kept."""
    if _holds_runs(folder):
        return True
    shutil.rmtree(folder, ignore_errors=True)
    return False


def _not_a_folder(folder: Path) -> bool:
    """Whether ``folder`` is a symbolic link, or something there that is not a folder."""
    return folder.is_symlink() or (folder.exists() and not folder.is_dir())


def _holds_runs(folder: Path) -> bool:
    """Whether ``folder`` is a folder holding finished runs (``runs/*.json``)."""
    return folder.is_dir() and any((folder / "runs").glob("*.json"))


def _holds_anything(folder: Path) -> bool:
    """Whether ``folder`` is a folder with something in it."""
    return folder.is_dir() and any(folder.iterdir())


def _read_mark(mark: Path):
    """The folder's mark as read (any JSON value), or ``None`` when it cannot be read."""
    try:
        return json.loads(mark.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _refuse_other(theirs, given: str, design: str) -> None:
    """Refuse a folder whose mark (``theirs``) is not that of ``design`` (one line
    naming the other study, or saying the files are not a study's)."""
    if isinstance(theirs, dict) and theirs.get("design") == design:
        return
    raise ScenarioError(given, "--out", f"holds {_whose(theirs)}; choose a new folder (a study resumes only in "
                        "its own folder, with the same design)")


def _whose(theirs) -> str:
    """Whose files a refused folder holds: another study's (named by its mark), or not a study's."""
    if isinstance(theirs, dict):
        return f"the results of another study ({theirs.get('experiment')!r})"
    return "files that are not this study's results"

