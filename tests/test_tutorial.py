"""Every command of docs/tutorial.md runs as written (the views it shows:
``test_views.py``).

The tutorial's ``sh`` blocks are read from the file and run in order, in a fresh folder
that sees the repository's ``experiments/``, with the installed ``reporting-sim``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from helpers import EXE, ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"


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
