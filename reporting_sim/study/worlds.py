"""A file of plausible worlds: the worlds history matching kept, for the studies that use them.

``reporting-sim calibrate`` writes the worlds consistent with the study's patterns as
one Parquet file; ``robustness --worlds-from FILE`` (and ``select`` and ``packages``)
read it and use its rows as the worlds instead of drawing them. The format:

* one row per world; a column ``world`` (int, ``0..n-1``, the row's id) and one column
  per uncertain setting, named by its ``[uncertainties]`` path exactly as a robustness
  study's ``worlds.csv`` names it (``cells.u2.analysts``), values in the setting's own
  type (an integer setting an int, a switch a bool, a choice a string);
* Parquet key-value metadata ``reporting_sim``: JSON with at least
  ``scenario_digest``, ``patterns_digest``, ``seed``, ``wave`` and ``version``.

:func:`read_worlds` checks the columns against the base scenario's uncertainties (a
:class:`~reporting_sim.scenario.uncertainties.Space`): an unknown path, a missing one
or a value out of its range is one line naming the file, the column and what is
allowed.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd

from ..errors import ScenarioError
from ..scenario.uncertainties import Space
from .execution import write_atomic

META_KEY = b"reporting_sim"
REQUIRED_META = ("scenario_digest", "patterns_digest", "seed", "wave", "version")


def write_worlds(path: Path, worlds: pd.DataFrame, meta: dict) -> None:
    """Write ``worlds`` (one row per world, one column per uncertain path, in the
    setting's own type) with provenance ``meta``, atomically."""
    write_atomic(Path(path), worlds_bytes(worlds, meta))


def worlds_bytes(worlds: pd.DataFrame, meta: dict) -> bytes:
    """The Parquet bytes of a plausible-worlds file (:func:`write_worlds`), for a study
    that writes through its guard."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"plausible worlds need provenance: {', '.join(missing)}")
    frame = worlds.reset_index(drop=True).copy()
    frame.insert(0, "world", range(len(frame)))
    table = _with_meta(pa.Table.from_pandas(frame, preserve_index=False), meta)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _with_meta(table, meta: dict):
    """``table`` with the provenance ``meta`` (JSON, keys sorted) among its schema's metadata."""
    return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                          META_KEY: json.dumps(meta, sort_keys=True).encode("utf-8")})


def read_meta(path: Path) -> dict:
    """The provenance of a plausible-worlds file (``{}`` when it has none)."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    try:
        return json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        return {}


def read_worlds(path, space: Space) -> pd.DataFrame:
    """The worlds of a plausible-worlds file, checked against ``space`` (the base
    scenario's uncertainties): index ``world``, one column per uncertain path, in the
    space's order."""
    src = str(path)
    frame = _read(Path(path))
    _check_ids(frame, src)
    _check_columns(frame, space, src)
    for p, u, kind in space.items:
        _check_values(frame, p, u, kind, src)
    out = frame.set_index("world")[space.paths].copy()
    for p, _, kind in space.items:
        out[p] = [_typed(v, kind) for v in out[p].tolist()]
    return out


def _check_values(frame: pd.DataFrame, p: str, u, kind: str, src: str) -> None:
    """Every world's value of uncertain path ``p`` is one ``u`` allows (one line naming
    the first world whose value is not)."""
    for i, v in enumerate(frame[p].tolist()):
        why = _out_of_range(v, u, kind)
        if why:
            raise ScenarioError(src, f"{p}[world {int(frame['world'].iloc[i])}]", f"value out of range: {why}")


def _read(path: Path) -> pd.DataFrame:
    """A worlds file's table (one line when it is not Parquet, has no column world or no rows)."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ScenarioError(str(path), "--worlds-from", "not a readable Parquet file of worlds "
                            f"({exc.__class__.__name__})") from None
    _check_rows(frame, path)
    return frame


def _check_rows(frame: pd.DataFrame, path: Path) -> None:
    """A worlds table has a column world and at least one row."""
    if "world" not in frame.columns:
        raise ScenarioError(str(path), "world", "missing: a plausible-worlds file has a column world (0..n-1)")
    if len(frame) == 0:
        raise ScenarioError(str(path), "world", "no worlds in the file (history matching kept none: see its conflicts)")


def _check_columns(frame: pd.DataFrame, space: Space, src: str) -> None:
    """The file's columns are world and exactly the base scenario's uncertain paths."""
    known = space.paths
    unknown = _unknown_columns(frame, known)
    if unknown:
        raise ScenarioError(src, unknown[0], f"unknown path: not an uncertainty of the base scenario "
                            f"(it has {len(known)}, e.g. {', '.join(known[:3])})")
    missing = _missing_columns(frame, known)
    if missing:
        raise ScenarioError(src, missing[0], "missing path: the base scenario's uncertainties need a column each")


def _unknown_columns(frame: pd.DataFrame, known: list[str]) -> list[str]:
    """The file's columns that are neither world nor an uncertain path."""
    return [col for col in frame.columns if col != "world" and col not in known]


def _missing_columns(frame: pd.DataFrame, known: list[str]) -> list[str]:
    """The uncertain paths the file has no column for."""
    return [p for p in known if p not in frame.columns]


def _check_ids(frame: pd.DataFrame, src: str) -> None:
    """The worlds are numbered 0..n-1 in order."""
    ids = frame["world"].tolist()
    if ids != list(range(len(ids))):
        raise ScenarioError(src, "world", f"must be 0..{len(ids) - 1} in order, one per row")


_CASTS = {"int": int, "float": float, "bool": bool}
"""The type of each kind of uncertain setting (a choice keeps its value as it is)."""


def _typed(v, kind: str):
    """``v`` in the type of its setting's ``kind``."""
    cast = _CASTS.get(kind)
    return cast(v) if cast else v


def _out_of_range(v, u, kind: str) -> str:
    """Why ``v`` is not a value uncertainty ``u`` allows ('' when it is one)."""
    if u.values is not None:
        return _not_a_choice(v, u.values)
    return _off_range(v, u, kind)


def _not_a_choice(v, values) -> str:
    """Why ``v`` is not one of a choice's ``values`` ('' when it is; a boolean matches only a boolean)."""
    ok = any(_same_value(v, x) for x in values)
    return "" if ok else f"{v!r} is not one of {list(values)}"


def _same_value(v, x) -> bool:
    """Whether ``v`` is the choice ``x`` (equal, and a boolean only to a boolean)."""
    return v == x and isinstance(v, bool) == isinstance(x, bool)


def _off_range(v, u, kind: str) -> str:
    """Why ``v`` is not a number in ``[u.low, u.high]`` (a whole one for an int) ('' when it is)."""
    if not _is_number(v):
        return f"{v!r} is not a number"
    if kind == "int" and float(v) != int(v):
        return f"{v!r} is not a whole number"
    lo, hi = float(u.low), float(u.high)
    return "" if lo - 1e-9 <= float(v) <= hi + 1e-9 else f"{v!r} is outside [{lo:g}, {hi:g}]"


def _is_number(v) -> bool:
    """Whether ``v`` is a finite number (a boolean is not one)."""
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(float(v))
