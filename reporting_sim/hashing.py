"""Stable content hashes of plain data (scenario data, job keys, stored rows).

The same data gives the same hash in every process and whatever ``PYTHONHASHSEED``:
keys are sorted and the text is compact JSON. Plain Python, imported by every layer.
"""

from __future__ import annotations

import hashlib
import json


def canonical(obj) -> str:
    """The one text of plain data that its hash is taken of."""
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def digest(obj) -> str:
    """A short stable content hash of plain data (16 hex digits of SHA-256)."""
    return hashlib.sha256(canonical(obj).encode("utf-8")).hexdigest()[:16]
