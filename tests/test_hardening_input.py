"""Hardening: generated bad input, and input handled as data only.

Every bad scenario or variant file, however it is broken, must give

* exit status 2 from ``reporting-sim validate FILE`` and ``reporting-sim run FILE``,
* exactly one line on stderr, ``error: FILE: FIELD: message``, naming the file as given
  and the field at fault (never a traceback, nothing on stdout),
* no results folder and no ``.partial`` temporary folder anywhere.

The cases are generated with hypothesis from valid files: the built-in
``minusma-2015``, a small scenario using every mechanism (``SMALL``), and the variants
in ``experiments/variants/``. Each mutation knows which field it broke, so the error
line is checked for that field. The CLI runs in process (``CliRunner``) for speed;
``derandomize=True`` keeps the cases the same on every CI run.

The last part checks that files are parsed as data only (nothing executes, strings stay
strings), that results cannot be written outside the folder given to ``--out`` and that
names with ``/`` or ``..`` create no folders elsewhere.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import math
import os
import re
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting_sim import scenario
from reporting_sim.cli import cli
from reporting_sim.distributions import Exponential, Fixed, Gamma, Lognormal, Triangular, Uniform
from reporting_sim.errors import ScenarioError
from reporting_sim.scenario import (Accreditation, Board, Cell, Classify, Collector, Commander, Duty,
                                    Header, Hoard, Kind, Link, Meeting, Mechanisms, Metrics, Patrols,
                                    Pool, Rotation, Source, Switch, Tasking, Written)

ROOT = Path(__file__).resolve().parents[1]
VARIANT_FILES = sorted((ROOT / "experiments" / "variants").glob("*.toml"))
MINUSMA_TEXT = scenario.builtin_text("minusma-2015")
MINUSMA = tomllib.loads(MINUSMA_TEXT)
MINUSMA.pop("uncertainties", None)  # its ranges name other settings; bad ones: tests/test_uncertainties.py
UNKNOWN = "zz_unknown"


class Case:
    """A generated case; its repr (what hypothesis prints on failure) is short."""

    def __init__(self, label: str, data, expect=(), others=None):
        self.label, self.data, self.expect, self.others = label, data, tuple(expect), others or {}

    def __repr__(self):
        return f"Case({self.label!r}, expect={self.expect!r})"


def field_of(path) -> str:
    """The field an error about the value at ``path`` names (a distribution's ``dist``
    is named by its table)."""
    return render(path[:-1] if path and path[-1] == "dist" else path)


def hsettings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ------------------------------------------------------------------ a small scenario with every mechanism

SMALL = {
    "scenario": {"name": "small", "days": 3.0, "seed": 4},
    "kinds": {"threat": {"family": "current", "shelf_life_h": 12.0},
              "trend": {"family": "long_term", "shelf_life_h": 400.0}},
    "sources": {"north": {"sector": "n", "rate_per_day": 6.0, "mix": {"threat": 0.6, "trend": 0.4}},
                "south": {"sector": "s", "rate_per_day": 3.0, "mix": {"threat": 1.0}}},
    "collectors": {
        "bn": {"culture": "commander", "sectors": ["n"], "watch": "patrols",
               "patrols": {"per_day": 3.0, "duration_h": 4.0, "first_h": 6.0},
               "p_observe": 0.5, "p_report": 0.8,
               "report_delay_h": {"dist": "uniform", "low": 0.1, "high": 0.5},
               "written": {"p": 0.3, "delay_h": 2.0, "after_patrol": True},
               "tasking": {"per_week": 2.0, "window_h": 24.0, "p_written": 0.7},
               "literacy": 0.5, "dictation_h": {"dist": "exponential", "mean": 3.0},
               "pool": "escorts", "tags": ["battalion"],
               "rotation": {"every_days": 2.0, "first_day": 1.0, "learning_days": 0.5, "p_observe_new": 0.2}},
        "uav": {"culture": "branch", "sectors": ["n", "s"], "kinds": ["threat"], "watch": "continuous",
                "p_observe": 0.4, "p_report": 0.9, "report_delay_h": {"dist": "exponential", "mean": 0.5},
                "imagery": True, "imagery_channel": "chan", "groups": ["west", "chan"], "tags": ["isr"],
                "accreditation": {"deployed_day": -1.0,
                                  "duration_days": {"dist": "triangular", "low": 0.5, "mode": 1.0, "high": 2.0}}},
    },
    "cells": {
        "isr_cell": {"analysts": 2, "work_h": {"dist": "lognormal", "mean": 1.0, "sd": 0.5},
                     "groups": ["west", "chan"], "intrep_h": 1.5, "classify": {"group": 0.2, "unit": 0.05},
                     "coping": ["building_bridges"]},
        "g2": {"analysts": 1, "work_h": {"dist": "gamma", "mean": 1.0, "sd": 0.5},
               "duty": {"start_h": 7.0, "end_h": 19.0}, "inbox": 20, "consumer": True, "analysis": True,
               "hoard": {"rivals": ["hq"], "until": "brief", "p_hold": 0.3, "p_never": 0.1},
               "current_pull": 0.6},
    },
    "commanders": {"chief": {}, "hq": {"consumer": True, "acts_at": "brief", "groups": ["west"]}},
    "meetings": {"brief": {"first_h": 8.0, "every_h": 24.0},
                 "board": {"first_h": 10.0, "every_h": 24.0, "from_day": 1.0}},
    "pools": {"escorts": {"capacity": 1}},
    "switches": {"layout": {"value": "a", "choices": ["a", "b"]}},
    "boards": {"jcb": {"meeting": "board", "members": ["g2", "hq"]}},
    "links": [
        {"from": "bn", "to": "chief", "transit_h": 0.2},
        {"from": "bn", "to": "g2", "channel": "written",
         "transit_h": {"dist": "uniform", "low": 0.5, "high": 2.0}},
        {"from": "uav", "to": "isr_cell", "transit_h": 0.1},
        {"from": "isr_cell", "to": "hq", "task": True},
        {"from": "isr_cell", "to": "chief", "informal": True, "p": 0.5, "families": ["current"]},
        {"from": "chief", "to": "hq", "p": 0.7, "kinds": ["threat"], "when": {"layout": "a"}},
        {"from": "chief", "to": "g2", "when": {"layout": "b"}},
        {"from": "g2", "to": "hq", "meeting": "brief"},
        {"from": "isr_cell", "to": "g2", "pull": True, "meeting": "brief", "p": 0.4},
    ],
    "metrics": {"bypass_consumer": "hq", "bypass_branch": "g2"},
}

BASES = {"minusma-2015": MINUSMA, "small": SMALL}


def test_the_bases_are_valid():
    """The mutations below start from valid files (else every case would pass trivially)."""
    for name, data in BASES.items():
        sc = scenario.parse(copy.deepcopy(data), name)
        assert sc.consumers
    small = scenario.parse(copy.deepcopy(SMALL), "small")
    # SMALL really has each mechanism the generated cases break
    assert small.boards and small.pools and small.switches and small.metrics.bypass_consumer
    for f in VARIANT_FILES:
        assert scenario.load(f).name == tomllib.loads(f.read_text("utf-8"))["variant"]["name"]


# ------------------------------------------------------------------ where things are in a scenario

SECTIONS = {"kinds": Kind, "sources": Source, "collectors": Collector, "cells": Cell,
            "commanders": Commander, "meetings": Meeting, "switches": Switch, "pools": Pool,
            "boards": Board}
TOP = {"scenario": Header, "mechanisms": Mechanisms, "metrics": Metrics}
NESTED = {"patrols": Patrols, "written": Written, "tasking": Tasking, "accreditation": Accreditation,
          "rotation": Rotation, "hoard": Hoard, "classify": Classify, "duty": Duty}
DISTS = {"fixed": Fixed, "exponential": Exponential, "uniform": Uniform, "triangular": Triangular,
         "lognormal": Lognormal, "gamma": Gamma}
NODE_SECTIONS = ("collectors", "cells", "commanders")
# numeric fields for which a negative value is valid
NEGATIVE_OK = {("accreditation", "deployed_day"), ("rotation", "first_day")}


def render(path) -> str:
    """A path as the error line names it: ``cells.u2.work_h.mean``, ``links[3].to``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out


