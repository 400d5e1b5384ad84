"""Deviation generators: where a trace's mistakes come from."""
