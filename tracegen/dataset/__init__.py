"""The on-disk dataset contract: reading a built folder (`load`) and re-deriving every row's invariants
(`check`, `check_rows`)."""
