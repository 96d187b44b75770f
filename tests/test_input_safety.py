"""Input is data only: scenario, variant and experiment files are parsed as TOML and
nothing in them ever runs; strings holding code stay strings.
"""

from __future__ import annotations

import ast
import contextlib
import tomllib

import pytest

from helpers import ROOT, SMALL_TEXT, check_refused, dump, invoke, small_with
from reporting_sim import scenario


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
