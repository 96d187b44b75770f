"""The simulation model: SimPy processes and callbacks that turn a scenario into records.

* :mod:`.items`: events (ground truth) and reports (what moves);
* :mod:`.nodes`: collectors, staff cells and commanders at run time, and links;
* :mod:`.engine`: the :class:`~.engine.Simulation` that builds and runs them.
"""

from .engine import Simulation, simulate

__all__ = ["Simulation", "simulate"]
