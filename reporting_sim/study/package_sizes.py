"""The sizes of a ``packages`` study (module docstring of :mod:`.packages`), apart so
that the command line shows them without loading the library."""

ENUMERATE_MAX = 256
"""Up to this many combinations within the budget, every one is run; above it a search
(``--enumerate-max``)."""
POPULATION = 20
"""Packages a search proposes per generation (``--population``)."""
GENERATIONS = 50
"""The most generations of a search (``--generations``)."""
MAX_PACKAGES = 256
"""The most distinct packages a search runs (``--max-packages``): as many as the largest
enumeration."""
BUDGET_SLACK = 1e-9
"""How far a package's summed cost may exceed the budget and still be within it (the
rounding of a sum of decimal amounts)."""
