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

from . import metrics
from .errors import ScenarioError
from .records import RunRecords

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
    last = given.rstrip("/").rsplit("/", 1)[-1]
    if last in ("", ".", ".."):
        raise ScenarioError(given, "--out", "must end in the name of the results folder (not '.' or '..')")
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in given.split("/")):
        raise ScenarioError(given, "--out", "a part of the path is longer than 255 bytes (the system's limit)")
    dest = Path(os.path.realpath(os.path.dirname(given.rstrip("/")) or ".")) / last
    if dest.is_symlink():
        raise ScenarioError(given, "--out", "is a symbolic link; give the results folder itself "
                            "(results are written only where --out names)")
    return dest


destination = _destination


def check_writable(dest: Path, given: str) -> None:
    """The nearest folder of ``dest`` that exists must be a folder we may write in."""
    above = dest if dest.exists() else dest.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise ScenarioError(given, "--out", f"cannot be written ({above} is not a folder)")
    if not os.access(above, os.W_OK | os.X_OK):
        raise ScenarioError(given, "--out", f"cannot be written (no permission to write in {above})")


def figures_folder(path: Path) -> Path:
    """Where ``trace`` and ``bottlenecks`` draw: the folder itself (not through a
    symbolic link, not a file); it may exist (figures of the same name are replaced)."""
    given = str(path)
    dest = _destination(Path(path))
    if dest.exists() and not dest.is_dir():
        raise ScenarioError(given, "--out", "is a file; give a folder for the figures")
    check_writable(dest, given)
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
    try:
        taken = dest.exists() and (not dest.is_dir() or any(dest.iterdir()))
    except OSError as exc:
        raise ScenarioError(str(path), "--out", f"cannot be used ({exc.strerror or exc})") from None
    if taken:
        raise ScenarioError(str(path), "--out", "exists already; choose a new folder (results are never overwritten)")
    above = dest.parent  # the nearest folder that exists must let us write (checked before a run)
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise ScenarioError(str(path), "--out", f"cannot be written ({above} is not a folder)")
    if not os.access(above, os.W_OK | os.X_OK):
        raise ScenarioError(str(path), "--out", f"cannot be written (no permission to write in {above})")


def write_run(path: Path, records: RunRecords, scenario_toml: str, summary: dict,
              summary_text: str, run_info: dict, sources: dict[str, str] | None = None) -> Path:
    """Write a run's results folder at ``path`` atomically; returns ``path``.
    ``sources`` maps file names to the scenario texts as written (with their comments:
    the provenance notes), e.g. ``{"scenario-source.toml": ...}``."""
    given = Path(path)
    check_destination(given)
    path = _destination(given)
    made = []  # folders on the way that this call creates (removed again if it fails)
    try:
        for parent in reversed(path.parents):
            if not parent.exists():
                parent.mkdir()
                made.append(parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    except OSError as exc:
        for p in reversed(made):
            shutil.rmtree(p, ignore_errors=True)
        raise ScenarioError(str(given), "--out", f"cannot be written ({exc.strerror or exc})") from None
    try:
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
        records.ledger.to_parquet(tmp / "ledger.parquet", index=False)
        records.events.to_parquet(tmp / "events.parquet", index=False)
        records.cells.to_csv(tmp / "cells.csv", index=False)
        metrics.weekly(records.ledger, records.events, metrics.tag_groups(records.meta)).to_csv(tmp / "weekly.csv")
        records.reports.to_csv(tmp / "reports.csv", index=False)
        if records.trace is not None:
            records.trace.to_parquet(tmp / "trace.parquet", index=False)
        if path.exists():  # an empty folder the user made for us
            path.rmdir()
        os.rename(tmp, path)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in reversed(made):
            shutil.rmtree(p, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ScenarioError(str(given), "--out", f"cannot be written ({exc.strerror or exc})") from None
        raise
    return given


def read_run(path: Path) -> RunRecords:
    """Read a results folder written by :func:`write_run` back into records."""
    import pandas as pd

    path = Path(path)
    need = ("run.json", "ledger.parquet", "events.parquet", "cells.csv", "reports.csv", "meta.json")
    missing = [n for n in need if not (path / n).exists()]
    if missing:
        raise ScenarioError(str(path), "folder", f"not a run's results folder (missing {', '.join(missing)})")
    info = json.loads((path / "run.json").read_text("utf-8"))
    meta = json.loads((path / "meta.json").read_text("utf-8"))
    consumers = meta.pop("consumers")
    trace = pd.read_parquet(path / "trace.parquet") if (path / "trace.parquet").exists() else None
    return RunRecords(
        scenario=info["scenario"], seed=info["seed"], days=float(info["days"]),
        warmup_days=float(info.get("warmup_days", 0.0)), consumers=consumers,
        ledger=pd.read_parquet(path / "ledger.parquet"), events=pd.read_parquet(path / "events.parquet"),
        reports=pd.read_csv(path / "reports.csv"), cells=pd.read_csv(path / "cells.csv"), trace=trace, meta=meta)
