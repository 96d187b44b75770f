"""Uncertainties: the plausible ranges of a scenario's assumptions, and worlds drawn from them.

A scenario's ``[uncertainties]`` table (schema: :class:`reporting_sim.scenario.Uncertainty`)
gives, for a setting named by the dotted path sweeps use (``cells.u2.analysts``,
``kinds.attack.shelf_life_h``, ``links[u2->asifu].p``, ``cells.u2.work_h.mean``), a
``low`` and ``high`` (uniform by default, or triangular or log-uniform), or the
``values`` a switch or choice can take, or ``fixed = true``; each with its reason.
``also`` lists settings that move with it (the same value in every world: "as bn_west";
:func:`unequal_also` lists those that do not start equal).

:func:`check` (called when a scenario is parsed) makes sure every path exists, that a
range is on a number and a list of values on a switch or choice, and that both ends
of every range are values the field itself accepts: the part of the scenario the path
names (``cells.u2``, a link) is validated by its own model with the end put in (the
schema's own bounds, not a second copy of them), then the checks of the whole scenario
run with that part in place (:func:`changed`); the scenario is not parsed again. A :class:`Space` draws
*worlds* (one value per uncertain setting) by Latin hypercube or plain random sampling,
reproducibly from a seed, and writes a world into a scenario's data. Integer settings
(per the schema, e.g. analysts) stay integers; a switch takes one of its values.
"""

from __future__ import annotations

import math
import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Optional, get_args, get_origin

from pydantic import ValidationError

from ..errors import ScenarioError
from ..hashing import digest
from .checks import check_graph
from .field_errors import error_line
from .schema import Scenario

if TYPE_CHECKING:  # numpy only where worlds are drawn: validating a file stays cheap
    import numpy as np

PATH_EXAMPLES = ("paths look like cells.CELL.analysts, kinds.KIND.shelf_life_h, links[FROM->TO].p, "
                 "cells.CELL.work_h.mean, with names from the scenario")


_LINK = re.compile(r"^links\[\s*([^\]\s]+?)\s*->\s*([^\]\s]+?)(?:\s+when\s+(\w+)\s*=\s*(\w+))?\s*\]\.([\w.]+)$")
"""The sweeps' link syntax (``links[FROM->TO].FIELD``: every link from FROM to TO),
also reaching inside a field (``links[FROM->TO].transit_h.mean``) and optionally only
the links that exist under one setting of a switch (``links[asifu->u2 when
asifu_position=apart].p``)."""


def _matching_links(data: dict, m: re.Match) -> list[int]:
    """The positions in ``data``'s links of those a matched link path names."""
    src, dst, switch, choice, _ = m.groups()
    return [i for i, link in enumerate(data.get("links", [])) if _link_fits(link, src, dst, switch, choice)]


def _link_fits(link, src: str, dst: str, switch: Optional[str], choice: Optional[str]) -> bool:
    """Whether ``link`` (as written) goes from ``src`` to ``dst`` (and, given a switch,
    exists when it is set to ``choice``)."""
    if not _goes(link, src, dst):
        return False
    return switch is None or (link.get("when") or {}).get(switch) == choice


def _goes(link, src: str, dst: str) -> bool:
    """Whether ``link`` (as written: a table) goes from ``src`` to ``dst``."""
    return isinstance(link, dict) and link.get("from") == src and link.get("to") == dst


def _links(data: dict, path: str):
    """For a link path: the links it names and the path inside each (``None`` for another path)."""
    m = _LINK.match(path)
    if not m:
        return None
    return [data["links"][i] for i in _matching_links(data, m)], m.group(5)


def _get(data: dict, path: str):
    """The value at ``path`` (``None`` when there is none)."""
    found = _links(data, path)
    if found is not None:
        hits, rest = found
        return _get(hits[0], rest) if hits else None
    return _get_dotted(data, path.split("."))


def _get_dotted(node, keys: list[str]):
    """The value at ``node[k1][k2]...`` (``None`` when a table on the way lacks the key)."""
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


get_path = _get
"""The value at a sweep or uncertainty path (also used by sweeps: ``experiment.get_param``)."""


def _set(data: dict, path: str, value, source: str, field: str) -> None:
    """Set the value at ``path`` (as sweeps do: :func:`reporting_sim.variants.set_path`)."""
    from .variants import set_path

    found = _links(data, path)
    if found is None:
        set_path(data, path, value, source, field)
    else:
        _set_on_links(found[0], path, found[1], value, source, field)


