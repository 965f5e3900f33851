"""The typed topology and stack settings, read from YAML with every problem reported at once."""
