"""Modules imported on first use, so that ``--help`` and ``import reporting_sim`` stay cheap."""

from __future__ import annotations


def lazy_module(name: str):
    """Module ``name``, imported for real on first attribute access (stdlib
    :class:`importlib.util.LazyLoader`); already-imported modules are returned as is."""
    import importlib.util
    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
