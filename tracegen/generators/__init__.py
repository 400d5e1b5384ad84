"""Deviation generators: where a trace's mistakes come from."""

from tracegen.generators import prose  # noqa: E402,F401  (registers the prose rules beside the GSM8K ones)
