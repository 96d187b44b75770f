"""The rules for the values a command or an API call takes: seeds, horizons, warm-ups,
counts (replications, worlds, processes), switches and names; one place for both.

The command line (:mod:`reporting_sim.cli.options` builds its option types from these
functions) and the Python API (:mod:`reporting_sim.api`) check a value with the same
function, so both refuse the same values with the same words: ``--seed: 1.5 is not a
whole number`` on the command line is ``seed: 1.5 is not a whole number`` from the API,
as one :class:`~reporting_sim.errors.ScenarioError` line. Each rule takes the value as
Python has it (the command line turns its text into a number first, :func:`from_text`)
and returns it in its proper type; a ``bool`` is never a number and a string never a
number or a switch.
"""

from __future__ import annotations

import math
from typing import Optional

from .errors import ScenarioError

MAX_DAYS = 36600
"""The longest horizon (a century of days; the calendar and the schema allow no more)."""
MAX_RUN_SEED = 2**63 - 1
"""The largest seed of one run."""
MAX_STUDY_SEED = 2**62 - 1
"""The largest first seed of a study (replication ``r`` uses ``seed + r``, which must stay a seed)."""
MAX_COUNT = 100_000
"""The most replications, worlds or points one option may ask for (the run limit,
``REPORTING_SIM_MAX_RUNS``, bounds their product)."""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(value, field: str, low: int = 0, high: Optional[int] = None) -> int:
    """A whole number from ``low`` to ``high`` (a ``bool``, a string or ``1.5`` is not)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ScenarioError("", field, f"{_show(value)} is not a whole number")
    if _outside(value, low, high):
        raise ScenarioError("", field, f"{value} is not a whole number from {low} to {high}"
                            if high is not None else f"{value} is less than {low}")
    return value


def _outside(value, low, high, low_open: bool = False) -> bool:
    """Whether ``value`` is below ``low`` (at it too, with ``low_open``) or above ``high`` (if given)."""
    below = value <= low if low_open else value < low
    return below or (high is not None and value > high)


def number(value, field: str, low: float = 0.0, high: Optional[float] = None, *, low_open: bool = False) -> float:
    """A finite number at least ``low`` (more than ``low`` with ``low_open``) and at most ``high``."""
    if not _is_number(value):
        raise ScenarioError("", field, f"{_show(value)} is not a number")
    if not math.isfinite(value):
        raise ScenarioError("", field, f"{value!r} is not a finite number")
    if _outside(value, low, high, low_open):
        raise ScenarioError("", field, f"{value:g} is out of range: {_range_words(low, high, low_open)}")
    return float(value)


def _range_words(low: float, high: Optional[float], low_open: bool) -> str:
    """``at least 0 and at most 5``, ``more than 0``...: the range a number must lie in."""
    lower = f"more than {low:g}" if low_open else f"at least {low:g}"
    return lower + (f" and at most {high:g}" if high is not None else "")


def seed(value, field: str = "seed", high: int = MAX_RUN_SEED) -> int:
    """A seed: a whole number from 0 to ``high`` (:data:`MAX_RUN_SEED`, a study's :data:`MAX_STUDY_SEED`)."""
    return whole(value, field, 0, high)


def days(value, field: str = "days") -> float:
    """A horizon in days: more than 0 and at most :data:`MAX_DAYS`."""
    return number(value, field, 0.0, MAX_DAYS, low_open=True)


def warmup(value, horizon: float, field: str = "warmup_days") -> float:
    """Days left out at the start: at least 0 and less than the horizon."""
    value = number(value, field, 0.0, MAX_DAYS)
    if value >= horizon:
        raise ScenarioError("", field, f"must be less than the horizon ({horizon:g} days)")
    return value


def count(value, field: str, low: int = 1, high: int = MAX_COUNT) -> int:
    """A count of replications, worlds or processes: a whole number from ``low`` to ``high``."""
    return whole(value, field, low, high)


def flag(value, field: str) -> bool:
    """A switch: ``True`` or ``False`` (not ``'no'``, not ``0``)."""
    if not isinstance(value, bool):
        raise ScenarioError("", field, f"{_show(value)} is not true or false")
    return value


def names(value, field: str) -> list[str]:
    """A list of names (metric names, say): strings, not one string spelt out letter by letter."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not all(map(_is_name, value)):
        raise ScenarioError("", field, f"{_show(value)} is not a list of names")
    return list(value)


def _is_name(v) -> bool:
    return isinstance(v, str) and bool(v)


def from_text(text: str, kind: str):
    """The number a command-line value spells (``int``: digits with an optional sign;
    ``float``: any float Python reads); the text itself when it spells none, so that the
    rule refuses it in its own words."""
    text = text.strip()
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        if kind == "int":
            try:
                return float(text)  # '1.5' is refused as 1.5, not as text
            except ValueError:
                pass
        return text


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
