"""Data files shipped inside the package (the embedded default tokenizer lives in `tokenizer/`)."""
