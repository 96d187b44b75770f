"""Generated hostile input for the study commands (hardening 3): claims files,
``[uncertainties]`` tables, the study commands' options and folders, and the Python
API's arguments. Whatever hypothesis draws, the answer is a clean result or one line
(exit 2 on the command line, one :class:`ScenarioError` line from the library), never a
traceback or another exception, never a hang, and nothing written that was not asked
for; a table of uncertainties that is accepted gives worlds whose every run uses the
value recorded for it.

The examples are derandomized (the same on every CI run); the runs they start are
tiny (the toy scenario of ``tests/data``, a day or less, the run limit set low).
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import event, given
from hypothesis import strategies as st

from helpers import DATA, hsettings, run_cli, small_files, workdir
from reporting_sim import scenario
from reporting_sim.errors import ScenarioError

TOY, SURE = DATA / "toy-threshold.toml", DATA / "toy-threshold-sure.toml"
TOY_DATA = tomllib.loads(TOY.read_text("utf-8"))
TB = "Traceback"

JUNK_TEXT = ["", " ", "a\x00b", "\x1b[2J", "../../etc/passwd", "/dev/zero", ".", "x" * 300, "<script>", "ü", "a|b",
             "[x](javascript:y)", "`", "\n", "%%{init}%%"]
JUNK = JUNK_TEXT + [0, -1, 1.5, float("nan"), float("inf"), True, None, [], {}, [1, "a"], {"a": 1}, 10**30]


def _toml_value(v):
    """Values TOML can hold (None cannot: it drops the key)."""
    return v


def one_line_error(code, out, err):
    assert TB not in out + err, err
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and not lines[0].rstrip().endswith(":"), err


@contextlib.contextmanager
def env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ------------------------------------------------------------------ claims files

CLAIM = {"id": "c", "claim": "A claim.", "section": "[paper §3 case]", "change": "what changes",
         "metric": "hq.current.in_time", "expected": "+", "set": {"links": []}}
CLAIM_KEYS = ("id", "claim", "section", "change", "metric", "expected", "variant", "same_change_as", "set",
              "set_links", "remove_links", "add", "add_links", "colour")


@st.composite
def claims_files(draw):
    claims = []
    for i in range(draw(st.integers(1, 3))):
        c = {**CLAIM, "id": f"c{i}", "set": {"links": [], "mechanisms": {"pull": False}}}
        c.pop("set")
        c["set_links"] = [{"match": {"from": "scout", "to": "hq"},
                           "set": {"p": draw(st.sampled_from([0.9, 0.9, 1.0, 2.0, -1]))}}]
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
            key = draw(st.sampled_from(CLAIM_KEYS))
            value = draw(st.sampled_from([v for v in JUNK if v is not None] + ["hq.in_time", "-", "c0", "x.toml",
                                                                              str(SURE)]))
            if draw(st.booleans()) and key in c:
                del c[key]
            else:
                c[key] = value
        claims.append(c)
    broken = draw(st.sampled_from([None] * 12 + [{}, {"claims": []}, {"claims": "x"}, {"x": 1}]))
    return {"claims": claims} if broken is None else broken


@pytest.mark.slow
@hsettings(120)
@given(claims_files())
def test_generated_claims_files_are_checked_or_refused_in_one_line(data):
    """Through the command line, with the run limit at 1: a claims file that is valid
    is refused by the limit, any other by its own fault; one line either way."""
    with workdir() as d, env(REPORTING_SIM_MAX_RUNS="1"):
        try:
            text = tomli_w.dumps(data)
        except (TypeError, ValueError):  # what TOML cannot hold: not a file anyone can write
            return
        (d / "c.toml").write_text(text, encoding="utf-8")
        code, out, err = run_cli("check-study", str(TOY), "--no-builtin", "--claims", "c.toml", "--days", "1",
                                 "-r", "2", "--jobs", "1", "--markdown", cwd=d)
        one_line_error(code, out, err)
        event("refused by the run limit" if "REPORTING_SIM_MAX_RUNS" in err else "refused as invalid")
        assert "\x00" not in err and "\x1b" not in err
        assert sorted(p.name for p in d.iterdir()) == ["c.toml"]


# ------------------------------------------------------------------ [uncertainties]

PATHS = ["kinds.news.shelf_life_h", "sources.area.rate_per_day", "cells.hq.analysts", "links[scout->hq].p",
         "links[scout->hq].transit_h", "collectors.scout.p_observe", "collectors.scout.culture",
         "collectors.scout.watch", "cells.hq.work_h", "cells.hq.consumer", "scenario.days", "scenario.seed",
         "scenario.name", "metrics.planning_horizon_h", "cells.hq.label", "cells.nope.analysts", "links[a->b].p",
         "collectors.scout.report_delay_h"]
NUMBERS = [0, 1, 2, 3, 1.5, 0.5, -1, 10, 1e9, 0.001, 24, 6]
VALUES = NUMBERS + [True, False, "branch", "commander", "continuous", "x", [1], {"a": 1}]


GOOD = {"kinds.news.shelf_life_h": (1, 10), "sources.area.rate_per_day": (6, 24), "cells.hq.analysts": (1, 3),
        "links[scout->hq].p": (0.3, 0.9), "links[scout->hq].transit_h": (0.5, 2), "collectors.scout.p_observe": (0.5, 1),
        "collectors.scout.culture": ("branch", "commander"), "collectors.scout.watch": ("continuous", "patrols"),
        "cells.hq.consumer": (True, False)}


@st.composite
def uncertainty(draw, path, paths):
    """Mostly a sensible range or list for ``path`` (so that many tables are accepted
    and their worlds run), else something wrong in one of many ways."""
    u = {"reason": draw(st.sampled_from(["an assumption to test"] * 14 + ["x", ""]))}
    lo, hi = GOOD.get(path, (1, 2))
    form = draw(st.sampled_from(["good"] * 6 + ["range", "values", "fixed", "broken"]))
    if form == "good" and isinstance(lo, (int, float)) and not isinstance(lo, bool):
        u.update(low=lo, high=hi)
    elif form == "good":
        u["values"] = [lo, hi]
    elif form == "range":
        lo, hi = sorted([draw(st.sampled_from(NUMBERS)), draw(st.sampled_from(NUMBERS))])
        u.update(low=lo, high=hi + draw(st.sampled_from([0, 1, 0.5])))
        u["distribution"] = draw(st.sampled_from(["uniform", "uniform", "loguniform", "triangular", "normal"]))
        if u["distribution"] == "triangular":
            u["mode"] = draw(st.sampled_from(NUMBERS))
    elif form == "values":
        u["values"] = draw(st.lists(st.sampled_from(VALUES), min_size=0, max_size=4))
    elif form == "fixed":
        u["fixed"] = draw(st.sampled_from([True, True, False, "yes"]))
    else:
        u.update(draw(st.sampled_from([{"low": "1", "high": 2}, {"low": 1}, {"values": "abc"}, {"colour": 1},
                                       {"low": 1, "high": 2, "fixed": True}])))
    if draw(st.integers(0, 3)) == 0:
        u["also"] = draw(st.lists(st.sampled_from(paths), max_size=2))
    return u


@st.composite
def uncertainty_tables(draw):
    paths = draw(st.lists(st.sampled_from(list(GOOD) * 2 + PATHS), min_size=1, max_size=4, unique=True))
    return {p: draw(uncertainty(p, PATHS)) for p in paths}


@hsettings(250)
@given(uncertainty_tables())
def test_generated_uncertainties_are_refused_in_one_line_or_every_world_runs_what_it_records(table):
    """Item 14's worry, generated: an accepted table gives worlds in which every
    setting (its ``also`` ones too) holds the world's recorded value, integers stay
    integers, and every world is a valid scenario; a refused one names an uncertainty."""
    from reporting_sim.scenario.uncertainties import Space, get_path

    data = {**TOY_DATA, "uncertainties": table}
    try:
        sc = scenario.parse(data, "gen.toml")
    except ScenarioError as exc:
        event("refused")
        line = exc.one_line()
        assert "\n" not in line and line.startswith("gen.toml: uncertainties"), line
        return
    event("accepted")
    space = Space(data, sc)
    for w in space.worlds(4, seed=1) if space.items else []:
        world = space.apply(data, w, "gen.toml")
        scenario.parse(world, "gen.toml")  # every world is a scenario
        for path, u, kind in space.items:
            for p in (path, *u.also):
                got = get_path(world, p)
                assert got == w[path], (p, got, w[path])
                assert kind != "int" or (isinstance(got, int) and not isinstance(got, bool)), (p, got)


# ------------------------------------------------------------------ the study commands' options and folders

BAD_NUMBERS = ["-1", "0", "1.5", "nan", "inf", "-inf", "1e999", "abc", "", " ", "99999999999999999999999", "1_0", "0x10"]


def _out(draw, d: Path) -> str:
    how = draw(st.sampled_from(["new"] * 6 + ["dot", "dotdot", "file", "foreign", "symlink", "up", "deep", "long",
                                             "empty"]))
    if how == "file":
        (d / "f").write_text("precious")
        return "f"
    if how == "foreign":
        (d / "fo").mkdir()
        (d / "fo" / "precious.txt").write_text("x")
        return "fo"
    if how == "symlink":
        (d / "elsewhere").mkdir()
        (d / "ln").symlink_to(d / "elsewhere")
        return "ln"
    if how == "empty":
        (d / "e").mkdir()
        return "e"
    return {"new": "o", "dot": ".", "dotdot": "..", "up": "nowhere/../o2", "deep": "a/b/c", "long": "x" * 300}[how]


def _option(draw, good: list[str]) -> str:
    """Mostly a good value (so that whole commands run), else a bad one."""
    return draw(st.sampled_from(good * (4 * len(BAD_NUMBERS) // len(good)) + BAD_NUMBERS))


@st.composite
def study_commands(draw):
    command = draw(st.sampled_from(["compare", "robustness", "check-study", "experiment"]))
    opts = {"--days": _option(draw, ["0.5", "1"]), "--replications": _option(draw, ["2"]),
            "--seed": _option(draw, ["1", "0", str(2**62 - 1), str(2**62)]), "--jobs": _option(draw, ["1"])}
    if command == "robustness":
        opts["--worlds"] = _option(draw, ["2"])
        opts["--replications"] = _option(draw, ["1"])
    if command == "compare":
        opts["--warmup-days"] = _option(draw, ["0", "0.1", "5"])
    if command == "experiment":
        opts.pop("--seed")
    if draw(st.sampled_from([False] * 7 + [True])):
        opts["--dask"] = draw(st.sampled_from(["garbage", "tcp://127.0.0.1:1", "tcp://", "x" * 400]))
    drop = draw(st.lists(st.sampled_from(sorted(opts)), max_size=2))
    return command, {k: v for k, v in opts.items() if k not in drop}, draw(st.data())


def _argv(command: str, d: Path) -> list[str]:
    small_files(d)
    if command == "compare":
        return ["compare", "small.toml", "v.toml"]
    if command == "robustness":
        return ["robustness", str(TOY), str(SURE)]
    if command == "check-study":
        (d / "c.toml").write_text(tomli_w.dumps({"claims": [{**CLAIM, "set": {"mechanisms": {"pull": False}}}]}))
        return ["check-study", str(TOY), "--no-builtin", "--claims", "c.toml"]
    (d / "e.toml").write_text('[experiment]\nname = "e"\nbase = "small.toml"\nvariants = ["v.toml"]\n'
                              'metrics = ["force_cdr.in_time"]\ndays = 1\nreplications = 2\n')
    return ["experiment", "e.toml"]


def _tree(d: Path) -> dict:
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(d.rglob("*"))}


@pytest.mark.slow
@hsettings(80)
@given(study_commands())
def test_generated_study_command_lines_run_or_are_refused_in_one_line(case):
    """Every study command goes through one guarded path: whatever the options and
    ``--out``, a run (tiny: the run limit is 8) or one line, and a refusal writes nothing."""
    command, opts, data = case
    with workdir() as d, env(REPORTING_SIM_MAX_RUNS="8"):
        argv = _argv(command, d)
        if command != "check-study":
            argv += ["--out", _out(data.draw, d)]
        argv += [x for k, v in opts.items() for x in (k, v)] + ["--no-progress"]
        before = _tree(d)
        code, out, err = run_cli(*argv, cwd=d)
        event(f"{command}: exit {code}")
        assert TB not in out + err, err
        assert code in (0, 2), (code, argv, out, err)
        if code == 2:
            one_line_error(code, out, err)
            assert _tree(d) == before, (argv, err)
        elif command != "check-study":
            folder = d / argv[argv.index("--out") + 1]
            assert (folder / "design.json").is_file() and (folder / "result.json").is_file()
            assert not folder.is_symlink()


# ------------------------------------------------------------------ the Python API

@st.composite
def api_calls(draw):
    fn = draw(st.sampled_from(["simulate", "compare", "summary", "read_results", "load"]))

    def pick(*good):
        return draw(st.sampled_from(list(good) * (3 * len(JUNK) // len(good)) + JUNK))
    if fn == "simulate":
        kw = {"seed": pick(1, 0), "days": pick(0.5, 1), "trace": pick(False, True), "warmup_days": pick(0.0, 0.1)}
        return fn, (pick(str(TOY)),), {k: v for k, v in kw.items() if draw(st.booleans())}
    if fn == "compare":
        kw = {"replications": pick(2), "days": pick(0.5), "seed": pick(1), "metrics": pick(None, ["hq.in_time"]),
              "warmup_days": pick(0.0), "n_jobs": pick(1, None)}
        return fn, (pick(str(TOY)), pick(str(SURE))), {k: v for k, v in kw.items() if draw(st.booleans())}
    return fn, (pick(str(TOY)),), {}


@pytest.mark.slow
@hsettings(150)
@given(api_calls())
def test_generated_api_calls_give_a_result_or_one_scenario_error(call):
    """The API checks its arguments as the command line checks its options: only
    ScenarioError, one line, and no hang (the run limit is 8; valid horizons a day)."""
    import reporting_sim as rs

    fn, args, kwargs = call
    with workdir(), env(REPORTING_SIM_MAX_RUNS="8"):
        try:
            got = getattr(rs, fn)(*args, **kwargs)
        except ScenarioError as exc:
            event(f"{fn}: refused")
            assert "\n" not in exc.one_line()
            return
    event(f"{fn}: ran")
    if fn == "simulate":
        assert len(rs.summary(got)["consumers"]) >= 1
    elif fn == "compare":
        assert set(got["variants"]) == {"toy-threshold", "toy-threshold-sure"}