def get(data, path):
    for p in path:
        data = data[p]
    return data


def walk(obj, path=()):
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, path + (i,))


def model_at(data, path):
    """The schema class of the table at ``path`` (None if it is not a known table)."""
    value = get(data, path)
    if not isinstance(value, dict):
        return None
    if "dist" in value and isinstance(value["dist"], str):
        return DISTS.get(value["dist"])
    if len(path) == 1:
        return TOP.get(path[0])
    if len(path) == 2:
        return Link if path[0] == "links" else SECTIONS.get(path[0])
    if len(path) == 3 and path[0] in NODE_SECTIONS:
        return NESTED.get(path[2])
    return None


def required_sites(data):
    """(path of a required key present in data, field the error must name)."""
    out = [((k,), k) for k in ("scenario", "kinds", "sources", "collectors") if k in data]
    for path, value in walk(data):
        model = model_at(data, path) if path else None
        if model is None:
            continue
        for name, f in model.model_fields.items():
            key = f.alias or name
            if f.is_required() and key in value:
                out.append((path + (key,), field_of(path + (key,))))
    return out


def leaf_sites(data):
    """Paths of scalar values (items of lists of names included) and of lists of
    scalars; not keys, not tables."""
    return [path for path, value in walk(data)
            if path and not isinstance(value, dict)
            and not (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value))]


def numeric_sites(data):
    return [p for p in leaf_sites(data)
            if isinstance(get(data, p), (int, float)) and not isinstance(get(data, p), bool)]


def reference_sites(data):
    """(path of a name that refers to something defined elsewhere, how to break it, field)."""
    out = []
    for i, link in enumerate(data.get("links", [])):
        for key in ("from", "to", "meeting"):
            if key in link:
                out.append((("links", i, key), "value", f"links[{i}].{key}"))
        for j, _ in enumerate(link.get("kinds", [])):
            out.append((("links", i, "kinds", j), "value", f"links[{i}].kinds"))
        for k in link.get("when", {}):
            out.append((("links", i, "when", k), "key", f"links[{i}].when.{UNKNOWN}"))
            out.append((("links", i, "when", k), "value", f"links[{i}].when.{k}"))
    for sec in NODE_SECTIONS:
        for name, node in data.get(sec, {}).items():
            if "acts_at" in node:
                out.append(((sec, name, "acts_at"), "value", f"{sec}.{name}.acts_at"))
            if "hoard" in node:
                if "until" in node["hoard"]:
                    out.append(((sec, name, "hoard", "until"), "value", f"{sec}.{name}.hoard.until"))
                for j, _ in enumerate(node["hoard"].get("rivals", [])):
                    out.append(((sec, name, "hoard", "rivals", j), "value", f"{sec}.{name}.hoard.rivals"))
            if "pool" in node:
                out.append(((sec, name, "pool"), "value", f"{sec}.{name}.pool"))
            for key in ("kinds", "sectors"):
                for j, _ in enumerate(node.get(key, [])):
                    out.append(((sec, name, key, j), "value", f"{sec}.{name}.{key}"))
            if "imagery_channel" in node:
                out.append(((sec, name, "imagery_channel"), "value", f"{sec}.{name}.imagery_channel"))
    for name, src in data.get("sources", {}).items():
        for k in src.get("mix", {}):
            out.append((("sources", name, "mix", k), "key", f"sources.{name}.mix.{UNKNOWN}"))
    for name, board in data.get("boards", {}).items():
        out.append((("boards", name, "meeting"), "value", f"boards.{name}.meeting"))
        for j, _ in enumerate(board.get("members", [])):
            out.append((("boards", name, "members", j), "value", f"boards.{name}.members"))
    for key in ("bypass_consumer", "bypass_branch"):
        if key in data.get("metrics", {}):
            out.append((("metrics", key), "value", "metrics"))
    return out


def table_sites(data):
    """Paths of tables that take fixed keys (an unknown key there is an error)."""
    return [p for p, _ in walk(data) if p and model_at(data, p) is not None] + [()]


def node_names(data):
    return [(sec, n) for sec in NODE_SECTIONS for n in data.get(sec, {})]


