"""The two things that move through the model: ground-truth events and reports.

An :class:`Event` lives while anything about it is pending (an observation not yet
made, a report still moving); its ``pending`` count reaching zero means its fate is
settled and the engine hands its counts to the recorder and forgets it. A
:class:`Report` is one copy of what a collector learned, travelling node to node; when a
node passes a report on along several links, the first link takes the report itself
and each further link a child copy (``parent`` names the report it was copied from).
"""

from __future__ import annotations


class Event:
    """A ground-truth event while it is live (see the module docstring)."""

    __slots__ = ("id", "t", "kind", "pending", "seen", "observed", "reported")

    def __init__(self, eid: int, t: float, kind: int):
        self.id = eid
        self.t = t
        self.kind = kind
        self.pending = 0
        self.seen = 0  # bit mask of the nodes that already hold this event
        self.observed = 0
        self.reported = 0


class Report:
    """One copy of a report; ``prev`` is the node it last left, ``t_in`` when it
    reached its current node."""

    __slots__ = ("id", "parent", "event", "prev", "t_in")

    def __init__(self, rid: int, parent: int, event: Event, prev: int, t_in: float):
        self.id = rid
        self.parent = parent
        self.event = event
        self.prev = prev
        self.t_in = t_in
