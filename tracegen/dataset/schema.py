"""The columns of a dataset's rows (DESIGN.md section 6): the parquet schema every shard is written with and
every reader checks against."""

from __future__ import annotations

import pyarrow as pa

DEVIATION_TYPE = pa.struct(
    [
        ("kind", pa.string()),
        ("step_index", pa.int32()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
        ("token_start", pa.int32()),
        ("token_end", pa.int32()),
        ("undo_count", pa.int32()),
        ("detected_after", pa.int32()),
        ("reason", pa.string()),
        ("weak_solution", pa.string()),  # the weak model's whole solution; "" for rule-made deviations
    ]
)

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source_id", pa.string()),
        ("prompt", pa.string()),
        ("clean_completion", pa.string()),
        ("trace", pa.string()),
        ("answer", pa.string()),
        ("deviations", pa.list_(DEVIATION_TYPE)),
        # int64: what torch wants for embedding indices and cross-entropy targets
        ("input_ids", pa.list_(pa.int64())),
        ("labels", pa.list_(pa.int64())),
        ("position_ids", pa.list_(pa.int64())),
        ("prune_spans", pa.list_(pa.list_(pa.int32()))),
        ("undo_unit", pa.string()),
        ("context_mode", pa.string()),
    ]
)
