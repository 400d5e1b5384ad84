"""Adapters that let other training libraries consume tracegen datasets as they are (hard mode included)."""
