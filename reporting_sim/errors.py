"""The one exception users see, and how its message is built.

Every problem with input a user wrote (a scenario file, a variant, a command-line
value) is raised as :class:`ScenarioError`, whose text is one line naming the file, the
field and what is allowed. The CLI prints it and exits with status 2; nothing else in
the package catches broad exceptions.
"""

from __future__ import annotations


class ScenarioError(Exception):
    """A scenario (or other user input) is not valid; the message is one line."""

    def __init__(self, source: str, field: str, message: str):
        self.source = _printable(source)
        self.field = _printable(field)
        self.message = _printable(" ".join(str(message).split()))
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        what = f"{self.field}: " if self.field else ""
        return f"{where}{what}{self.message}"


def _printable(text) -> str:
    """``text`` on one line: a control character (a newline or a NUL byte in a file
    name, a terminal's escape code) is written as its escape (``\\n``, ``\\x00``)."""
    text = str(text)
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
