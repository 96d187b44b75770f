"""Results folders: everything a run produced, with its provenance, written atomically.

A results folder holds the resolved scenario (``scenario.toml``, every default written
out), ``run.json`` (seed, horizon, package versions, platform, wall time), the
summary (``summary.json`` and the table in ``summary.txt``), the outcome ledger and
the events (Parquet), the per-cell statistics and report end states (CSV), and the
per-step trace (Parquet) when tracing was asked for.

The folder is first written under a temporary name beside its destination and then
renamed in one step, so a folder with the final name is always complete: an
interrupted run leaves no partial results behind.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from ..measures import metrics
from ..errors import ScenarioError
from ..model.records import RunRecords

PACKAGES = ("reporting-sim", "simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "click")


def versions() -> dict[str, str]:
    """Python and the versions of the packages a run depends on."""
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def default_folder(results_dir: Path, scenario: str, seed: int) -> Path:
    """``results/<scenario>-seed<S>-<timestamp>``, not colliding with an existing one."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = results_dir / f"{scenario}-seed{seed}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _destination(path: Path) -> Path:
    """The folder ``path`` names, its parent resolved: ``--out a/../res`` is ``res``
    beside ``a``, and nothing but the results folder itself is created on the way
    (``nox/../res`` does not make ``nox``). The last part must be a folder name (not
    ``.`` or ``..``) and not a symbolic link: the results are renamed into place under
    that name, so they land exactly where it says, never through a link elsewhere."""
    given = str(path)
    last = _last_part(given)
    dest = Path(os.path.realpath(os.path.dirname(given.rstrip("/")) or ".")) / last
    if dest.is_symlink():
        raise ScenarioError(given, "--out", "is a symbolic link; give the results folder itself "
                            "(results are written only where --out names)")
    return dest


def _last_part(given: str) -> str:
    """The name a path ends in, which must name a folder (not ``.`` or ``..``); no part
    of the path may be longer than the system allows."""
    last = given.rstrip("/").rsplit("/", 1)[-1]
    if last in ("", ".", ".."):
        raise ScenarioError(given, "--out", "must end in the name of the results folder (not '.' or '..')")
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in given.split("/")):
        raise ScenarioError(given, "--out", "a part of the path is longer than 255 bytes (the system's limit)")
    return last


destination = _destination


def check_writable(dest: Path, given: str) -> None:
    """The nearest folder of ``dest`` that exists must be a folder we may write in."""
    _check_writable_above(dest if dest.exists() else dest.parent, given)


def _check_writable_above(start: Path, given: str) -> None:
    """The nearest folder of ``start`` (itself or above) that exists must be a folder
    we may write in (one line naming ``given`` otherwise)."""
    above = _nearest_existing(start)
    if not above.is_dir():
        raise ScenarioError(given, "--out", f"cannot be written ({above} is not a folder)")
    if not os.access(above, os.W_OK | os.X_OK):
        raise ScenarioError(given, "--out", f"cannot be written (no permission to write in {above})")


def _nearest_existing(start: Path) -> Path:
    """``start`` or the nearest folder above it that exists (the root at the last)."""
    above = start
    while not above.exists() and above != above.parent:
        above = above.parent
    return above


def figures_folder(path: Path) -> Path:
    """Where ``trace`` and ``bottlenecks`` draw: the folder itself (not through a
    symbolic link, not a file); it may exist (figures of the same name are replaced)."""
    given = str(path)
    dest = _destination(Path(path))
    if dest.exists() and not dest.is_dir():
        raise ScenarioError(given, "--out", "is a file; give a folder for the figures")
    check_writable(dest, given)
    return dest


def report_file(path: Path) -> Path:
    """Where ``report --out`` writes: a file name (not a folder, not a symbolic link),
    in a folder that exists and may be written."""
    given = str(path)
    dest = _destination(Path(path))
    if dest.is_dir():
        raise ScenarioError(given, "--out", "is a folder; give the HTML file's name")
    if not dest.parent.is_dir():
        raise ScenarioError(given, "--out", f"cannot be written ({dest.parent} is not a folder)")
    check_writable(dest.parent, given)
    return dest


