"""Packages of variants within a budget: several what-ifs applied together, each with a
cost, judged across plausible worlds.

**Composition** (:func:`compose`): each variant is its base plus its changes; a package
applies the changes of all its variants to the base. The changes are compared leaf by
leaf (a value under ``[set]``, a link by its ends); two variants that change the same
setting to different values cannot be composed (one line naming both and the setting).

**Costs** (:func:`cost_of`): a variant file's ``[variant.cost]`` table gives ``amount``
(a number >= 0), ``unit`` (the planner's: analysts, officers, person-months...) and
``reason`` (its provenance). A package costs the sum of its variants' amounts; every
variant of one study must name the same unit.

**The study** (:class:`Packages`): every combination of the variants within the budget
(the empty package is the base, cost 0), or, above :data:`ENUMERATE_MAX` combinations,
a search (:func:`search_packages`); each package runs in ``N`` plausible worlds (Latin
hypercube over the base's ``[uncertainties]``, or a calibration's worlds file) for ``R``
replications with the world's seeds, common to every package (common random numbers).
Per package and metric the objective is the mean over the worlds of the world's mean.
The **front** holds the packages no other package beats on cost and every objective
at once (in each metric's better direction). Each package's **robustness** on the first
metric, by three measures that can rank packages differently (McPhail et al. 2018,
"Robustness metrics: how are they calculated, when should they be used and why do they
give different results?", Earth's Future 6):

* ``mean``: the mean over worlds (an expected value, indifferent to spread);
* ``minimax_regret``: the largest shortfall, over the worlds, from the best package of
  that world (Savage's regret; lower is better);
* ``satisficing``: the share of worlds where the package meets the threshold (Starr's
  domain criterion): by default, where it beats the base of the same world by at least
  the metric's minimum effect worth counting; or an absolute level (``--threshold``).

``ranking`` says how stable the order is across the three: Kendall's tau between each
pair of rankings and whether they agree on the best package.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .. import scenario as scenario_mod
from ..errors import ScenarioError
from ..hashing import canonical, digest

ENUMERATE_MAX = 256
"""Up to this many combinations within the budget, every one is run; above it a search."""

_REMOVED = "<removed>"


# ------------------------------------------------------------------ composition

def _link_key(link: dict) -> str:
    return f"links[{link.get('from')}->{link.get('to')}]" + (f" when {canonical(link['when'])}" if link.get("when") else "")


def _links_by_key(links: list) -> dict[str, dict]:
    out, seen = {}, {}
    for link in links or []:
        k = _link_key(link)
        seen[k] = seen.get(k, 0) + 1
        out[k if seen[k] == 1 else f"{k}#{seen[k]}"] = link
    return out


def _flatten(data, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in data.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, path + "."))
        else:
            out[path] = v
    return out


def changes(base: dict, variant: dict) -> dict[str, object]:
    """What ``variant`` (a whole scenario's data) changes from ``base``: setting path ->
    new value (``links[A->B]`` a whole link; a removed setting or link: ``"<removed>"``)."""
    fb = _flatten({k: v for k, v in base.items() if k not in ("links", "uncertainties")})
    fv = _flatten({k: v for k, v in variant.items() if k not in ("links", "uncertainties")})
    out = {p: v for p, v in fv.items() if fb.get(p, _REMOVED) != v}
    out.update({p: _REMOVED for p in fb if p not in fv})
    lb, lv = _links_by_key(base.get("links", [])), _links_by_key(variant.get("links", []))
    out.update({k: v for k, v in lv.items() if lb.get(k) != v})
    out.update({k: _REMOVED for k in lb if k not in lv})
    for p in ("scenario.name", "scenario.description"):
        out.pop(p, None)
    return out


def compose(base, variants: list, label: Optional[str] = None):
    """One member with the changes of every variant in ``variants`` (members of the same
    base) applied to ``base``; a one-line error where two change one setting differently."""
    from .experiment import Member

    if not variants:
        return base
    diffs = [(v, changes(base.data, v.data)) for v in variants]
    _check_conflicts(diffs)
    flat = _flatten({k: v for k, v in base.data.items() if k not in ("links",)})
    links = _links_by_key(base.data.get("links", []))
    for _, d in diffs:
        for p, value in d.items():
            (links if p.startswith("links[") else flat)[p] = value
    data = _unflatten({p: v for p, v in flat.items() if v != _REMOVED})
    data["links"] = [copy.deepcopy(v) for v in links.values() if v != _REMOVED]
    names = "+".join(v.label for v in variants)
    data.setdefault("scenario", {})["name"] = "pkg-" + digest(names)[:8]
    data["scenario"]["description"] = f"Package: {names}"
    return Member(label or names, data, " + ".join(v.source for v in variants))


def _check_conflicts(diffs: list) -> None:
    seen: dict[str, tuple] = {}
    for v, d in diffs:
        for p, value in d.items():
            if p in seen and seen[p][1] != value:
                other = seen[p][0]
                raise ScenarioError(v.source, p, f"changed differently by {other.label!r} ({_short(seen[p][1])}) and "
                                    f"{v.label!r} ({_short(value)}): these variants cannot be composed")
            seen.setdefault(p, (v, value))


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _unflatten(flat: dict[str, object]) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = copy.deepcopy(value)
    return out


def resolve_option(ref: str):
    """A base, variant or ``A.toml+B.toml`` (the variants composed) named on the command line."""
    from .experiment import resolve_member

    parts = [p for p in ref.split("+") if p]
    if len(parts) <= 1 or scenario_mod.path_exists(Path(ref), "VARIANT"):
        return resolve_member(ref, None)
    members = [resolve_member(p, None) for p in parts]
    bases = {_base_of(m) for m in members}
    if len(bases) > 1:
        raise ScenarioError(ref, "VARIANT", f"the variants of one package must share a base (got {', '.join(sorted(bases))})")
    base = resolve_member(bases.pop(), None)
    return compose(base, members)


def _base_of(member) -> str:
    head = (scenario_mod.read_file(member.source) or {}).get("variant", {}) if Path(member.source).is_file() else {}
    base = head.get("base") if isinstance(head, dict) else None
    if not base:
        raise ScenarioError(member.source, "variant.base", "only variants can be composed into a package")
    path = Path(member.source).parent / base
    return str(path) if path.is_file() else base