def _set_on_links(hits: list, path: str, rest: str, value, source: str, field: str) -> None:
    """Set ``rest`` in each of the links ``hits`` that link path ``path`` names (at least one)."""
    from .variants import set_path

    if not hits:
        raise ScenarioError(source, field, f"no link in {path!r}")
    for link in hits:
        set_path(link, rest, value, source, field)


def field_name(path: str) -> str:
    """How an uncertainty is named in error messages (as the schema's own errors name it)."""
    return f"uncertainties.{path}"


def kind_of(raw, resolved) -> str:
    """``bool``, ``int``, ``float`` or ``choice``: how a setting is sampled, from its value
    as written (``raw``) and as validated (``resolved``: the schema's own type, so a
    shelf life written ``6`` is a float and ``analysts = 3`` an integer)."""
    if isinstance(raw, bool):
        return "bool"
    if isinstance(raw, str):
        return "choice"
    if isinstance(resolved, dict):
        return "float" if resolved.get("dist") == "fixed" else "table"  # a plain number of hours is a fixed distribution
    return _kind_of_number(raw, resolved)


def _kind_of_number(raw, resolved) -> str:
    """The kind of a setting the schema resolves to a plain value (not a table)."""
    if isinstance(resolved, bool):
        return "bool"
    if isinstance(resolved, int):
        return "int"
    if isinstance(resolved, (int, float)) and isinstance(raw, (int, float)):
        return "float"
    return "table"


KIND_WORDS = {"bool": "true/false switch", "int": "whole number", "float": "number", "choice": "choice of names"}


def typed(value, kind: str):
    if kind == "int":
        return int(round(value))
    if kind == "float":
        return float(value)
    return value


def _copy(data):
    """A deep copy of plain TOML data (tables, arrays and immutable values; several
    times faster than ``copy.deepcopy``, which keeps a memo)."""
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_copy(v) for v in data]
    return data


def without_uncertainties(data: dict) -> dict:
    """A deep copy of scenario ``data`` without its ``[uncertainties]`` (a world is a point)."""
    return _copy({k: v for k, v in data.items() if k != "uncertainties"})


# ------------------------------------------------------------------ checking

_CHECKED: set = set()


def check(data: dict, scenario, source: str) -> None:
    """Check ``scenario.uncertainties`` against the scenario ``data`` they sit in; the
    first problem is raised as one :class:`ScenarioError` naming the uncertainty. Data
    already found good in this process is not checked again."""
    key = digest(data)
    if key in _CHECKED:
        return
    _check(data, scenario, source)
    if len(_CHECKED) > 256:
        _CHECKED.clear()
    _CHECKED.add(key)


def _check(data: dict, scenario, source: str) -> None:
    resolved = scenario.model_dump(mode="python", by_alias=True, exclude_none=True)
    _check_owners(scenario.uncertainties, source)
    kinds = {}
    for path, u in scenario.uncertainties.items():
        kinds[path] = _check_paths(data, resolved, path, u, source)
    _check_ends(data, scenario, kinds, source)


def no_effect(path: str) -> Optional[str]:
    """Why the setting at ``path`` cannot be an uncertainty (it changes nothing inside a
    world, so it would be a dimension of the study that does nothing), or ``None``."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    if head in _NO_EFFECT_TABLES:
        return _NO_EFFECT_TABLES[head]
    if path.rsplit(".", 1)[-1] in ("label", "description"):
        return "a display text changes nothing in a run"
    return None


_NO_EFFECT_TABLES = {
    "scenario": ("the [scenario] header names the run and gives its defaults (the study's own --days and "
                 "--seed set the horizon and seeds); it changes nothing inside a world"),
    "metrics": "[metrics] says what is measured, not how the world works",
    "uncertainties": "an uncertainty cannot vary another",
}
"""The tables no setting of which can be an uncertainty, and why (:func:`no_effect`)."""


def _check_owners(uncs, source: str) -> None:
    """Each setting moves with one uncertainty only: a path named twice, or an ``also``
    loop (A also B, B also A), would record one value for a world while the run used
    another."""
    owner: dict[str, str] = {}
    for path, u in uncs.items():
        for i, p in enumerate((path, *u.also)):
            _own(owner, re.sub(r"\s+", "", p), p, path, f"{field_name(path)}.also" if i else field_name(path), source)


def _own(owner: dict[str, str], key: str, p: str, path: str, field: str, source: str) -> None:
    """Note that the uncertainty ``path`` moves setting ``p`` (``key`` without spaces);
    a one-line error when another one moves it already."""
    if key in owner:
        raise ScenarioError(source, field, f"{p!r} is already moved by the uncertainty {owner[key]!r}; "
                            "a setting moves with one uncertainty only (no also loops, no setting named twice)")
    owner[key] = path


def _check_paths(data: dict, resolved: dict, path: str, u, source: str) -> str:
    """Check an uncertainty's path and its ``also`` paths; returns its kind."""
    where = field_name(path)
    kind, first = _check_one_path(data, resolved, path, u, source, where)
    for p in u.also:
        k, raw = _check_one_path(data, resolved, p, u, source, f"{where}.also")
        if not u.fixed:
            _check_moves_with(p, k, raw, path, kind, first, source, f"{where}.also")
    _check_values_or_range(u, kind, path, source, where)
    return kind


