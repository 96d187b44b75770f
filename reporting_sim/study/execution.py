"""Running many simulations: jobs, executors (serial, process pool, Dask) and a
resumable store of finished runs.

A :class:`Job` is everything one run needs as plain, picklable data: the scenario
(its validated data, not a live object), the seed, the horizon and the warm-up. Its
``key`` is a content hash of all of that, so a run is identified by what it computes,
not by when or where it ran. :func:`run_job` turns a job into one flat row of metrics;
it is a pure function of the job, so results are identical whichever executor ran it.

:func:`execute` runs jobs serially (``jobs=1``), on a local process pool (the
default: all cores), or on a Dask cluster (``dask=ADDRESS`` or a ``Client``/cluster
object), reporting each finished row to a callback in completion order; callers sort.
:class:`RunStore` keeps one small JSON file per finished run, each written atomically
(write to a temporary name, then rename), so an interrupted experiment loses at most
the runs that were in progress, and running it again skips what is already there.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from ..version import __version__
from ..hashing import canonical, digest


@dataclass(frozen=True)
class Job:
    """One run: ``label`` names the scenario within the experiment (the base, a
    variant, a sweep point), ``data`` is its scenario as plain data."""

    label: str
    data: dict = field(repr=False, compare=False, hash=False)
    source: str
    replication: int
    seed: int
    days: float
    warmup_days: float = 0.0
    scenario_key: str = ""
    key: str = ""
    extra: tuple = ()
    """Measures beyond the flat metrics that the run's row must hold (the study's
    patterns: :mod:`reporting_sim.measures.patterns`); part of the key only when given."""
    windows: int = 0
    window_metrics: tuple = ()
    """With ``windows`` (2 or more), the row also holds each of ``window_metrics`` on
    each of that many equal windows of the run (:func:`reporting_sim.measures.metrics.by_window`);
    part of the key only when given."""

    @staticmethod
    def make(label: str, data: dict, source: str, replication: int, seed: int, days: float,
             warmup_days: float = 0.0, extra: tuple = (), windows: int = 0, window_metrics=()) -> "Job":
        skey = digest(data)
        extra = tuple(sorted(set(extra)))
        window_metrics = tuple(window_metrics) if windows else ()
        ident = [skey, int(seed), float(days), float(warmup_days), __version__] + ([list(extra)] if extra else [])
        if windows:
            ident.append(["windows", int(windows), list(window_metrics)])
        return Job(label, data, source, int(replication), int(seed), float(days), float(warmup_days), skey,
                   digest(ident), extra, int(windows), window_metrics)


_PARSED: dict = {}


def _scenario(job: Job):
    """The validated scenario of ``job``, parsed once per process."""
    from ..scenario import parse

    sc = _PARSED.get(job.scenario_key)
    if sc is None:
        if len(_PARSED) >= 64:
            _PARSED.clear()
        sc = _PARSED[job.scenario_key] = parse(job.data, job.source)
    return sc


def run_job(job: Job) -> dict:
    """Run one job and return its row: identity columns and every flat metric."""
    from ..measures import metrics
    from ..model import simulate

    sc = _scenario(job)
    t0 = time.perf_counter()
    rec = simulate(sc, job.seed, job.days, warmup_days=job.warmup_days)
    row = {"label": job.label, "replication": job.replication, "seed": job.seed,
           "days": job.days, "warmup_days": job.warmup_days, "key": job.key}
    row.update(metrics.flat(metrics.summary(rec)))
    if job.windows:
        row.update(metrics.by_window(rec, job.windows, job.window_metrics))
    if job.extra:
        from ..measures import patterns

        row.update(patterns.compute(rec, job.extra, sc))
    row["wall_s"] = time.perf_counter() - t0  # the run and its measures
    return row


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def execute(jobs: Iterable[Job], on_result: Callable[[Job, dict], None], *, n_jobs: Optional[int] = None,
            dask=None, progress=None) -> None:
    """Run ``jobs``, calling ``on_result(job, row)`` as each finishes.

    ``n_jobs``: 1 for serial, N for a local pool of N processes, ``None`` for all cores;
    ``dask``: a scheduler address, a ``distributed.Client`` or a cluster object, to run
    on Dask instead; ``progress``: a ``tqdm``-like object updated once per job.
    """
    jobs = list(jobs)
    if not jobs:
        return
    tick = progress.update if progress is not None else _no_tick
    if dask is not None:
        _execute_dask(jobs, on_result, dask, tick)
    else:
        _execute_local(jobs, on_result, default_jobs() if n_jobs is None else int(n_jobs), tick)


@contextlib.contextmanager
def pool_map(n: int):
    """A ``map`` for work other than runs (a study's permutation nulls): the builtin
    one for ``n`` <= 1, else a pool of ``n`` processes' (:func:`_pool`, as for the runs),
    giving results in order; on any interruption its workers stop."""
    if n <= 1:
        yield map
        return
    pool = _pool(n)
    try:
        with _sigterm_interrupts():
            yield lambda fn, items: list(pool.map(fn, items))
    except BaseException:
        _stop_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _no_tick(n: int = 1) -> None:
    """The progress callback when there is no progress bar."""


def _execute_local(jobs: list[Job], on_result, n: int, tick) -> None:
    """Run ``jobs`` here: serially for one process or one job, else on a pool of ``n``."""
    if n <= 1 or len(jobs) == 1:
        _execute_serial(jobs, on_result, tick)
    else:
        _execute_pool(jobs, on_result, n, tick)


def _execute_serial(jobs: list[Job], on_result, tick) -> None:
    """Run ``jobs`` one after the other in this process."""
    for job in jobs:
        on_result(job, run_job(job))
        tick(1)


def _execute_pool(jobs: list[Job], on_result, n: int, tick) -> None:
    """Run ``jobs`` on a local pool of at most ``n`` processes (a fork server on
    Linux), reporting rows as they finish; on any interruption the workers stop."""
    with _pool(min(n, len(jobs))) as pool, _sigterm_interrupts():
        futures = {pool.submit(run_job, job): job for job in jobs}
        try:
            _collect(futures, on_result, tick)
        except BaseException:
            # Stop the workers; the pool then fails the runs not yet done itself. They
            # are not cancelled here first: Python 3.11's pool, finding its workers
            # gone, sets an exception on every pending future and a cancelled one
            # makes that raise in its manager thread (a traceback on stderr).
            _stop_workers(pool)
            raise


def _pool(n: int) -> ProcessPoolExecutor:
    """A pool of ``n`` worker processes (a fork server on Linux), each set up by
    :func:`_worker_init`."""
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))


def _collect(futures: dict, on_result, tick) -> None:
    """Report each finished run (``futures``: future -> job) as it completes."""
    for fut in as_completed(futures):
        on_result(futures[fut], fut.result())
        tick(1)


def _interrupt(signum, frame):
    """A SIGTERM handler that interrupts as Ctrl-C does."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _sigterm_interrupts():
    """While a pool runs, SIGTERM stops the run as Ctrl-C does (KeyboardInterrupt:
    the pool is shut down, finished runs are kept) instead of killing only this
    process and leaving its workers behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool's workers now rather than after their current runs (Python 3.11
    has no public way: its process table is read, and left alone if absent)."""
    for proc in _workers(pool):
        try:
            proc.terminate()
        except (OSError, ValueError, AttributeError):  # pragma: no cover - already gone
            pass


def _workers(pool: ProcessPoolExecutor) -> list:
    """The pool's worker processes, from its private process table (none if it has none)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _worker_init(parent: int) -> None:
    """In each pool worker: exit when the process that started the pool is gone, even
    if it was killed outright (SIGKILL), so no worker outlives an interrupted run.
    On Linux the kernel is asked to signal the worker when its parent (the fork
    server) ends; everywhere, a watchdog thread looks for ``parent`` every second."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()
    _settle_heap()


def _settle_heap() -> None:
    """Import what a job runs, then move every object the worker holds so far out of
    the cyclic collector's sight (``gc.freeze``): its full passes then walk only what
    the runs made, not pandas, numpy and SciPy (one such pass took about 160 ms)."""
    from ..measures import metrics, patterns  # noqa: F401
    from ..model import simulate  # noqa: F401

    gc.collect()
    gc.freeze()


def _watch_parent(parent: int) -> None:
    """Look for process ``parent`` every second; exit this process once it is gone."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # pragma: no cover - the pid now belongs to someone else
            os._exit(1)


DASK_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[A-Za-z0-9_.\-\[\]:]+(:\d{1,5})?/?$")


def connect_dask(address: str, timeout_s: float = 10.0):
    """A client of the Dask scheduler at ``address`` (``tcp://host:8786``); a malformed
    address, a missing Dask or nobody listening is a one-line error."""
    from ..errors import ScenarioError

    if not _is_address(address):
        raise ScenarioError("", "--dask", f"not a scheduler address (like tcp://host:8786): {str(address)[:80]!r}")
    client_class = _distributed().Client
    try:
        return client_class(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ScenarioError("", "--dask", f"cannot reach a scheduler at {address} within {timeout_s:g} s "
                            f"({exc.__class__.__name__})") from None


def _is_address(address) -> bool:
    """Whether ``address`` looks like a scheduler's address (``tcp://host:8786``)."""
    return isinstance(address, str) and len(address) <= 300 and DASK_ADDRESS.match(address) is not None


def _distributed():
    """The ``dask.distributed`` module, or the one-line error saying how to install it."""
    try:
        import dask.distributed as distributed
    except ImportError:
        from ..errors import ScenarioError

        raise ScenarioError("", "--dask", "needs Dask: pip install -e \".[dask]\" (or dask[distributed])") from None
    return distributed


def _execute_dask(jobs, on_result, dask, tick) -> None:
    """Run ``jobs`` on the Dask cluster ``dask`` (see :func:`execute`), reporting rows
    as they finish; a client made here is closed after."""
    distributed = _distributed()
    own = not isinstance(dask, distributed.Client)
    client = _dask_client(dask, distributed.Client) if own else dask
    try:
        _collect_dask(distributed, client, jobs, on_result, tick)
    finally:
        if own:
            client.close()



def _collect_dask(distributed, client, jobs: list[Job], on_result, tick) -> None:
    """Map ``jobs`` onto the cluster and report each finished run as it completes."""
    futures = client.map(run_job, jobs, pure=False)
    index = {f.key: job for f, job in zip(futures, jobs)}
    for fut in distributed.as_completed(futures):
        on_result(index[fut.key], fut.result())
        tick(1)


def _dask_client(dask, client_class):
    """A new client of ``dask``: a scheduler's address, or a cluster object."""
    return connect_dask(dask) if isinstance(dask, str) else client_class(dask)


class RunStore:
    """Finished runs of an experiment, one JSON file each under ``folder/runs``.

    Each file holds the run's row, its job key and a SHA-256 checksum of both, so a
    file that is empty, truncated, edited, copied from another run or a symbolic link
    is recognised
    (:meth:`load` returns ``None`` and :attr:`rejected` says why) and the run is done
    again instead of being trusted."""

    def __init__(self, folder: Path):
        self.dir = Path(folder) / "runs"
        if self.dir.is_symlink():
            from ..errors import ScenarioError

            raise ScenarioError(str(self.dir), "--out", "is a symbolic link; the stored runs must lie in the "
                                "study's own folder")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rejected: dict[str, str] = {}

    def path(self, job: Job) -> Path:
        return self.dir / f"{job.key}.json"

    def has(self, job: Job) -> bool:
        """Whether there is something under the job's name (a dangling link too)."""
        return os.path.lexists(self.path(job))

    @staticmethod
    def checksum(key: str, row: dict) -> str:
        return hashlib.sha256(canonical([key, row]).encode("utf-8")).hexdigest()

    def save(self, job: Job, row: dict) -> None:
        record = {"key": job.key, "row": row, "sha256": self.checksum(job.key, row)}
        write_atomic(self.path(job), json.dumps(record) + "\n")

    def load(self, job: Job) -> Optional[dict]:
        """The stored row of ``job``, or ``None`` (noted in :attr:`rejected`) when the
        file is not a whole, unaltered record of this very job."""
        record, problem = _read_record(self.path(job))
        problem = problem or _record_problem(record, job)
        return self._reject(job, problem) if problem else record["row"]

    def _reject(self, job: Job, why: str) -> None:
        self.rejected[job.key] = why
        return None


def _read_record(path: Path) -> tuple[object, str]:
    """A stored run's file as JSON, and what is wrong with it if it cannot be read
    (a symbolic link, unreadable); the record is ``None`` then."""
    if path.is_symlink():
        return None, "a symbolic link, not a stored run"
    try:
        return json.loads(path.read_text("utf-8")), ""
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"unreadable ({exc.__class__.__name__})"


def _record_problem(record, job: Job) -> str:
    """What is wrong with a stored record of ``job`` ('' when nothing): the first
    failed test of :data:`_RECORD_TESTS`, in order."""
    for ok, problem in _RECORD_TESTS:
        if not ok(record, job):
            return problem
    return ""


def _whole_layout(record, job: Job) -> bool:
    """The record is a table of exactly its key, its row (a table) and its checksum."""
    return isinstance(record, dict) and set(record) == {"key", "row", "sha256"} and isinstance(record["row"], dict)


def _of_this_job(record: dict, job: Job) -> bool:
    """The record and its row both carry the job's key."""
    return record["key"] == job.key and record["row"].get("key") == job.key


def _checksum_holds(record: dict, job: Job) -> bool:
    """The checksum is that of the job's key and the row as stored."""
    return record["sha256"] == RunStore.checksum(job.key, record["row"])


def _identity_holds(record: dict, job: Job) -> bool:
    """The row names a scenario and carries the job's replication and seed."""
    row = record["row"]
    return row.get("label") is not None and row.get("replication") == job.replication and row.get("seed") == job.seed


def _plain_values(record: dict, job: Job) -> bool:
    """Every value of the row is empty, a number, a string or a boolean."""
    return all(v is None or isinstance(v, (int, float, str, bool)) for v in record["row"].values())


_RECORD_TESTS = ((_whole_layout, "not a stored run (wrong layout)"),
                 (_of_this_job, "the record of another run"),
                 (_checksum_holds, "checksum mismatch (altered or damaged)"),
                 (_identity_holds, "not a stored run (identity columns)"),
                 (_plain_values, "not a stored run (values)"))
"""What a stored record must pass to be trusted, in order, with what is said when not."""


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``path`` whole or not at all (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _write_synced(fd, text)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as an ordinary file would be, not mkstemp's 0600
        os.replace(tmp, path)
        fsync_folder(path.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_synced(fd: int, text: str | bytes) -> None:
    """Write ``text`` (UTF-8 if a string) to the open file ``fd`` and have it on disk
    before the file gets its name: a crash leaves the old file or the new, whole."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a system without folder descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def progress_bar(enabled: bool, total: int, desc: str):
    """A progress bar of ``total`` runs on stderr (tqdm), or ``None`` when not ``enabled``."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", file=sys.stderr, dynamic_ncols=True)


def set_bar_total(bar, total: int) -> None:
    """Give a progress bar (or ``None``) a new total of runs, once more are planned."""
    if bar is not None:
        bar.total = total
        bar.refresh()


def close_bar(bar) -> None:
    """Close a progress bar (``None``: there is none)."""
    if bar is not None:
        bar.close()

