"""What the pieces of the network may use of the running simulation.

Nodes (:mod:`.nodes`), collectors (:mod:`.collectors`) and the sharing gates
(:mod:`.gates`) are handed the running :class:`.engine.Simulation` as ``sim``; this
protocol names everything they use of it, and nothing else, so a reader sees the
interface between a piece and the engine in one place (and a type checker holds both
sides to it). The engine satisfies it; ``tests/test_plan_switches.py`` checks that it
still does and that the pieces use no other member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:  # for the annotations only; none of these imports the pieces typed here
    import simpy

    from .records import Recorder
    from .streams import Streams
    from .clock import Clock
    from .items import Event, Report
    from .plan import Plan


class Sim(Protocol):
    """The running simulation as a node, collector or gate sees it."""

    # what runs, and how time moves
    env: "simpy.Environment"
    clock: "Clock"
    schedule: Callable[..., None]  # SimPy's own ``Environment.schedule``
    # what is fixed before the run
    plan: "Plan"
    streams: "Streams"
    tracing: bool
    per_task_routine: bool  # routine tasks as SimPy events (see .routine)
    event_starts: bool  # every start of work at a cell a SimPy moment (see .fifo)
    horizon: float  # hours simulated
    sanitise: bool
    ungated: bool
    shelf_lives: list[float]
    current_kinds: frozenset[int]
    pools: dict  # pool name -> collectors.Pool
    # what is recorded
    rec: "Recorder"

    def new_report(self, ev: "Event", origin: int, parent: int = -1,
                   pending_taken: bool = False) -> "Report": ...

    def hold(self, ev: "Event") -> None: ...

    def release(self, ev: "Event") -> None: ...

    def dispatch(self, src, rep: "Report", links: list) -> None: ...

    def send(self, rep: "Report", link, hold: float = 0.0) -> None: ...  # link: a nodes.Link

    def send_intrep(self, reps: list, links: list) -> None: ...

    def end(self, rep: "Report", node: int, state: int) -> None: ...


SIM_MEMBERS = frozenset(
    name for name in (*Sim.__annotations__, *vars(Sim)) if not name.startswith("_")
)
"""The names of :class:`Sim`'s members (for the test that the pieces use no other)."""
