"""Provenance: the scenario texts as written, and the notes beside their numbers.

A scenario's numbers carry their provenance in comments (``[paper §3 ...]``,
``[source: key]``, ``[assumption] reason``, ``[derived]``). Validation drops comments,
so the texts themselves travel with the results: :func:`source_texts` collects the
file a run used (and, for a variant, its base, recursively), and :func:`notes` lists
each numeric setting with its dotted path, its value and its note, for the HTML report.
:func:`uncovered` lists the ``[assumption]`` numbers that no ``[uncertainties]`` entry
gives a range to (the tests hold the built-in scenario to covering them all).
"""

from __future__ import annotations

import re
from pathlib import Path

from .. import scenario as scenario_mod

TAG = re.compile(r"\[(paper §[^\]]*|source: [a-z0-9\-]+|assumption|derived)\]")
_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("?[A-Za-z0-9_.\-\[\]>]+"?)\s*=\s*(.*)$')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def source_texts(name_or_path: str) -> dict[str, str]:
    """File name -> text of the scenario file a run used, and of the bases of a variant:
    ``scenario-source.toml``, then ``base-source.toml``, ``base2-source.toml``...
    Bases are found as the loader finds them: relative to the variant's folder, else a
    built-in name. Texts that cannot be read are left out (the run itself validated them)."""
    out: dict[str, str] = {}
    ref, folder = str(name_or_path), None
    for depth in range(10):
        found = _text_and_base(ref, folder)
        if found is None:
            break
        text, folder, base = found
        out[_source_file_name(depth)] = text
        if not isinstance(base, str):
            break
        ref = base
    return out


def _source_file_name(depth: int) -> str:
    """``scenario-source.toml`` for the file a run used, ``base-source.toml``,
    ``base2-source.toml``... for its bases."""
    if depth == 0:
        return "scenario-source.toml"
    return f"base{'' if depth == 1 else depth}-source.toml"


def _text_and_base(ref: str, folder):
    """The text of scenario file or built-in ``ref`` (a file relative to ``folder``),
    the folder its own base is relative to, and that base (``None`` if it names
    none); ``None`` when it cannot be read."""
    import tomllib

    path = Path(ref) if folder is None or Path(ref).is_absolute() else folder / ref
    try:
        read = _text_of(ref, path, folder)
        if read is None:
            return None
        text, folder = read
        return text, folder, tomllib.loads(text).get("variant", {}).get("base")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return None


def _text_of(ref: str, path: Path, folder):
    """``(text, folder its base is relative to)`` of the file ``path`` or the built-in
    ``ref``; ``None`` when it is neither."""
    if path.is_file():
        return path.read_text("utf-8", errors="replace"), path.parent
    if ref in scenario_mod.builtin_names():
        return scenario_mod.builtin_text(ref), folder
    return None


def notes(text: str) -> list[dict]:
    """Each line of ``text`` that sets a value with a provenance tag: ``path`` (table and
    key), ``value`` (as written), ``tags`` (the bracketed tags) and ``note`` (the whole
    comment)."""
    out = []
    table = ""
    link_no: dict[str, int] = {}
    for line in _setting_lines(text):
        header = _table_of(line, link_no)
        if header is not None:
            table = header
            continue
        note = _note_of(line, table)
        if note is not None:
            out.append(note)
    return out


def _setting_lines(text: str):
    """The lines of ``text`` that may set a value or open a table (not blank, not a
    comment, not inside a multi-line string)."""
    in_block = False
    for line in text.splitlines():
        if line.count('"""') % 2 == 1:
            in_block = not in_block
            continue
        if not (in_block or _blank_or_comment(line)):
            yield line


def _blank_or_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def _table_of(line: str, link_no: dict[str, int]):
    """The table a header line opens (``links[3]`` for the fourth ``[[links]]``,
    counted in ``link_no``), or ``None`` for a line that is no header."""
    mt = _TABLE.match(line)
    if not mt or "=" in line.split("#")[0]:
        return None
    table = mt.group(1).strip('"')
    if line.lstrip().startswith("[["):
        link_no[table] = link_no.get(table, -1) + 1
        table = f"{table}[{link_no[table]}]"
    return table


def _note_of(line: str, table: str):
    """The note of a ``key = value  # comment`` line in ``table`` whose comment has a
    provenance tag, else ``None``."""
    code, _, comment = _STRING.sub(lambda m: m.group(0).replace("#", "\0"), line).partition("#")
    mk = _KEY.match(code)
    if not mk or not TAG.search(comment):
        return None
    key = mk.group(1).strip('"')
    value = mk.group(2).strip().replace("\0", "#")
    return {"path": f"{table}.{key}" if table else key, "value": value,
            "tags": TAG.findall(comment), "note": comment.strip()}


STRENGTH = ("assumption", "derived", "source", "paper")
"""Provenance tags from the weakest to the strongest."""

_AS = re.compile(r"\bas (?:the )?([A-Za-z][A-Za-z0-9_\-]*)")


def _tag_kinds(tags) -> set[str]:
    return {t.split(" ")[0].rstrip(":") for t in tags}


