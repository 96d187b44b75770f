"""The ``reporting-sim`` command: thin commands over the library.

Every command parses its options and calls one library function or a few; what the
commands share (one line per input problem, exit status 2; finite numbers; the
executor options) is in :mod:`.options`. The commands, by module:

* :mod:`.runs`: ``run`` and ``validate``;
* :mod:`.scenarios`: ``scenario list`` / ``show`` / ``graph`` / ``diff``;
* :mod:`.studies`: ``compare``, ``experiment``, ``check-study``, ``robustness``, ``calibrate``,
  ``select``, ``packages``, ``brief``;
* :mod:`.teaching`: ``trace``, ``bottlenecks``, ``ceilings``, ``plot``, ``report``, ``lab``.
"""

from __future__ import annotations

import os

import click

from ..version import __version__
from . import runs, scenarios, studies, teaching
from .options import Group, InputError

__all__ = ["cli", "main", "InputError"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reporting-sim")
def cli():
    """Simulate how intelligence reports travel through a peace operation's
    reporting chains, and how much arrives in time, late, or never."""


for _command in (runs.run, studies.compare, studies.experiment, studies.check_study, studies.robustness, studies.calibrate,
                 studies.select, studies.packages, studies.brief,
                 teaching.trace, teaching.bottlenecks, teaching.ceilings, teaching.plot, teaching.report, teaching.lab,
                 scenarios.scenario, runs.validate):
    cli.add_command(_command)


def main():  # console-script entry point
    single_blas_thread()
    cli(prog_name="reporting-sim")


def single_blas_thread() -> None:
    """One BLAS thread for numpy unless the user's environment says otherwise, set
    before numpy is first imported (importing this module imports no numpy). The
    command does no linear algebra worth threads, and runs in parallel, when it does,
    as processes (which inherit this): OpenBLAS's own threads only cost CPU here, about
    0.25 s of each command's start-up on the 2-core benchmark machine, and would crowd
    a study's worker processes (benchmarks/README.md)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


if __name__ == "__main__":
    main()
