"""The HTML report escapes everything it reads from a results folder (issue 13, item
16): a crafted ``run.json`` or ``summary.json`` yields text, never a live script; and
the report defines its measures (glossary, caveat, captions); a damaged results folder
gives ``report`` and ``plot`` one error line (issue 13, item 7)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from helpers import assert_one_line_error, run_cli
from reporting_sim.cli import cli
from reporting_sim.measures.stats import holm

PAYLOAD = "<script>alert('x')</script>"


def _run(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["run", "--days", "6", "--seed", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_crafted_results_folder_yields_no_live_script(tmp_path):
    out = _run(tmp_path)
    info = json.loads((out / "run.json").read_text())
    info["wall_time_s"] = PAYLOAD
    info["versions"]["simpy"] = PAYLOAD
    info["written_at"] = PAYLOAD
    (out / "run.json").write_text(json.dumps(info))
    summary = json.loads((out / "summary.json").read_text())
    summary["events"] = PAYLOAD
    summary["reports"]["created"] = PAYLOAD
    (out / "summary.json").write_text(json.dumps(summary))
    (out / "evil-source.toml").write_text('x = 1  # [assumption] <script>alert(2)</script>\n')
    r = CliRunner().invoke(cli, ["report", str(out)])
    assert r.exit_code == 0, r.output
    page = (out / "report.html").read_text()
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;") >= 5


def test_report_defines_its_measures(tmp_path):
    out = _run(tmp_path)
    r = CliRunner().invoke(cli, ["report", str(out)])
    assert r.exit_code == 0, r.output
    page = (out / "report.html").read_text()
    assert "Glossary: what each measure means" in page
    assert "compare" in page and "point estimates" in page  # the single-run caveat
    assert page.count("<figcaption>") >= 3
    assert "within 6 h of the event" in page  # a kind's shelf life, from the scenario


def test_holm_adjusts_step_down():
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm([0.5]) == [0.5]


@pytest.mark.parametrize("damage", [
    ("run.json", ""), ("run.json", "{"), ("run.json", '{"scenario": 3}'), ("run.json", "[]"),
    ("summary.json", '{"consumers": {"a": {}}}'), ("ledger.parquet", "not parquet"),
    ("result.json", "nul\x00"), ("result.json", '{"base": "x", "replications": 2, "variants": {}}'),
    ("result.json", '{"base": "b", "replications": 2, "variants": {"b": {"metrics": {"m": {"mean": "NaN!"}}}}}'),
])
@pytest.mark.parametrize("command", ["report", "plot"])
def test_item7_report_and_plot_of_a_damaged_results_folder_give_one_line(damage, command, run_folder,
                                                                       experiment_folder, tmp_path):
    import shutil

    name, text = damage
    folder = tmp_path / "f"
    shutil.copytree(experiment_folder if name == "result.json" else run_folder, folder)
    (folder / name).write_text(text, encoding="utf-8")
    assert_one_line_error(*run_cli(command, folder), str(folder))


def test_h3_item22_a_robustness_report_renders_its_section_as_html(tmp_path):
    """Item 22: ``report`` on a robustness folder showed the whole robustness section
    as escaped text (``&lt;h2&gt;``, ``&lt;table``, base64 images); values read from
    the folder are still escaped."""
    from helpers import DATA

    out = tmp_path / "rob"
    code, o, err = run_cli("robustness", DATA / "toy-threshold.toml", DATA / "toy-threshold-sure.toml", "--worlds", "4",
                           "-r", "1", "--days", "2", "--jobs", "1", "--out", out)
    assert code == 0, err
    result = json.loads((out / "result.json").read_text())
    result["variants"]["toy-threshold-sure"]["verdict"] = PAYLOAD
    (out / "result.json").write_text(json.dumps(result))
    code, o, err = run_cli("report", out)
    assert code == 0, err
    page = (out / "report.html").read_text()
    assert "&lt;h2&gt;" not in page and "&lt;table" not in page and "&lt;img" not in page
    assert "<h2>Robustness across 4 plausible worlds</h2>" in page and "<table" in page
    assert '<img alt="differences" src="data:image/png;base64,' in page
    assert "<script" not in page.lower() and "&lt;script&gt;" in page

    result["base"] = PAYLOAD  # a base the study does not hold: damaged, one line (not a KeyError)
    (out / "result.json").write_text(json.dumps(result))
    assert_one_line_error(*run_cli("report", out), "result.json", "base", "damaged")