def _check_values_or_range(u, kind: str, path: str, source: str, where: str) -> None:
    """The uncertainty's listed values, or its range, fit a setting of ``kind``."""
    if u.values is not None:
        _check_values(u.values, kind, path, source, f"{where}.values")
    elif u.low is not None:
        _check_range(u, kind, path, source, where)


def _check_moves_with(p: str, k: str, raw, path: str, kind: str, first, source: str, field: str) -> None:
    """Setting ``p`` (of kind ``k``, written ``raw``) moves with ``path``: one type, one value to start."""
    if k != kind:
        raise ScenarioError(source, field, f"{p!r} is a {k} but {path!r} is a {kind}; settings that "
                            "move together must be of one type")
    if raw != first:
        raise ScenarioError(source, field, f"{p!r} is {raw!r} but {path!r} is {first!r}: settings "
                            "that move together take the same value in every world, so they must start equal")


def _check_one_path(data: dict, resolved: dict, p: str, u, source: str, field: str) -> tuple[str, Any]:
    """The kind and value as written of setting ``p``: it must exist, have an effect,
    and (unless fixed) be a number, switch or choice."""
    why = no_effect(p)
    if why is not None and not u.fixed:  # fixed = true may say so ("not an assumption")
        raise ScenarioError(source, field, f"{p!r} cannot be an uncertainty: {why}; declare it "
                            "fixed = true, or leave it out")
    raw = _as_written_or_default(data, resolved, p, source, field)
    k = kind_of(raw, _get(resolved, p))
    if k == "table" and not u.fixed:
        raise ScenarioError(source, field, f"{p!r} is a table, not a number, switch or choice; "
                            f"name a value inside it (e.g. {p}.mean)")
    return k, raw


def _as_written_or_default(data: dict, resolved: dict, p: str, source: str, field: str):
    """The value of setting ``p`` as written, or its default; it must exist."""
    raw = _get(data, p)
    if raw is None:  # a field left at its default
        raw = _get(resolved, p)
    if raw is None:
        raise ScenarioError(source, field, f"no setting {p!r} in the scenario ({PATH_EXAMPLES})")
    return raw


def _is_value(v, kind: str) -> bool:
    """Whether ``v`` is a value a setting of ``kind`` takes."""
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "choice":
        return isinstance(v, str)
    return _is_number(v) and (kind != "int" or float(v).is_integer())


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_values(values, kind: str, path: str, source: str, field: str) -> None:
    for v in values:
        if not _is_value(v, kind):
            whole = " (values must be whole numbers)" if kind == "int" and isinstance(v, float) else ""
            raise ScenarioError(source, field, f"{v!r} is not a value of {path!r} (a {KIND_WORDS.get(kind, kind)})"
                                + whole)


def _check_range(u, kind: str, path: str, source: str, where: str) -> None:
    if kind not in ("int", "float"):
        raise ScenarioError(source, where, f"low and high need a number; {path!r} is a "
                            f"{KIND_WORDS.get(kind, kind)}: give values = [...]")
    if kind == "int" and not (float(u.low).is_integer() and float(u.high).is_integer()):
        raise ScenarioError(source, where, f"{path!r} is a whole number: low and high must be whole numbers")


