"""The one guarded path of every study command: its run limit, its folder and its runs.

A study (``compare``, ``experiment``, ``check-study``, ``robustness``, and any new one)
plans many runs and keeps them in a results folder so that an interrupted study
resumes. Every protection that needs is here, once, so that no study command goes
without one:

* **the run limit**: :func:`check_runs` refuses a plan of more runs than
  ``REPORTING_SIM_MAX_RUNS`` in one line, before anything is drawn, built or run (call
  it as soon as the number is known; :func:`claim` checks it again);
* **the folder claim**: ``--out`` must end in a folder's name (not ``.``, not ``..``),
  may not be a symbolic link or a file, and must be new, empty, or this very study's
  own: a folder holding anything else (a run, another study, a user's files) is
  refused without a byte written to it;
* **design identity**: the folder's ``design.json`` names the study's kind, name and
  design id (what it computes); a second study of another design is refused, never
  mixed in or written over; the same design resumes (and may grow);
* **the lock**: ``.lock`` is held while the study works; a second process on the same
  folder is told so at once;
* **checksummed, resumable runs**: :meth:`Claim.run` takes each run from the
  :class:`~.execution.RunStore` when its file is whole and unaltered (a truncated,
  edited, copied or symlinked ``runs/KEY.json`` is noted on stderr and run again),
  runs the rest once per job key, and stores each as it finishes;
* **no timings in identity files**: each run's wall time is taken off its row before
  it is stored; the session's timings, the command line and the time of writing go to
  ``timings.jsonl`` (one line per session that worked on the folder), so two clean runs
  of a study write byte-identical ``design.json``, ``runs/``, ``result.json``,
  ``run.json``, ``runs.parquet``...;
* **clean-up after a failed start**: a Dask address is connected to before the folder
  is made (a bad one leaves nothing), and a study that fails before any run is stored
  removes what it made; one that fails later keeps its finished runs and says that a
  rerun resumes; a failure to write (a full disk) is one line.

Interface (a new study command needs only this)::

    from reporting_sim.study import guard

    guard.check_runs(n_runs, source, "--worlds", "40 worlds x 3 scenarios x 2 replications")
    plan = guard.Plan(kind="calibration", name=name, design=design_id, runs=n_runs,
                      source=source, field="--worlds")
    with guard.claim(folder, plan, n_jobs=n_jobs, dask=dask) as g:   # folder None: no folder
        g.write("inputs.toml", text)                 # atomic, inside the folder (no-op without one)
        rows = g.run(jobs, bar)                     # {job.key: row}, resumed, checksummed
        g.write("result.json", json.dumps(result))
    result["wall_time_s"] = g.wall_s                # for the terminal, never for a file

``docs/development.md`` ("Adding a study command") shows it in a whole command.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..errors import ScenarioError
from ..scenario import limits, path_exists
from . import output
from .execution import Job, RunStore, connect_dask, execute, write_atomic

DESIGN_FILE = "design.json"
"""Marks a study's folder as its own: ``{"kind", "name", "design"}``."""
TIMINGS_FILE = "timings.jsonl"
"""One JSON line per session that worked on the folder: when, how long, the command line."""
LOCK_FILE = ".lock"


def check_runs(planned: int, source: str, field: str, how: str = "") -> None:
    """Refuse a plan of more than ``REPORTING_SIM_MAX_RUNS`` runs in one line naming
    ``source`` and ``field`` (the option or file field that sets their number);
    ``how``: how the number comes about ("3 scenarios x 10 replications")."""
    if planned > limits.limit("RUNS"):
        raise limits.too_much(source, field, "RUNS", f"{how} = {planned}" if how else planned)


