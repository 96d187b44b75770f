"""Loading a scenario: from a file, a built-in name or a variant, to a validated
:class:`~reporting_sim.scenario_schema.Scenario`.

The way in for every scenario the package reads. :func:`load` takes a file, a
what-if variant file or the name of a built-in scenario (shipped as TOML in
:data:`BUILTIN_PACKAGE`); :func:`parse` validates plain data: field errors first (the
schema, :mod:`.scenario_schema`), then graph errors (:mod:`.scenario_checks`), then
the ``[uncertainties]`` (:mod:`.uncertainties`). Every failure on the way (a missing or
unreadable file, text that is not UTF-8 or not TOML, a file over the size limits of
:mod:`.limits`, the first pydantic error, worded by :mod:`.field_errors`) becomes one
:class:`~reporting_sim.errors.ScenarioError` line naming the file and the field. No
SimPy here.
"""

from __future__ import annotations

import os
import stat
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from . import limits, uncertainties
from ..errors import ScenarioError
from .checks import check_graph
from .field_errors import first_error
from .schema import Scenario

BUILTIN_PACKAGE = "reporting_sim.scenario.builtin"


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package."""
    files = resources.files(BUILTIN_PACKAGE).iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".toml"))


def builtin_text(name: str) -> str:
    """The TOML text of built-in scenario ``name``."""
    if name not in builtin_names():
        raise ScenarioError("", "scenario", f"no built-in scenario {name!r} "
                            f"(built-ins: {', '.join(builtin_names())})")
    return resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


def read_toml_text(text: str | bytes, source: str) -> dict:
    """Parse TOML text, turning every failure into a one-line :class:`ScenarioError`."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(source, "file", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    limits.check_toml_text(text, source)  # bound the parser's work before it starts
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "file", f"not valid TOML: {exc}")


def read_file(path: str | Path) -> dict:
    """Read a TOML file into plain data, with clear errors for missing or bad files.
    Only regular files are read: a device (``/dev/zero``), a FIFO or a socket is
    refused without reading from it, so a wrong path cannot block or exhaust memory."""
    path = Path(path)
    if "\x00" in str(path):
        raise ScenarioError(str(path).replace("\x00", "\\0"), "file", "a file name cannot hold a NUL byte")
    raw = _file_bytes(path)
    if len(raw) > limits.limit("FILE_BYTES"):
        raise limits.too_much(str(path), "file", "FILE_BYTES", f"{len(raw)}+")
    return read_toml_text(raw, str(path))


def _file_bytes(path: Path) -> bytes:
    """The bytes of the regular file ``path``; a one-line error when it is missing, a
    folder or cannot be read."""
    try:
        return _regular_file_bytes(path)
    except FileNotFoundError:
        raise ScenarioError(str(path), "file", "no such file")
    except IsADirectoryError:
        raise ScenarioError(str(path), "file", "is a folder, not a scenario file")
    except OSError as exc:
        raise ScenarioError(str(path), "file", f"cannot be read ({exc.strerror or exc})")


def _regular_file_bytes(path: Path) -> bytes:
    """The bytes of regular file ``path``, at most one past the size limit (a folder,
    device, pipe or socket, or a file over the limit, is refused before reading)."""
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(str(path), "file", "is a folder, not a scenario file")
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(str(path), "file", "is not a regular file (a device, pipe or socket)")
    if st.st_size > limits.limit("FILE_BYTES"):
        raise limits.too_much(str(path), "file", "FILE_BYTES", st.st_size)
    with path.open("rb") as fh:
        return fh.read(limits.limit("FILE_BYTES") + 1)


def parse(data: dict, source: str = "<scenario>") -> Scenario:
    """Validate plain data (as read from TOML) into a :class:`Scenario`."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc, source) from None
    check_graph(scenario, source)
    if scenario.uncertainties:
        uncertainties.check(data, scenario, source)
    return scenario


def path_exists(path: Path, field: str = "file") -> bool:
    """Whether ``path`` names something (a dangling link too); a name the system
    cannot look up (a part over 255 bytes, say) is a one-line error, not a traceback."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError) as exc:
        raise ScenarioError(str(path), field, f"cannot be used ({getattr(exc, 'strerror', None) or exc})") from None
    return True


def _near(path: Path, folder: Path | None) -> Path:
    """``path`` relative to a variant's ``folder`` (never the working folder), if given."""
    return folder / path if folder is not None and not path.is_absolute() else path


def _read_any(name_or_path: str, folder: Path | None = None) -> tuple[dict, str]:
    """Plain data and a source label for a file (relative to ``folder``) or a built-in.
    A bare built-in name (``minusma-2015``) always means the built-in, whatever lies in
    the working folder; a file of that name is read as ``./minusma-2015``."""
    name = str(name_or_path)
    if name in builtin_names():
        label = f"{name} (built-in)"
        return read_toml_text(builtin_text(name), label), label
    path = _near(Path(name_or_path), folder)
    if path_exists(path) or path.suffix == ".toml":
        return read_file(path), str(path)
    raise ScenarioError(str(name_or_path), "scenario", "no such file and no built-in "
                        f"scenario of that name (built-ins: {', '.join(builtin_names())})")


def load_data(name_or_path: str | Path) -> tuple[dict, str]:
    """The plain scenario data of a file, built-in or variant (changes applied), and
    the source label that error messages use; not yet validated."""
    from . import variants

    data, source = _read_any(str(name_or_path))
    if variants.is_variant(data):
        data = variants.resolve(data, Path(source), _read_any)
        data.pop("uncertainties", None)  # a what-if is a point; robustness draws worlds from its base's
    return data, source


def load(name_or_path: str | Path) -> Scenario:
    """Load a scenario file, a what-if variant file, or a built-in scenario by name."""
    data, source = load_data(name_or_path)
    return parse(data, source)


def variant_base(name: str):
    """The validated base scenario of variant file ``name`` (None for a scenario)."""
    path = Path(name)
    if not path.is_file():
        return None
    head = read_file(path).get("variant")
    if not isinstance(head, dict) or not isinstance(head.get("base"), str):
        return None
    near = path.parent / head["base"]
    return load(near if near.exists() else head["base"])
