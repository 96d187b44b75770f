"""Golden back-test: key metrics of ``minusma-2015`` (three seeds, 60 days) equal the
stored ``tests/golden/minusma-2015-60d.csv`` to 1e-12. How and when to update it:
``tests/golden/README.md``.
"""

from __future__ import annotations

import importlib.util
import math

from helpers import ROOT


def _golden():
    spec = importlib.util.spec_from_file_location("golden_regenerate", ROOT / "tests" / "golden" / "regenerate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_golden_back_test():
    """A fresh run of minusma-2015 matches the stored key metrics (to 1e-12). If this
    fails after a deliberate model change, follow tests/golden/README.md."""
    golden = _golden()
    stored = {(s, m): v for s, m, v in golden.read()}
    fresh = {(s, m): v for s, m, v in golden.golden_rows()}
    assert len(stored) > 500
    assert {s for s, _ in stored} == set(golden.SEEDS)
    missing, extra = set(stored) - set(fresh), set(fresh) - set(stored)
    assert not missing and not extra, f"metrics gone: {sorted(missing)[:5]}, new: {sorted(extra)[:5]}"
    moved = {k: (stored[k], fresh[k]) for k in stored
             if not (math.isnan(stored[k]) and math.isnan(fresh[k]))
             and not math.isclose(stored[k], fresh[k], rel_tol=1e-12, abs_tol=1e-12)}
    assert not moved, (f"{len(moved)} key metrics moved (see tests/golden/README.md), e.g. "
                       f"{dict(list(moved.items())[:5])}")


def test_golden_file_is_what_regenerate_writes(tmp_path):
    """The stored file is in the format the script writes (full precision, sorted), so
    regenerating without a model change gives no diff."""
    golden = _golden()
    text = (ROOT / "tests" / "golden" / "minusma-2015-60d.csv").read_text("utf-8")
    lines = text.splitlines()
    assert lines[0] == "seed,metric,value"
    rows = golden.read()
    expect = "\n".join(["seed,metric,value"] + [f"{s},{m},{golden.fmt(v)}" for s, m, v in rows]) + "\n"
    assert text == expect
    assert rows == sorted(rows, key=lambda r: (golden.SEEDS.index(r[0]), r[1]))
