"""Every command of docs/tutorial.md runs as written; and the teaching views add up.

The tutorial's ``sh`` blocks are read from the file and run in order, in a fresh folder
that sees the repository's ``experiments/``, with the installed ``reporting-sim``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reporting_sim import scenario, views
from reporting_sim.model import simulate

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
EXE = Path(sys.executable).with_name("reporting-sim")


def tutorial_commands() -> list[str]:
    text = TUTORIAL.read_text("utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    cmds = [line.strip() for b in blocks for line in b.splitlines() if line.strip().startswith("reporting-sim")]
    assert len(cmds) >= 8
    return cmds


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    room = tmp_path_factory.mktemp("classroom")
    (room / "experiments").symlink_to(ROOT / "experiments", target_is_directory=True)
    outputs = []
    for cmd in tutorial_commands():
        argv = shlex.split(cmd)
        proc = subprocess.run([str(EXE), *argv[1:]], cwd=room, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
        outputs.append((cmd, proc))
    return room, outputs


@pytest.mark.slow
def test_every_tutorial_command_runs(classroom):
    room, outputs = classroom
    for cmd, proc in outputs:
        assert proc.returncode == 0, f"{cmd}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_tutorial_produces_what_it_promises(classroom):
    room, outputs = classroom
    out = {cmd: proc.stdout for cmd, proc in outputs}
    traces = [v for k, v in out.items() if k.startswith("reporting-sim trace")]
    assert len(traces) >= 2 and len(set(traces)) == len(traces), "each trace follows another event"
    for trace in traces:
        assert "what each consumer knew, and when:" in trace and "timeline:" in trace
        knew = trace.split("what each consumer knew, and when:")[1].split("\n\n")[0].strip().splitlines()
        reached = [ln for ln in knew if ln.startswith("  ") and not ln.startswith("   ") and " never (" not in ln]
        assert len(reached) >= 2, f"the tutorial's event reached fewer than two consumers:\n{trace}"
        png = Path(room, trace.rsplit("timeline: ", 1)[1].split(" ")[0])
        assert png.exists() and png.with_suffix(".svg").exists()
    bn = next(v for k, v in out.items() if k.startswith("reporting-sim bottlenecks"))
    assert "Where the hours go" in bn and "Nodes ranked" in bn
    assert (room / "results" / "tutorial-baseline" / "report.html").exists()
    assert (room / "results" / "tutorial-compare" / "report.html").exists()
    figures = room / "results" / "tutorial-baseline" / "figures"
    for name in ("outcomes-current", "latency-current", "weekly", "time-budget", "queues"):
        assert (figures / f"{name}.svg").exists(), f"plot of a traced run lacks {name}"
    graph = room / "results" / "tutorial-graph"
    assert {p.suffix for p in graph.iterdir()} >= {".svg", ".dot", ".mmd"}
    diff = next(v for k, v in out.items() if k.startswith("reporting-sim scenario diff"))
    assert "+ node" in diff and "+ link" in diff
    result = json.loads((room / "results" / "tutorial-compare" / "result.json").read_text())
    assert result["replications"] == 5 and "liaison-officers-and-formats" in result["variants"]


@pytest.mark.slow
def test_the_tutorial_can_be_given_again_in_the_same_folder(classroom):
    room, _ = classroom
    first = tutorial_commands()[0]
    assert "--overwrite" in first
    before = (room / "results" / "tutorial-baseline" / "run.json").read_text()
    proc = subprocess.run([str(EXE), *shlex.split(first)[1:]], cwd=room, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr
    assert (room / "results" / "tutorial-baseline" / "run.json").read_text() != before  # written anew
    assert not list((room / "results").glob(".tutorial-baseline*")), "the replaced run is cleaned up"


def test_overwrite_never_replaces_a_folder_that_is_not_a_run(tmp_path):
    from click.testing import CliRunner

    from reporting_sim.cli import cli

    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    r = CliRunner().invoke(cli, ["run", "--days", "3", "--out", str(keep), "--overwrite"])
    assert r.exit_code == 2 and "exists already" in r.output
    assert (keep / "notes.txt").read_text() == "precious"


# ------------------------------------------------------------------ the views add up

@pytest.fixture(scope="module")
def traced():
    return simulate(scenario.load("minusma-2015"), 5, 45, trace=True)


def test_time_budget_parts_sum_to_the_latency(traced):
    b = views.time_budgets(traced, None)
    assert len(b) > 500
    parts = b[list(views.BUDGET)].sum(axis=1)
    np.testing.assert_allclose(parts.to_numpy(), b["latency_h"].to_numpy(), atol=1e-6)
    assert (b[list(views.BUDGET)] >= -1e-12).all().all()
    # a consumer that acts at a meeting waits from arrival to the meeting, never less than zero
    assert (b["act_wait_h"] >= -1e-9).all()
    fc = b[b["consumer"] == "force_commander"]
    assert (fc["act_wait_h"] < 24 + 1e-9).all() and fc["act_wait_h"].max() > 1


def test_report_paths_start_at_the_event_and_include_ancestors(traced):
    idx = views.TraceIndex(traced.trace)
    copies = traced.trace[traced.trace["step"] == "copy"]["report"].unique()[:50]
    ev_t = traced.events.set_index("event_id")["t_h"]
    for rid in copies:
        p = idx.path(int(rid))
        assert p["step"].iloc[0] == "observe"
        assert p["t0_h"].iloc[0] == pytest.approx(ev_t[p["event_id"].iloc[0]])
        assert (np.diff(p["t0_h"].to_numpy()) >= -1e-9).all()
        assert set(p["report"]) - {rid}, "a copy's path includes its ancestors' steps"


def test_event_story_agrees_with_the_ledger(traced):
    eid = views.pick_event(traced, "current", 1)
    story = views.event_story(traced, eid, scenario.load("minusma-2015").scenario.start_date)
    led = traced.ledger[traced.ledger["event_id"] == eid].set_index("consumer")
    assert sum(k["arrival_h"] is not None for k in story["knew"]) >= 2
    for k in story["knew"]:
        row = led.loc[k["consumer"]]
        assert k["outcome"] == str(row["outcome"])
        if k["arrival_h"] is not None:
            assert k["arrival_h"] == pytest.approx(row["arrival_h"])
            assert sum(k["budget"].values()) == pytest.approx(row["latency_h"], abs=1e-6)


def test_occupancy_integrates_to_the_cells_own_queue_area():
    # without sanitisation and routine work every queued job is one report, so the
    # trace's intervals and the cell's own time-weighted monitors must agree exactly
    # (including the reports still waiting when the run ends)
    data, _ = scenario.load_data("minusma-2015")
    data["mechanisms"] = {"sanitisation": False}
    for cell in data["cells"].values():
        cell.pop("background", None)
    data.pop("uncertainties", None)  # (its ranges name the routine work taken out)
    rec = simulate(scenario.parse(data, "t"), 5, 45, trace=True)
    for cell in ("u2", "asifu", "jmac", "g2_east"):
        row = rec.cells.set_index("cell").loc[cell]
        q = views.occupancy(rec, cell, "queue", 1.0)
        assert q.sum() == pytest.approx(float(row["queue_area"]), rel=1e-9, abs=1e-6)
        w = views.occupancy(rec, cell, "work", 1.0)
        assert w.sum() == pytest.approx(float(row["busy_area"]), rel=1e-9, abs=1e-6)


def test_bottlenecks_rank_by_late_hours_and_count_losses(traced):
    table = views.bottlenecks(traced, "current")
    assert list(table["late_hours"]) == sorted(table["late_hours"], reverse=True)
    assert table["late_hours"].iloc[0] > 0
    assert table["lost_events"].sum() > 0
    assert {"utilisation", "mean_wait_h"} <= set(table.columns)
