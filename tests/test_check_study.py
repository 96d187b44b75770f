"""``reporting-sim check-study``: the study's claims as data, their validation, the
pass rule, the ``--json`` contract, and that its paired differences are those of
``compare`` (the same common random numbers). Runs are kept tiny (two replications of
a few days): these tests check the machinery, not the model; docs/validation.md shows
the claims at a size that can tell."""

from __future__ import annotations

import json
import math
import re
import tomllib

import pytest

from helpers import ROOT, VARIANTS, invoke, write
from reporting_sim.study import claims
from reporting_sim.metric_names import flat_names

TOPICS = {  # what the study's claims must cover, and a word of each that a claim's id holds
    "commander-centric battalions": ("tasked", "formats"), "the bypass of U2": ("bypass", "commander-line"),
    "ASIFU apart and underused": ("asifu-apart",), "classification, skiing nations": ("skiing",),
    "INTREP sanitisation": ("intrep",), "accreditation": ("accreditation",),
    "stovepipes and JMAC's pull": ("jmac",), "competition": ("competition",), "the JCB": ("jcb",),
    "coping strategies": ("voltaire", "bridges"), "duplication": ("duplication", "duplicates"),
    "rotations": ("rotations",),
}

CLAIM = """
[[claims]]
id = "{id}"
claim = "A claim."
section = "[paper §3 operational fit]"
change = "what changes"
metric = "{metric}"
expected = "{expected}"
"""


def one_error_line(res) -> str:
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


def tiny(*args, days=6):
    return invoke("check-study", "--replications", 2, "--days", days, "--jobs", 1, "--no-progress", *args)


# ------------------------------------------------------------------ the built-in claims

def test_builtin_claims_parse_and_cover_the_study():
    refs = [r for r in claims.load_builtin() if r.spec.kind == "mechanism"]
    assert len(refs) >= 12
    for r in refs:
        assert re.match(r"^\[paper §\d", r.spec.section), r.spec.section
        assert r.spec.expected in "+-" and r.spec.claim.strip()
    ids = " ".join(r.spec.id for r in refs)
    missing = [topic for topic, words in TOPICS.items() if not any(w in ids for w in words)]
    assert not missing, f"no claim on: {missing}"


def test_every_builtin_claim_changes_the_scenario_and_names_a_known_metric():
    refs = [r for r in claims.load_builtin() if r.spec.kind == "mechanism"]
    base, members, labels = claims.prepare("minusma-2015", refs)  # validates every change
    known = set(flat_names(base.scenario.consumers, list(base.scenario.cells)))
    assert {r.spec.metric for r in refs} <= known
    assert len(labels) == len(refs) and base.label not in labels
    # claims that make the same change share its runs
    assert len(members) == len(set(labels)) < len(refs)


def test_validation_doc_is_generated_from_every_builtin_claim():
    text = (ROOT / "docs" / "validation.md").read_text("utf-8")
    assert "generated from `reporting-sim check-study" in text and "do not edit by hand" in text
    for pattern, kind in ((r"^\| \d+ \|", "mechanism"), (r"^\| P\d+ \|", "pattern")):
        rows = [ln for ln in text.splitlines() if re.match(pattern, ln)]
        ids = [r.spec.id for r in claims.load_builtin() if r.spec.kind == kind]
        assert len(rows) == len(ids), "docs/validation.md is stale: run scripts/make_validation_doc.py"
        for row, cid in zip(rows, ids):
            assert f"**{cid}**" in row and row.rstrip().endswith(("PASS |", "FAIL |"))


def test_the_documented_example_is_a_valid_claims_file():
    """The claims file shown in docs/studies.md (moved there from the README)."""
    page = (ROOT / "docs" / "studies.md").read_text("utf-8")
    section = page.split("## Checking the study's claims", 1)[1]
    block = section.split("```toml", 1)[1].split("```", 1)[0]
    refs = claims.parse(tomllib.loads(block), str(ROOT / "my-claims.toml"))  # its variant path: from the top
    _, members, _ = claims.prepare("minusma-2015", refs)
    assert members[0].scenario.cells["u2"].analysts == 6  # the variant file's change was applied


# ------------------------------------------------------------------ the pass rule

@pytest.mark.parametrize("expected, changed, verdict", [
    ("+", [0.3, 0.31, 0.29], True),      # all above: interval above zero
    ("-", [0.3, 0.31, 0.29], False),     # the wrong side
    ("+", [0.1, -0.1, 0.05], False),     # interval spans zero
    ("-", [-0.2, -0.25, -0.22], True),
    ("+", [0.0, 0.0, 0.0], False),       # no effect at all: [0, 0] is not above zero
])
def test_a_claim_passes_only_when_its_interval_is_wholly_on_the_expected_side(expected, changed, verdict):
    ref = claims.parse(_claims_data(expected=expected), "t.toml")[0]
    row = claims.judge(ref, changed, [0.0, 0.0, 0.0])
    assert row["pass"] is verdict
    assert row["ci95"][0] <= row["diff"] <= row["ci95"][1]


