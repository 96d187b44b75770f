"""The two things that move through the model: ground-truth events and reports.

An :class:`Event` lives while anything about it is pending (an observation not yet
made, a report still moving); its ``pending`` count reaching zero means its fate is
settled for now, and the engine hands its counts to the recorder and forgets it (a
coordination board may bring it back to life by passing it on later). A
:class:`Report` is one copy of what a collector learned, travelling node to node; when
a node passes a report on along several links, the first link takes the report itself
and each further link a child copy (``parent`` names the report it was copied from).

A report carries what the sharing gates look at: its classification (``cls``: 0 for the
whole mission, 1 for one trust group ``cls_group``, 2 for one organisation
``cls_org``), whether it still holds raw imagery with its metadata (``imagery``: the
trust group it may travel in, or ``None``), and whether it keeps the precise time and
place of the event (``precise``). Its ``lineage`` is the bit mask of the analysis cells
that worked it or the reports it came from: an analysis cell working a report whose
lineage is empty analyses the event independently; one working a report another
analysis cell has worked only continues that work (passing up the branch is not
duplication), unless it redoes it on purpose (``rework``: told of it at a board).
"""

from __future__ import annotations

MISSION, GROUP, UNIT = 0, 1, 2


class Event:
    """A ground-truth event while it is live (see the module docstring)."""

    __slots__ = ("id", "t", "kind", "pending", "seen", "observed", "reported", "observers", "analysed",
                 "independent", "declared")

    def __init__(self, eid: int, t: float, kind: int):
        self.id = eid
        self.t = t
        self.kind = kind
        self.pending = 0
        self.seen = 0  # bit mask of the nodes that already hold this event
        self.observed = 0
        self.reported = 0
        self.observers = 0  # bit mask of the collectors that observed it
        self.analysed = 0  # bit mask of the analysis cells that worked it
        self.independent = 0  # how many of those analyses were independent of each other
        self.declared = 0  # bit mask of the board register places that declared it (see engine)

    def counts(self) -> tuple[int, int, int, int, int]:
        """What the recorder keeps of the event: observations, reports, the observers'
        mask, how many analysis cells worked it, how many of those independently."""
        return self.observed, self.reported, self.observers, self.analysed.bit_count(), self.independent


class Report:
    """One copy of a report; ``prev`` is the node it last left, ``t_in`` when it
    reached its current node (``t_start``: when its work there starts, in a cell that
    gives starts on arrival, :mod:`.fifo`)."""

    __slots__ = ("id", "parent", "event", "prev", "t_in", "t_start", "cls", "cls_group", "cls_org",
                 "imagery", "precise", "lineage", "rework", "callbacks", "_ok", "_value")

    # A report is also its own SimPy event (on the general path and the hot path): SimPy's
    # ``Environment.step`` reads only ``callbacks`` and ``_ok`` of an event it pops (and
    # ``_value`` only when ``_ok`` is false), so a report being worked or in transit is
    # pushed on SimPy's queue as it is, with ``callbacks`` naming what happens next,
    # instead of wrapping it in a new event each hop. A report waits on at most one thing
    # at a time, so one slot is enough. ``_ok`` is a slot, not a class attribute: the run
    # loop reads it once per event, and CPython 3.11 reads a slot faster (.loop).
    # The model's minimal events (.wake.Wake: a callback and its ``_value``) are of this
    # class too, so that the run loop's reads see one type of event nearly always (see
    # .wake); a report never sets ``_value``.

    def __init__(self, rid: int, parent: int, event: Event, prev: int, t_in: float,
                 cls: int = MISSION, cls_group=None, cls_org=None, imagery=None, precise=True):
        self.id = rid
        self.parent = parent
        self.event = event
        self.prev = prev
        self.t_in = t_in
        self.cls = cls
        self.cls_group = cls_group
        self.cls_org = cls_org
        self.imagery = imagery
        self.precise = precise
        self.lineage = 0
        self.rework = False
        self._ok = True
