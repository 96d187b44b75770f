"""Commands that reuse results and draw the network: trace and bottlenecks read a
traced results folder; scenario graph and diff; experiment overrides; the run table
defines its measures."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from helpers import VARIANTS
from reporting_sim.present import graph
from reporting_sim import scenario as scenario_mod
from reporting_sim.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("w") / "run"
    r = invoke("run", "--days", "12", "--seed", "3", "--trace", "--out", out)
    assert r.exit_code == 0, r.output
    return out, r.output


def test_run_table_defines_every_column_and_warns_about_one_run(traced_run):
    out, text = traced_run
    for column in ("in time:", "late:", "not observed (not obs):", "withheld:", "not shared (not shrd):", "(know p50):", "(act p50):", "(plan %):"):
        assert column in text
    assert "compare" in text and "point estimates" in text
    assert "attack (current): 6 h  [assumption]" in text  # shelf life from the scenario, with its tag
    summary = json.loads((out / "summary.json").read_text())
    assert "in_time" in summary["definitions"] and summary["kinds"]["attack"]["shelf_life_h"] == 6
    assert "point estimates" in (out / "summary.txt").read_text()


def test_trace_and_bottlenecks_read_a_traced_folder_without_simulating(traced_run, tmp_path, monkeypatch):
    out, _ = traced_run
    import reporting_sim.model as model

    monkeypatch.setattr(model, "simulate", lambda *a, **k: pytest.fail("simulated again"))
    r = invoke("trace", out, "--out", tmp_path / "t")
    assert r.exit_code == 0, r.output
    assert "what each consumer knew, and when:" in r.output
    r = invoke("bottlenecks", out, "--out", tmp_path / "b")
    assert r.exit_code == 0, r.output
    assert "Where the hours go" in r.output


def test_trace_of_an_untraced_folder_is_one_line(tmp_path):
    r = invoke("run", "--days", "3", "--out", tmp_path / "plain")
    assert r.exit_code == 0
    r = invoke("trace", tmp_path / "plain")
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "not a traced run" in r.output


def test_scenario_graph_writes_svg_dot_and_mermaid_with_every_node(tmp_path):
    r = invoke("scenario", "graph", VARIANTS / "liaison-officers-and-formats.toml", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    sc = scenario_mod.load(VARIANTS / "liaison-officers-and-formats.toml")
    svg = (tmp_path / f"{sc.name}.svg").read_text()
    assert svg.count('class="node ') == len(sc.nodes)
    assert svg.count('class="node commander added') == 5  # the five liaison officers, highlighted
    dot = (tmp_path / f"{sc.name}.dot").read_text()
    assert dot.count(" -> ") == len(sc.active_links)
    mmd = (tmp_path / f"{sc.name}.mmd").read_text()
    assert mmd.startswith("flowchart TD") and mmd.count("-->") + mmd.count("-.->") == len(sc.active_links)


def test_layout_puts_collectors_on_top_and_every_link_mostly_downwards():
    sc = scenario_mod.load("minusma-2015")
    lay = graph.layout(sc)
    assert {lay.layer[n] for n in sc.collectors} == {0}
    down = sum(lay.layer[lk.to] > lay.layer[lk.src] for lk in sc.active_links)
    assert down >= 0.8 * len(sc.active_links)


def test_scenario_diff_names_what_a_variant_changes():
    r = invoke("scenario", "diff", "minusma-2015", VARIANTS / "jcb-daily.toml")
    assert r.exit_code == 0
    assert r.output.strip() == "~ meetings.jcb.every_h: 168.0 -> 24.0"
    r = invoke("scenario", "diff", "minusma-2015", "minusma-2015")
    assert r.output.strip() == "no differences"


def test_svg_escapes_labels(tmp_path):
    data, _ = scenario_mod.load_data("minusma-2015")
    data["cells"]["u2"]["label"] = "U2 <script>alert(1)</script>"
    sc = scenario_mod.parse(data, "t")
    svg = graph.svg(sc)
    assert "<script" not in svg and "&lt;script&gt;" in svg


def test_experiment_overrides_replications_and_days(tmp_path):
    exp = tmp_path / "e.toml"
    exp.write_text(f'[experiment]\nname = "e"\nbase = "minusma-2015"\nvariants = ["{VARIANTS / "jcb-daily.toml"}"]\n'
                   'replications = 9\ndays = 300\nmetrics = ["force_commander.in_time"]\n')
    r = invoke("experiment", exp, "--replications", "2", "--days", "4", "--jobs", "1", "--json",
               "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert result["replications"] == 2 and result["days"] == 4


def test_h3_item13_scenario_graph_keeps_an_existing_drawing_unless_told(tmp_path):
    """Item 13: ``scenario graph --out g`` overwrote an existing ``g/NAME.svg`` without a word."""
    (tmp_path / "minusma-2015.svg").write_text("precious")
    r = invoke("scenario", "graph", "minusma-2015", "--out", tmp_path)
    assert r.exit_code == 2 and "minusma-2015.svg" in r.stderr and "--overwrite" in r.stderr, r.output
    assert (tmp_path / "minusma-2015.svg").read_text() == "precious"
    assert not (tmp_path / "minusma-2015.dot").exists()
    r = invoke("scenario", "graph", "minusma-2015", "--out", tmp_path, "--overwrite")
    assert r.exit_code == 0 and (tmp_path / "minusma-2015.svg").read_text().startswith("<svg"), r.output


@pytest.mark.parametrize("label", ['a"]\nclick boss call alert(1)\n%%{init}%%', "x\r\nclick n_u2 href 'javascript:x'",
                                   "<img src=x onerror=alert(1)>", "a`b`#c;"])
def test_h3_item17_a_label_cannot_inject_mermaid_lines_or_markup(label):
    """Item 17: a node label with a newline injected lines into the Mermaid output
    (``click ... call alert(1)``)."""
    data, _ = scenario_mod.load_data("minusma-2015")
    data["cells"]["u2"]["label"] = label
    mmd = graph.mermaid(scenario_mod.parse(data, "t"))
    lines = mmd.splitlines()
    assert len(lines) == len(graph.mermaid(scenario_mod.load("minusma-2015")).splitlines())
    assert not [ln for ln in lines if ln.strip().startswith(("click", "%%"))]
    u2 = next(ln for ln in lines if ln.strip().startswith("n_u2["))
    assert u2.count('"') == 2 and "<" not in u2 and "`" not in u2, u2
