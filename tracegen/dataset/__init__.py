"""The on-disk dataset contract: reading a built folder (`load`)."""
