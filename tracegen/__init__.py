"""tracegen: training traces that teach language models to take back their own mistakes with <UNDO>."""

__version__ = "0.1.0"

UNDO_TOKEN = "<UNDO>"
