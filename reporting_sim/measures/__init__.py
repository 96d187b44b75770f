"""Measures: pure pandas functions from a run's records to numbers and stories.

* :mod:`.metrics`: the run summary and every flat metric (shares in time, latencies,
  loss by cause, bypass, fidelity, duplication, utilisation), weekly series;
* :mod:`.views`: one event's story hop by hop, time budgets, bottlenecks, occupancy;
* :mod:`.stats`: t intervals (single and paired), Holm's adjustment, p values from
  intervals.

Nothing here imports SimPy: measures read records, never the running simulation.
"""
