"""Turning traces into training rows: tokenization, columns, files."""
