"""The names inside a dataset folder, in one place: what `tracegen build` writes and every reader opens.

```
OUT/
  tracegen.json            the manifest (tracegen.dataset.manifest)
  README.md                the dataset card, with its YAML front matter for the Hub
  data/<split>-NNNNN-of-MMMMM.parquet
  jsonl/<split>-NNNNN-of-MMMMM.jsonl   (export.format jsonl: a twin of every parquet shard)
  tokenizer/               the exact tokenizer the token columns were made with
  plots/<name>.png         the card's plots
  skipped.jsonl            every row the build wanted but did not write, with its reason
```
A shard of a split build (`build --num-shards N`) holds `tracegen-shard.json`, `tokenizer/` and
`chunks/` instead, until `tracegen merge` joins the shards into the folder above.
"""

from __future__ import annotations

MANIFEST = "tracegen.json"
CARD = "README.md"
DATA_DIR = "data"
JSONL_DIR = "jsonl"
TOKENIZER_DIR = "tokenizer"
PLOTS_DIR = "plots"
SKIPPED = "skipped.jsonl"
SHARD_MANIFEST = "tracegen-shard.json"
CHUNKS_DIR = "chunks"


def shard_stem(split: str, index: int, total: int) -> str:
    """The name of one data file of a split without its suffix: `train-00000-of-00002` (the Hub's convention)."""
    return f"{split}-{index:05d}-of-{total:05d}"


def split_pattern(split: str) -> str:
    """The card's `data_files` pattern that finds every parquet shard of `split`."""
    return f"{DATA_DIR}/{split}-*.parquet"


def jsonl_twin(parquet_file: str) -> str:
    """The JSONL file written beside a parquet shard (`data/x.parquet` -> `jsonl/x.jsonl`), relative to the folder."""
    return f"{JSONL_DIR}/{parquet_file.rsplit('/', 1)[-1].removesuffix('.parquet')}.jsonl"