def test_an_undefined_difference_does_not_pass():
    ref = claims.parse(_claims_data(), "t.toml")[0]
    row = claims.judge(ref, [math.nan, math.nan], [0.1, 0.2])
    assert row["pass"] is False and row["diff"] is None and row["ci95"] == [None, None]


def _claims_data(expected="+", metric="u2.in_time") -> dict:
    return {"claims": [{"id": "c", "claim": "x", "section": "[paper §3 case]", "change": "y",
                        "metric": metric, "expected": expected, "set": {"mechanisms": {"boards": False}}}]}


# ------------------------------------------------------------------ end to end, tiny

def test_json_contract_and_a_claim_built_to_fail(tmp_path):
    # the JCB first meets on day 91: moving that to day 200 changes nothing in 6 days,
    # so the difference is exactly zero and the claim must fail, with exit status 0
    f = write(tmp_path / "mine.toml", CLAIM.format(id="no-effect", metric="jmac.in_time", expected="+")
              + "[claims.set.meetings.jcb]\nfrom_day = 200\n"
              + CLAIM.format(id="pull", metric="jmac.not_shared", expected="-")
              + "[claims.set.mechanisms]\npull = false\n")
    res = tiny("--no-builtin", "--claims", f, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"scenario", "replications", "days", "claims", "left_out"}
    assert out["scenario"] == "minusma-2015" and out["replications"] == 2 and out["days"] == 6
    assert len(out["claims"]) == 2
    for row in out["claims"]:
        assert set(row) == {"id", "kind", "claim", "section", "change", "metric", "expected", "diff", "ci95",
                            "pass", "judged"}
        assert row["kind"] == "mechanism"
        assert row["expected"] in ("+", "-") and isinstance(row["pass"], bool) and len(row["ci95"]) == 2
    dead = out["claims"][0]
    assert dead["diff"] == 0 and dead["ci95"] == [0, 0] and dead["pass"] is False


def test_text_output_says_the_rule_and_shows_every_claim(tmp_path):
    res = tiny("--only", "jmac-must-ask", "--only", "intrep-loses-precision")
    assert res.exit_code == 0, res.output
    assert "pass = the 95% interval" in res.stdout and "diff = mean" in res.stdout
    assert "jmac-must-ask" in res.stdout and "intrep-loses-precision" in res.stdout
    assert re.search(r"\d+ of 2 mechanism checks pass", res.stdout)


def test_check_study_gives_the_paired_difference_of_compare(tmp_path):
    """A claim naming a variant file is the comparison ``compare`` makes: the same
    seeds, the same difference, whether run serially or on two processes."""
    f = write(tmp_path / "mine.toml", CLAIM.format(id="trained", metric="u2.current.latency_p50", expected="-")
              + f'variant = "{VARIANTS / "trained-u2.toml"}"\n')
    serial = tiny("--no-builtin", "--claims", f, "--json", "--seed", 5, days=10)
    pooled = invoke("check-study", "--replications", 2, "--days", 10, "--jobs", 2, "--no-progress",
                    "--no-builtin", "--claims", f, "--json", "--seed", 5)
    cmp = invoke("compare", "minusma-2015", VARIANTS / "trained-u2.toml", "--replications", 2, "--days", 10,
                 "--seed", 5, "--jobs", 1, "--no-progress", "--metric", "u2.current.latency_p50",
                 "--json", "--out", tmp_path / "cmp")
    assert serial.exit_code == pooled.exit_code == cmp.exit_code == 0, (serial.output, cmp.output)
    row = json.loads(serial.stdout)["claims"][0]
    assert json.loads(pooled.stdout) == json.loads(serial.stdout)
    want = json.loads(cmp.stdout)["variants"]["trained-u2"]["metrics"]["u2.current.latency_p50"]["diff_vs_base"]
    assert row["diff"] == pytest.approx(want["mean"]) and row["ci95"] == pytest.approx(want["ci95"])
    assert row["diff"] != 0


def test_markdown_output_is_one_table_row_per_claim():
    res = tiny("--only", "jcb-improves-sharing", "--markdown")
    assert res.exit_code == 0, res.output
    rows = [ln for ln in res.stdout.splitlines() if re.match(r"^\| \d+ \|", ln)]
    assert len(rows) == 1 and "**jcb-improves-sharing**" in rows[0]


# ------------------------------------------------------------------ bad input: one line, exit 2

BAD = [
    (dict(metric="u2.in_tim"), "claims[0].metric: unknown metric 'u2.in_tim'"),
    (dict(expected="up"), "claims[0].expected"),
    (dict(body="[claims.set.collectors.bn_wst]\np_observe = 0.3\n"), "claims[0].set.collectors.bn_wst"),
    (dict(body=""), "claims[0]: a claim needs exactly one change"),
    (dict(body="[claims.set.mechanisms]\nboards = true\n"), "leaves the scenario as it was"),
    (dict(body="[claims.set.mechanisms]\nboards = 3\n"), "the changed scenario is not valid: mechanisms.boards"),
    (dict(body='same_change_as = "nothing"\n'), "claims[0].same_change_as: 'nothing'"),
    (dict(body="[claims.set.mechanisms]\npull = false\n[[claims.remove_links]]\nfrom = \"x\"\n"),
     "claims[0].remove_links[0]: no link of the base matches"),
    (dict(body="colour = 1\n[claims.set.mechanisms]\npull = false\n"), "claims[0].colour: unknown key"),
]


