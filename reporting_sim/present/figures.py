"""The figures of a stored results folder, whichever kind it holds: a run's (weekly
timeliness, outcomes...), an experiment's (the forest of paired differences) or a
robustness study's (differences across worlds, PRIM boxes, importance)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ScenarioError
from ..study import output
from . import plots


def results_figures(folder: Path, out: Path) -> list[Path]:
    """Draw the figures of ``folder`` into ``out`` (PNG and SVG); returns the PNGs."""
    folder, out = Path(folder), Path(out)
    if not (folder / "result.json").exists():
        rec = output.read_run(folder)
        return plots.run_figures(rec, out, output.stored_start_date(folder), output.run_headline(rec))
    result = output.read_json(folder, "result.json")
    if "sweep" in result:
        raise ScenarioError(str(folder), "", "a sweep has no forest plot; see its summary.csv and result.json")
    if "worlds" in result:  # a robustness study
        from .robustness import replot

        return replot(folder, out)
    from .report import stored_headline

    return [plots.forest(result, out / "forest", headline=stored_headline(folder, result["base"]))]
