"""The lab's computations without a browser: settings become a valid variant, the
paired runs are paired and give compare's numbers, the what-if's inputs are checked as
compare checks them, the mission's marks and counters are the trace's and the ledger's,
the exercises resolve and their record is a CSV, the ceilings come from the library or
say what they need, the replay's frames follow the trace, and without the web framework
the command says how to install it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner

from reporting_sim import scenario as scenario_mod
from reporting_sim.cli import cli
from reporting_sim.errors import ScenarioError
from reporting_sim.lab import core, exercises, mission
from reporting_sim.present import graph


def _base():
    data, source = scenario_mod.load_data("minusma-2015")
    return data, scenario_mod.parse(copy.deepcopy(data), source)


def test_unchanged_settings_make_no_change():
    _, sc = _base()
    k = core.Knobs.of(sc)
    assert k.changes(k, sc) == {}


def test_changed_settings_export_as_a_variant_that_validates(tmp_path):
    data, sc = _base()
    k = core.Knobs.of(sc)
    vals = dict(k.values)
    cell = next(iter(sc.cells))
    vals[f"cells.{cell}.analysts"] = sc.cells[cell].analysts + 2
    vals["mechanisms.competition"] = False
    switch = next(iter(sc.switches))
    other = [c for c in sc.switches[switch].choices if c != sc.switches[switch].value][0]
    vals[f"switches.{switch}.value"] = other
    vals["formats"] = True
    changes = core.Knobs(vals).changes(k, sc)
    variant = core.variant_data("minusma-2015", changes, name="class-q", question="q?")
    path = tmp_path / "class-q.toml"
    path.write_text(core.variant_toml(variant), "utf-8")
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exit_code == 0, r.output
    got = scenario_mod.load(path)
    assert got.cells[cell].analysts == sc.cells[cell].analysts + 2
    assert got.mechanisms.competition is False
    assert got.switches[switch].value == other
    assert all(got.collectors[n].formats for n in core.commander_centric(sc))
    # the in-memory resolution used by the lab gives the same scenario
    _, same = core.resolve(data, variant)
    assert same.to_dict() == got.to_dict()


def test_a_preset_variant_is_a_starting_point(tmp_path):
    data, sc = _base()
    found = core.presets(Path(__file__).resolve().parent.parent / "experiments" / "variants", "minusma-2015")
    assert "liaison-officers-and-formats" in found
    preset = scenario_mod.read_file(found["liaison-officers-and-formats"])
    variant = core.variant_data("minusma-2015", {"meetings.jcb.every_h": 24.0}, preset=preset)
    _, changed = core.resolve(data, variant)
    assert set(changed.nodes) > set(sc.nodes)  # the preset's added units are there
    assert changed.meetings["jcb"].every_h == 24.0


def test_paired_runs_share_seeds_and_an_unchanged_scenario_differs_by_zero():
    data, sc = _base()
    rows = core.paired_runs(data, copy.deepcopy(data), replications=2, days=10, seed=5)
    assert [r["seed"] for r in rows["base"]] == [r["seed"] for r in rows["changed"]] == [5, 6]
    tab = core.comparison_table(rows, "current.in_time", sc.consumers)
    assert all(t["diff"] == 0 for t in tab)
    assert all(0 <= t["base_lo"] <= t["base"] <= t["base_hi"] <= 1 for t in tab if t["base_lo"] == t["base_lo"])


def test_replay_frames_light_consumers_when_they_know_and_act():
    from reporting_sim.model import simulate

    _, sc = _base()
    rec = simulate(sc, 3, 20, trace=True)
    ev = core.typical_late(rec, sc.metrics.bypass_consumer)
    assert ev is not None
    st = core.replay(rec, sc, ev)
    times = [f["t_h"] for f in st["frames"]]
    assert times == sorted(times) and len(times) >= 2
    last = st["frames"][-1]["states"]
    for c, (arr, act) in st["knows"].items():
        assert last[c] == "acts"
        before = [f for f in st["frames"] if f["t_h"] < arr - 1e-9]
        assert all(f["states"].get(c) not in ("knows", "acts") for f in before)
    assert st["outcome"][sc.metrics.bypass_consumer] == "late"


def test_lab_without_its_web_framework_says_how_to_install(monkeypatch):
    import reporting_sim.lab as lab

    monkeypatch.setattr(lab, "available", lambda: False)
    r = CliRunner().invoke(cli, ["lab", "--no-browser"])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [f"error: lab: {lab.INSTALL_HINT}"]


def test_lab_refuses_a_bad_scenario_or_a_busy_port_in_one_line(tmp_path):
    import socket

    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 1\n")
    r = CliRunner().invoke(cli, ["lab", str(bad), "--no-browser"])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and r.output.startswith("error: ")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = CliRunner().invoke(cli, ["lab", "--no-browser", "--port", str(port)])
    assert r.exit_code == 2 and "is in use" in r.output and r.output.count("\n") == 1


# ------------------------------------------------------------------ what-if numbers

def test_the_lab_paired_runs_give_the_numbers_compare_gives():
    """Side by side, the lab and ``reporting-sim compare`` run the same jobs: for the
    same seeds and days every consumer's means, paired difference and interval agree."""
    from reporting_sim import api

    data, sc = _base()
    path = Path(__file__).resolve().parent.parent / "experiments" / "variants" / "trained-u2.toml"
    variant = core.variant_data("minusma-2015", {}, preset=scenario_mod.read_file(path), name="trained-u2")
    changed, _ = core.resolve(data, variant)
    rows = core.paired_runs(data, changed, replications=3, days=8, seed=4)
    names = [f"{c}.current.in_time" for c in sc.consumers] + ["bypass_rate"]
    got = api.compare("minusma-2015", path, replications=3, days=8, seed=4, metrics=names)
    moved = 0
    for name in names:
        row = core.metric_row(rows, name)
        want = got["variants"]["trained-u2"]["metrics"][name]
        if row is None:
            assert want["mean"] is None
            continue
        d = want["diff_vs_base"]
        assert row["changed"] == pytest.approx(want["mean"], abs=1e-12)
        assert row["base"] == pytest.approx(got["variants"]["minusma-2015"]["metrics"][name]["mean"], abs=1e-12)
        assert [row["diff"], row["diff_lo"], row["diff_hi"]] == pytest.approx([d["mean"], *d["ci95"]], abs=1e-12)
        moved += row["diff"] != 0
    assert moved >= 1  # the variant changes something: the comparison is not of two equal columns


