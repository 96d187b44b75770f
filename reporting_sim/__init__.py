"""reporting-sim: how intelligence reports travel through a peace operation.

The package is layered, each layer reading only the ones above it:

* ``scenario`` and ``distributions``: the scenario file format, parsed and validated
  into an immutable :class:`~reporting_sim.scenario.Scenario` before any simulation
  exists (no SimPy here).
* ``streams``: one ``numpy.random.SeedSequence`` per run, spawned into a named random
  stream per source of randomness (common random numbers across what-if variants).
* ``model``: the SimPy engine that turns a scenario and a seed into records.
* ``records``: the flat records of a run (the single source of truth).
* ``metrics``: pure functions from records to numbers (pandas only, no SimPy).
* ``output`` and ``cli``: results folders and the ``reporting-sim`` command.
"""

__version__ = "0.1.0"
