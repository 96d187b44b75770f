"""Every option and argument of every command answers hostile values (NaN, infinities,
huge, negative, empty, overlong) with exit 0 or one ``error:`` line and exit 2, never
a traceback (issue #13, item 6).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SMALL_SCENARIO, assert_one_line_error, experiment_text, run_cli, small_files, write_toml
from reporting_sim.cli import cli


# ------------------------------------------------------------------ NaN, infinity, out of range (item 6)

@pytest.mark.parametrize("args", [
    ["run", "--days", "nan"], ["run", "--days", "2", "--warmup-days", "nan"], ["run", "--warmup-days", "inf"],
    ["trace", "--days", "nan"], ["bottlenecks", "--days", "nan"], ["bottlenecks", "--days", "-inf"],
    ["compare", "minusma-2015", "minusma-2015", "--days", "nan"],
    ["compare", "minusma-2015", "minusma-2015", "--warmup-days", "nan"],
    ["run", "--days", "-1"], ["run", "--seed", "9" * 30], ["compare", "a", "b", "--replications", "1"],
])
def test_item6_nan_infinite_and_out_of_range_options_give_one_line(args, tmp_path):
    """Item 6: ``--days nan`` gave a traceback on run, trace, bottlenecks and compare;
    click's own range errors printed three lines."""
    code, out, err = run_cli(*args, "--out", tmp_path / "o", cwd=tmp_path)
    assert_one_line_error(code, out, err, args[-2])
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ every option of every command

HOSTILE = ["nan", "inf", "-inf", "1e308", "9" * 40, "-1", "", "x" * 5000]


def all_commands(group=cli, prefix=()):
    """(path, command) for every command of the CLI, subcommands included."""
    import click

    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


def valued_params(cmd):
    """The options that take a value, and the arguments, of a command."""
    import click

    for p in cmd.params:
        if isinstance(p, click.Option) and not p.is_flag and not p.count and p.name != "help":
            yield p.opts[0], p
        elif isinstance(p, click.Argument):
            yield None, p


def cheap_args(path, tmp: Path, run_folder: Path) -> list:
    """Valid, quick arguments for each command (tiny scenario, one or two days)."""
    return {
        ("run",): ["small.toml", "--days", "1", "--no-save"],
        ("compare",): ["small.toml", "v.toml", "--days", "1", "--replications", "2", "--jobs", "1", "--out", "c"],
        ("experiment",): ["e.toml", "--jobs", "1", "--out", "x"],
        ("trace",): ["small.toml", "--days", "2", "--out", "t"],
        ("bottlenecks",): ["small.toml", "--days", "2", "--out", "b"],
        ("ceilings",): ["small.toml", "--days", "1", "--replications", "2", "--jobs", "1", "--out", "ce"],
        ("plot",): [str(run_folder), "--out", "p"],
        ("report",): [str(run_folder), "--out", "r.html"],
        ("scenario", "show"): ["minusma-2015"],
        ("scenario", "list"): [],
        ("scenario", "graph"): ["small.toml", "--out", "g"],
        ("scenario", "diff"): ["small.toml", "v.toml"],
        ("validate",): ["small.toml"],
        ("check-study",): ["small.toml", "--no-builtin", "--claims", "cl.toml", "--replications", "2",
                           "--days", "1", "--jobs", "1"],
        ("robustness",): ["su.toml", "v.toml", "--worlds", "2", "--replications", "1", "--days", "1",
                          "--jobs", "1", "--out", "rb"],
        ("select",): ["small.toml", "vc.toml", "--metric", "force_cdr.in_time", "--delta", "0.1", "--days", "1",
                      "--n0", "2", "--jobs", "1", "--out", "s"],
        ("packages",): ["su.toml", "vc.toml", "--budget", "5", "--metric", "force_cdr.in_time", "--worlds", "2",
                        "--replications", "1", "--days", "1", "--jobs", "1", "--out", "pk"],
        ("brief",): ["s"],
        ("calibrate",): ["su.toml", "--patterns", "pt.toml", "--waves", "1", "--worlds", "2", "--replications",
                         "1", "--days", "1", "--jobs", "1", "--out", "cb"],
    }[path]


CLAIMS = ('[[claims]]\nid = "more-g2"\nclaim = "One more analyst, sooner known."\n'
          'section = "[paper §3 strategic fit]"\nchange = "a second analyst"\nmetric = "force_cdr.in_time"\n'
          'expected = "+"\n[claims.set.cells.hq_g2]\nanalysts = 2\n')


PATTERN = ('[[claims]]\nid = "known"\nkind = "pattern"\nform = "level"\nclaim = "Some is known in time."\n'
           'section = "[paper §3 strategic fit]"\nmetric = "force_cdr.in_time"\naccept = [0.0, 1.0]\n')


