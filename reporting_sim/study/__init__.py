"""Studies: many runs, stored and resumable, and the answers drawn from them.

* :mod:`.execution`: jobs keyed by content, executors (serial, process pool, Dask) and
  the run store that makes an interrupted study resume;
* :mod:`.output`: results folders, written atomically (a run's, an experiment's);
* :mod:`.spec` and :mod:`.experiment`: comparisons with common random numbers, sweeps
  and sensitivity analysis, from the command line or an experiment file;
* :mod:`.robustness`: what-ifs judged across plausible worlds of the assumptions
  (spec, runner, analysis);
* :mod:`.claims`: the field study's claims as data, checked by ``check-study``.

A study computes and stores; figures and text are drawn by :mod:`reporting_sim.present`.
"""