def wrong_types(value):
    """Values of a type the field never accepts (a number stays a number only for
    fields that take numbers, so numbers are never offered for numbers or tables)."""
    if isinstance(value, bool):
        return ["true", 1, 0.5, [True]]
    if isinstance(value, (int, float)):
        return ["12", True, [value], {"value": value}]
    if isinstance(value, str):
        return [3, 2.5, False, [value], {"x": value}]
    if isinstance(value, list):
        return ["a_name", 7, {"x": 1}, [[1]]]
    if isinstance(value, dict):
        return ["a_table", True, [1, 2]]
    return ["x"]  # dates


# ------------------------------------------------------------------ running the CLI

runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli, [str(a) for a in args], prog_name="reporting-sim")


FIELD = r"(\(top level\)|--out|[A-Za-z_][\w\-]*(\[\d+\])*(\.[\w\-]+(\[\d+\])*)*)"


def check_refused(file_arg: str, expect=(), workdir: Path | None = None):
    """``validate`` and ``run`` refuse ``file_arg`` with one line naming it and a field
    (one of ``expect`` if given) and leave nothing behind in ``workdir``."""
    before = sorted(os.listdir(workdir)) if workdir else None
    lines = []
    for args in (["validate", file_arg], ["run", file_arg, "--days", "5", "--out", "out"],
                 ["run", file_arg, "--days", "5", "--json"]):
        res = invoke(*args)
        assert res.exit_code == 2, f"{args}: exit {res.exit_code}\n{res.output}\n{res.exception!r}"
        assert isinstance(res.exception, SystemExit), repr(res.exception)
        assert "Traceback" not in res.output
        assert res.stdout == "", res.stdout
        got = res.stderr.splitlines()
        assert len(got) == 1, f"expected one line on stderr, got:\n{res.stderr}"
        line = got[0]
        prefix = f"error: {file_arg}: "
        assert line.startswith(prefix), line
        m = re.match(FIELD + r": \S", line[len(prefix):])
        assert m, f"no field named in: {line}"
        if expect:
            assert any(e in line for e in expect), f"none of {expect} in: {line}"
        lines.append(line)
    assert lines[0] == lines[1] == lines[2], "validate and run must say the same"
    if workdir is not None:
        after = sorted(os.listdir(workdir))
        assert after == before, f"left behind: {set(after) - set(before)}"
        assert not (workdir / "results").exists() and not (workdir / "out").exists()
    return lines[0]


@contextlib.contextmanager
def workdir():
    with tempfile.TemporaryDirectory(prefix="hardening-") as d:
        with contextlib.chdir(d):
            yield Path(d)


def refuse_bytes(content: bytes, expect=(), name="bad.toml", others: dict | None = None):
    with workdir() as d:
        for fname, text in (others or {}).items():
            (d / fname).write_bytes(text)
        (d / name).write_bytes(content)
        return check_refused(name, expect, d)


def dump(data: dict) -> bytes:
    return tomli_w.dumps(data).encode("utf-8")


# ------------------------------------------------------------------ 1. mutated scenarios

MUTATIONS = ("drop", "wrong_type", "negative", "nan_inf", "huge", "unknown_name", "unknown_key",
             "duplicate_node", "rename_definition")


@st.composite
def bad_scenarios(draw):
    base = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[base])
    how = draw(st.sampled_from(MUTATIONS))

    def put(path, value):
        get(data, path[:-1])[path[-1]] = value
        return f"{render(path)} = {value!r}"

    if how == "drop":
        path, field = draw(st.sampled_from(required_sites(data)))
        del get(data, path[:-1])[path[-1]]
        detail, expect = f"del {render(path)}", (field,)
    elif how == "wrong_type":
        path = draw(st.sampled_from(leaf_sites(data)))
        detail = put(path, draw(st.sampled_from(wrong_types(get(data, path)))))
        expect = (field_of(path),)
    elif how == "negative":
        sites = [p for p in numeric_sites(data) if tuple(x for x in p[-2:] if isinstance(x, str)) not in NEGATIVE_OK]
        path = draw(st.sampled_from(sites))
        value = get(data, path)
        detail = put(path, draw(st.sampled_from([-abs(value) - 1, -1e-9 if isinstance(value, float) else -1, -10**6])))
        expect = (render(path),)
    elif how == "nan_inf":
        path = draw(st.sampled_from(numeric_sites(data)))
        detail = put(path, draw(st.sampled_from([math.nan, math.inf, -math.inf])))
        expect = (render(path),)
    elif how == "huge":
        path = draw(st.sampled_from(numeric_sites(data)))
        detail = put(path, draw(st.sampled_from([1e300, 10**25, 2**63, 1.7e308])))
        expect = (render(path),)
    elif how == "unknown_name":
        path, where, field = draw(st.sampled_from(reference_sites(data)))
        parent = get(data, path[:-1])
        if where == "key":
            parent[UNKNOWN] = parent.pop(path[-1])
            detail = f"{render(path)} renamed"
        else:
            detail = put(path, UNKNOWN)
        expect = (field,)
    elif how == "unknown_key":
        path = draw(st.sampled_from(table_sites(data)))
        key = draw(st.sampled_from(["colour", "analyst", "shelf_life", "p_observed", "Consumer"]))
        detail = put(path + (key,), draw(st.sampled_from([1, "x", True])))
        expect = (render(path + (key,)),)
    elif how == "duplicate_node":
        sec, name = draw(st.sampled_from(node_names(data)))
        other = draw(st.sampled_from([s for s in ("cells", "commanders") if s != sec]))
        data.setdefault(other, {})[name] = {"analysts": 1, "work_h": 1.0} if other == "cells" else {}
        detail, expect = f"{sec}.{name} also in {other}", (f".{name}",)
    else:  # rename_definition: a meeting, kind, node, pool or switch others refer to gets another name
        name_refs = [get(data, p) for p, where, _ in reference_sites(data) if where == "value"]
        key_refs = [p[-1] for p, where, _ in reference_sites(data) if where == "key"]
        choices = [(sec, n) for sec in ("meetings", "kinds", "pools", "switches") + NODE_SECTIONS
                   for n in data.get(sec, {}) if n in name_refs or n in key_refs]
        sec, name = draw(st.sampled_from(choices))
        data[sec][UNKNOWN] = data[sec].pop(name)
        detail, expect = f"{sec}.{name} renamed", (repr(name),)
    return Case(f"{base}: {how}: {detail}", data, expect)


@pytest.mark.slow
@hsettings(600)
@given(bad_scenarios())
def test_generated_bad_scenarios_are_refused_cleanly(case):
    refuse_bytes(dump(case.data), case.expect)


