"""Bounds on the work an input may ask for, checked before the work starts.

A small file must not cost minutes or gigabytes: Python's TOML parser recurses once per
level of nesting (600 nested arrays exhaust the stack) and takes time quadratic in the
parts of a dotted key (30,000 parts: 47 s, 3.6 GB), and an experiment's design can
expand to more runs than any machine finishes. Each limit here is generous for real
scenarios (``minusma-2015`` is 60 kB, nests 3 deep, its longest key has 4 parts) and
is checked before parsing or expanding; going past one gives a one-line error that
names the limit and the environment variable that raises it:

==============================  =========  =========================================
environment variable            default    what it bounds
==============================  =========  =========================================
``REPORTING_SIM_MAX_FILE_BYTES``  1048576  size of a scenario, variant or experiment file
``REPORTING_SIM_MAX_LINE_CHARS``    10000  characters on one line of such a file
``REPORTING_SIM_MAX_DEPTH``            32  nesting of arrays and inline tables
``REPORTING_SIM_MAX_KEY_PARTS``        32  parts of one dotted key (``a.b.c`` has 3)
``REPORTING_SIM_MAX_RUNS``         100000  runs a study (compare, experiment, robustness,
                                           check-study...) may plan
==============================  =========  =========================================

Each variable, when set, must be a whole number written in digits, from 1 to the
maximum in :data:`MAXIMA`; anything else (``-1``, ``abc``, ``1e999``, ``1.5``, an empty
value, a name that is no limit) is a one-line error naming the variable, never a
silent default. :func:`settings` parses them once.

:func:`check_toml_text` scans the text once with a regular expression (strings and
comments skipped), without building anything.
"""

from __future__ import annotations

import os
import re

from ..errors import ScenarioError

DEFAULTS = {"FILE_BYTES": 2**20, "LINE_CHARS": 10_000, "DEPTH": 32, "KEY_PARTS": 32, "RUNS": 100_000}
MAXIMA = {"FILE_BYTES": 2**30, "LINE_CHARS": 2**30, "DEPTH": 100, "KEY_PARTS": 1000, "RUNS": 10**9}
"""The most each limit may be raised to: past these the work is no longer bounded
(a parser nested 100 deep is near Python's stack; a gigabyte file, a billion runs)."""
WHAT = {"FILE_BYTES": "bytes in a file", "LINE_CHARS": "characters on a line",
        "DEPTH": "levels of nested arrays and inline tables", "KEY_PARTS": "parts of a dotted key",
        "RUNS": "runs planned"}
PREFIX = "REPORTING_SIM_MAX_"

_PARSED: dict = {}


def variable(name: str) -> str:
    """The environment variable of limit ``name``: ``REPORTING_SIM_MAX_NAME``."""
    return PREFIX + name


def _parse(var: str, raw: str) -> int:
    """The value of limit variable ``var`` set to ``raw``: a whole number from 1 to the
    limit's maximum, written in digits; anything else is a one-line error naming it."""
    name = var[len(PREFIX):]
    if name not in DEFAULTS:
        raise ScenarioError("", var, f"not a limit of reporting-sim (limits: "
                            f"{', '.join(variable(n) for n in DEFAULTS)}); unset it or fix the spelling")
    text = raw.strip()
    if not _whole_from_1_to(text, MAXIMA[name]):
        raise ScenarioError("", var, f"{raw[:40]!r} is not a whole number from 1 to {MAXIMA[name]} "
                            f"({WHAT[name]}; unset it for the default of {DEFAULTS[name]})")
    return int(text)


def _whole_from_1_to(text: str, high: int) -> bool:
    """Whether ``text`` is a whole number written in (at most 12) digits, from 1 to ``high``."""
    return text.isascii() and text.isdigit() and len(text) <= 12 and 1 <= int(text) <= high


def settings() -> dict[str, int]:
    """Every limit, from the environment or the default: each ``REPORTING_SIM_MAX_*``
    variable parsed once (again only if the environment changes); one that is not a
    whole number in range, or names no limit, is a one-line error naming it."""
    given = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    got = _PARSED.get(given)
    if got is None:
        got = dict(DEFAULTS)
        for var, raw in given:
            got[var[len(PREFIX):]] = _parse(var, raw)
        _PARSED.clear()
        _PARSED[given] = got
    return got


