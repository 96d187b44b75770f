"""A run's summary as a person and a program read it: the numbers (the ``run --json``
contract) with each kind's shelf life, every measure's one-line definition and the
single-run caveat, and the same as a text table."""

from __future__ import annotations

from ..measures import metrics
from ..scenario.provenance import source_texts
from . import glossary
from .tables import format_summary


def run_summary(sc, source: str, records) -> tuple[dict, str, dict]:
    """``(summary, text, sources)``: a run's summary with the kinds' shelf lives, the
    definitions and the caveat; its text; and the scenario texts as written (their
    comments are the provenance notes)."""
    sources = source_texts(source)
    kinds = glossary.kinds_info(sc, next(iter(sources.values()), None))
    summary = {**metrics.summary(records), "kinds": kinds, "definitions": glossary.definitions(),
               "caveat": glossary.SINGLE_RUN_CAVEAT}
    text = format_summary(summary, records.meta.get("bypass")) + "\n\n" + glossary.run_notes(kinds)
    return summary, text, sources