@dataclass(frozen=True)
class Plan:
    """What a study is, for its folder: its ``kind`` (``experiment``, ``robustness``...),
    ``name`` (shown when another study's folder is refused), ``design`` (an id of what
    it computes: the same design resumes, another is refused), the most ``runs`` it may
    plan, and where the number of runs was set (``source``, ``field``, ``how``) for the
    run limit's message."""

    kind: str
    name: str
    design: str
    runs: int
    source: str = ""
    field: str = "runs"
    how: str = ""

    @property
    def what(self) -> str:
        """The study named in messages: ``experiment``, ``robustness study``..."""
        return self.kind if self.kind.endswith(("experiment", "study")) else f"{self.kind} study"

    def mark(self) -> dict:
        return {"kind": self.kind, "name": self.name, "design": self.design}


class Claim:
    """A study's hold on its folder (``folder`` is ``None`` when it keeps none): the
    run store, atomic writes inside the folder, and the runs."""

    def __init__(self, folder: Optional[Path], n_jobs: Optional[int], client):
        self.folder = folder
        self.store = RunStore(folder) if folder is not None else None
        self.n_jobs, self.client = n_jobs, client
        self.rows: dict[str, dict] = {}
        self.ran = self.reused = 0
        self.run_seconds = 0.0
        self._t0 = time.perf_counter()
        self.wall_s = 0.0

    @property
    def elapsed(self) -> float:
        return round(time.perf_counter() - self._t0, 3)

    def write(self, name: str, data: str | bytes) -> None:
        """Write ``name`` (a path inside the folder) whole or not at all; nothing
        without a folder. A symbolic link on the way inside the folder is refused."""
        if self.folder is None:
            return
        path = inside(self.folder, str(Path(name).parent)) / Path(name).name if Path(name).parent != Path(".") \
            else self.folder / name
        write_atomic(path, data)

    def run(self, jobs: Iterable[Job], bar=None) -> dict[str, dict]:
        """Each job's row by job key: from this session, or from the store when its file
        is sound (a damaged one is noted and run again), else run once per key (two jobs
        can compute the same thing) on the claim's executor and stored at once."""
        jobs = list(jobs)
        todo = self._to_run(jobs)
        shared = sum(1 for j in jobs if j.key in todo) - len(todo)  # run once, counted for each job
        _tick(bar, len(jobs) - len(todo) - shared)
        execute(list(todo.values()), self._keep, n_jobs=self.n_jobs, dask=self.client, progress=bar)
        _tick(bar, shared)
        return {j.key: self.rows[j.key] for j in jobs}

    def _to_run(self, jobs: list[Job]) -> dict[str, Job]:
        """The jobs to run, one per key: those neither done in this session nor soundly
        stored (the rows found are kept in :attr:`rows`)."""
        todo: dict[str, Job] = {}
        for job in jobs:
            if job.key in todo:
                continue
            row = self.rows.get(job.key) or self._stored(job)
            if row is None:
                todo[job.key] = job
            else:
                self.rows[job.key] = row
        return todo

    def _stored(self, job: Job) -> Optional[dict]:
        """The job's row from the store when its file is sound (a damaged one is noted)."""
        if self.store is None or not self.store.has(job):
            return None
        row = self.store.load(job)
        if row is None:
            _note(f"{self.store.path(job)}: {self.store.rejected[job.key]}; running it again")
            return None
        self.reused += 1
        row.pop("wall_s", None)  # a record of an earlier version kept its timing
        return row

    def _keep(self, job: Job, row: dict) -> None:
        """Keep a finished run's row (its timing counted apart) and store it."""
        self.run_seconds += float(row.pop("wall_s", 0.0) or 0.0)
        self.ran += 1
        self.rows[job.key] = row
        if self.store is not None:
            self.store.save(job, row)

    def timings(self) -> dict:
        """This session's line of ``timings.jsonl``."""
        return {"written_at": _dt.datetime.now().isoformat(timespec="seconds"), "wall_time_s": self.elapsed,
                "run_seconds_total": round(self.run_seconds, 3), "runs_run": self.ran, "runs_reused": self.reused,
                "executor": "dask" if self.client is not None else f"jobs={self.n_jobs or 'all cores'}",
                "host": platform.node(), "argv": sys.argv[1:]}