check_environment = settings
"""Refuse a bad ``REPORTING_SIM_MAX_*`` variable (every command and API call starts so)."""


def limit(name: str) -> int:
    """The limit ``name`` (a key of :data:`DEFAULTS`): its environment variable
    ``REPORTING_SIM_MAX_NAME`` if set, else the default (see :func:`settings`)."""
    return settings()[name]


def too_much(source: str, field: str, name: str, got) -> ScenarioError:
    """The one-line error for going past limit ``name``."""
    return ScenarioError(source, field, f"{got} {WHAT[name]}: more than the limit of {limit(name)} "
                         f"(set REPORTING_SIM_MAX_{name} to raise it)")


_TOKENS = re.compile(r'''
    (?P<ml>"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\')   # multi-line strings
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'[^'\n]*')         # one-line strings
  | (?P<comment>\#[^\n]*)
  | (?P<open>[\[{]) | (?P<close>[\]}])
  | (?P<dot>\.) | (?P<eq>=) | (?P<comma>,) | (?P<nl>\n)
  | [^"'\#\[\]{}.=,\n]+ | ["']                     # anything else (an unclosed quote too)
''', re.VERBOSE | re.DOTALL)


def check_toml_text(text: str, source: str) -> None:
    """Refuse TOML text that is too long, too deeply nested, or has too many parts in
    a dotted key, before a parser sees it. A bound, not a parser: it never refuses a
    file the limits allow, and whatever it lets through the parser still checks."""
    _check_size(text, source)
    scan = _Scan(source, limit("DEPTH"), limit("KEY_PARTS"))
    for m in _TOKENS.finditer(text):
        step = _STEPS.get(m.lastgroup)
        if step is not None:
            step(scan, m.group())


def _check_size(text: str, source: str) -> None:
    """The text's length and its longest line within the limits."""
    if len(text) > limit("FILE_BYTES"):
        raise too_much(source, "file", "FILE_BYTES", len(text.encode("utf-8")))
    longest = max(map(len, text.split("\n"))) if text else 0
    if longest > limit("LINE_CHARS"):
        raise too_much(source, "file", "LINE_CHARS", longest)


class _Scan:
    """Where a scan of TOML text is: the open arrays and inline tables, whether a key
    is being read (and its parts so far), and the line."""

    def __init__(self, source: str, max_depth: int, max_parts: int):
        self.source, self.max_depth, self.max_parts = source, max_depth, max_parts
        self.stack: list[str] = []
        self.in_key, self.parts, self.line = True, 1, 1

    def new_key(self) -> None:
        self.in_key, self.parts = True, 1

    def newline(self, token: str) -> None:
        """A line ends; outside brackets, a new key may start."""
        self.line += 1
        if not self.stack:
            self.new_key()

    def multiline_string(self, token: str) -> None:
        self.line += token.count("\n")

    def open(self, token: str) -> None:
        """An array or an inline table opens (a table starts a key)."""
        self.stack.append(token)
        if len(self.stack) > self.max_depth:
            raise too_much(self.source, f"line {self.line}", "DEPTH", len(self.stack))
        if token == "{":
            self.new_key()

    def close(self, token: str) -> None:
        if self.stack:
            self.stack.pop()

    def equals(self, token: str) -> None:
        self.in_key = False

    def comma(self, token: str) -> None:
        """A comma in an inline table starts its next key."""
        if self.stack and self.stack[-1] == "{":
            self.new_key()

    def dot(self, token: str) -> None:
        """A dot in a key adds a part to it."""
        if not self.in_key:
            return
        self.parts += 1
        if self.parts > self.max_parts:
            raise too_much(self.source, f"line {self.line}", "KEY_PARTS", f"{self.parts}+")


_STEPS = {"nl": _Scan.newline, "ml": _Scan.multiline_string, "open": _Scan.open, "close": _Scan.close,
          "eq": _Scan.equals, "comma": _Scan.comma, "dot": _Scan.dot}
"""What each kind of token does to a scan (strings, comments and the rest: nothing)."""