# ------------------------------------------------------------------ 1b. mutated variants

VARIANTS = {f.name: tomllib.loads(f.read_text("utf-8")) for f in VARIANT_FILES}
VARIANT_HOW = ("drop_header", "header_type", "unknown_top", "unknown_header", "set_unknown_path",
               "set_unknown_unit", "set_leaf_type", "set_leaf_number", "set_links_nomatch",
               "set_links_type", "remove_nomatch", "add_existing", "add_missing_field",
               "add_links_unknown", "base_missing", "base_builtin_typo", "base_outside", "base_folder",
               "base_self", "scenario_name")


def set_leaves(data):
    """Leaf paths under [set] (descending into non-empty tables, not into lists)."""
    out = []

    def rec(node, path):
        for k, v in node.items():
            if isinstance(v, dict) and v:
                rec(v, path + (k,))
            else:
                out.append(path + (k,))

    if isinstance(data.get("set"), dict):
        rec(data["set"], ("set",))
    return out


def prune(data, path):
    """Remove the tables on ``path`` that became empty."""
    for i in range(len(path) - 1, 0, -1):
        if get(data, path[:i]) == {}:
            del get(data, path[:i - 1])[path[i - 1]]


@st.composite
def bad_variants(draw):
    fname = draw(st.sampled_from(sorted(VARIANTS)))
    data = copy.deepcopy(VARIANTS[fname])
    data["variant"]["base"] = "minusma-2015"
    how = draw(st.sampled_from(VARIANT_HOW))
    expect: tuple[str, ...] = ()
    others: dict[str, bytes] = {}
    sets = set_leaves(data) if "set" in data else []
    if how == "drop_header":
        key = draw(st.sampled_from(["name", "base"]))
        del data["variant"][key]
        expect = (f"variant.{key}",)
    elif how == "header_type":
        key = draw(st.sampled_from(["name", "base"]))
        data["variant"][key] = draw(st.sampled_from([3, True, ["minusma-2015"], {"x": 1}, ""]))
        expect = (f"variant.{key}",)
    elif how == "unknown_top":
        data["sets"] = {"cells": {"u2": {"analysts": 4}}}
        expect = ("sets",)
    elif how == "unknown_header":
        data["variant"]["basis"] = "minusma-2015"
        expect = ("variant.basis",)
    elif how == "set_unknown_path" and sets:
        def in_base(keys):
            try:
                return isinstance(get(MINUSMA, keys), dict)
            except (KeyError, TypeError):
                return False

        path = draw(st.sampled_from(sets))
        # a table on the way that the base has (not the last key)
        cuts = [c for c in range(1, len(path) - 1) if in_base(path[1:c + 1])]
        cut = draw(st.sampled_from(cuts))
        parent = get(data, path[:cut])
        parent[UNKNOWN] = parent.pop(path[cut])  # the whole table, under a name the base lacks
        expect = (UNKNOWN,)
    elif how == "set_unknown_unit":
        sec = draw(st.sampled_from(["cells", "commanders", "meetings", "pools", "collectors", "kinds"]))
        data.setdefault("set", {}).setdefault(sec, {})[UNKNOWN] = {"consumer": True} if sec == "commanders" else {"capacity": 2}
        expect = (f"{sec}.{UNKNOWN}",)
    elif how == "set_leaf_type" and sets:
        path = draw(st.sampled_from(sets))
        get(data, path[:-1])[path[-1]] = draw(st.sampled_from(wrong_types(get(data, path))))
        expect = (render(path[1:]),)
    elif how == "set_leaf_number" and [p for p in sets if isinstance(get(data, p), (int, float))
                                       and not isinstance(get(data, p), bool)]:
        path = draw(st.sampled_from([p for p in sets if isinstance(get(data, p), (int, float))
                                     and not isinstance(get(data, p), bool)]))
        get(data, path[:-1])[path[-1]] = draw(st.sampled_from([math.nan, math.inf, -5, 1e300]))
        expect = (render(path[1:]),)
    elif how == "set_links_nomatch" and data.get("set_links"):
        i = draw(st.integers(0, len(data["set_links"]) - 1))
        data["set_links"][i]["match"]["from"] = UNKNOWN
        expect = (f"set_links[{i}].match",)
    elif how == "set_links_type" and data.get("set_links"):
        i = draw(st.integers(0, len(data["set_links"]) - 1))
        key = draw(st.sampled_from(sorted(data["set_links"][i]["set"])))
        data["set_links"][i]["set"][key] = draw(st.sampled_from(["high", -1, math.nan, [1]]))
        expect = (f".{key}",)
    elif how == "remove_nomatch" and data.get("remove_links"):
        i = draw(st.integers(0, len(data["remove_links"]) - 1))
        data["remove_links"][i]["to"] = UNKNOWN
        expect = (f"remove_links[{i}]",)
    elif how == "add_existing":
        sec, name = draw(st.sampled_from([("cells", "u2"), ("commanders", "force_commander"),
                                          ("meetings", "jcb"), ("pools", "nld_patrol_vehicles")]))
        data.setdefault("add", {}).setdefault(sec, {})[name] = {"consumer": True}
        expect = (f"add.{sec}.{name}",)
    elif how == "add_missing_field":
        data.setdefault("add", {}).setdefault("cells", {})["new_cell"] = {"work_h": 1.0}
        expect = ("cells.new_cell.analysts",)
    elif how == "add_links_unknown":
        data.setdefault("add_links", []).append({"from": "u2", "to": UNKNOWN})
        expect = ("].to",)
    elif how == "base_missing":
        data["variant"]["base"] = draw(st.sampled_from(["missing.toml", "sub/missing.toml", "missing"]))
        expect = ("variant.base",)
    elif how == "base_builtin_typo":
        data["variant"]["base"] = "minusma-2016"
        expect = ("variant.base",)
    elif how == "base_outside":
        data["variant"]["base"] = draw(st.sampled_from(["../../etc/passwd", "/etc/passwd", "../" * 12 + "etc/shadow",
                                                        "/dev/zero", "/proc/self/environ", "/"]))
        expect = ("variant.base",)
    elif how == "base_folder":
        data["variant"]["base"] = draw(st.sampled_from([".", "..", "sub"]))
        others["sub/x.txt"] = b""
        expect = ("variant.base",)
    elif how == "base_self":
        data["variant"]["base"] = "bad.toml"
        expect = ("variant.base",)
    elif how == "scenario_name":
        data["variant"]["name"] = draw(st.sampled_from(["../../evil", "a/b", "..", "/tmp/x", "name with space", "ü"]))
        expect = ("scenario.name",)
    else:  # the variant has nothing of that sort: break its header instead
        del data["variant"]["name"]
        expect = ("variant.name",)
    return Case(f"{fname}: {how}", data, expect, others)


