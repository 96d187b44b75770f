"""What-if variants: a base scenario and the changes to it, as a small TOML file.

A variant file has a ``[variant]`` table (``name``, ``base``: a built-in scenario or a
path relative to the variant file, and optionally ``question`` and ``expectation``) and
any of these changes, applied in this order to the base's data before validation:

* ``[set]``: nested tables naming existing parts of the base, down to the values to
  replace, e.g. ``[set.collectors.swe_uav.accreditation] duration_days = 14``; every
  table on the way must exist in the base (so a misspelt name is an error), the last
  key may be new (an optional field the base leaves out);
* ``[[set_links]]``: ``match = { from = ..., to = ... (and any other link field) }`` and
  ``set = { ... }``: change every matching link (at least one must match);
* ``[[remove_links]]``: link fields to match; every matching link is removed;
* ``[add]``: new tables (nodes, meetings, pools...), which must not exist yet;
* ``[[add_links]]``: links appended to the base's.

The result is validated as a whole scenario; errors name the variant file. The same
path-setting function serves experiment sweeps (:func:`set_path`).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

from ..errors import ScenarioError

VARIANT_KEYS = {"variant", "set", "set_links", "remove_links", "add", "add_links"}
NAMED = {"kinds", "sources", "collectors", "cells", "commanders", "meetings", "switches", "pools", "boards"}
"""Tables of named units: under ``[set]`` a name there must exist in the base (a
misspelt name must not quietly add a unit; new units go under ``[add]``)."""
HEADER_KEYS = {"name", "base", "question", "expectation", "cost"}
COST_KEYS = {"amount", "unit", "reason"}


def is_variant(data: dict) -> bool:
    """A file is a variant when it has a ``[variant]`` table."""
    return "variant" in data


def _shown(names) -> str:
    """Up to twelve of ``names``, sorted, for an error message (``nothing`` for none)."""
    known = sorted(names)
    return ", ".join(known[:12]) + (", ..." if len(known) > 12 else "") or "nothing"


def _no_table(node, keys: list[str], source: str, field: str) -> ScenarioError:
    """The error for a path whose table ``keys`` is not in ``node`` (naming what is there)."""
    there = _shown(node if isinstance(node, dict) else [])
    return ScenarioError(source, field, f"no {'.'.join(keys)!r} in the base scenario (there: {there})")


def set_path(data: dict, path: str, value: Any, source: str, field: str | None = None) -> None:
    """Set ``data[a][b]...[z] = value`` for the dotted ``path`` "a.b...z"; every table
    on the way must exist (the last key may be new)."""
    keys = path.split(".")
    node = _walk(data, keys[:-1], source, field or path)
    if not isinstance(node, dict):
        raise ScenarioError(source, field or path, f"{'.'.join(keys[:-1])!r} is not a table")
    node[keys[-1]] = value


def _walk(data: dict, keys: list[str], source: str, field: str):
    """``data[a][b]...`` down the ``keys``; every one must be there under a table."""
    node = data
    for i, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            raise _no_table(node, keys[: i + 1], source, field)
        node = node[key]
    return node


def _leaves(changes: dict, base: dict, prefix: str = ""):
    """Paths and values of ``[set]``: descend while both sides are tables."""
    for key, value in changes.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(base, dict) and isinstance(base.get(key), dict):
            yield from _leaves(value, base[key], path + ".")  # an empty table changes nothing
        else:
            yield path, value


def _matches(link: dict, match: dict) -> bool:
    return all(link.get(k) == v for k, v in match.items())


def apply(data: dict, source: str, base_data: dict) -> dict:
    """Apply the changes of variant ``data`` (read from ``source``) to ``base_data``:
    the header, then ``[set]``, ``[[set_links]]``, ``[[remove_links]]``, ``[add]`` and
    ``[[add_links]]``, in this order."""
    head = _header(data, source)
    out = copy.deepcopy(base_data)
    if not isinstance(out.get("scenario", {}), dict):
        raise ScenarioError(source, "variant.base", "the base's [scenario] is not a table")
    out.setdefault("scenario", {})
    out["scenario"]["name"] = head["name"]
    if head.get("question"):
        out["scenario"]["description"] = str(head["question"]).strip()
    _set_values(out, data.get("set", {}), source)
    _base_links(out, source)
    _set_links(out, _table_list(data, "set_links", source), source)
    _remove_links(out, _table_list(data, "remove_links", source), source)
    _add(out, data.get("add", {}), source, "add")
    out.setdefault("links", []).extend(copy.deepcopy(_table_list(data, "add_links", source)))
    return out


def _header(data: dict, source: str) -> dict:
    """The ``[variant]`` table, checked: known keys only, a name and a base."""
    _refuse_unknown(set(data) - VARIANT_KEYS, source, "", f"unknown key in a variant file (allowed: "
                    f"{', '.join(sorted(VARIANT_KEYS))})")
    head = data["variant"]
    if not isinstance(head, dict):
        raise ScenarioError(source, "variant", "must be a table")
    _refuse_unknown(set(head) - HEADER_KEYS, source, "variant.", f"unknown key (allowed: {', '.join(sorted(HEADER_KEYS))})")
    _require_name_and_base(head, source)
    if "cost" in head:
        cost_of(head, source)
    return head


def _require_name_and_base(head: dict, source: str) -> None:
    """The header names the variant and its base (non-empty strings)."""
    for key in ("name", "base"):
        if not isinstance(head.get(key), str) or not head.get(key):
            raise ScenarioError(source, f"variant.{key}", "required: a non-empty string")


def _refuse_unknown(unknown: set, source: str, prefix: str, message: str) -> None:
    """Refuse the first (sorted) of ``unknown`` keys, named under ``prefix``."""
    if unknown:
        raise ScenarioError(source, f"{prefix}{sorted(unknown)[0]}", message)


def _is_amount(amount) -> bool:
    """A finite number of at least 0 (not a true/false)."""
    import math

    number = isinstance(amount, (int, float)) and not isinstance(amount, bool)
    return number and math.isfinite(amount) and amount >= 0


def _is_cost_table(cost) -> bool:
    """A table with ``amount`` and ``unit`` (and maybe ``reason``), nothing else."""
    return isinstance(cost, dict) and not set(cost) - COST_KEYS and {"amount", "unit"} <= set(cost)


def cost_of(head: dict, source: str):
    """A variant's ``[variant.cost]``: ``(amount, unit, reason)``, or ``None`` when it has
    none. ``amount`` a finite number >= 0, ``unit`` the planner's (analysts, officers,
    person-months...), ``reason`` where the number comes from."""
    cost = head.get("cost")
    if cost is None:
        return None
    if not _is_cost_table(cost):
        raise ScenarioError(source, "variant.cost", "a table { amount = NUMBER, unit = \"...\", reason = \"...\" }")
    amount = cost["amount"]
    if not _is_amount(amount):
        raise ScenarioError(source, "variant.cost.amount", f"must be a finite number of at least 0 (got {amount!r})")
    return float(amount), _cost_unit(cost, source), str(cost.get("reason", ""))


def _cost_unit(cost: dict, source: str) -> str:
    """The cost's unit, stripped (required: a non-empty string)."""
    if not isinstance(cost["unit"], str) or not cost["unit"].strip():
        raise ScenarioError(source, "variant.cost.unit", "required: a non-empty string (analysts, officers, ...)")
    return cost["unit"].strip()


