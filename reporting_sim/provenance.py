"""Provenance: the scenario texts as written, and the notes beside their numbers.

A scenario's numbers carry their provenance in comments (``[paper §3 ...]``,
``[source: key]``, ``[assumption] reason``, ``[derived]``). Validation drops comments,
so the texts themselves travel with the results: :func:`source_texts` collects the
file a run used (and, for a variant, its base, recursively), and :func:`notes` lists
each numeric setting with its dotted path, its value and its note, for the HTML report.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import scenario as scenario_mod

TAG = re.compile(r"\[(paper §[^\]]*|source: [a-z0-9\-]+|assumption|derived)\]")
_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("?[A-Za-z0-9_.\-\[\]>]+"?)\s*=\s*(.*)$')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def source_texts(name_or_path: str) -> dict[str, str]:
    """File name -> text of the scenario file a run used, and of the bases of a variant:
    ``scenario-source.toml``, then ``base-source.toml``, ``base2-source.toml``...
    Bases are found as the loader finds them: relative to the variant's folder, else a
    built-in name. Texts that cannot be read are left out (the run itself validated them)."""
    import tomllib

    out: dict[str, str] = {}
    ref, folder = str(name_or_path), None
    for depth in range(10):
        path = Path(ref) if folder is None or Path(ref).is_absolute() else folder / ref
        try:
            if path.is_file():
                text, folder = path.read_text("utf-8", errors="replace"), path.parent
            elif ref in scenario_mod.builtin_names():
                text = scenario_mod.builtin_text(ref)
            else:
                break
            base = tomllib.loads(text).get("variant", {}).get("base")
        except (OSError, tomllib.TOMLDecodeError, AttributeError):
            break
        out["scenario-source.toml" if depth == 0 else f"base{'' if depth == 1 else depth}-source.toml"] = text
        if not isinstance(base, str):
            break
        ref = base
    return out


def notes(text: str) -> list[dict]:
    """Each line of ``text`` that sets a value with a provenance tag: ``path`` (table and
    key), ``value`` (as written), ``tags`` (the bracketed tags) and ``note`` (the whole
    comment)."""
    out = []
    table = ""
    in_block = False
    link_no = {}
    for line in text.splitlines():
        if line.count('"""') % 2 == 1:
            in_block = not in_block
            continue
        if in_block or not line.strip() or line.lstrip().startswith("#"):
            continue
        mt = _TABLE.match(line)
        if mt and "=" not in line.split("#")[0]:
            table = mt.group(1).strip('"')
            if line.lstrip().startswith("[["):
                link_no[table] = link_no.get(table, -1) + 1
                table = f"{table}[{link_no[table]}]"
            continue
        code, _, comment = _STRING.sub(lambda m: m.group(0).replace("#", "\0"), line).partition("#")
        mk = _KEY.match(code)
        if not mk or not TAG.search(comment):
            continue
        key = mk.group(1).strip('"')
        value = mk.group(2).strip().replace("\0", "#")
        out.append({"path": f"{table}.{key}" if table else key, "value": value,
                    "tags": TAG.findall(comment), "note": comment.strip()})
    return out


def tag_counts(items: list[dict]) -> dict[str, int]:
    """How many settings rest on the paper, a public source, an assumption, a derivation."""
    counts = {"paper": 0, "source": 0, "assumption": 0, "derived": 0}
    for it in items:
        kinds = {t.split(" ")[0].rstrip(":") for t in it["tags"]}
        for k in kinds:
            counts[k] = counts.get(k, 0) + 1
    return counts
