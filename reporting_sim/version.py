"""The package's version (one place: setup.cfg reads it, job keys include it)."""

__version__ = "0.1.0"
