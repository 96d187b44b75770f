"""Helpers shared by the test files: paths, the CLI run in process, the one-line error
contract for bad input, small scenarios as dicts, and the headless browser.

They are plain functions and constants, not fixtures, because test modules use them at
import time (in ``parametrize`` lists and hypothesis strategies); the fixtures built on
them are in ``conftest.py``. ``queueing.py`` holds the queueing formulas and
``conservation.py`` the conservation checks. A helper that only one file uses stays in
that file.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

import reporting_sim
from reporting_sim import scenario
from reporting_sim.cli import cli

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "experiments" / "variants"
VARIANT_FILES = sorted(VARIANTS.glob("*.toml"))
DATA = ROOT / "tests" / "data"
EXE = Path(sys.executable).with_name("reporting-sim")  # the console script
PACKAGE_ROOT = Path(reporting_sim.__file__).resolve().parents[1]  # the reporting_sim these tests import


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_toml(path: Path, data: dict) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def hsettings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ------------------------------------------------------------------ the CLI in process

runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli, [str(a) for a in args], prog_name="reporting-sim")


def run_cli(*args, cwd: Path | None = None):
    """Run the CLI in process; return (exit code, stdout, stderr)."""
    runner = CliRunner()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        res = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    finally:
        os.chdir(old)
    return res.exit_code, res.stdout, res.stderr


def assert_one_line_error(code, out, err, *needles):
    """Exit 2, one ``error:`` line on stderr naming each of ``needles``, no traceback."""
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err + out
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ------------------------------------------------------------------ bad input: one line, exit 2, nothing left behind

class Case:
    """A generated case; its repr (what hypothesis prints on failure) is short."""

    def __init__(self, label: str, data, expect=(), others=None):
        self.label, self.data, self.expect, self.others = label, data, tuple(expect), others or {}

    def __repr__(self):
        return f"Case({self.label!r}, expect={self.expect!r})"


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


# ------------------------------------------------------------------ the built-in scenario, and a small one with every mechanism

MINUSMA_TEXT = scenario.builtin_text("minusma-2015")
MINUSMA = tomllib.loads(MINUSMA_TEXT)
MINUSMA.pop("uncertainties", None)  # its ranges name other settings; bad ones: tests/test_uncertainties.py


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


SMALL_TEXT = tomli_w.dumps(SMALL)


def small_with(**changes) -> dict:
    data = copy.deepcopy(SMALL)
    for path, value in changes.items():
        keys = path.split("__")
        node = data
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[keys[-1]] = value
    return data


# ------------------------------------------------------------------ a force of many sectors, and its files

def large_scenario(n_sectors: int, per_sector: int, days: float = 2.0) -> dict:
    """A force of ``n_sectors`` sectors, each with a battalion, its commander, an S2
    cell and ``per_sector`` more commanders, reporting up to one force HQ; every cell and
    commander is a consumer. ``n_sectors * (per_sector + 3) + 2`` nodes in all."""
    data = {"scenario": {"name": "large", "days": days, "seed": 1},
            "kinds": {"threat": {"family": "current", "shelf_life_h": 24.0},
                      "trend": {"family": "long_term", "shelf_life_h": 500.0}},
            "sources": {}, "collectors": {}, "cells": {}, "commanders": {}, "links": []}
    data["cells"]["hq_g2"] = {"analysts": 4, "work_h": 0.5, "consumer": True}
    data["commanders"]["force_cdr"] = {"consumer": True}
    data["links"].append({"from": "hq_g2", "to": "force_cdr", "transit_h": 0.1})
    for s in range(n_sectors):
        data["sources"][f"src{s}"] = {"sector": f"s{s}", "rate_per_day": 0.5, "mix": {"threat": 0.7, "trend": 0.3}}
        data["collectors"][f"bn{s}"] = {"culture": "commander", "sectors": [f"s{s}"], "watch": "continuous",
                                        "p_observe": 0.6, "p_report": 0.8, "report_delay_h": 0.5}
        data["commanders"][f"cmd{s}"] = {"consumer": True}
        data["cells"][f"s2_{s}"] = {"analysts": 1, "work_h": {"dist": "exponential", "mean": 1.0}, "consumer": True}
        data["links"] += [{"from": f"bn{s}", "to": f"cmd{s}", "transit_h": 0.2},
                          {"from": f"cmd{s}", "to": f"s2_{s}", "transit_h": 0.2},
                          {"from": f"s2_{s}", "to": "hq_g2", "transit_h": 1.0}]
        for k in range(per_sector):
            data["commanders"][f"staff{s}_{k}"] = {"consumer": True}
            data["links"].append({"from": f"s2_{s}", "to": f"staff{s}_{k}", "transit_h": 0.5})
    return data


SMALL_SCENARIO = large_scenario(n_sectors=2, per_sector=1)


def experiment_text(extra: str = "", base: str = "small.toml", name: str = "exp") -> str:
    return (f'[experiment]\nname = "{name}"\nbase = "{base}"\ndays = 1\nreplications = 2\n'
            f'metrics = ["force_cdr.in_time"]\n' + extra)


def small_files(tmp_path: Path) -> Path:
    """``small.toml`` and a variant of it, ``v.toml``, in ``tmp_path``."""
    write_toml(tmp_path / "small.toml", SMALL_SCENARIO)
    (tmp_path / "v.toml").write_text('[variant]\nname = "v"\nbase = "small.toml"\n'
                                     '[set.cells.hq_g2]\nanalysts = 1\n', encoding="utf-8")
    return tmp_path / "small.toml"


# ------------------------------------------------------------------ tiny scenarios to trace by hand

def base(rate=6.0, days=3.0, seed=11, shelf=24.0, family="current"):
    """A scenario with one kind, one source in sector ``x`` and nothing else yet."""
    return {
        "scenario": {"name": "tiny", "days": days, "seed": seed},
        "kinds": {"k": {"family": family, "shelf_life_h": shelf}},
        "sources": {"s": {"sector": "x", "rate_per_day": rate, "mix": {"k": 1.0}}},
        "collectors": {},
        "cells": {},
        "commanders": {},
        "meetings": {},
        "links": [],
    }


def collector(delay=0.0, **extra):
    spec = {"culture": "branch", "sectors": ["x"], "watch": "continuous",
            "p_observe": 1.0, "p_report": 1.0, "report_delay_h": delay}
    spec.update(extra)
    return spec


def link(src, dst, transit=0.0, **extra):
    spec = {"from": src, "to": dst, "transit_h": transit}
    spec.update(extra)
    return spec


# ------------------------------------------------------------------ a real headless browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def browser():
    required = os.environ.get("REPORTING_SIM_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is not installed")
        pytest.skip("playwright is not installed")
    if CHROMIUM is None:
        if required:
            pytest.fail("chromium is not installed")
        pytest.skip("chromium is not installed")
    return sync_playwright


def scale_choose_links(nodes: dict, links: list) -> None:
    """In a generated scenario: a ``choose`` node picks at most one link, so scale the
    chances of its links to sum to at most 1 (rounded down to 1/1000)."""
    for name, spec in nodes.items():
        if spec["routing"] == "choose":
            mine = [lk for lk in links if lk["from"] == name]
            total = sum(lk["p"] for lk in mine)
            if total > 1:
                for lk in mine:
                    lk["p"] = math.floor(lk["p"] / total * 1000) / 1000


# ------------------------------------------------------------------ an --out in the way (folder claims)

def out_file(d):
    """``d/o`` is a file the command must not overwrite."""
    (d / "o").write_text("precious")


def out_foreign(d):
    """``d/o`` is a folder of someone else's files."""
    (d / "o").mkdir()
    (d / "o" / "precious.txt").write_text("x")


def out_link(d):
    """``d/o`` is a symlink to another folder."""
    (d / "elsewhere").mkdir()
    (d / "o").symlink_to(d / "elsewhere")
