"""Determinism: a seed fixes a run completely, in this process or in another one with a
different ``PYTHONHASHSEED``; another seed gives another run; and named random streams
keep what does not change unchanged (common random numbers)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from reporting_sim.measures import metrics
from reporting_sim import scenario
from reporting_sim.model import simulate

DAYS = 30


@pytest.fixture(scope="module")
def minusma():
    return scenario.load("minusma-2015")


@pytest.fixture(scope="module")
def run_a(minusma):
    return simulate(minusma, 7, DAYS)


def ledger_digest(ledger: pd.DataFrame) -> str:
    """A hash of the ledger as CSV, with floats written in full (round-trip) precision."""
    buf = io.StringIO()
    ledger.to_csv(buf, index=False, float_format="%.17g")
    return hashlib.sha256(buf.getvalue().encode("utf-8")).hexdigest()


def test_same_seed_same_ledger_and_summary(minusma, run_a):
    again = simulate(minusma, 7, DAYS)
    pd.testing.assert_frame_equal(run_a.ledger, again.ledger)
    pd.testing.assert_frame_equal(run_a.events, again.events)
    pd.testing.assert_frame_equal(run_a.reports, again.reports)
    pd.testing.assert_frame_equal(run_a.cells, again.cells)
    assert metrics.summary(run_a) == metrics.summary(again)
    assert ledger_digest(run_a.ledger) == ledger_digest(again.ledger)


def test_seed_from_file_is_the_default(minusma):
    by_default = simulate(minusma, None, 5)
    explicit = simulate(minusma, minusma.scenario.seed, 5)
    assert by_default.seed == minusma.scenario.seed == 2015
    pd.testing.assert_frame_equal(by_default.ledger, explicit.ledger)


def test_another_seed_gives_another_run(minusma, run_a):
    other = simulate(minusma, 8, DAYS)
    assert not run_a.ledger.equals(other.ledger)
    assert not run_a.events["t_h"].equals(other.events["t_h"])
    assert ledger_digest(run_a.ledger) != ledger_digest(other.ledger)
    assert metrics.summary(run_a) != metrics.summary(other)


def test_trace_and_scenario_reload_do_not_change_the_run(minusma, run_a):
    traced = simulate(scenario.load("minusma-2015"), 7, DAYS, trace=True)
    pd.testing.assert_frame_equal(run_a.ledger, traced.ledger)
    assert metrics.summary(run_a) == metrics.summary(traced)


def test_changing_one_link_keeps_ground_truth_and_other_streams(minusma, run_a):
    """Common random numbers: the events come from their sources' own streams, so a
    variant that changes a link's chance has exactly the same ground truth, and every
    collector makes exactly the same observations."""
    data = minusma.to_dict()
    for link in data["links"]:
        if link["from"] == "u2" and link["to"] == "asifu":
            link["p"] = 0.9
    variant = scenario.parse(data, "<variant>")
    rec = simulate(variant, 7, DAYS)
    pd.testing.assert_frame_equal(run_a.events[["event_id", "t_h", "source", "kind"]],
                                  rec.events[["event_id", "t_h", "source", "kind"]])
    # the variant does change what reaches ASIFU
    a = run_a.ledger[run_a.ledger["consumer"] == "asifu"]["outcome"].value_counts()
    b = rec.ledger[rec.ledger["consumer"] == "asifu"]["outcome"].value_counts()
    assert not a.equals(b)


_CHILD = """
import hashlib, io, json
from reporting_sim import scenario
from reporting_sim.measures import metrics
from reporting_sim.model import simulate
rec = simulate(scenario.load("minusma-2015"), 7, {days})
buf = io.StringIO()
rec.ledger.to_csv(buf, index=False, float_format="%.17g")
print(hashlib.sha256(buf.getvalue().encode("utf-8")).hexdigest())
print(json.dumps(metrics.summary(rec), sort_keys=True))
"""


@pytest.mark.parametrize("hashseed", ["123", "random"])
def test_same_results_in_another_process_with_another_hash_seed(run_a, hashseed):
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    out = subprocess.run([sys.executable, "-c", _CHILD.format(days=DAYS)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    digest, summary_json = out.stdout.strip().splitlines()
    assert digest == ledger_digest(run_a.ledger)
    assert json.loads(summary_json) == json.loads(json.dumps(metrics.summary(run_a), sort_keys=True))