def inside(folder: Path, name: str) -> Path:
    """``folder/name``, refused (one line) when a part of it inside ``folder`` is a
    symbolic link: what a command writes after the study (its figures) lands in the
    study's own folder."""
    path = Path(folder) / name
    for part in [*reversed(path.relative_to(folder).parents)][1:] + [path.relative_to(folder)]:
        if (Path(folder) / part).is_symlink():
            raise ScenarioError(str(Path(folder) / part), "--out", "is a symbolic link inside the study's folder; "
                                "results are written only into the folder itself")
    return path


def _tick(bar, n: int) -> None:
    """Advance a progress bar (or ``None``) by ``n`` runs."""
    if bar is not None and n:
        bar.update(n)


def _note(text: str) -> None:
    """A message for the user on stderr (stdout may hold --json)."""
    print(f"note: {text}", file=sys.stderr)


@contextlib.contextmanager
def claim(folder: Optional[Path], plan: Plan, *, n_jobs: Optional[int] = None, dask=None) -> Iterator[Claim]:
    """Hold ``folder`` for the study ``plan`` while the ``with`` block runs (see the
    module docstring for what is checked and when); ``folder=None``: no folder, the run
    limit and the executor only. ``dask``: a scheduler address (connected to before the
    folder is touched, closed after), a ``Client`` or a cluster."""
    check_runs(plan.runs, plan.source, plan.field, plan.how)
    if folder is None:
        with _executor(dask) as client:
            g = Claim(None, n_jobs, client)
            yield g
            g.wall_s = g.elapsed
        return
    given = str(folder)
    folder = output.destination(Path(folder))
    _refuse_foreign(folder, given, plan)
    output.check_writable(folder, given)
    with _executor(dask) as client, _locked(folder, given) as made:
        yield from _held(folder, given, plan, n_jobs, client, made)


def _held(folder: Path, given: str, plan: Plan, n_jobs: Optional[int], client, made: Optional[Path]) -> Iterator[Claim]:
    """:func:`claim` once the folder is locked: the folder checked again and marked as
    the study's, the claim given, the session's timings appended; after a failure the
    folder is cleaned up (kept when it holds finished runs)."""
    try:
        _refuse_foreign(folder, given, plan)  # again, now that no one else can write
        if not (folder / DESIGN_FILE).exists():
            write_atomic(folder / DESIGN_FILE, json.dumps(plan.mark()) + "\n")
        g = Claim(folder, n_jobs, client)
        yield g
        g.wall_s = g.elapsed
        _append_timings(folder, g.timings())
    except BaseException as exc:
        kept = _clean_up(folder, made)
        if isinstance(exc, OSError):
            raise _unwritable(given, exc, kept) from None
        raise


def _unwritable(given: str, exc: OSError, kept: bool = False) -> ScenarioError:
    """The one-line error of a folder that cannot be written (``kept``: its finished runs are kept)."""
    return ScenarioError(given, "--out", f"cannot be written ({exc.strerror or exc})"
                         + ("; the finished runs are kept: rerun to resume" if kept else ""))


@contextlib.contextmanager
def _locked(folder: Path, given: str):
    """Make ``folder`` and hold its lock; gives the topmost folder made (``None`` when
    it existed). A folder made here is removed again if its lock cannot be had."""
    made = _make(folder, given)
    lock = _take_lock(folder, given, made)
    try:
        yield made
    finally:
        lock.__exit__(None, None, None)


