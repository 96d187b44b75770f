"""The simulation model: SimPy processes and callbacks that turn a scenario into records.

* :mod:`.plan`: the network plan of a scenario, worked out without SimPy;
* :mod:`.items`: events (ground truth) and reports (what moves, each its own SimPy event);
* :mod:`.clock` and :mod:`.wake`: scheduling on SimPy, routines as SimPy processes;
* :mod:`.context`: what nodes, collectors and gates may use of the running simulation;
* :mod:`.nodes`: staff cells and commanders at run time, and links; :mod:`.collectors`:
  the collectors and their pools;
* :mod:`.gates`: the one sharing policy links and boards both use;
* :mod:`.engine`: the :class:`~.engine.Simulation` that runs a plan for one seed;
* :mod:`.hotpath`: the per-report path specialised for plain cells, links and collectors.
"""

from .engine import Simulation, simulate
from .plan import Plan, build_plan

__all__ = ["Plan", "Simulation", "build_plan", "simulate"]