@contextlib.contextmanager
def folder_lock(folder: Path, given: str):
    """Hold ``folder/.lock`` for the duration: a second process working in the same
    folder is told so at once (one line) instead of racing on its files."""
    import fcntl

    fh = open(folder / ".lock", "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScenarioError(given, "--out", "another reporting-sim process is working in this folder; "
                                "wait for it to finish (or give another folder)") from None
        yield
    finally:
        fh.close()


def check_destination(path: Path) -> None:
    """Refuse a destination that exists already (results are never overwritten), that
    names no folder, is a symbolic link, or cannot be looked at."""
    dest = _destination(Path(path))
    if _taken(dest, path):
        raise ScenarioError(str(path), "--out", "exists already; choose a new folder (results are never overwritten)")
    _check_writable_above(dest.parent, str(path))  # checked before a run


def _taken(dest: Path, path: Path) -> bool:
    """Whether ``dest`` exists and is not an empty folder (one line when it cannot be looked at)."""
    try:
        return dest.exists() and (not dest.is_dir() or any(dest.iterdir()))
    except OSError as exc:
        raise ScenarioError(str(path), "--out", f"cannot be used ({exc.strerror or exc})") from None


OWNER = ".owner"
"""In a folder being written: the writing process's id and host, so that a later run
can tell a folder left by an interrupted run from one still being written."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_partials(parent: Path) -> list[Path]:
    """Remove the temporary ``.NAME.xxxx.partial`` folders in ``parent`` that runs on
    this host left when interrupted (their writer is gone); returns those removed.
    Folders still being written, or not ours, are left alone."""
    gone = [p for p in _entries(parent) if _left_behind(p)]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return gone


def _entries(parent: Path) -> list[Path]:
    """What folder ``parent`` holds (nothing when it is not a folder or cannot be read)."""
    try:
        return list(parent.iterdir()) if parent.is_dir() else []
    except OSError:
        return []


def _left_behind(p: Path) -> bool:
    """Whether ``p`` is a partial folder whose writer on this host is gone."""
    return _is_partial(p) and _writer_gone(p)


def _is_partial(p: Path) -> bool:
    """Whether ``p`` is a temporary ``.NAME.xxxx.partial`` folder (itself, not a link)."""
    return p.name.startswith(".") and p.name.endswith(".partial") and not p.is_symlink() and p.is_dir()


def _writer_gone(p: Path) -> bool:
    """Whether the process that wrote partial folder ``p`` ran on this host and is gone
    (``False`` when its owner file is missing or unreadable)."""
    try:
        pid, host = (p / OWNER).read_text("utf-8").split()
        return host == platform.node() and not _alive(int(pid))
    except (OSError, ValueError):
        return False


def write_run(path: Path, records: RunRecords, scenario_toml: str, summary: dict,
              summary_text: str, run_info: dict, sources: dict[str, str] | None = None) -> Path:
    """Write a run's results folder at ``path`` atomically; returns ``path``.
    ``sources`` maps file names to the scenario texts as written (with their comments:
    the provenance notes), e.g. ``{"scenario-source.toml": ...}``."""
    given = Path(path)
    check_destination(given)
    path = _destination(given)
    tmp, made = _partial_folder(given, path)
    try:
        _write_run_files(tmp, records, scenario_toml, summary, summary_text, run_info, sources)
        _put_in_place(tmp, path)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove(made)
        if isinstance(exc, OSError):
            raise _unwritable(given, exc) from None
        raise
    return given


def _put_in_place(tmp: Path, path: Path) -> None:
    """Rename the whole partial folder ``tmp`` to ``path`` (replacing an empty folder there)."""
    (tmp / OWNER).unlink()
    if path.exists():  # an empty folder the user made for us
        path.rmdir()
    os.rename(tmp, path)


def _remove(made: list[Path]) -> None:
    """Remove the folders a failed write made, the deepest first."""
    for p in reversed(made):
        shutil.rmtree(p, ignore_errors=True)


def _unwritable(given: Path, exc: OSError) -> ScenarioError:
    """The one-line error of a results folder that cannot be written."""
    return ScenarioError(str(given), "--out", f"cannot be written ({exc.strerror or exc})")


def _partial_folder(given: Path, path: Path) -> tuple[Path, list[Path]]:
    """A new partial folder beside ``path`` marked as this process's, and the folders on
    the way that this call created (removed again if it fails)."""
    made: list[Path] = []
    try:
        _make_parents(path, made)
        clean_partials(path.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # as an ordinary folder would be, not mkdtemp's 0700
        (tmp / OWNER).write_text(f"{os.getpid()} {platform.node()}\n", encoding="utf-8")
    except OSError as exc:
        _remove(made)
        raise _unwritable(given, exc) from None
    return tmp, made


def _make_parents(path: Path, made: list[Path]) -> None:
    """Make the missing folders above ``path``, top down, noting each in ``made``."""
    for parent in reversed(path.parents):
        if not parent.exists():
            parent.mkdir()
            made.append(parent)



def _write_run_files(tmp: Path, records: RunRecords, scenario_toml: str, summary: dict,
                     summary_text: str, run_info: dict, sources: dict[str, str] | None) -> None:
    """Every file of a run's results folder, written into ``tmp``."""
    (tmp / "scenario.toml").write_text(scenario_toml, encoding="utf-8")
    for name, text in (sources or {}).items():
        (tmp / name).write_text(text, encoding="utf-8")
    (tmp / "meta.json").write_text(json.dumps({"consumers": records.consumers, **records.meta},
                                              indent=2, default=str) + "\n", encoding="utf-8")
    info = dict(run_info)
    info.update({"versions": versions(), "platform": platform.platform(),
                 "argv": sys.argv[1:], "written_at": _dt.datetime.now().isoformat(timespec="seconds")})
    (tmp / "run.json").write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
    (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (tmp / "summary.txt").write_text(summary_text + "\n", encoding="utf-8")
    _write_tables(tmp, records)


def _write_tables(tmp: Path, records: RunRecords) -> None:
    """A run's tables: the ledger and events (Parquet), the cells, the weekly series
    and the reports (CSV), and the trace when it was traced."""
    records.ledger.to_parquet(tmp / "ledger.parquet", index=False)
    records.events.to_parquet(tmp / "events.parquet", index=False)
    records.cells.to_csv(tmp / "cells.csv", index=False)
    metrics.weekly(records.ledger, records.events, metrics.tag_groups(records.meta),
                   days=records.days).to_csv(tmp / "weekly.csv")
    records.reports.to_csv(tmp / "reports.csv", index=False)
    if records.trace is not None:
        records.trace.to_parquet(tmp / "trace.parquet", index=False)


def read_run(path: Path) -> RunRecords:
    """Read a results folder written by :func:`write_run` back into records."""
    import pandas as pd

    path = Path(path)
    _check_run_files(path)
    import pyarrow

    info = read_json(path, "run.json")
    try:
        meta, consumers, trace, frames = _read_run_files(path)
    except (OSError, ValueError, KeyError, AssertionError, AttributeError, pyarrow.ArrowException,
            pd.errors.ParserError) as exc:
        raise ScenarioError(str(path), "folder", f"a results file cannot be read ({exc.__class__.__name__}); "
                            "the results folder is damaged") from None
    return RunRecords(
        scenario=info["scenario"], seed=info["seed"], days=float(info["days"]),
        warmup_days=float(info.get("warmup_days", 0.0)), consumers=consumers, trace=trace, meta=meta, **frames)


_RUN_FILES = ("run.json", "ledger.parquet", "events.parquet", "cells.csv", "reports.csv", "meta.json")
"""The files every run's results folder holds (the trace is there only when traced)."""


def _check_run_files(path: Path) -> None:
    """A run's results folder holds every file of :data:`_RUN_FILES` (one line naming the missing)."""
    missing = [n for n in _RUN_FILES if not (path / n).exists()]
    if missing:
        raise ScenarioError(str(path), "folder", f"not a run's results folder (missing {', '.join(missing)})")


def _read_run_files(path: Path) -> tuple[dict, list, object, dict]:
    """A results folder's metadata (without its consumers), its consumers, its trace
    (``None`` when not traced) and its tables; any damage raises (see :func:`read_run`)."""
    import pandas as pd

    meta = json.loads((path / "meta.json").read_text("utf-8"))
    consumers = meta.pop("consumers")
    assert isinstance(consumers, list) and all(isinstance(c, str) for c in consumers)
    trace = pd.read_parquet(path / "trace.parquet") if (path / "trace.parquet").exists() else None
    frames = {"ledger": pd.read_parquet(path / "ledger.parquet"), "events": pd.read_parquet(path / "events.parquet"),
              "reports": pd.read_csv(path / "reports.csv"), "cells": pd.read_csv(path / "cells.csv")}
    return meta, consumers, trace, frames


# ------------------------------------------------------------------ reading results folders back

def _loose_model():
    """The base of the schemas below: extra keys allowed, no infinities or NaN."""
    from pydantic import BaseModel, ConfigDict

    class _Loose(BaseModel):
        model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    return _Loose


def _results_schemas():
    """Pydantic models of the JSON files ``report`` and ``plot`` read (built on first use)."""
    loose = _loose_model()
    return {**_run_schemas(loose), **_study_schemas(loose)}


def _run_schemas(_Loose) -> dict:
    """The schemas of a run's ``run.json`` and ``summary.json``."""
    from typing import Literal, Optional

    from ..metric_names import OUTCOMES

    class Block(_Loose):
        events: int
        outcomes: dict[Literal[OUTCOMES], Optional[float]]
        latency_h: dict[Literal["p50", "p90"], Optional[float]]
        fidelity: Optional[float] = None

    class Consumer(Block):
        by_family: dict[Literal["current", "long_term"], Block]

    class Summary(_Loose):
        consumers: dict[str, Consumer]
        bypass_rate: Optional[float] = None

    class RunInfo(_Loose):
        scenario: str
        seed: int
        days: float
        warmup_days: float = 0.0

    return {"run.json": RunInfo, "summary.json": Summary}


def _study_schemas(_Loose) -> dict:
    """The schemas of an experiment's and a robustness study's ``result.json``."""
    from typing import Optional

    class Diff(_Loose):
        mean: Optional[float]
        ci95: tuple[Optional[float], Optional[float]]

    class Metric(Diff):
        diff_vs_base: Optional[Diff] = None

    class Member(_Loose):
        metrics: dict[str, Metric]

    class Result(_Loose):
        experiment: str = ""
        base: str
        replications: int
        variants: dict[str, Member]
        sweep: Optional[dict] = None

    class Robustness(_Loose):  # a robustness study's result.json (issue #10)
        base: str
        worlds: int
        replications: int
        uncertainties: list
        variants: dict[str, dict]
        days: float
        seed: int
        metric: str
        sampling: str

    return {"result.json": Result, "robustness": Robustness}


def read_json(folder: Path, name: str) -> dict:
    """A results folder's ``name`` (run.json, summary.json, result.json), checked
    against what ``report`` and ``plot`` need; anything else is a one-line error."""
    path = Path(folder) / name
    try:
        data = json.loads(path.read_text("utf-8"))
        robust = _is_study_result(name, data)
        model = _results_schemas()["robustness" if robust else name].model_validate(data)
    except FileNotFoundError:
        raise ScenarioError(str(path), "file", "missing; not a results folder of reporting-sim") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValidationError is a ValueError
        raise _damaged(path, exc) from None
    _check_base(path, name, robust, data, model)
    return data


def _is_study_result(name: str, data) -> bool:
    """Whether ``data`` is a robustness study's ``result.json`` (it has worlds)."""
    return name == "result.json" and isinstance(data, dict) and "worlds" in data


def _check_base(path: Path, name: str, robust: bool, data: dict, model) -> None:
    """A result's base names one of its scenarios (a study's: one its best counts name)."""
    if robust:
        _base_named(path, model.base, (data.get("best_counts") or {}).get(model.metric, {}), "study")
    elif name == "result.json":
        _base_named(path, model.base, model.variants, "result")



def _damaged(path: Path, exc: Exception) -> ScenarioError:
    """The one-line error for a results JSON file that is not valid JSON or not of its
    schema (the field and the schema's complaint when it is the latter)."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return ScenarioError(str(path), "file", f"not valid JSON ({exc.__class__.__name__}); the results folder "
                             "is damaged")
    what = exc.errors(include_url=False)[0]
    return ScenarioError(str(path), ".".join(str(p) for p in what["loc"]),
                         f"{what['msg'].lower()}; the results folder is damaged")


def _base_named(path: Path, base: str, scenarios, of: str) -> None:
    """The result's ``base`` must be one of its ``scenarios`` (``of``: the result or the study)."""
    if base not in scenarios:
        raise ScenarioError(str(path), "base", f"names no scenario of the {of}; the results folder is damaged")


def check_results_folder(folder: Path) -> None:
    """Refuse a folder whose JSON files are damaged before a report or plot reads it."""
    folder = Path(folder)
    from ..scenario import path_exists

    if not path_exists(folder, "folder") or not folder.is_dir():
        raise ScenarioError(str(folder), "folder", "no such results folder")
    if (folder / "result.json").exists():
        read_json(folder, "result.json")
    else:
        read_json(folder, "run.json")
        read_json(folder, "summary.json")


def run_headline(records) -> str | None:
    """The headline consumer a stored run was summarised for (its bypass pair's first)."""
    pair = records.meta.get("bypass") or [None]
    return pair[0] if pair and isinstance(pair[0], str) else None


def stored_start_date(folder: Path):
    """The calendar date of day 0 of the run stored in ``folder`` (from its
    ``scenario.toml``; 2015-01-01 when the file cannot be read)."""
    import datetime
    import tomllib

    try:
        data = tomllib.loads((Path(folder) / "scenario.toml").read_text("utf-8"))
    except (OSError, ValueError):
        data = {}
    return datetime.date.fromisoformat(str(data.get("scenario", {}).get("start_date", "2015-01-01")))


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a run's results folder (its own, not a link to one)."""
    return path.is_dir() and not path.is_symlink() and (path / "run.json").is_file() \
        and (path / "ledger.parquet").is_file()


def set_aside(dest: Path):
    """Move an earlier run's folder aside (to be restored if the new run fails); ``None``
    when ``dest`` holds no run's folder."""
    if not is_run_folder(dest):
        return None
    old = dest.with_name(f".{dest.name}.replaced-{os.getpid()}")
    dest.rename(old)
    return old


def save_run(dest: Path, records: RunRecords, scenario_toml: str, summary: dict, summary_text: str,
             run_info: dict, sources: dict, *, overwrite: bool = False) -> None:
    """Write a run's results folder (:func:`write_run`); with ``overwrite``, an earlier
    run's folder there is set aside first, put back if the writing fails and removed
    once the new one is whole."""
    old = set_aside(dest) if overwrite else None
    try:
        check_destination(dest)
        write_run(dest, records, scenario_toml, summary, summary_text, run_info, sources=sources)
    except BaseException:
        _put_back(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _put_back(old, dest: Path) -> None:
    """Return a run's folder set aside (``old``, if any) to ``dest`` when nothing took its place."""
    if old is not None and not dest.exists():
        old.rename(dest)



def traced_run(scenario, days, seed):
    """``(scenario, records)`` of a traced run: read back from a traced run's results
    folder, or simulated with ``--trace`` (``days`` and ``seed`` default to the
    scenario's own)."""
    from .. import scenario as scenario_mod
    from .. import model

    folder = Path(scenario)
    if scenario_mod.path_exists(folder, "scenario") and folder.is_dir() and (folder / "run.json").is_file():
        return _stored_trace(folder)
    sc = scenario_mod.load(scenario)
    return sc, model.simulate(sc, _or(seed, sc.scenario.seed), _or(days, sc.scenario.days), trace=True)


def _or(given, default):
    """``given``, or ``default`` when it is ``None`` (a zero is given)."""
    return default if given is None else given


def _stored_trace(folder: Path):
    """``(scenario, records)`` of the traced run stored in ``folder`` (one line if it was not traced)."""
    from .. import scenario as scenario_mod

    rec = read_run(folder)
    if rec.trace is None:
        raise ScenarioError(str(folder), "", "not a traced run; run it with --trace, or name a scenario")
    return scenario_mod.load(folder / "scenario.toml"), rec

