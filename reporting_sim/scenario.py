"""The scenario: a force structure as data (re-exports while the module is split)."""

from .scenario_schema import *  # noqa: F401,F403
from .scenario_schema import (  # noqa: F401
    _a_cycle, _check_cycles, _check_hops, _cycles, _first_error, _loc_to_field, _may_take_no_time, _Node,
    _read_any, _Strict, _unknown, ScenarioError,
)
