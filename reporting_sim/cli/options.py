"""What every ``reporting-sim`` command shares: one line per input problem (exit 2),
finite numbers, the executor options, and the library modules loaded on first use (so
``--help``, ``scenario list`` and ``validate`` stay fast)."""

from __future__ import annotations

import math
import sys

import click

from .. import arguments
from ..errors import ScenarioError
from ..lazy import lazy_module

metrics = lazy_module("reporting_sim.measures.metrics")
output = lazy_module("reporting_sim.study.output")
scenario_mod = lazy_module("reporting_sim.scenario")

DEFAULT_SCENARIO = "minusma-2015"


class InputError(click.ClickException):
    """A user-input problem: printed as one line, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def usage_line(exc: click.UsageError) -> str:
    """Click's usage error as one line: ``--days: 'nan' is not ...``."""
    if isinstance(exc, (click.BadParameter, click.MissingParameter)) and exc.param is not None:
        hint = exc.param.get_error_hint(exc.ctx) if exc.ctx is not None else exc.param.name
        message = exc.message or ("required but missing" if isinstance(exc, click.MissingParameter) else
                                  exc.format_message())
        return f"{hint.strip(chr(39)).replace(chr(39) + ' / ' + chr(39), ' / ')}: {message}"
    return exc.format_message()


class Group(click.Group):
    """Turns every input problem (a scenario's, or a bad option) into one line."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise InputError(usage_line(exc)) from None

    def invoke(self, ctx):
        try:
            from ..scenario.limits import check_environment

            check_environment()  # a bad REPORTING_SIM_MAX_* is one line, whatever the command
            return super().invoke(ctx)
        except ScenarioError as exc:
            raise InputError(exc.one_line()) from None
        except click.UsageError as exc:
            raise InputError(usage_line(exc)) from None


class Finite(click.FloatRange):
    """A float range that also refuses ``nan`` and infinities."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return value


class Rule(click.ParamType):
    """An option checked by a rule of :mod:`reporting_sim.arguments`, the same function
    the Python API checks its arguments with (so both say the same): the text is read
    as a number (``kind``: ``int`` or ``float``), then the rule decides."""

    def __init__(self, name: str, rule, kind: str = "float", **bounds):
        self.name, self.rule, self.kind, self.bounds = name, rule, kind, bounds

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            value = arguments.from_text(value, self.kind)
        try:
            return self.rule(value, "", **self.bounds)
        except ScenarioError as exc:
            self.fail(exc.message, param, ctx)


SEED = Rule("seed", arguments.seed, "int")
STUDY_SEED = Rule("seed", arguments.seed, "int", high=arguments.MAX_STUDY_SEED)
DAYS = Rule("days", arguments.days)
WARMUP = Rule("days", arguments.number, low=0.0, high=arguments.MAX_DAYS)


def count(low: int = 1, high: int = arguments.MAX_COUNT) -> Rule:
    """A count option (replications, worlds) from ``low`` to ``high``."""
    return Rule("count", arguments.count, "int", low=low, high=high)


def executor_options(fn):
    """``--jobs``, ``--dask`` and ``--progress/--no-progress``."""
    fn = click.option("--jobs", "n_jobs", type=count(1, 4096), default=None,
                      help="Processes to run on (default: all cores; 1 runs serially).")(fn)
    fn = click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
                      help="Run on a Dask cluster at ADDRESS (e.g. tcp://host:8786) instead.")(fn)
    fn = click.option("--progress/--no-progress", default=None,
                      help="Progress bar with time left on stderr (default: when stderr is a terminal).")(fn)
    return fn


def progress_wanted(flag) -> bool:
    """``--progress`` as given, else whether stderr is a terminal."""
    return sys.stderr.isatty() if flag is None else flag
