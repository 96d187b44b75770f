"""Bad scenario and variant files are refused cleanly, however they are broken.

Every bad scenario or variant file must give

* exit status 2 from ``reporting-sim validate FILE`` and ``reporting-sim run FILE``,
* exactly one line on stderr, ``error: FILE: FIELD: message``, naming the file as given
  and the field at fault (never a traceback, nothing on stdout),
* no results folder and no ``.partial`` temporary folder anywhere.

The cases are generated with hypothesis from valid files: the built-in
``minusma-2015``, a small scenario using every mechanism (``SMALL`` in ``helpers.py``),
and the variants in ``experiments/variants/``. Each mutation knows which field it
broke, so the error line is checked for that field. The CLI runs in process
(``CliRunner``) for speed; ``derandomize=True`` keeps the cases the same on every CI
run. The last part keeps the specific bad values the generators found.
(Cycles: ``test_cycles.py``; variants' own rules: ``test_variants.py``.)
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import (MINUSMA, MINUSMA_TEXT, SMALL, SMALL_SCENARIO, SMALL_TEXT, VARIANT_FILES, Case,
                     assert_one_line_error, check_refused, dump, hsettings, invoke, refuse_bytes, run_cli,
                     small_with, workdir, write_toml)
from reporting_sim import scenario
from reporting_sim.scenario.distributions import Exponential, Fixed, Gamma, Lognormal, Triangular, Uniform
from reporting_sim.errors import ScenarioError
from reporting_sim.scenario import (
    Accreditation,
    Board,
    Cell,
    Classify,
    Collector,
    Commander,
    Duty,
    Header,
    Hoard,
    Kind,
    Link,
    Meeting,
    Mechanisms,
    Metrics,
    Patrols,
    Pool,
    Rotation,
    Source,
    Switch,
    Tasking,
    Written,
)


UNKNOWN = "zz_unknown"


def field_of(path) -> str:
    """The field an error about the value at ``path`` names (a distribution's ``dist``
    is named by its table)."""
    return render(path[:-1] if path and path[-1] == "dist" else path)


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


def test_item7_a_start_date_the_calendar_cannot_hold_is_refused_by_validate(tmp_path):
    """Item 7: ``start_date = 9999-12-01`` validated, then ``trace`` overflowed."""
    data = copy.deepcopy(SMALL_SCENARIO)
    data["scenario"]["start_date"] = __import__("datetime").date(9999, 12, 1)
    f = write_toml(tmp_path / "late.toml", data)
    assert_one_line_error(*run_cli("validate", f), "scenario.start_date")
