"""The built-in scenarios, as TOML files (read with importlib.resources)."""
