"""The lab's computations without a browser: settings become a valid variant, the
paired runs are paired, the replay's frames follow the trace, and without the web
framework the command says how to install it."""

from __future__ import annotations

import copy
from pathlib import Path

from click.testing import CliRunner

from reporting_sim import scenario as scenario_mod
from reporting_sim.cli import cli
from reporting_sim.lab import core


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