_UNIT_TABLES = ("kinds", "sources", "collectors", "cells", "commanders", "meetings", "pools", "boards")


def inheritance_gaps(text: str) -> list[str]:
    """Settings copied from another ("as X", X a kind, source or node of the file, or
    for a link the links leaving node X) that lack the weakest tag of the setting they
    copy: a number taken over from an assumption is an assumption too, whatever else
    it rests on. One line per gap."""
    import tomllib

    data = tomllib.loads(text)
    by_path = {n["path"]: n for n in notes(text)}
    tables = _unit_paths(data)
    return [gap for path, n in by_path.items() for gap in _gaps_of(path, n, data, by_path, tables)]


def _gaps_of(path: str, n: dict, data: dict, by_path: dict, tables: dict):
    """The gaps of the setting ``path`` (its note ``n``): one per "as X" it copies
    without the copied setting's weakest tag."""
    for ref in _AS.findall(n["note"]):
        src = _copied_note(path, ref, data, by_path, tables)
        gap = None if src is None else _missing_tag(n, src)
        if gap is not None:
            yield f"{path}: copied 'as {ref}' from {src['path']} but lacks its [{gap}] tag"


def _unit_paths(data: dict) -> dict[str, str]:
    """Each named unit of scenario ``data`` and its table's path (``u2`` -> ``cells.u2``)."""
    return {name: f"{sec}.{name}" for sec in _UNIT_TABLES for name in data.get(sec, {})}


def _copied_note(path: str, ref: str, data: dict, by_path: dict, tables: dict):
    """The note of the setting ``path`` copies "as ``ref``": the same key of unit
    ``ref``, or for a link, of the first other link leaving ``ref`` that has one."""
    key = path.rsplit(".", 1)[1]
    if path.startswith("links["):
        return _copied_link_note(path, ref, key, data, by_path)
    return by_path.get(f"{tables[ref]}.{key}") if ref in tables else None


def _copied_link_note(path: str, ref: str, key: str, data: dict, by_path: dict):
    """The note of ``key`` on the first link leaving node ``ref`` (other than ``path``) that has one."""
    cands = [f"links[{i}].{key}" for i, link in enumerate(data.get("links", [])) if link.get("from") == ref]
    return next((by_path[c] for c in cands if c in by_path and c != path), None)


def _missing_tag(note: dict, src: dict):
    """The weakest tag of ``src`` if ``note`` lacks it, else ``None``."""
    weakest = min(_tag_kinds(src["tags"]), key=STRENGTH.index)
    return None if weakest in _tag_kinds(note["tags"]) else weakest


def tag_counts(items: list[dict]) -> dict[str, int]:
    """How many settings rest on the paper, a public source, an assumption, a derivation."""
    counts = {"paper": 0, "source": 0, "assumption": 0, "derived": 0}
    for it in items:
        for k in _tag_kinds(it["tags"]):
            counts[k] = counts.get(k, 0) + 1
    return counts


# ------------------------------------------------------------------ assumptions covered by uncertainties

_LINK_NO = re.compile(r"^links\[(\d+)\]")
_WHEN = re.compile(r"\s+when\s+\w+\s*=\s*\w+\s*\]")


def assumption_numbers(text: str, data: dict) -> list[str]:
    """The dotted paths of the numbers tagged ``[assumption]`` in scenario ``text``
    (links by ``links[FROM->TO]``), outside the ``[uncertainties]`` table itself."""
    links = data.get("links", [])
    out = [_by_ends(note["path"], links) for note in notes(text) if _an_assumed_number(note)]
    return list(dict.fromkeys(out))


def _an_assumed_number(note: dict) -> bool:
    """Whether a note tags a number (not a name or a switch) ``[assumption]``, outside
    the ``[uncertainties]`` table."""
    if "assumption" not in note["tags"] or note["path"].startswith("uncertainties"):
        return False
    return bool(re.search(r"\d", _STRING.sub('""', note["value"])))


def _by_ends(path: str, links: list) -> str:
    """``links[3].p`` as ``links[FROM->TO].p`` (the sweeps' path); other paths as they are."""
    m = _LINK_NO.match(path)
    if not m or int(m.group(1)) >= len(links):
        return path
    link = links[int(m.group(1))]
    return f"links[{link.get('from')}->{link.get('to')}]" + path[m.end():]


def uncovered(text: str, data: dict, uncertainties) -> list[str]:
    """The assumption-tagged numbers of ``text`` that no uncertainty gives a range to
    or declares fixed: a setting is covered by an uncertainty on it, inside it
    (``cells.u2.work_h.mean`` covers ``cells.u2.work_h``) or around it."""
    named = {_WHEN.sub("]", p) for path, u in uncertainties.items() for p in (path, *u.also)}
    return [p for p in assumption_numbers(text, data) if not _covered(p, named)]


def _covered(p: str, named: set[str]) -> bool:
    """Whether setting ``p`` is one of the ``named`` paths, inside one or around one."""
    return any(q == p or q.startswith(p + ".") or p.startswith(q + ".") for q in named)