@pytest.mark.parametrize("case, message", BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_a_bad_claims_file_is_one_line_and_exit_2(tmp_path, case, message):
    text = CLAIM.format(id="c", metric=case.get("metric", "u2.in_time"), expected=case.get("expected", "+"))
    text += case.get("body", "[claims.set.mechanisms]\npull = false\n")
    f = write(tmp_path / "bad.toml", text)
    line = one_error_line(tiny("--no-builtin", "--claims", f))
    assert line.startswith(f"error: {f}: ") and message in line, line


@pytest.mark.parametrize("args, message", [
    (["--claims", "/nonexistent/claims.toml"], "claims.toml: file: no such file"),
    (["--only", "no-such-claim"], "--only: no claim 'no-such-claim'"),
    (["--no-builtin"], "no claims to check"),
    (["--json", "--markdown"], "choose one"),
    (["no-such-scenario"], "no-such-scenario"),
])
def test_bad_command_input_is_one_line_and_exit_2(args, message):
    line = one_error_line(tiny(*args))
    assert message in line, line


def test_a_user_file_may_not_reuse_a_builtin_id(tmp_path):
    f = write(tmp_path / "mine.toml", CLAIM.format(id="jmac-must-ask", metric="jmac.in_time", expected="+")
              + "[claims.set.mechanisms]\npull = false\n")
    assert "claims[0].id: 'jmac-must-ask' is used by another claim" in one_error_line(tiny("--claims", f))


def test_not_toml_is_one_line(tmp_path):
    f = write(tmp_path / "bad.toml", "[[claims]\n")
    assert "not valid TOML" in one_error_line(tiny("--no-builtin", "--claims", f))


# ------------------------------------------------------------------ every built-in claim runs

def test_every_builtin_claim_runs_end_to_end():
    res = tiny("--json", days=4)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    ran = [c["id"] for c in out["claims"]] + [c["id"] for c in out["left_out"]]
    assert sorted(ran) == sorted(r.spec.id for r in claims.load_builtin())
    assert [c["claim"] for c in out["claims"] if c["kind"] == "mechanism"] == [
        r.spec.claim for r in claims.load_builtin() if r.spec.kind == "mechanism"]



# ------------------------------------------------------------------ hardening 3

def test_h3_item4_a_nul_byte_in_a_claims_variant_path_is_one_line(tmp_path):
    """Item 4: ``variant = "a\\u0000b"`` gave ``ValueError: embedded null byte``."""
    f = write(tmp_path / "nul.toml", CLAIM.format(id="c", metric="u2.in_time", expected="+") + 'variant = "a\\u0000b"\n')
    line = one_error_line(tiny("--no-builtin", "--claims", f))
    assert "claims[0].variant" in line and "control characters" in line and "\x00" not in line, line
    f = write(tmp_path / "esc.toml", CLAIM.format(id="c", metric="u2.in_time", expected="+").replace(
        'claim = "A claim."', 'claim = "A \\u001b[2J claim."') + "[claims.set.mechanisms]\npull = false\n")
    assert "claims[0].claim" in one_error_line(tiny("--no-builtin", "--claims", f))


def test_h3_item4_a_nul_byte_in_any_file_name_is_one_line():
    from reporting_sim import scenario as scenario_mod

    with pytest.raises(scenario_mod.ScenarioError, match="NUL byte"):
        scenario_mod.read_file("a\x00b.toml")


def test_h3_item17_markdown_escapes_what_a_claim_says():
    """Item 17: ``check-study --markdown`` printed a claim's ``<script>`` unescaped."""
    ref = claims.parse({"claims": [{"id": "c", "claim": "<script>alert(1)</script> [x](javascript:y) | *z*",
                                    "section": "[paper §3 <b>]", "change": "a | b", "metric": "u2.in_time",
                                    "expected": "+", "set": {"mechanisms": {"pull": False}}}]}, "t.toml")
    row = claims.judge(ref[0], [0.1, 0.2], [0.0, 0.0])
    text = claims.format_markdown({"scenario": "s", "replications": 2, "days": 1, "claims": [row]}, ref, 1, "cmd")
    line = [ln for ln in text.splitlines() if ln.startswith("| 1 |")][0]
    assert "<script>" not in text and "<b>" not in text and "&lt;script&gt;" in line
    assert "\\[x\\](javascript:y)" in line and "\\*z\\*" in line
    cells = re.split(r"(?<!\\)\|", line)[1:-1]
    head = [ln for ln in text.splitlines() if ln.startswith("| #")][-1]
    assert len(cells) == len(head.split("|")[1:-1]), cells  # a '|' in a claim cannot add a column