@pytest.mark.slow
@hsettings(350)
@given(bad_variants())
def test_generated_bad_variants_are_refused_cleanly(case):
    with workdir() as d:
        for rel, content in case.others.items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(content)
        (d / "bad.toml").write_bytes(dump(case.data))
        check_refused("bad.toml", case.expect, d)


# ------------------------------------------------------------------ 1c. broken bytes

FIRST_CONSUMER = MINUSMA_TEXT.index("consumer = true")
SMALL_TEXT = tomli_w.dumps(SMALL)
TEXT_HOW = ("duplicate_key", "duplicate_table", "truncate", "latin1", "utf16", "utf32", "bom", "empty",
            "blank", "comments", "garbage", "nul", "array_of_scenario")


def key_lines(text):
    """Indices of lines holding a plain ``key = value`` inside a table."""
    lines = text.splitlines()
    return [i for i, ln in enumerate(lines) if re.match(r"^[A-Za-z_][\w\-]* = ", ln)]


@st.composite
def bad_bytes(draw):
    text = draw(st.sampled_from([MINUSMA_TEXT, SMALL_TEXT]))
    how = draw(st.sampled_from(TEXT_HOW))
    expect: tuple[str, ...] = ("file",)
    if how == "duplicate_key":
        lines = text.splitlines()
        i = draw(st.sampled_from(key_lines(text)))
        lines.insert(i + 1, lines[i])
        content = "\n".join(lines).encode("utf-8")
    elif how == "duplicate_table":
        lines = text.splitlines()
        # a table declared twice (not a sub-table of [[links]]: that would be a new
        # table of the last link, which is valid TOML)
        heads = [i for i, ln in enumerate(lines) if re.match(r"^\[[A-Za-z_][\w.\-]*\]\s*(#.*)?$", ln)
                 and not ln.startswith("[links.")]
        i = draw(st.sampled_from(heads))
        content = (text + "\n" + lines[i] + "\n").encode("utf-8")
    elif how == "truncate":
        # cut before the first consumer: never a whole scenario
        raw = MINUSMA_TEXT.encode("utf-8")
        cut = draw(st.integers(0, len(MINUSMA_TEXT[:FIRST_CONSUMER].encode("utf-8"))))
        content = raw[:cut]
        expect = ()
    elif how == "latin1":
        t = text if any(ord(c) > 127 for c in text) else text.replace('name = "small"', 'name = "small"\ndescription = "Caf\u00e9 \u00e0 Gao"')
        content = t.encode("latin-1", errors="replace")
    elif how == "utf16":
        content = text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"])))
    elif how == "utf32":
        content = text.encode("utf-32")
    elif how == "bom":
        content = b"\xef\xbb\xbf" + text.encode("utf-8")
    elif how == "empty":
        content = b""
        expect = ("scenario",)
    elif how == "blank":
        content = draw(st.sampled_from([b"\n", b"   \n\n\t\n", b"\r\n"]))
        expect = ("scenario",)
    elif how == "comments":
        content = b"# only a comment\n# another\n"
        expect = ("scenario",)
    elif how == "garbage":
        content = draw(st.binary(min_size=1, max_size=200))
        expect = ()
    elif how == "nul":
        raw = text.encode("utf-8")
        i = draw(st.integers(0, len(raw)))
        content = raw[:i] + b"\x00" + raw[i:]
    else:  # array_of_scenario: [[scenario]] instead of [scenario]
        content = text.replace("[scenario]", "[[scenario]]", 1).encode("utf-8")
        expect = ("scenario",)
    return Case(how, content, expect)


@hsettings(300)
@given(bad_bytes())
def test_generated_broken_files_are_refused_cleanly(case):
    refuse_bytes(case.data, case.expect)


# ------------------------------------------------------------------ 1d. cycles