def _set_values(out: dict, changes, source: str) -> None:
    """``[set]``: change values the base has (a named unit must exist in the base)."""
    if not isinstance(changes, dict):
        raise ScenarioError(source, "set", "must be a table")
    for path, value in _leaves(changes, out):
        _refuse_new_unit(out, path.split("."), source)
        set_path(out, path, value, source, f"set.{path}")


def _refuse_new_unit(out: dict, keys: list[str], source: str) -> None:
    """A path under ``[set]`` into a table of named units names one the base has."""
    units = out.get(keys[0]) if keys[0] in NAMED and len(keys) >= 2 else None
    if isinstance(units, dict) and keys[1] not in units:
        raise ScenarioError(source, f"set.{keys[0]}.{keys[1]}", f"no {keys[0]}.{keys[1]} in the base to change "
                            f"(there: {_shown(units)}); new units go under [add]")


def _set_links(out: dict, changes: list, source: str) -> None:
    """``[[set_links]]``: each change's ``set`` applies to every base link its ``match`` fits."""
    for i, change in enumerate(changes):
        match, new = _link_change(change, i, source)
        for link in _hits(out, match, source, f"set_links[{i}].match"):
            link.update(copy.deepcopy(new))


def _hits(out: dict, match: dict, source: str, field: str) -> list[dict]:
    """The links of ``out`` that ``match`` fits; a one-line error when none does."""
    hits = [link for link in out.get("links", []) if _matches(link, match)]
    if not hits:
        raise ScenarioError(source, field, f"no link of the base matches {match}")
    return hits


