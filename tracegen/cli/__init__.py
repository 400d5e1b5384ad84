"""The `tracegen` command line (the `tracegen.cli:app` entry point). Nothing in the library imports this package."""

from tracegen.cli.main import app

__all__ = ["app"]