def test_each_finished_pair_is_reported_with_the_rows_so_far():
    data, _ = _base()
    seen = []
    core.paired_runs(data, copy.deepcopy(data), replications=3, days=4, seed=2,
                     on_pair=lambda rows: seen.append((len(rows["base"]), len(rows["changed"]))))
    assert seen == [(1, 1), (2, 2), (3, 3)]


# ------------------------------------------------------------------ what-if inputs (#25 item 23)

@pytest.mark.parametrize("reps, days, seed, field", [
    (4, -5, 1, "days per run"), (4, 0, 1, "days per run"), (4, 40000, 1, "days per run"),
    (4, float("nan"), 1, "days per run"), (4, None, 1, "days per run"), (1, 30, 1, "paired replications"),
    (2.5, 30, 1, "paired replications"), (4, 30, -1, "seed"), (4, 30, 1.5, "seed"), (4, 30, None, "seed")])
def test_what_if_inputs_are_refused_in_one_line_naming_the_input(reps, days, seed, field):
    with pytest.raises(ScenarioError) as exc:
        core.check_run(reps, days, seed)
    line = exc.value.one_line()
    assert line.startswith(f"what-if: {field}: ") and "\n" not in line


def test_what_if_inputs_that_pass_say_the_horizon_used(monkeypatch):
    rs = core.check_run(4, 90, 1)
    assert (rs.replications, rs.days, rs.seed) == (4, 90.0, 1)
    assert rs.describe() == "4 paired replications of 90 days, seeds 1-4 (the same seed on both sides)"
    monkeypatch.setenv("REPORTING_SIM_MAX_RUNS", "7")
    with pytest.raises(ScenarioError, match="REPORTING_SIM_MAX_RUNS"):
        core.check_run(4, 90, 1)  # 8 runs