def _ends(u, kind: str) -> list[tuple[str, Any]]:
    if u.fixed:
        return []
    if u.values is not None:
        return [(f"values[{i}]", typed(v, kind)) for i, v in enumerate(u.values)]
    return [("low", typed(u.low, kind)), ("high", typed(u.high, kind))]


def _check_ends(data: dict, scenario, kinds: dict, source: str) -> None:
    """Both ends of every range (every listed value) must be accepted by the field: all
    lows at once, then all highs (fast); one by one only to name the culprit."""
    uncs = scenario.uncertainties
    for end in ("low", "high"):
        settings = _every_end(uncs, kinds, end)
        if settings:
            _check_all_at_once(data, scenario, settings, end, kinds, source)
    for path, u in uncs.items():
        if u.values is not None:
            _check_one(data, scenario, path, u, _ends(u, kinds[path]), source)


def _every_end(uncs, kinds: dict, end: str) -> list[tuple[str, Any, str]]:
    """Every setting at its uncertainty's ``end`` (path, value, the field errors name)."""
    return [(p, value, field_name(path)) for path, u in uncs.items()
            for value in _end_values(u, kinds[path], end) for p in (path, *u.also)]


def _end_values(u, kind: str, end: str) -> list:
    """The value of end ``end`` (``low`` or ``high``) of ``u``: one, or none for values or fixed."""
    return [value for name, value in _ends(u, kind) if name == end]


def _check_all_at_once(data: dict, scenario, settings: list, end: str, kinds: dict, source: str) -> None:
    """Every ``end`` at once; if that fails, the first uncertainty whose ``end`` fails
    alone is named, else the combination."""
    try:
        changed(data, scenario, settings, source)
        return
    except ScenarioError as joint:
        joint_error = joint
    for path, u in scenario.uncertainties.items():
        _check_one(data, scenario, path, u, [(end, v) for v in _end_values(u, kinds[path], end)], source)
    raise ScenarioError(source, "uncertainties", f"every {end} at once makes an invalid scenario: "
                        f"{joint_error.field}: {joint_error.message}")


def _check_one(data: dict, scenario, path: str, u, ends: list[tuple[str, Any]], source: str) -> None:
    """Each of ``ends`` (name, value) of uncertainty ``u`` at ``path`` alone, put in
    the setting and the ones that move with it."""
    for name, value in ends:
        try:
            changed(data, scenario, [(p, value, field_name(path)) for p in (path, *u.also)], source)
        except ScenarioError as exc:
            raise ScenarioError(source, f"{field_name(path)}.{name}", f"{value!r} is outside what "
                                f"{exc.field} allows: {exc.message}") from None


# ------------------------------------------------------------------ a scenario with a few settings changed

def changed(data: dict, scenario, settings: Iterable[tuple[str, Any, str]], source: str):
    """Validated ``scenario`` (read from ``data``) with ``settings`` (path, value, the
    field errors name) put in, without its uncertainties' data: only the parts the
    settings lie in (a named unit such as ``cells.u2``, a link, a single table such as
    ``[mechanisms]``) are validated again, each by its own model, then put back into
    ``scenario`` for the checks of the whole (:func:`~.checks.check_graph`). The first
    problem is raised as the loader raises it for the whole file: same field, same words."""
    out = {k: v for k, v in data.items() if k != "uncertainties"}
    parts = _put(out, settings, source)
    sc = scenario.model_copy(update=_tables(scenario, _validated_parts(out, parts, source)))
    check_graph(sc, source)
    return sc


def _put(out: dict, settings: Iterable[tuple[str, Any, str]], source: str) -> list[tuple]:
    """Set each setting in ``out`` (a shallow copy of the data), first copying the parts
    it changes (the data itself stays as it was); returns those parts."""
    parts: dict[tuple, None] = {}
    for p, value, field in settings:
        m = _LINK.match(p)
        own = [("links", i) for i in _matching_links(out, m)] if m else _table_parts(out, p)
        _copy_new_parts(out, own, parts)
        _put_one(out, p, m, own, value, source, field)
    return list(parts)


def _copy_new_parts(out: dict, own: list[tuple], parts: dict[tuple, None]) -> None:
    """Copy each part of ``own`` not copied yet (noting it in ``parts``)."""
    for part in own:
        if part not in parts:
            _copy_part(out, part)
            parts[part] = None


