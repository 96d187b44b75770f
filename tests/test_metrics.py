"""The one-pass summary agrees with the plain pandas metric functions, and with the
results read back from a results folder."""

import math

import pandas as pd
import pytest

from reporting_sim.measures import metrics
from reporting_sim import scenario
from reporting_sim.model import simulate


@pytest.fixture(scope="module")
def rec():
    return simulate(scenario.load("minusma-2015"), 9, 120)


@pytest.mark.parametrize("family", [None, "current", "long_term"])
def test_summary_blocks_match_the_pandas_metrics(rec, family):
    s = metrics.summary(rec)
    led = rec.ledger if family is None else rec.ledger[rec.ledger["family"] == family]
    shares = metrics.outcome_shares(led)
    lat = metrics.latency_quantiles(led)
    act = metrics.latency_quantiles(led, column="act_latency_h")
    fid = metrics.fidelity(led)
    fid_arr = metrics.fidelity(led, over="arrived")
    for c in rec.consumers:
        block = s["consumers"][c] if family is None else s["consumers"][c]["by_family"][family]
        assert block["events"] == int(((led["consumer"] == c) & led["interest"]).sum())
        for q in ("p50", "p90"):
            want = act.loc[c, q]
            got = block["act_latency_h"][q]
            assert (got is None and math.isnan(want)) or got == pytest.approx(want, abs=1e-9)
        want = fid_arr.get(c, math.nan)
        got = block["fidelity_arrived"]
        assert (got is None and math.isnan(want)) or got == pytest.approx(want)
        for o in shares.columns:
            want = shares.loc[c, o]
            got = block["outcomes"][o]
            assert (got is None and math.isnan(want)) or got == pytest.approx(want, abs=1e-12)
        for q in ("p50", "p90"):
            want = lat.loc[c, q]
            got = block["latency_h"][q]
            assert (got is None and math.isnan(want)) or got == pytest.approx(want, abs=1e-9)
        want = fid.get(c, math.nan)
        assert (block["fidelity"] is None and math.isnan(want)) or block["fidelity"] == pytest.approx(want)


def test_summary_is_the_same_from_a_results_folder(rec, tmp_path):
    from reporting_sim.study import output

    output.write_run(tmp_path / "r", rec, "", metrics.summary(rec), "", {
        "scenario": rec.scenario, "seed": rec.seed, "days": rec.days})
    back = output.read_run(tmp_path / "r")
    assert metrics.summary(back)["consumers"] == metrics.summary(rec)["consumers"]
    pd.testing.assert_frame_equal(back.ledger, rec.ledger)