def test_an_empty_or_fractional_setting_is_an_error_not_a_silent_default():
    data, sc = _base()
    with pytest.raises(ScenarioError, match="U2: enter a value"):
        core.knob_value("cells.u2.analysts", None, 3, "U2")
    assert core.knob_value("cells.u2.analysts", 4.0, 3, "U2") == 4
    value = core.knob_value("cells.u2.analysts", 2.5, 3, "U2")
    assert value == 2.5  # passed on as given: the schema refuses it
    with pytest.raises(ScenarioError, match="cells.u2.analysts"):
        core.resolve(data, core.variant_data("minusma-2015", {"cells.u2.analysts": value}))


# ------------------------------------------------------------------ the mission in motion

@pytest.fixture(scope="module")
def traced():
    from reporting_sim.model import simulate

    _, sc = _base()
    return sc, simulate(sc, 3, 20, trace=True)


def test_mission_marks_are_the_trace_steps_that_take_time(traced):
    sc, rec = traced
    data = mission.mission(rec, sc)
    tr = rec.trace
    steps = tr[tr["step"].isin(mission.MARK_STEPS) & (tr["t1_h"] > tr["t0_h"])]
    m = data["marks"]
    assert len(m["t0"]) == len(steps) > 100
    transit = [i for i, k in enumerate(m["k"]) if mission.MARK_STEPS[k] == "transit"]
    want = steps[steps["step"] == "transit"]
    assert [(data["names"][m["a"][i]], data["names"][m["b"][i]]) for i in transit] == \
        list(zip(want["node"].astype(str), want["to"].astype(str)))
    stopped = tr[(tr["step"] == "end") & tr["state"].isin(mission.STOP_STATES)]
    assert len(data["stops"]["t"]) == len(stopped) > 0
    assert all(a <= b for a, b in zip(m["t0"], m["t1"]))
    fams = dict(zip(rec.events["event_id"], rec.events["family"].astype(str)))
    assert [mission.FAMILIES[f] for f in m["f"]] == [fams[e] for e in m["e"]]


def test_mission_counters_end_at_the_ledger_and_the_measure(traced):
    """What the counters show at the end of the clock is what the numbers count."""
    from reporting_sim.measures import metrics

    sc, rec = traced
    data = mission.mission(rec, sc)
    flat = metrics.flat(metrics.summary(rec))
    led = rec.ledger[rec.ledger["interest"]]
    for c in data["counters"]:
        mine = led[(led["consumer"] == c["name"]) & (led["family"] == "current")]
        if not len(mine):
            continue
        n = mission.count_at(c, data["end"], "current")
        assert n["in_time"] == (mine["outcome"] == "in_time").sum()
        assert n["late"] == (mine["outcome"] == "late").sum()
        assert n["lost"] == mine["outcome"].isin(list(mission.LOST)).sum()
        assert n["in_time"] / len(mine) == pytest.approx(flat[f"{c['name']}.current.in_time"])
        half = mission.count_at(c, data["end"] / 2, "current")
        assert sum(half.values()) < sum(n.values())  # they run with the clock
    assert data["counters"][0]["label"] == sc.nodes[data["counters"][0]["name"]].label


def test_meetings_sit_on_their_calendar_with_who_acts_and_what_waits(traced):
    sc, rec = traced
    got = {m["name"]: m for m in mission.mission(rec, sc)["meetings"]}
    brief = got["morning_briefing"]
    assert brief["acts"] == ["force_commander"]
    assert brief["times"][:2] == [8.0, 32.0] and len(brief["times"]) == 20
    assert ["u2", "force_commander"] in brief["links"]


