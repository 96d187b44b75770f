"""Robust what-if answers: every verdict tested across the plausible worlds of its assumptions.

``compare`` answers "does this variant help?" in one world: the assumptions as written.
A robustness study asks whether the answer holds in every world the study leaves open.
It draws N *worlds* from the base scenario's ``[uncertainties]`` (Latin hypercube by
default, reproducibly from the seed: :mod:`.uncertainties`), and in each world runs
the base and every variant for R replications with common random numbers (replication
``r`` uses seed ``seed + r`` in every world and scenario). A variant keeps its own
changes in every world (trained U2 stays trained); every other uncertain setting takes
the world's value.

Per variant and metric it reports (:func:`analyse`, a pure function of the runs):

* ``share_better``: the share of worlds where the variant's mean over the replications
  is better than the base's, in the metric's *better direction* (:data:`BETTER`, the one
  place that says which way is better), with a 95% Wilson interval;
* ``share_sig_better`` / ``share_sig_worse``: the share of worlds whose paired 95%
  t interval (over the replications) lies wholly on the better / worse side of zero;
* ``diff_p05``, ``diff_p50``, ``diff_p95``: the difference variant - base across worlds;
* ``regret_p50``, ``regret_p90``: how far the variant falls short of the best scenario
  of each world (base included), in the metric's units; and how often each is best;
* for the verdict metric, *scenario discovery*: the boxes of assumption ranges where
  the variant fails to help, found by PRIM (the EMA Workbench's implementation), with
  their coverage and density, and the assumptions ranked by how much they drive its
  effect (extra-trees feature scores); then a one-sentence verdict.

Runs go through the executors of :mod:`.execution` (process pool, ``--jobs``, Dask) and
its :class:`~.execution.RunStore`, so an interrupted study resumes. The folder gets
``runs.parquet`` (world x scenario x replication, with the world's assumptions),
``worlds.csv``, ``summary.csv``, ``result.json``, ``figures/`` and ``run.json``.
"""

from __future__ import annotations

from ...metric_names import BETTER, direction
from .analysis import analyse, discover, summary_frame, verdict, world_means, world_verdict
from .discovery import feature_scores, prim_boxes, words
from .runner import Study
from .spec import INSTALL, RobustnessSpec, StudyFile, default_metrics, is_study_file, load_study_file, need_explore

__all__ = ["BETTER", "INSTALL", "RobustnessSpec", "Study", "StudyFile", "analyse", "default_metrics", "direction",
           "discover", "feature_scores", "is_study_file", "load_study_file", "need_explore", "prim_boxes",
           "summary_frame", "verdict", "world_means", "world_verdict", "words"]
