"""What every panel of one lab reads: the scenario and its starting points (fixed when
the lab starts), and, per browser session, the reactive values the panels share (the
current settings, the panel size, the traced runs, the paired runs)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ... import scenario as scenario_mod
from .. import core


@dataclass
class Lab:
    """The lab's fixed inputs (see :meth:`of`)."""

    scenario: str
    base_data: dict
    base_sc: object
    base_ref: str
    presets_data: dict
    drawn_against: object
    knobs0: core.Knobs
    ids: dict[str, str]
    headline: Optional[str]
    consumers: list[str]
    days: float
    replications: int
    variants_dir: Path
    cache: dict = field(default_factory=dict)

    def traced(self, key: str, sc, days: float, seed: int) -> tuple:
        """``(scenario, records, mission data)`` of a traced run of ``sc`` (``key``
        names its settings), kept for the sessions of this lab (a few at a time)."""
        from ...model import simulate
        from .. import mission

        k = (key, float(days), int(seed))
        if k not in self.cache:
            if len(self.cache) >= 12:
                self.cache.pop(next(iter(self.cache)))
            rec = simulate(sc, int(seed), float(days), trace=True)
            self.cache[k] = (sc, rec, mission.mission(rec, sc))
        return self.cache[k]

    def warm(self, days: float = 30.0, seed: int = 1) -> None:
        """Do before the server answers what the first view and the first replay need
        (the imports, the scenario as it is traced for the default days and seed)."""
        from ...present import graph

        graph.svg(self.base_sc, base=self.drawn_against, collapsed=[g.key for g in graph.unit_groups(self.base_sc)],
                  width=900, height=500, legend=False)
        graph.diff(self.drawn_against, self.base_sc).lines(self.drawn_against, self.base_sc)
        self.traced("base", self.base_sc, days, seed)
        _read_sources()

    @staticmethod
    def of(scenario: str, *, variants_dir=None, days: float = 60.0, replications: int = 6) -> "Lab":
        """The lab of ``scenario`` (a built-in name or a file); ``variants_dir``: the
        shipped variants offered as starting points."""
        base_data, base_source = scenario_mod.load_data(scenario)
        base_sc = scenario_mod.parse(copy.deepcopy(base_data), base_source)
        builtin = scenario in scenario_mod.builtin_names() and not Path(scenario).exists()
        base_ref = scenario if builtin else str(Path(scenario).resolve())
        folder = _variants_folder(variants_dir)
        preset_paths = core.presets(folder, base_sc.name if builtin else scenario)
        knobs0 = core.Knobs.of(base_sc)
        return Lab(scenario=scenario, base_data=base_data, base_sc=base_sc, base_ref=base_ref,
                   presets_data={name: scenario_mod.read_file(p) for name, p in preset_paths.items()},
                   drawn_against=scenario_mod.variant_base(scenario) or base_sc, knobs0=knobs0,
                   ids={f"k{i}": key for i, key in enumerate(knobs0.values)},
                   headline=_headline(base_sc),
                   consumers=list(base_sc.consumers), days=days, replications=replications, variants_dir=folder)


def _variants_folder(variants_dir) -> Path:
    """Where the shipped variants are: ``variants_dir`` when given, else ``experiments/variants``."""
    return Path(variants_dir) if variants_dir is not None else Path("experiments") / "variants"


def _headline(base_sc) -> Optional[str]:
    """The headline consumer: the bypass consumer, else the last consumer (none without consumers)."""
    return base_sc.metrics.bypass_consumer or (base_sc.consumers[-1] if base_sc.consumers else None)


@dataclass
class Shared:
    """One session's reactive values and calculations, filled in by the panels that
    own them (settings, size, traces, what-if) and read by the others."""

    settings: object = None  # calc: (variant, data, changed scenario, error line)
    start: object = None  # calc: (data, scenario, preset) the settings start from
    size: object = None  # calc: {"w", "h", "net_h"} of the panel, in CSS px
    closed: object = None  # calc: the unit groups drawn closed
    traces: object = None  # reactive value: {"base": (sc, records), "changed": (sc, records)}
    run: object = None  # calc: the what-if's checked RunSettings, or an error line
    pairs: object = None  # reactive value: rows so far of the paired runs, and their settings
    extra: dict = field(default_factory=dict)


def _read_sources() -> None:
    """Read the source of every loaded module once: the web framework names each
    reactive value it makes from the source line that makes it (``inspect.stack``),
    which reads those files; read now, the first session does not wait for it."""
    import inspect
    import linecache
    import sys

    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if path and path.endswith(".py"):
            linecache.getlines(path)
    inspect.stack()  # fills inspect's map of files to modules
