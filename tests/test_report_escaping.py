"""The HTML report escapes everything it reads from a results folder (issue 13, item
16): a crafted ``run.json`` or ``summary.json`` yields text, never a live script; and
the report defines its measures (glossary, caveat, captions)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reporting_sim.cli import cli
from reporting_sim.report import holm

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
