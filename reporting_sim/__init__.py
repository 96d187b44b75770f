"""reporting-sim: how intelligence reports travel through a peace operation.

The package's folders are its layers, from the bottom up (``tests/test_layers.py``
holds every module to importing only its own layer or lower ones, and only public
names across modules; docs/architecture.md tells the whole story):

* plain leaves: :mod:`.errors`, :mod:`.hashing`, :mod:`.metric_names` (flat metric names
  and which way is better), :mod:`.arguments` (the rules for seeds, horizons and
  counts the command line and the API share), :mod:`.lazy`, :mod:`.version`;
* :mod:`.scenario`: the scenario as data, read and checked before any simulation
  (schema, loading, checks, distributions, uncertainties, variants, limits,
  provenance; no SimPy);
* :mod:`.model`: the plan worked out from a scenario, and the SimPy engine that turns a
  plan and a seed into records (streams, records, outcomes);
* :mod:`.measures`: pure pandas functions from records to numbers and stories;
* :mod:`.study`: many runs, stored and resumable: execution, the study guard (the one
  guarded path of every study command), results folders, experiments, robustness, the
  study's claims;
* :mod:`.present`: what a person reads: glossary, tables, figures, the network
  diagram, the HTML report;
* :mod:`.lab`: the teaching lab in the browser;
* :mod:`.cli`: the ``reporting-sim`` command, thin commands over the library;
* :mod:`.api`: the Python API, re-exported here: :func:`load`, :func:`simulate`,
  :func:`summary`, :func:`compare` and :func:`read_results`.
"""

from __future__ import annotations

from .api import compare, load, read_results, simulate, summary
from .lazy import lazy_module
from .version import __version__

__all__ = ["load", "simulate", "compare", "read_results", "summary", "lazy_module", "__version__"]
