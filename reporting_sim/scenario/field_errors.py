"""Pydantic's validation errors as one :class:`~reporting_sim.errors.ScenarioError` line.

The first error names the field by its path in the file (``cells.u2.analysts``,
``links[3].p``: pydantic's union and validator steps left out) and says what is
allowed; the number of further problems follows in brackets. Used by the loader for a
whole scenario and by :mod:`.uncertainties` for the parts of one it validates alone.
"""

from __future__ import annotations

from pydantic import ValidationError

from ..errors import ScenarioError

_UNION_STEPS = ("function-", "tagged-union", "json-or-python")
"""Prefixes of the steps pydantic puts in an error's location that are not fields."""
_DISTRIBUTION_TAGS = ("fixed", "exponential", "uniform", "triangular", "lognormal", "gamma")
"""The tags of a distribution's union, which pydantic also puts in the location."""


def field_of(loc: tuple) -> str:
    """An error's location as the field's path in the file."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_field(part):
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _is_field(part) -> bool:
    """Whether a part of an error's location names a field (not a union's step or tag)."""
    return not (str(part).startswith(_UNION_STEPS) or part in _DISTRIBUTION_TAGS)


def _what_is_allowed(err: dict) -> str:
    """The message of one error, in the package's words."""
    msg = err["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the scenario format; check the spelling)"
    if err["type"] == "missing":
        return "required but missing"
    return msg[0].lower() + msg[1:]


def _shows_input(err: dict) -> bool:
    """Whether the value given is worth quoting (a plain value the message is about)."""
    return ("input" in err and err["type"] not in ("missing", "extra_forbidden")
            and not isinstance(err["input"], (dict, list)))


def error_line(errors: list[dict], source: str) -> ScenarioError:
    """The first of pydantic's ``errors`` (``ValidationError.errors()`` items) as one
    line, with the count of the others."""
    err = errors[0]
    msg = _what_is_allowed(err)
    if _shows_input(err):
        msg += f" (got {err['input']!r})"
    more = len(errors) - 1
    if more:
        msg += f" [and {more} more problem{'s' if more > 1 else ''}]"
    return ScenarioError(source, field_of(err["loc"]), msg)


def first_error(exc: ValidationError, source: str) -> ScenarioError:
    """The first error of ``exc`` as one line naming ``source`` and the field."""
    return error_line(exc.errors(include_url=False), source)
