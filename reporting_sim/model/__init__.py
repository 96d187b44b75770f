"""The simulation model: SimPy processes and callbacks that turn a scenario into records.

* :mod:`.items`: events (ground truth) and reports (what moves);
* :mod:`.nodes`: collectors, staff cells and commanders at run time, and links;
* :mod:`.plan`: the network plan of a scenario, worked out without SimPy;
* :mod:`.engine`: the :class:`~.engine.Simulation` that runs a plan for one seed;
* :mod:`.hotpath`: the per-report path specialised for plain cells, links and collectors.
"""

from .engine import Simulation, simulate
from .plan import Plan, build_plan

__all__ = ["Plan", "Simulation", "build_plan", "simulate"]
