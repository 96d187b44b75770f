"""The plan applies every ``[mechanisms]`` switch once, and carries the meeting
calendars the running model reads (reporting_sim.model.plan)."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting_sim import scenario
from reporting_sim.model import build_plan
from reporting_sim.model import plan as plan_module
from reporting_sim.model.plan import Calendar

MODEL = Path(plan_module.__file__).parent


@pytest.fixture(scope="module")
def minusma_data():
    return scenario.load_data("minusma-2015")[0]


def _plan_without(data, switch):
    data = copy.deepcopy(data)
    data.setdefault("mechanisms", {})[switch] = False
    return build_plan(scenario.parse(data, f"no-{switch}"))


def test_only_the_plan_reads_the_mechanism_switches():
    readers = sorted(p.name for p in MODEL.glob("*.py")
                     if re.search(r"\bmechanisms\b", re.sub(r'""".*?"""', "", p.read_text(), flags=re.S)))
    assert readers == ["plan.py"]


# switch -> (a NodePlan field, its value with the mechanism on for some node, off)
NODE_SWITCHES = {
    "classification": ("classify", lambda v: v is not None, lambda v: v is None),
    "competition": ("hoard", lambda v: v is not None, lambda v: v is None),
    "coping": ("coping", bool, lambda v: v == frozenset()),
    "literacy": ("literacy", lambda v: v < 1.0, lambda v: v == 1.0),
    "accreditation": ("accreditation_wait", bool, lambda v: v is False),
    "tasking": ("tasking", lambda v: v is not None, lambda v: v is None),
    "rotations": ("rotation", lambda v: v is not None, lambda v: v is None),
    "escorts": ("pool", lambda v: v is not None, lambda v: v is None),
}


@pytest.mark.parametrize("switch", sorted(NODE_SWITCHES))
def test_a_switched_off_mechanism_is_neutral_in_every_node_plan(minusma_data, switch):
    field, on_value, off_value = NODE_SWITCHES[switch]
    on = build_plan(scenario.parse(copy.deepcopy(minusma_data), "on"))
    off = _plan_without(minusma_data, switch)
    assert any(on_value(getattr(n, field)) for n in on.nodes), f"no node uses {switch} in minusma-2015"
    assert all(off_value(getattr(n, field)) for n in off.nodes)


def test_sanitisation_switch_is_in_the_plan(minusma_data):
    assert build_plan(scenario.parse(copy.deepcopy(minusma_data), "on")).sanitise is True
    assert _plan_without(minusma_data, "sanitisation").sanitise is False


def test_calendars_cover_every_meeting(minusma_data):
    plan = build_plan(scenario.parse(copy.deepcopy(minusma_data), "on"))
    assert set(plan.meetings) == set(minusma_data["meetings"])
    assert all(isinstance(c, Calendar) for c in plan.meetings.values())


meetings = st.builds(
    dict, first_h=st.floats(0, 23.99), every_h=st.floats(0.01, 400),
    from_day=st.floats(0, 400), until_day=st.one_of(st.none(), st.floats(0, 800)))


@settings(max_examples=300, deadline=None)
@given(spec=meetings, t=st.floats(0, 30_000))
def test_the_next_meeting_is_the_first_one_at_or_after_the_hour(spec, t):
    """One calendar (scenario.calendar) for the schema, the plan, the CLI and the lab:
    its next meeting is never before ``t``, lies on the meeting grid, and no meeting of
    the grid falls between ``t`` and it."""
    meeting = scenario.Meeting(**spec)
    cal = Calendar.of(meeting)
    at = cal.next_at(t)
    assert meeting.next_at(t) == at
    if at == math.inf:
        grid = cal.start_h + math.ceil((max(t, cal.start_h) - cal.start_h) / cal.every_h - 1e-9) * cal.every_h
        assert meeting.until_day is not None and max(grid, t) > meeting.until_day * 24 - 1e-6
        return
    assert at >= t and at >= cal.start_h
    steps = (at - cal.start_h) / cal.every_h
    assert abs(steps - round(steps)) < 1e-6 or at == t  # on the grid (or t itself, within rounding)
    assert at - t < cal.every_h + 1e-6 or t < cal.start_h


@settings(max_examples=200, deadline=None)
@given(spec=meetings, ts=st.lists(st.one_of(st.floats(0, 30_000), st.just(math.inf), st.just(math.nan)),
                                  min_size=1, max_size=20))
def test_a_calendar_over_arrays_gives_exactly_its_one_at_a_time_answers(spec, ts):
    import numpy as np

    cal = Calendar.of(scenario.Meeting(**spec))
    one = [math.nan if math.isnan(t) else cal.next_at(t) for t in ts]
    np.testing.assert_array_equal(cal.next_at_array(ts), one)


@settings(max_examples=100, deadline=None)
@given(spec=meetings, t0=st.floats(0, 3000), span=st.floats(0, 2000))
def test_the_meetings_of_a_span_are_the_calendar_stepped_through(spec, t0, span):
    cal = Calendar.of(scenario.Meeting(**spec))
    times = cal.times(t0, t0 + span, limit=5000)
    assert len(times) <= 5000
    assert all(t0 <= t <= t0 + span for t in times)
    assert times == sorted(times) and len(set(times)) == len(times)
    if times:
        assert times[0] == cal.next_at(t0)
        if len(times) < 5000:  # not cut short by the limit: nothing left in the span
            assert cal.next_at(times[-1] + 1e-6) > t0 + span


# -- the interface between the pieces and the engine (reporting_sim.model.context) ------

def _sim_members_used(path: Path) -> set[str]:
    """Every ``sim.X`` and ``self.sim.X`` a module reads or calls."""
    import ast

    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "sim") or (
                    isinstance(owner, ast.Attribute) and owner.attr == "sim"
                    and isinstance(owner.value, ast.Name) and owner.value.id == "self"):
                used.add(node.attr)
    return used


@pytest.mark.parametrize("module", ["nodes.py", "collectors.py", "gates.py"])
def test_the_pieces_use_only_what_the_sim_protocol_names(module):
    from reporting_sim.model.context import SIM_MEMBERS

    used = _sim_members_used(MODEL / module)
    assert used, f"{module}: no use of sim found (the check would hold by construction)"
    assert used <= SIM_MEMBERS, f"{module} uses {sorted(used - SIM_MEMBERS)}, not in context.Sim"


def test_the_engine_has_every_member_the_sim_protocol_names():
    from reporting_sim.model import Simulation
    from reporting_sim.model.context import SIM_MEMBERS

    sim = Simulation(scenario.load("minusma-2015"), 1, 1.0)
    missing = sorted(name for name in SIM_MEMBERS if not hasattr(sim, name))
    assert not missing