def _link_change(change: dict, i: int, source: str) -> tuple[dict, dict]:
    """The ``match`` and ``set`` of the ``i``-th ``[[set_links]]`` (both tables, a match not empty)."""
    match, new = change.get("match"), change.get("set")
    if not isinstance(match, dict) or not match or not isinstance(new, dict):
        raise ScenarioError(source, f"set_links[{i}]", "needs match = { ... } and set = { ... }")
    return match, new


def _remove_links(out: dict, matches: list, source: str) -> None:
    """``[[remove_links]]``: remove every link each (non-empty) match fits; one that fits
    nothing is an error."""
    for i, match in enumerate(matches):
        if not match:
            raise ScenarioError(source, f"remove_links[{i}]", "is empty; name link fields to match (from, to...) "
                                "so that it does not remove every link")
        out["links"] = _kept(out, match, source, f"remove_links[{i}]")


def _kept(out: dict, match: dict, source: str, field: str) -> list[dict]:
    """The links of ``out`` that ``match`` does not fit; a one-line error when it fits none."""
    before = out.get("links", [])
    kept = [link for link in before if not _matches(link, match)]
    if len(kept) == len(before):
        raise ScenarioError(source, field, f"no link of the base matches {match}")
    return kept


def _base_links(out: dict, source: str) -> None:
    """The links after ``[set]`` must still be an array of tables."""
    links = out.get("links", [])
    if not isinstance(links, list) or not all(isinstance(link, dict) for link in links):
        raise ScenarioError(source, "set.links", "links must stay an array of tables; change links with "
                            "[[set_links]], [[remove_links]] and [[add_links]]")


def _table_list(data: dict, key: str, source: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(source, key, f"must be an array of tables ([[{key}]])")
    return value


def _add(out: dict, new: Any, source: str, prefix: str) -> None:
    """``[add]``: new tables, or new named units into a table the base has."""
    if not isinstance(new, dict):
        raise ScenarioError(source, prefix, "must be a table")
    for key, value in new.items():
        _add_table(out, key, value, source, prefix)


def _add_table(out: dict, key: str, value, source: str, prefix: str) -> None:
    """Table ``key`` of ``[add]``: new to the base, or units for a table of the base."""
    where = f"{prefix}.{key}"
    if key not in out:
        out[key] = copy.deepcopy(value)
    elif isinstance(out[key], dict) and isinstance(value, dict) and prefix == "add":
        _add_units(out[key], value, source, where)
    else:
        raise ScenarioError(source, where, "exists in the base already; change it under [set]")


def _add_units(units: dict, new: dict, source: str, where: str) -> None:
    """New named units into a table the base has (none of them there yet)."""
    for name, table in new.items():
        if name in units:
            raise ScenarioError(source, f"{where}.{name}", "exists in the base already; change it under [set]")
        units[name] = copy.deepcopy(table)


def _base_name(data: dict, path: Path) -> str:
    """The ``base`` a variant names (required)."""
    head = data.get("variant")
    base = head.get("base") if isinstance(head, dict) else None
    if not isinstance(base, str) or not base:
        raise ScenarioError(str(path), "variant.base", "required: a built-in scenario name or a file path")
    return base


def resolve(data: dict, path: Path, read: Callable[[str, Path], tuple[dict, str]], depth: int = 0) -> dict:
    """The scenario data of variant ``data`` read from ``path``: its base (read with
    ``read(base, folder)``, itself possibly a variant) with the changes applied."""
    if depth > 10:
        raise ScenarioError(str(path), "variant.base", "variants nest more than 10 deep (a cycle?)")
    base = _base_name(data, path)
    try:
        base_data, base_source = read(base, path.parent)
    except ScenarioError as exc:
        # the base could not be read: the variant's base field is at fault
        raise ScenarioError(str(path), "variant.base", f"cannot use {base!r} as the base: {exc.one_line()}") from None
    if not isinstance(base_data, dict):
        raise ScenarioError(str(path), "variant.base", f"{base!r} is not a scenario")
    if is_variant(base_data):
        base_data = resolve(base_data, Path(base_source), read, depth + 1)
    return apply(data, str(path), base_data)
