"""Variant files: what ``[set]``, ``[[remove_links]]`` and ``base`` may name, and where a
base is looked up. Each case is one line and exit 2 (or, for a built-in name, the
built-in). Generated bad variants: ``test_scenario_validation.py``.
"""

from __future__ import annotations

import contextlib

import pytest

from helpers import (MINUSMA_TEXT, SMALL_SCENARIO, assert_one_line_error, check_refused, run_cli, small_files,
                     write_toml)


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


@pytest.mark.parametrize("change", ['[set]\nlinks = "x"\n', '[set]\nlinks = [1, 2]\n', '[set.links]\na = 1\n'])
def test_item7_a_variant_replacing_the_links_with_a_non_table_is_an_error(change, tmp_path):
    small_files(tmp_path)
    f = tmp_path / "v.toml"
    f.write_text('[variant]\nname = "v"\nbase = "small.toml"\n' + change, encoding="utf-8")
    assert_one_line_error(*run_cli("validate", f), "v.toml", "set.links")


def test_item8_a_bare_builtin_name_means_the_builtin_whatever_the_working_folder_holds(tmp_path):
    """Item 8: a file named ``minusma-2015`` in the working folder replaced the built-in."""
    write_toml(tmp_path / "minusma-2015", SMALL_SCENARIO)
    code, out, err = run_cli("validate", "minusma-2015", cwd=tmp_path)
    assert code == 0 and "'minusma-2015'" in out, out + err
    code, out, err = run_cli("validate", "./minusma-2015", cwd=tmp_path)
    assert code == 0 and "'large'" in out, out + err


def test_item8_an_empty_remove_links_is_an_error_not_remove_everything(tmp_path):
    small_files(tmp_path)
    f = tmp_path / "v.toml"
    f.write_text('[variant]\nname = "v"\nbase = "small.toml"\n[[remove_links]]\n', encoding="utf-8")
    assert_one_line_error(*run_cli("validate", f), "v.toml", "remove_links[0]")