def _put_one(out: dict, p: str, m, own: list[tuple], value, source: str, field: str) -> None:
    """Set ``p`` in ``out``: in the links ``own`` names for a link path (``m`` its match)."""
    if m is None:
        _set(out, p, value, source, field)
    else:
        _set_on_links([out["links"][i] for _, i in own], p, m.group(5), value, source, field)


def _table_parts(data: dict, path: str) -> list[tuple]:
    """The part a path that is no link path lies in: ``(table, name)`` for a table of
    named units, ``(table,)`` for a single table; none where the path leads nowhere
    (setting it fails, as it should)."""
    keys = path.split(".")
    if not isinstance(data.get(keys[0]), dict):
        return []
    return _unit_part(data, keys) if _part_shape(keys[0]) is dict else [(keys[0],)]


def _unit_part(data: dict, keys: list[str]) -> list[tuple]:
    """The named unit a path ``TABLE.NAME.FIELD...`` lies in (none if there is no such unit)."""
    return [(keys[0], keys[1])] if len(keys) > 2 and keys[1] in data[keys[0]] else []


def _copy_part(out: dict, part: tuple) -> None:
    """Replace ``part`` of ``out`` (and the table holding it) by a copy of its own."""
    table = part[0]
    if len(part) == 1:
        out[table] = _copy(out[table])
        return
    holder = list(out[table]) if table == "links" else dict(out[table])
    holder[part[1]] = _copy(holder[part[1]])
    out[table] = holder


def _part_shape(table: str):
    """How the scenario holds ``table``: ``dict`` (named units), ``tuple`` (links) or
    ``None`` (a single table)."""
    return get_origin(Scenario.model_fields[table].annotation)


def _part_model(table: str):
    """The model that validates one part of ``table``."""
    annotation = Scenario.model_fields[table].annotation
    shape = get_origin(annotation)
    if shape is dict:
        return get_args(annotation)[1]
    if shape is tuple:
        return get_args(annotation)[0]
    return annotation


def _part_order(part: tuple, out: dict) -> tuple[int, int]:
    """Where ``part`` comes in a whole scenario's validation (so the first error is the same)."""
    position = 0 if len(part) == 1 else part[1] if part[0] == "links" else list(out[part[0]]).index(part[1])
    return list(Scenario.model_fields).index(part[0]), position


def _validated_parts(out: dict, parts: list[tuple], source: str) -> dict[tuple, Any]:
    """``parts`` of ``out`` validated by their own models, in the order a whole
    scenario's validation meets them; the first problem of all of them as one line."""
    errors: list[dict] = []
    models: dict[tuple, Any] = {}
    for part in sorted(parts, key=lambda part: _part_order(part, out)):
        try:
            models[part] = _part_model(part[0]).model_validate(_at(out, part))
        except ValidationError as exc:
            errors += [{**e, "loc": (*part, *e["loc"])} for e in exc.errors(include_url=False)]
    if errors:
        raise error_line(errors, source)
    return models


def _at(out: dict, part: tuple):
    return out[part[0]] if len(part) == 1 else out[part[0]][part[1]]


def _tables(scenario, models: dict[tuple, Any]) -> dict[str, Any]:
    """The tables of ``scenario`` that change, by field name, with the validated
    ``models`` in place of their parts (read-only, as the schema holds them)."""
    update: dict[str, Any] = {}
    for part, model in models.items():
        table = part[0]
        if len(part) == 1:
            update[table] = model
        elif table == "links":
            links = list(update.get(table, scenario.links))
            links[part[1]] = model
            update[table] = tuple(links)
        else:
            units = dict(update.get(table, getattr(scenario, table)))
            units[part[1]] = model
            update[table] = MappingProxyType(units)
    return update


# ------------------------------------------------------------------ sampling

