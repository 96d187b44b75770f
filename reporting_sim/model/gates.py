"""Sharing gates: what may pass along a link, checked when a node passes a report on.

For each link a node chose, in this order:

1. a fixed gate of the link (from the sender's coping strategy): *othering* withholds
   from nodes outside the sender's trust groups (``withheld``); *Voltaire's garden*
   passes nothing outside its own task (``not_shared``);
2. **classification**: a report marked for one trust group reaches only nodes of that
   group, one marked for one organisation only nodes of it (``withheld``);
3. **sanitisation**: raw imagery leaves its channel (trust group) only as an INTREP,
   written by the sender if it can (``intrep_h``: queued analyst work in a cell) and
   losing the precise time and place; a sender that cannot write one withholds it;
4. **competition**: a report for a rival is held until the sender's next leadership
   meeting, or never passed (``not_shared``), with the sender's chances.

A report stopped by a gate ends there, and every consumer downstream of the link is
marked as having had a report withheld from it (the ledger outcome ``withheld`` applies
when it never hears of the event otherwise).
"""

from __future__ import annotations

from .items import GROUP, UNIT
from .nodes import NOT_SHARED, WITHHELD

PASS, INTREP = -1, -2


def gate(sim, src, rep, link) -> tuple[int, float]:
    """``(verdict, hold)``: a terminal state, ``PASS`` or ``INTREP``, and for a passing
    report the hours it is held back first (competition)."""
    if link.blocked is not None:
        return link.blocked, 0.0
    dst = link.dst
    if rep.cls:
        if rep.cls == GROUP and rep.cls_group not in dst.groups:
            return WITHHELD, 0.0
        if rep.cls == UNIT and dst.org != rep.cls_org:
            return WITHHELD, 0.0
    if rep.imagery is not None and sim.sanitise and rep.imagery not in dst.groups:
        return (INTREP if src.intrep is not None else WITHHELD), 0.0
    if src.hoard is not None and dst.index in src.rivals:
        u = src.u_hoard()
        h = src.hoard
        if u < h.p_never:
            return NOT_SHARED, 0.0
        if u < h.p_never + h.p_hold:
            now = sim.env.now
            return PASS, sim.scenario.meetings[h.until].next_at(now) - now
    return PASS, 0.0
