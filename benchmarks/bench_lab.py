"""The classroom lab's speed in headless Chromium (issue "classroom lab", item 5).

    python benchmarks/bench_lab.py                # the three figures, about a minute
    python benchmarks/bench_lab.py --json out.json

1. **First view**: a fresh ``reporting-sim lab`` process; once it answers HTTP, a page
   is opened (Chromium already started) and timed until the network diagram is drawn:
   the first session of the server (cold) and two more. Goal: within 3 s.
2. **Animation**: a lab on a busier copy of minusma-2015 (every source's events x6,
   as if the mission were five times as busy), the Replay tab set to the moment with
   the most reports in flight, played at an hour a second for 5 s: frames a second (the
   lab's own frame counter over wall time), the reports in flight per frame (moving,
   waiting for a meeting, held, being worked on, sanitised, queued; both panels) and
   the marks on the page (a queue's stack draws at most 40). Goal: 10 frames a second
   or more with 300 or more reports in flight.
3. **What-if**: 4 paired replications of 90 days from the What-if tab, from the click
   to "done", with the progress lines seen on the way. Goal: within 10 s.

Wall times on a shared machine: the load average is printed at the start and the end.
Needs Debian's chromium and playwright (as the browser tests).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """``reporting-sim lab`` as a process, from start until it answers."""

    def __init__(self, scenario: str = "minusma-2015"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "reporting_sim", "lab", scenario, "--no-browser",
                                      "--port", str(self.port), "--variants", str(ROOT / "experiments" / "variants")],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.05)
        self.startup_s = time.perf_counter() - t0

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def first_views(browser, n: int = 3) -> dict:
    lab = Lab()
    try:
        times = []
        for _ in range(n):
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            t0 = time.perf_counter()
            page.goto(lab.url, wait_until="commit")
            page.wait_for_selector("#network svg.network g.node", timeout=60000)
            times.append(time.perf_counter() - t0)
            page.close()
        return {"server_start_s": round(lab.startup_s, 2), "first_view_s": [round(t, 2) for t in times]}
    finally:
        lab.close()


def busy_scenario(folder: Path) -> Path:
    from reporting_sim import scenario as scenario_mod

    data, _ = scenario_mod.load_data("minusma-2015")
    data = copy.deepcopy(data)
    for src in data["sources"].values():
        src["rate_per_day"] *= 5
    data["scenario"]["name"] = "minusma-2015-busy"
    data.pop("uncertainties", None)
    path = folder / "busy.toml"
    path.write_text(tomli_w.dumps(data), "utf-8")
    return path


BUSIEST = """() => { const s = RSLab.sides.base; let best = 0, at = 0;
  const starts = Array.from(s.t0).sort((a, b) => a - b);
  for (let j = 0; j < starts.length; j += 7) { const t = starts[j]; let n = 0;
    for (let i = 0; i < s.n; i++) if (s.t0[i] <= t && t < s.t1[i]) n++;
    if (n > best) { best = n; at = t; } }
  return [at, best]; }"""


def animation(browser, seconds: float = 5.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(str(busy_scenario(Path(tmp))))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(lab.url, wait_until="load")
            page.wait_for_selector("#network svg.network g.node", timeout=60000)
            page.get_by_role("tab", name="Replay").click()
            page.wait_for_function("() => RSLab.end > 0 && document.querySelector('#mission_base g.marks')"
                                   " && document.querySelector('#mission_changed g.marks')", timeout=120000)
            at, most = page.evaluate(BUSIEST)
            start = max(0.0, at - seconds / 2)  # an hour a second: the busiest hour is played through
            page.select_option("#speed", "1")
            page.evaluate("t => { const s = document.querySelector('#scrub'); s.value = String(t);"
                          " s.dispatchEvent(new Event('input', {bubbles: true})); }", start)
            page.evaluate("() => { window.__drawn = []; window.__shapes = []; const d = () => { if (RSLab.playing) "
                          "{ window.__drawn.push(RSLab.drawn); window.__shapes.push(RSLab.shapes); } "
                          "requestAnimationFrame(d); }; requestAnimationFrame(d); }")
            f0 = page.evaluate("RSLab.frames")
            page.click("#play")
            t0 = time.perf_counter()
            time.sleep(seconds)
            frames = page.evaluate("RSLab.frames") - f0
            wall = time.perf_counter() - t0
            page.click("#play")
            drawn = sorted(page.evaluate("window.__drawn"))
            shapes = sorted(page.evaluate("window.__shapes"))
            page.close()
            return {"frames_per_s": round(frames / wall, 1), "frames": frames, "wall_s": round(wall, 2),
                    "busiest_hour": round(at, 1), "in_flight_at_busiest_one_panel": most,
                    "in_flight_min": drawn[0] if drawn else 0, "in_flight_median": drawn[len(drawn) // 2] if drawn else 0,
                    "marks_median": shapes[len(shapes) // 2] if shapes else 0}
        finally:
            lab.close()


def what_if(browser, reps: int = 4, days: int = 90) -> dict:
    lab = Lab()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(lab.url, wait_until="load")
        page.wait_for_selector("#network svg.network g.node", timeout=60000)
        page.select_option("#preset", "trained-u2")
        page.click("a[data-value='What-if']")
        page.fill("#reps", str(reps))
        page.fill("#days", str(days))
        page.keyboard.press("Tab")
        time.sleep(0.5)
        seen = []
        t0 = time.perf_counter()
        page.click("#run")
        while True:
            text = page.inner_text("#progress").strip()
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if text.startswith("done"):
                break
            if time.perf_counter() - t0 > 120:
                raise SystemExit("the what-if did not finish in 120 s")
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        page.close()
        running = [s.split(" (")[0] for s in seen if s.startswith("running")]
        return {"what_if_s": round(wall, 2), "progress_seen": running[:8], "done": seen[-1]}
    finally:
        lab.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()
    print(f"load average at the start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    out = {"load_start": [round(x, 2) for x in load0]}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            out["first_view"] = first_views(browser)
            print(f"1. first view: server up in {out['first_view']['server_start_s']} s; network drawn "
                  f"{', '.join(str(t) for t in out['first_view']['first_view_s'])} s after the page was asked for "
                  "(first session cold, then two more; goal <= 3 s)")
            out["animation"] = animation(browser)
            a = out["animation"]
            print(f"2. animation: {a['frames_per_s']} frames a second over {a['wall_s']} s with {a['in_flight_min']}-"
                  f"{a['in_flight_median']} (min-median) reports in flight per frame in the two panels "
                  f"({a['marks_median']} marks on the page, median); the busiest hour ({a['busiest_hour']} h) has "
                  f"{a['in_flight_at_busiest_one_panel']} in one panel (goal >= 10 fps with >= 300)")
            out["what_if"] = what_if(browser)
            w = out["what_if"]
            print(f"3. what-if: {w['what_if_s']} s from Run to '{w['done']}'; progress shown: "
                  f"{' | '.join(w['progress_seen'])} (goal <= 10 s)")
        finally:
            browser.close()
    load1 = os.getloadavg()
    out["load_end"] = [round(x, 2) for x in load1]
    print(f"load average at the end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