def _take_lock(folder: Path, given: str, made: Optional[Path]):
    """The folder's lock, held (its context entered); when it cannot be had, the
    folders made for it (``made``) are removed unless the study marked them its own."""
    try:
        lock = output.folder_lock(folder, given)
        lock.__enter__()
    except (OSError, ScenarioError) as exc:
        if made is not None and not (folder / DESIGN_FILE).exists():
            shutil.rmtree(made, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _unwritable(given, exc) from None
        raise
    return lock


@contextlib.contextmanager
def _executor(dask):
    """The Dask client of ``dask`` (an address is connected to here, and closed after)."""
    client = connect_dask(dask) if isinstance(dask, str) else dask
    try:
        yield client
    finally:
        if isinstance(dask, str) and client is not None:
            client.close()


def _refuse_foreign(folder: Path, given: str, plan: Plan) -> None:
    """Refuse a folder that is a link or a file, or holds anything but this study's own
    results (the same kind and design)."""
    if _not_a_folder(folder):
        raise ScenarioError(given, "--out", f"must be a folder (for the results of a {plan.what}; rerunning resumes)")
    if not _holds_anything(folder, given):
        return
    theirs = _read_mark(folder)
    if _same_study(theirs, plan):
        return
    raise ScenarioError(given, "--out", f"holds {_whose(theirs, plan)}; choose a new folder (a {plan.what} resumes "
                        "only in its own folder, with the same design)")


def _not_a_folder(folder: Path) -> bool:
    """Whether ``folder`` is a symbolic link, or something there that is not a folder."""
    return folder.is_symlink() or (path_exists(folder, "--out") and not folder.is_dir())


def _same_study(theirs: Optional[dict], plan: Plan) -> bool:
    """Whether a folder's mark (``theirs``) is that of ``plan``'s kind and design."""
    return theirs is not None and theirs.get("kind", "experiment") == plan.kind and theirs.get("design") == plan.design


def _whose(theirs: Optional[dict], plan: Plan) -> str:
    """Whose files a refused folder holds, in words (another study's, named, or not a study's)."""
    if theirs is None:
        return f"files that are not this {plan.what}'s results"
    other = Plan(str(theirs.get("kind", "experiment")), "", "", 0).what
    return f"the results of another {other} ({theirs.get('name', theirs.get('experiment'))!r})"


def _holds_anything(folder: Path, given: str) -> bool:
    """Whether ``folder`` holds anything but a lock file (``False`` when it is not there)."""
    try:
        return folder.is_dir() and any(p.name != LOCK_FILE for p in folder.iterdir())
    except OSError as exc:
        raise ScenarioError(given, "--out", f"cannot be used ({exc.strerror or exc})") from None


def _read_mark(folder: Path) -> Optional[dict]:
    """A folder's design mark, or ``None`` when it has none that can be read (or it is a link)."""
    mark = folder / DESIGN_FILE
    try:
        if mark.is_symlink():
            return None
        data = json.loads(mark.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if _is_mark(data) else None


def _is_mark(data) -> bool:
    """Whether JSON ``data`` is a design mark: a table with a design id."""
    return isinstance(data, dict) and isinstance(data.get("design"), str)


def _make(folder: Path, given: str) -> Optional[Path]:
    """Make ``folder`` (and the folders on the way); returns the topmost one made
    (``None`` when it existed: only its contents are this study's then)."""
    top = _first_missing(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if top is not None:
            shutil.rmtree(top, ignore_errors=True)
        raise _unwritable(given, exc) from None
    return top



def _first_missing(folder: Path) -> Optional[Path]:
    """The topmost folder on the way to ``folder`` (or itself) that does not exist yet."""
    return next((p for p in [*reversed(folder.parents), folder] if not path_exists(p, "--out")), None)


def _clean_up(folder: Path, made: Optional[Path]) -> bool:
    """After a failure: keep a folder that holds finished runs (returns True: a rerun
    resumes); else remove what this study made (the folders it created, or its files
    in a folder that was empty)."""
    try:
        if any((folder / "runs").glob("*.json")):
            return True
    except OSError:
        return True
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
    else:
        _empty(folder)
    return False


def _empty(folder: Path) -> None:
    """Remove everything inside ``folder`` (its folders whole; links and files unlinked)."""
    for p in list(folder.iterdir()) if folder.is_dir() else []:
        _remove_entry(p)


def _remove_entry(p: Path) -> None:
    """Remove a folder whole, or unlink a file or a link (never following it)."""
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            p.unlink()


def _append_timings(folder: Path, line: dict) -> None:
    """Append this session's line to the folder's ``timings.jsonl`` (written whole)."""
    path = folder / TIMINGS_FILE
    try:
        old = "" if path.is_symlink() else path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        old = ""
    write_atomic(path, old + json.dumps(line) + "\n")