def command_files(tmp_path: Path) -> None:
    """The small scenario and its variant, an experiment, a claims file and the small
    scenario with one uncertainty (for robustness)."""
    small_files(tmp_path)
    (tmp_path / "e.toml").write_text(experiment_text(), encoding="utf-8")
    (tmp_path / "cl.toml").write_text(CLAIMS, encoding="utf-8")
    (tmp_path / "pt.toml").write_text(PATTERN, encoding="utf-8")
    write_toml(tmp_path / "su.toml", {**SMALL_SCENARIO, "uncertainties": {
        "cells.hq_g2.analysts": {"low": 1, "high": 3, "reason": "a test range"}}})
    (tmp_path / "v.toml").write_text('[variant]\nname = "v"\nbase = "small.toml"\n'
                                     '[set.cells.hq_g2]\nanalysts = 1\n', encoding="utf-8")
    (tmp_path / "vc.toml").write_text('[variant]\nname = "vc"\nbase = "small.toml"\ncost = { amount = 1, unit = '
                                      '"officers", reason = "a test" }\n[set.cells.hq_g2]\nanalysts = 2\n',
                                      encoding="utf-8")


def with_value(args: list, opt, param, value) -> list:
    """``args`` with option ``opt`` (or the argument ``param``) set to ``value``."""
    if opt is None:  # the first positional argument of its kind is replaced
        positional = [i for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or not args[i - 1].startswith("--"))]
        out = list(args)
        if positional:  # the first (BASE, FILE, SCENARIO...), or the last for VARIANT...
            out[positional[-1] if param.name == "variants" else positional[0]] = value
        else:
            out.append(value)
        return ["--", *out] if value.startswith("-") else out
    out, i = [], 0
    while i < len(args):
        if args[i] == opt:
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out + [opt, value]


# `lab` starts a server that runs until stopped: its options are checked in test_lab.py
COMMAND_PARAMS = [(path, opt or param.name) for path, cmd in all_commands() if path != ("lab",)
                  for opt, param in valued_params(cmd)]


@pytest.mark.parametrize("path,name", COMMAND_PARAMS, ids=[" ".join(p) + ":" + n for p, n in COMMAND_PARAMS])
def test_every_option_of_every_command_answers_hostile_values_cleanly(path, name, run_folder, tmp_path):
    """Also (issue #13): every option and argument of every command, fed NaN,
    infinities, huge, negative, empty and overlong values (paths: empty, overlong and
    option-like names), answers with exit 0, or with one ``error:`` line and exit 2;
    never a traceback."""
    command_files(tmp_path)
    cmd = dict(all_commands())[path]
    opt, param = next((o, p) for o, p in valued_params(cmd) if (o or p.name) == name)
    import click

    # a path's numbers are only names (``--out nan`` is a folder "nan"): paths get the
    # empty, overlong and option-like values, which keeps the drawing commands cheap
    for value in (["", "x" * 5000, "-1"] if isinstance(param.type, click.Path) else HOSTILE):
        args = with_value(cheap_args(path, tmp_path, run_folder), opt, param, value)
        code, out, err = run_cli(*path, *args, cwd=tmp_path)
        assert "Traceback" not in out + err, (args, err)
        if code != 0:
            assert code == 2, (args[:8], code, out[-300:], err[-300:])
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (args[:8], err[:600])


@pytest.mark.parametrize("args,name", [(["scenario", "diff", "minusma-2015"], "VARIANT"),
                                       (["compare", "minusma-2015"], "VARIANT..."),
                                       (["report"], "FOLDER")])
def test_h3_item27_a_missing_argument_names_what_is_missing(args, name):
    """Item 27: a missing argument printed ``error: VARIANT:`` with nothing after the colon."""
    from helpers import run_cli

    code, out, err = run_cli(*args)
    assert code == 2 and err.strip() == f"error: {name}: required but missing", err


def test_h3_the_largest_study_seed_the_options_allow_is_one_the_study_takes(tmp_path):
    """Found by the generated tests: ``compare --seed 4611686018427387904`` (2**62, the
    option's old maximum) passed the option and failed in the experiment's own model
    with a pydantic traceback; the option and the model now share one maximum."""
    from helpers import run_cli, small_files

    small_files(tmp_path)
    code, out, err = run_cli("compare", "small.toml", "v.toml", "--seed", str(2**62), "--days", "0.5", "-r", "2",
                             "--jobs", "1", "--out", "o", cwd=tmp_path)
    assert_one_line_error(code, out, err, "--seed", f"from 0 to {2**62 - 1}")
    code, out, err = run_cli("compare", "small.toml", "v.toml", "--seed", str(2**62 - 1), "--days", "0.5", "-r", "2",
                             "--jobs", "1", "--out", "o", cwd=tmp_path)
    assert code == 0, err
