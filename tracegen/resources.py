"""Folders shipped with tracegen (recipes/, data_cards/): at the repo root in a checkout, inside the package in a
wheel."""

from pathlib import Path


def resource_dir(name: str) -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / name, here / f"_{name}"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tracegen's {name}/ folder is missing from this installation")
