"""`python cli.py ...` is the `tracegen` command, for checkouts without an install."""

from tracegen.cli import app

if __name__ == "__main__":
    app()
