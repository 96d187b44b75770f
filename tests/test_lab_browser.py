"""The teaching lab works in a real headless browser, offline.

Starts ``reporting-sim lab --no-browser`` as a process, drives it with playwright in
Debian's chromium (skipped locally without them; fails when
``REPORTING_SIM_REQUIRE_BROWSER=1``, as CI sets), and checks: the network diagram
draws every node; with nothing changed the paired differences are all zero, and after
flipping a switch they are not; a replay steps; the exported variant validates and
carries the change; no console errors; every request goes to 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from helpers import ARGS, CHROMIUM, ROOT, browser
from reporting_sim import scenario as scenario_mod
from reporting_sim.cli import cli

pytest.importorskip("shiny") if os.environ.get("REPORTING_SIM_REQUIRE_BROWSER") != "1" else None


@pytest.fixture
def lab_url():
    from reporting_sim.lab import free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "reporting_sim", "lab", "--no-browser", "--port", str(port),
                             "--variants", str(ROOT / "experiments" / "variants")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, line
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _diffs(page) -> list[str]:
    cells = page.locator("#outcome_table table tbody tr td:nth-child(6)").all_inner_texts()
    return [c.strip() for c in cells]


def _run(page, previous: str | None) -> list[str]:
    page.click("#run")
    page.wait_for_function("prev => { const t = document.querySelector('#progress'); "
                           "return t && t.innerText.startsWith('done') && "
                           "document.querySelector('#outcome_table table') && "
                           "document.querySelector('#outcome_table').innerText !== prev; }",
                           arg=previous or "", timeout=120000)
    return _diffs(page)


@pytest.mark.slow
def test_lab_network_whatif_replay_export_offline(lab_url, tmp_path):
    sync_playwright = browser()
    sc = scenario_mod.load("minusma-2015")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = b.new_context(accept_downloads=True)
            page = ctx.new_page()
            console, errors, requests = [], [], []
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.on("websocket", lambda w: requests.append(w.url))
            page.goto(lab_url, wait_until="load")

            # the network diagram: every node drawn, consumers marked, a meeting marked
            page.wait_for_selector("#network svg.network g.node", timeout=60000)
            nodes = page.locator("#network svg.network g.node").evaluate_all("gs => gs.map(g => g.dataset.node)")
            assert sorted(nodes) == sorted(sc.nodes)
            assert page.locator("#network g.node.consumer").count() == len(sc.consumers)
            assert page.locator("#network .meeting-mark").count() >= 1

            # what-if: with nothing changed, every paired difference is zero
            page.click("a[data-value='What-if']")
            page.fill("#reps", "3")
            page.fill("#days", "20")
            page.keyboard.press("Tab")
            first = _run(page, None)
            assert first and all(re.fullmatch(r"[+-]0\.0|-", d) for d in first), first
            before = page.locator("#outcome_table").inner_text()

            # flip a switch: the network highlights the change, and a new run differs
            page.click("button:has-text('Switches')")
            page.get_by_label("asifu position").select_option("in_u2_branch")
            page.click("a[data-value='Network']")  # hidden outputs are not redrawn
            page.wait_for_function("() => document.querySelectorAll('#network g.link.added, #network g.link.changed,"
                                   " #network g.link.removed').length > 0", timeout=30000)
            page.click("a[data-value='What-if']")
            second = _run(page, before)
            assert any(not re.fullmatch(r"[+-]0\.0|-", d) for d in second), second

            # replay: pick an event, step it, nodes light up
            page.click("a[data-value='Replay']")
            page.wait_for_function("() => /step 1 of \\d+/.test(document.querySelector('#clock').innerText)",
                                   timeout=60000)
            total = int(re.search(r"step 1 of (\d+)", page.inner_text("#clock")).group(1))
            assert total >= 2
            page.click("#step")
            page.wait_for_function("() => /step 2 of/.test(document.querySelector('#clock').innerText)")
            assert page.locator("#replay_network g.node[data-state]").count() >= 1
            assert page.locator("#timeline svg.timeline line.now").count() == 1

            # export: the variant validates and carries the switch
            page.click("a[data-value='Export']")
            page.fill("#vname", "class-question")
            page.keyboard.press("Tab")
            page.wait_for_function("() => document.querySelector('#variant_text').innerText.includes('class-question')")
            with page.expect_download() as dl:
                page.click("#download")
            path = tmp_path / "class-question.toml"
            dl.value.save_as(path)
        finally:
            b.close()
    text = path.read_text("utf-8")
    assert 'value = "in_u2_branch"' in text
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exit_code == 0, r.output
    assert scenario_mod.load(path).switches["asifu_position"].value == "in_u2_branch"
    assert not errors, errors
    assert not [c for c in console if c[0] == "error"], console
    outside = [u for u in requests if not re.match(r"^(https?|wss?)://127\.0\.0\.1:\d+/", u)
               and not u.startswith(("data:", "blob:", "about:"))]
    assert outside == [], outside
