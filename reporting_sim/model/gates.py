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

Coordination boards apply the same policy (:func:`withheld_by_mark`, :func:`othering`,
:func:`competition`) to what members tell each other. A report stopped by a gate ends there, and every consumer downstream of the link is
marked as having had a report withheld from it (the ledger outcome ``withheld`` applies
when it never hears of the event otherwise).
"""

from __future__ import annotations

from typing import Optional

from .context import Sim
from .items import GROUP, UNIT
from .nodes import NOT_SHARED, WITHHELD

PASS, INTREP = -1, -2


def gate(sim: Sim, src, rep, link) -> tuple[int, float]:
    """``(verdict, hold)``: a terminal state, ``PASS`` or ``INTREP``, and for a passing
    report the hours it is held back first (competition)."""
    if link.blocked is not None:
        return link.blocked, 0.0
    dst = link.dst
    if withheld_by_mark(rep.cls, rep.cls_group, rep.cls_org, dst):
        return WITHHELD, 0.0
    if rep.imagery is not None and sim.sanitise and rep.imagery not in dst.groups:
        return (INTREP if src.intrep is not None else WITHHELD), 0.0
    hold = competition(sim, src, dst)
    if hold is None:
        return NOT_SHARED, 0.0
    return PASS, hold


# -- the sharing policy: the same rules on links and at coordination boards -----------

def withheld_by_mark(cls: int, cls_group, cls_org, dst) -> bool:
    """Classification: a report marked for one trust group reaches only that group's
    nodes, one marked for one organisation only that organisation's."""
    if cls == GROUP:
        return cls_group not in dst.groups
    if cls == UNIT:
        return dst.org != cls_org
    return False


def othering(src, dst) -> bool:
    """Othering: ``dst`` is outside every trust group of ``src``."""
    return not (src.groups & dst.groups)


def competition(sim: Sim, src, dst) -> Optional[float]:
    """Hours ``src`` holds an item back from ``dst`` (0 for none: not a rival, or it
    shares at once), or ``None`` when it never tells that rival; one draw of the
    sender's ``hoard`` stream per item for a rival."""
    if src.hoard is None or dst.index not in src.rivals:
        return 0.0
    u = src.u_hoard()
    h = src.hoard
    if u < h.p_never:
        return None
    if u < h.p_never + h.p_hold:
        now = sim.env._now
        return sim.plan.meetings[h.until].next_at(now) - now
    return 0.0
