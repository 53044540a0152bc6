"""Documentation generated from the checks' own docstrings."""