CYCLE_BASE = {
    "scenario": {"name": "cycle", "days": 2.0, "seed": 1},
    "kinds": {"k": {"family": "current", "shelf_life_h": 12.0}},
    "sources": {"s": {"sector": "x", "rate_per_day": 5.0, "mix": {"k": 1.0}}},
    "collectors": {"col": {"culture": "branch", "sectors": ["x"], "watch": "continuous",
                           "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.5}},
    "meetings": {"m": {"first_h": 8.0, "every_h": 24.0}},
}


@st.composite
def bad_cycles(draw):
    """A cycle that could go round at one instant for ever ("choose" nodes keeping
    repeats, no time on some way round: zero transit, meetings only, or a parallel
    timed link), or one that copies reports without end ("each" nodes keeping repeats)."""
    data = copy.deepcopy(CYCLE_BASE)
    n = draw(st.integers(2, 4))
    names = [f"n{i}" for i in range(n)]
    kind = draw(st.sampled_from(["zero_time", "copies"]))
    cells = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    data["cells"], data["commanders"] = {}, {}
    for name, is_cell in zip(names, cells):
        spec = {"dedupe": False, "routing": "choose" if kind == "zero_time" else "each"}
        if kind == "copies" and draw(st.booleans()):
            spec["routing"] = draw(st.sampled_from(["each", "choose"]))
        if is_cell:
            spec.update(analysts=draw(st.integers(1, 3)),
                        work_h=0.0 if kind == "zero_time" else draw(st.sampled_from([0.0, 1.0])))
            data["cells"][name] = spec
        else:
            data["commanders"][name] = spec
    if kind == "copies" and all(get_node(data, x)["routing"] == "choose" for x in names):
        get_node(data, names[0])["routing"] = "each"
    if draw(st.booleans()):
        data["cells"]["top"] = {"consumer": True, "analysts": 1, "work_h": 1.0}
    else:
        data["commanders"]["top"] = {"consumer": True}
    links = [{"from": "col", "to": names[0]}]
    order = names + [names[0]]
    for a, b in zip(order, order[1:]):
        link = {"from": a, "to": b}
        if kind == "zero_time":
            style = draw(st.sampled_from(["plain", "meeting", "parallel"]))
            if style == "meeting":
                link["meeting"] = "m"
            elif style == "parallel":
                links.append({"from": a, "to": b, "p": 0.0, "transit_h": 1.0})
        else:
            link["transit_h"] = draw(st.sampled_from([0.0, 1.0]))
        links.append(link)
    links.append({"from": names[-1], "to": "top", "p": 0.0})
    draw(st.randoms()).shuffle(links)
    data["links"] = links
    return Case(kind, data)


def get_node(data, name):
    return data["cells"].get(name) or data["commanders"][name]


@st.composite
def timed_cycles(draw):
    """Cycles of nodes keeping repeats that take time on every way round (every link
    has transit, or its sender is a cell with work): "choose" nodes only, so one copy
    goes round, as in a queueing network with feedback, with a way out (some p below
    1, so a report leaves after a bounded number of hops on average). These are valid."""
    data = copy.deepcopy(CYCLE_BASE)
    n = draw(st.integers(2, 4))
    names = [f"n{i}" for i in range(n)]
    data["cells"], data["commanders"] = {}, {"top": {"consumer": True}}
    links = [{"from": "col", "to": names[0]}]
    for a, b in zip(names, names[1:] + names[:1]):
        spec = {"dedupe": False, "routing": "choose"}
        timed_cell = draw(st.booleans())
        if timed_cell:
            data["cells"][a] = {**spec, "analysts": draw(st.integers(1, 3)),
                                "work_h": draw(st.sampled_from([0.5, {"dist": "exponential", "mean": 1.0}]))}
        else:
            data["commanders"][a] = spec
        transit = draw(st.sampled_from([0.25, {"dist": "uniform", "low": 0.0, "high": 1.0}])) if not timed_cell \
            else draw(st.sampled_from([0.0, 0.5]))
        p = draw(st.sampled_from([0.5, 0.9, 1.0]))
        links.append({"from": a, "to": b, "transit_h": transit, "p": p})
        if p < 1:
            links.append({"from": a, "to": "top", "p": round(1 - p, 3)})
        if draw(st.booleans()):
            links[-1]["meeting"] = "m"
    if all(lk.get("p", 1.0) == 1.0 for lk in links[1:]):  # no way out: refused (issue #13, item 4)
        links[1]["p"] = 0.9
        links.insert(2, {"from": links[1]["from"], "to": "top", "p": 0.1})
    data["links"] = links
    return Case("timed", data)


@hsettings(60)
@given(timed_cycles())
def test_generated_cycles_that_take_time_are_accepted(case):
    """The cycle check refuses only what could run for ever at one instant."""
    with workdir() as d:
        (d / "ok.toml").write_bytes(dump(case.data))
        res = invoke("validate", "ok.toml")
        assert res.exit_code == 0, res.output + tomli_w.dumps(case.data)
        res = invoke("run", "ok.toml", "--days", "3", "--no-save", "--json")
        assert res.exit_code == 0, res.output


@hsettings(200)
@given(bad_cycles())
def test_generated_endless_cycles_are_refused(case):
    kind, data = case.label, case.data
    with workdir() as d:
        (d / "bad.toml").write_bytes(dump(data))
        res = invoke("validate", "bad.toml")  # first: a missed cycle would hang `run`
        assert res.exit_code == 2, f"{kind} cycle accepted:\n{tomli_w.dumps(data)}"
        line = check_refused("bad.toml", (), d)
    assert "cycle" in line


# ------------------------------------------------------------------ 1e. truncation anywhere

@hsettings(100)
@given(st.integers(0, len(SMALL_TEXT.encode("utf-8"))), st.sampled_from(["validate", "run"]))
def test_a_truncated_file_is_either_whole_or_refused(cut, command):
    """Cut anywhere: the CLI says exactly what the library says (the same one line), and
    a run writes a complete folder or nothing."""
    content = SMALL_TEXT.encode("utf-8")[:cut]
    with workdir() as d:
        (d / "cut.toml").write_bytes(content)
        try:
            scenario.load("cut.toml")
        except ScenarioError as exc:
            line = check_refused("cut.toml", (), d)
            assert line == f"error: {exc.one_line()}"
        else:
            if command == "validate":
                res = invoke("validate", "cut.toml")
                assert res.exit_code == 0, res.output
            else:
                res = invoke("run", "cut.toml", "--days", "1", "--out", "out", "--json")
                assert res.exit_code == 0, res.output
                assert {"summary.json", "ledger.parquet", "run.json"} <= set(os.listdir(d / "out"))
            assert not [p for p in os.listdir(d) if p.endswith(".partial")]


# ------------------------------------------------------------------ specific bad values found by the generators

def small_with(**changes) -> dict:
    data = copy.deepcopy(SMALL)
    for path, value in changes.items():
        keys = path.split("__")
        node = data
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize("dist", [
    {"dist": "lognormal", "mean": 1e-200, "sd": 1.0},
    {"dist": "lognormal", "mean": 1e-160, "sd": 1e6},
    {"dist": "gamma", "mean": 1e6, "sd": 1e-300},
    {"dist": "gamma", "mean": 1.0, "sd": 1e-200},
])
def test_durations_whose_parameters_overflow_are_refused(dist):
    """Found by generation: a lognormal or gamma whose mean and sd are extremely far
    apart passed validation and crashed the run with OverflowError."""
    data = small_with(cells__g2__work_h=dist)
    refuse_bytes(dump(data), ("cells.g2.work_h",))


def test_board_members_must_drop_repeats():
    """A board passes each member what the others learned and it does not hold yet;
    a member that keeps repeats (dedupe = false) gets every item back at every meeting
    and copies multiply without end (found: 1.5e3 reports after 4 days, 5e5 after 8)."""
    data = small_with(commanders__hq__dedupe=False)
    line = refuse_bytes(dump(data), ("boards.jcb.members",))
    assert "hq" in line and "dedupe" in line


def test_board_members_are_distinct():
    data = small_with(boards__jcb__members=["g2", "g2"])
    refuse_bytes(dump(data), ("boards.jcb.members",))


@pytest.mark.parametrize("every_h", [1e-9, 1e-4, 0.005])
def test_meetings_cannot_be_absurdly_frequent(every_h):
    """A board meeting every 1e-7 h was accepted and ran (practically) for ever:
    meetings are at most every 0.01 h."""
    data = small_with(meetings__board__every_h=every_h)
    refuse_bytes(dump(data), ("meetings.board.every_h",))


def test_imagery_channel_must_be_a_trust_group():
    """A misspelt imagery channel silently withheld all imagery; it must name a group
    some node belongs to."""
    data = small_with(collectors__uav__imagery_channel="chanel")
    refuse_bytes(dump(data), ("collectors.uav.imagery_channel",))


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_special_files_are_refused_without_reading_them(kind, tmp_path):
    """``validate /dev/zero`` read for ever and a FIFO blocked: only regular files are
    read (and not huge ones)."""
    with contextlib.chdir(tmp_path):
        if kind == "fifo":
            os.mkfifo("bad.toml")
            target = "bad.toml"
        elif kind == "device":
            target = "/dev/zero"
        else:
            os.mkdir("bad.toml")
            target = "bad.toml"
        check_refused(target, ("file",), None)
        assert sorted(os.listdir(tmp_path)) == ([] if kind == "device" else ["bad.toml"])


def test_a_huge_file_is_refused(tmp_path):
    f = tmp_path / "huge.toml"
    with f.open("wb") as fh:
        fh.write(MINUSMA_TEXT.encode("utf-8"))
        fh.write(b"# " + b"x" * (40 * 2**20) + b"\n")
    with contextlib.chdir(tmp_path):
        check_refused("huge.toml", ("file",), None)


def test_a_variant_set_naming_a_missing_unit_is_an_error(tmp_path):
    """``[set.commanders.force_comander]`` (a typo) must not quietly add a new unit."""
    f = tmp_path / "typo.toml"
    f.write_text('[variant]\nname = "typo"\nbase = "minusma-2015"\n\n'
                 '[set.commanders.force_comander]\nconsumer = true\n', encoding="utf-8")
    with contextlib.chdir(tmp_path):
        line = check_refused("typo.toml", ("set.commanders.force_comander",), None)
    assert "[add]" in line


def test_a_variant_base_is_relative_to_the_variant_not_the_working_folder(tmp_path):
    """``base = "mine"`` (no .toml) is looked up beside the variant, then among the
    built-ins; never in whatever folder the command happens to run from."""
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "var.toml").write_text('[variant]\nname = "var"\nbase = "mine"\n', encoding="utf-8")
    (tmp_path / "mine").write_text(MINUSMA_TEXT, encoding="utf-8")  # in the working folder only
    with contextlib.chdir(tmp_path):
        check_refused("v/var.toml", ("variant.base",), None)


# ------------------------------------------------------------------ 6. safe input handling

CODE = [
    "__import__('os').system('touch PWNED')",
    "${{ os.system('touch PWNED') }}",
    "!!python/object/apply:os.system ['touch PWNED']",
    "$(touch PWNED)",
    "'; import os; os.system(\"touch PWNED\"); '",
    "{{7*7}}",
]


@pytest.mark.parametrize("code", CODE)
def test_strings_holding_code_stay_strings(code, tmp_path):
    data = small_with(scenario__description=code)
    f = tmp_path / "code.toml"
    f.write_bytes(dump(data))
    with contextlib.chdir(tmp_path):
        assert scenario.load("code.toml").scenario.description == code
        res = invoke("run", "code.toml", "--days", "1", "--out", "out")
        assert res.exit_code == 0, res.output
        again = tomllib.loads((tmp_path / "out" / "scenario.toml").read_text("utf-8"))
        assert again["scenario"]["description"] == code
        assert not (tmp_path / "PWNED").exists()
        res = invoke("scenario", "list")
        assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("text,field", [
    ("!!python/object/apply:os.system ['touch PWNED']\n", "file"),
    ('[scenario]\nname = !!python/name:os.system\n', "file"),
    (SMALL_TEXT.replace('name = "small"', 'name = "__import__(\'os\').system(\'touch PWNED\')"'), "scenario.name"),
    (SMALL_TEXT.replace("shelf_life_h = 12.0", 'shelf_life_h = "__import__(\'os\')"'), "kinds.threat.shelf_life_h"),
    (SMALL_TEXT.replace('dist = "gamma"', 'dist = "__import__(\'os\').system(\'touch PWNED\')"'), "cells.g2.work_h"),
    (SMALL_TEXT.replace('value = "a"', 'value = "`touch PWNED`"'), "switches.layout.value"),
    ('[variant]\nname = "v"\nbase = "minusma-2015"\n[set.cells.u2]\nanalysts = "eval(\'3\')"\n', "cells.u2.analysts"),
])
def test_code_in_a_file_is_an_error_and_never_runs(text, field, tmp_path):
    with contextlib.chdir(tmp_path):
        (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
        check_refused("bad.toml", (field,), tmp_path)
        assert not (tmp_path / "PWNED").exists()


def test_the_package_never_evaluates_input():
    """No eval/exec/compile, pickle, marshal or YAML loading anywhere in the package:
    scenario, variant and experiment files are only ever parsed as TOML data."""
    banned_calls = {"eval", "exec", "compile", "__import__"}
    banned_modules = {"pickle", "marshal", "yaml", "shelve", "dill", "cloudpickle"}
    found = []
    for path in (ROOT / "reporting_sim").rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in banned_calls:
                found.append(f"{path.name}:{node.lineno} {node.func.id}()")
            if isinstance(node, ast.Import):
                found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.split(".")[0] in banned_modules]
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in banned_modules:
                found.append(f"{path.name}:{node.lineno} from {node.module}")
    assert not found, found


@pytest.mark.parametrize("name", ["../../evil", "a/b", "..", "/tmp/evil", "x/../../y", ".hidden", "a\\b"])
def test_a_scenario_name_cannot_make_folders_elsewhere(name, tmp_path):
    """The default results folder is named after the scenario: a name with ``/`` or
    ``..`` is refused before anything is written."""
    work = tmp_path / "work"
    work.mkdir()
    data = small_with(scenario__name=name)
    (work / "s.toml").write_bytes(dump(data))
    with contextlib.chdir(work):
        res = invoke("run", "s.toml", "--days", "1")
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith("error: s.toml: scenario.name: ")
    assert sorted(os.listdir(work)) == ["s.toml"]
    assert sorted(os.listdir(tmp_path)) == ["work"]


def test_the_default_results_folder_is_under_results(tmp_path):
    with contextlib.chdir(tmp_path):
        (tmp_path / "s.toml").write_bytes(dump(SMALL))
        res = invoke("run", "s.toml", "--days", "1", "--seed", "3")
        assert res.exit_code == 0, res.output
    made = list((tmp_path / "results").iterdir())
    assert len(made) == 1 and made[0].name.startswith("small-seed3-")
    assert sorted(os.listdir(tmp_path)) == ["results", "s.toml"]


def run_out(out: str, cwd: Path):
    with contextlib.chdir(cwd):
        return invoke("run", "s.toml", "--days", "1", "--out", out)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def outdir(tmp_path):
    """A working folder ``work`` with ``s.toml`` in it, inside ``tmp_path``."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.toml").write_bytes(dump(SMALL))
    return work


def test_out_with_dotdot_in_the_middle_writes_exactly_there(outdir):
    (outdir / "a").mkdir()
    res = run_out("a/../res", outdir)
    assert res.exit_code == 0, res.output
    assert (outdir / "res" / "summary.json").is_file()
    assert sorted(os.listdir(outdir)) == ["a", "res", "s.toml"]
    assert list((outdir / "a").iterdir()) == []


def test_out_through_a_missing_folder_and_dotdot_creates_nothing_else(outdir):
    """``--out nox/../res`` must not leave a folder ``nox`` behind (it did: it created
    it, then the rename failed with a traceback)."""
    res = run_out("nox/../res", outdir)
    if res.exit_code == 0:
        assert (outdir / "res" / "summary.json").is_file()
    else:
        assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1, res.output
        assert res.stderr.startswith("error: nox/../res: --out: ")
        assert not (outdir / "res").exists()
    assert not (outdir / "nox").exists()
    assert not [p for p in os.listdir(outdir) if p.endswith(".partial")]


@pytest.mark.parametrize("out", [".", "..", "sub/..", "./", "../sub/.."])
def test_out_naming_no_folder_is_refused(out, outdir):
    """``--out .`` in an empty folder crashed (rmdir of '.'), ``--out sub/..`` too;
    a destination must end in a folder name."""
    (outdir / "sub").mkdir()
    before = tree(outdir.parent)
    empty = outdir / "sub"
    with contextlib.chdir(empty):  # an empty working folder: '.' would be allowed as 'empty'
        res = invoke("run", str(outdir / "s.toml"), "--days", "1", "--out", out)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.splitlines()
    named = str(Path(out))  # as click hands it on ("./" is ".")
    assert len(lines) == 1 and lines[0].startswith(f"error: {named}: --out: "), res.stderr
    assert tree(outdir.parent) == before


@pytest.mark.parametrize("target", ["empty", "full", "dangling", "file"])
def test_out_as_a_symlink_is_refused(target, outdir):
    """Results go where ``--out`` names, never through a symbolic link to somewhere
    else (a link to an empty folder crashed, a dangling one too)."""
    elsewhere = outdir.parent / "elsewhere"
    elsewhere.mkdir()
    if target == "full":
        (elsewhere / "keep.txt").write_text("mine")
    dest = {"empty": elsewhere, "full": elsewhere, "dangling": outdir.parent / "nothing",
            "file": elsewhere / "f.txt"}[target]
    if target == "file":
        dest.write_text("mine")
    (outdir / "link").symlink_to(dest)
    before = tree(outdir.parent)
    res = run_out("link", outdir)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: link: --out: "), res.stderr
    assert tree(outdir.parent) == before


def test_out_inside_a_symlinked_folder_stays_inside_it(outdir):
    """A link on the way (not the last part) is an ordinary folder: the results land in
    the folder it points to, under the name given, and nowhere else."""
    real = outdir.parent / "real"
    real.mkdir()
    (outdir / "via").symlink_to(real)
    res = run_out("via/res", outdir)
    assert res.exit_code == 0, res.output
    assert (real / "res" / "summary.json").is_file()
    assert sorted(os.listdir(real)) == ["res"]
    assert sorted(os.listdir(outdir)) == ["s.toml", "via"]


@pytest.mark.parametrize("out", ["s.toml/x", "/proc/x/y", "/dev/null/x"])
def test_out_that_cannot_be_written_is_a_clean_error(out, outdir):
    res = run_out(out, outdir)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: --out: "), res.stderr
    assert sorted(os.listdir(outdir)) == ["s.toml"]


def test_results_files_are_written_only_inside_out(outdir):
    """Nothing of a run is written beside the results folder (the temporary folder is
    renamed into place), whatever the scenario contains."""
    data = small_with(scenario__description="../../x", commanders__hq__org="..")
    (outdir / "s.toml").write_bytes(dump(data))
    res = run_out("res", outdir)
    if res.exit_code == 2:  # an org named '..' may well be refused; then nothing is written
        assert sorted(os.listdir(outdir)) == ["s.toml"]
        return
    assert sorted(os.listdir(outdir)) == ["res", "s.toml"]
    assert sorted(os.listdir(outdir.parent)) == ["work"]
    files = [p for p in (outdir / "res").rglob("*")]
    assert all(p.is_file() and p.parent == outdir / "res" for p in files)


def test_out_naming_an_existing_file_gives_one_line(outdir):
    (outdir / "taken.txt").write_text("mine")
    res = run_out("taken.txt", outdir)
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        "error: taken.txt: --out: exists already; choose a new folder (results are never overwritten)"]
    assert (outdir / "taken.txt").read_text() == "mine"


@pytest.mark.parametrize("command", ["compare", "experiment"])
def test_experiment_out_naming_a_file_gives_one_line(tmp_path, command):
    from reporting_sim.cli import cli

    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    exp = tmp_path / "e.toml"
    exp.write_text('[experiment]\nname = "e"\nbase = "minusma-2015"\nreplications = 2\ndays = 5\n')
    variant = str(Path(__file__).resolve().parent.parent / "experiments" / "variants" / "jcb-daily.toml")
    args = (["compare", "minusma-2015", variant, "-r", "2", "--days", "5"] if command == "compare"
            else ["experiment", str(exp)])
    res = CliRunner().invoke(cli, args + ["--out", str(taken)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--out" in lines[0]
    assert taken.read_text() == "mine"