def test_the_busiest_moment_counts_the_marks_drawn_then(traced):
    sc, rec = traced
    data = mission.mission(rec, sc)
    t, n = mission.busiest(data)
    assert n == mission.in_flight(data, t) > 0
    assert all(mission.in_flight(data, x) <= n for x in range(0, int(data["end"]), 7))


# ------------------------------------------------------------------ exercises and ceilings

def test_every_shipped_exercise_resolves_and_measures_something_real():
    from reporting_sim.metric_names import flat_names

    data, sc = _base()
    presets = {name: scenario_mod.read_file(p) for name, p in
               core.presets(Path(__file__).resolve().parent.parent / "experiments" / "variants", sc.name).items()}
    exs = exercises.load(sc.name)
    assert len(exs) >= 5
    known = set(flat_names(sc.consumers, list(sc.cells)))
    for ex in exs:
        assert ex.measure in known, ex.key
        _, changed = core.resolve(data, exercises.settings(ex, "minusma-2015", presets))
        assert graph.diff(sc, changed).lines(sc, changed), ex.key  # it changes the scenario
        core.check_run(ex.replications, ex.days, ex.seed)
    with pytest.raises(ScenarioError, match="needs the shipped variant"):
        exercises.settings(next(e for e in exs if e.variant), "minusma-2015", {})


def test_the_class_record_holds_one_row_per_team_with_the_result():
    import csv
    import io

    ex = exercises.Exercise(key="k", title="t", question="q, with a comma", measure="u2.current.in_time")
    rows = {"base": [{"u2.current.in_time": v} for v in (0.10, 0.12, 0.11)],
            "changed": [{"u2.current.in_time": v} for v in (0.15, 0.16, 0.18)]}
    res = exercises.result(rows, ex.measure)
    assert res["diff"] == pytest.approx(100 * (0.49 - 0.33) / 3)  # points
    preds = {"Red": exercises.parse_prediction("Red", "+5"), "Blue": exercises.parse_prediction("Blue", "-1,5")}
    text = exercises.record_csv(exercises.record_rows(ex, preds, res, core.check_run(3, 10, 1), "minusma-2015"))
    got = list(csv.DictReader(io.StringIO(text)))
    assert list(got[0]) == list(exercises.RECORD_COLUMNS)
    assert [(r["team"], float(r["prediction"])) for r in got] == [("Red", 5.0), ("Blue", -1.5)]
    assert float(got[0]["error"]) == pytest.approx(5.0 - res["diff"], abs=1e-3)
    assert got[0]["inside_interval"] in ("True", "False") and got[0]["question"] == "q, with a comma"
    with pytest.raises(ScenarioError, match="prediction of Green"):
        exercises.parse_prediction("Green", "a lot")


def test_ceilings_come_from_the_library_or_say_what_they_need(monkeypatch):
    result = {"consumers": {"force_commander": {"current": {
        "in_time": 0.11, "ceilings": {"observed": {"in_time": 0.6}, "reported": 0.4, "odd": "x"}}}}}
    assert core.ceiling_stages(result) == {"force_commander": [("today", 0.11), ("observed", 0.6),
                                                              ("reported", 0.4)]}
    monkeypatch.setattr(core, "ceilings_function", lambda: None)
    assert core.ceilings({}, days=5, seed=1, replications=2) is None
    monkeypatch.undo()
    data, _ = scenario_mod.load_data("minusma-2015")
    got = core.ceilings(data, days=10, seed=1, replications=2)  # the lab's settings, through the library
    from reporting_sim.study.ceilings import ceilings

    want = core.ceiling_stages(ceilings(scenario_mod.load("minusma-2015"), days=10, seed=1, replications=2,
                                        waterfall=False, n_jobs=1))
    assert got == want and got["force_commander"][0][0] == "today" and len(got["force_commander"]) >= 7