class Space:
    """The uncertain settings of a scenario (fixed ones left out), in file order, and
    the worlds drawn from them."""

    def __init__(self, data: dict, scenario):
        resolved = scenario.model_dump(mode="python", by_alias=True, exclude_none=True)
        self.items = [(path, u, _kind_at(data, resolved, path))
                      for path, u in scenario.uncertainties.items() if not u.fixed]
        self.fixed = {p: u.reason for p, u in scenario.uncertainties.items() if u.fixed}

    @property
    def paths(self) -> list[str]:
        return [p for p, _, _ in self.items]

    def describe(self) -> list[dict]:
        """The uncertainties as plain data (for result files)."""
        return [_describe_one(path, u, kind) for path, u, kind in self.items]

    def unit_sample(self, n: int, seed: int, method: str = "lhs") -> "np.ndarray":
        """``n`` points in the unit cube (one column per uncertainty), from ``seed`` only."""
        import numpy as np

        d = len(self.items)
        rng = np.random.default_rng(seed)
        if d == 0:
            return np.zeros((n, 0))
        if method == "random":
            return rng.random((n, d))
        from scipy.stats import qmc

        try:
            lhs = qmc.LatinHypercube(d=d, rng=rng)
        except TypeError:  # scipy < 1.15
            lhs = qmc.LatinHypercube(d=d, seed=rng)
        return lhs.random(n)

    def worlds(self, n: int, seed: int, method: str = "lhs") -> list[dict]:
        """``n`` worlds: each a mapping path -> value."""
        unit = self.unit_sample(n, seed, method)
        return [{path: value_at(u, kind, float(x)) for (path, u, kind), x in zip(self.items, row)} for row in unit]

    def apply(self, data: dict, world: dict, source: str, held: Iterable[str] = ()) -> dict:
        """Scenario ``data`` (without its uncertainties) in ``world``; settings in
        ``held`` (a variant's own changes) keep their value."""
        held = set(held)
        out = without_uncertainties(data)
        for path, u, _ in self.items:
            for p in (path, *u.also):
                if p not in held:
                    _set(out, p, world[path], source, field_name(path))
        return out

    def held_by(self, variant_data: dict, base_data: dict) -> set[str]:
        """The uncertain settings a variant changes from its base: in every world they
        keep the variant's value (its what-if wins over the sampled value)."""
        out = set()
        for path, u, _ in self.items:
            for p in (path, *u.also):
                if _get(variant_data, p) != _get(base_data, p):
                    out.add(p)
        return out


def _kind_at(data: dict, resolved: dict, path: str) -> str:
    """The kind of the setting at ``path`` (:func:`kind_of`), as written or else resolved."""
    raw = _get(data, path)
    return kind_of(raw if raw is not None else _get(resolved, path), _get(resolved, path))


def _describe_one(path: str, u, kind: str) -> dict:
    """One uncertainty as plain data: its values, or its range and distribution."""
    entry = {"path": path, "kind": kind, "reason": u.reason}
    if u.values is not None:
        entry["values"] = list(u.values)
    else:
        entry.update(low=typed(u.low, kind), high=typed(u.high, kind), distribution=u.distribution)
        if u.mode is not None:
            entry["mode"] = u.mode
    if u.also:
        entry["also"] = list(u.also)
    return entry


def value_at(u, kind: str, x: float):
    """The value of uncertainty ``u`` at quantile ``x`` in [0, 1)."""
    x = min(max(x, 0.0), 1.0 - 1e-12)
    if u.values is not None:
        return u.values[min(int(x * len(u.values)), len(u.values) - 1)]
    lo, hi = float(u.low), float(u.high)
    if kind == "int" and u.distribution == "uniform":
        return int(min(lo + math.floor(x * (hi - lo + 1)), hi))  # each whole number equally likely
    v = _QUANTILES[u.distribution](u, lo, hi, x)
    return typed(min(max(v, lo), hi), kind)


def _uniform_at(u, lo: float, hi: float, x: float) -> float:
    return lo + x * (hi - lo)


def _loguniform_at(u, lo: float, hi: float, x: float) -> float:
    return math.exp(math.log(lo) + x * (math.log(hi) - math.log(lo)))


def _triangular_at(u, lo: float, hi: float, x: float) -> float:
    from scipy.stats import triang

    return float(triang.ppf(x, (u.mode - lo) / (hi - lo), loc=lo, scale=hi - lo))


_QUANTILES = {"uniform": _uniform_at, "loguniform": _loguniform_at, "triangular": _triangular_at}
"""The quantile ``x`` of a range from ``lo`` to ``hi``, by the uncertainty's distribution."""


def unequal_also(data: dict, uncertainties) -> list[str]:
    """Settings named in ``also`` whose value in ``data`` differs from their first
    path's (tied settings of a hand-written file should start equal)."""
    out = []
    for path, u in uncertainties.items():
        for p in u.also:
            if _get(data, p) != _get(data, path):
                out.append(f"{p} ({_get(data, p)!r}) vs {path} ({_get(data, path)!r})")
    return out
