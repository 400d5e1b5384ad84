"""`tracegen inspect OUT --row N`: one row in colour, so a person can see what the model is taught.

prompt: dim; deviation tokens: red, struck through; `<UNDO>`: black on yellow; correct tokens
erased by a step undo: yellow, struck through; tokens with a label (trained): green; other
completion tokens without a label: dim.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tracegen.columns import IGNORE
from tracegen.dataset.layout import TOKENIZER_DIR
from tracegen.dataset.manifest import Manifest, read_manifest
from tracegen.errors import InputError
from tracegen.tokens import TraceTokenizer, load_saved

STYLES = {
    "prompt": "dim",
    "deviation": "bold red strike",
    "undo": "bold black on yellow",
    "erased": "yellow strike",
    "trained": "green",
    "untrained": "dim",
}


def read_row(out: Path, manifest: Manifest, index: int) -> dict:
    total = manifest.rows
    if not 0 <= index < total:
        raise InputError(f"row {index} does not exist ({total} rows)", field="row")
    for rel in manifest.files:
        meta = pq.ParquetFile(Path(out) / rel)
        if index < meta.metadata.num_rows:
            return meta.read().slice(index, 1).to_pylist()[0]
        index -= meta.metadata.num_rows
    raise InputError(f"row {index} is missing from the data files", file=str(out))


def _printable(text: str) -> str:
    """Control characters from data (ANSI escapes, bells) are shown escaped, never sent to the terminal."""
    return "".join(ch if ch in "\n\t" or ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def token_roles(row: dict, undo_id: int, prompt_len: int) -> list[str]:
    ids, labels = row["input_ids"], row["labels"]
    roles = ["prompt"] * prompt_len + ["trained"] * (len(ids) - prompt_len)
    for start, end, _ in row["prune_spans"]:
        roles[start:end] = ["erased"] * (end - start)
    for dev in row["deviations"]:
        roles[dev["token_start"] : dev["token_end"]] = ["deviation"] * (dev["token_end"] - dev["token_start"])
    for i in range(prompt_len, len(ids)):
        if ids[i] == undo_id:
            roles[i] = "undo"
        elif roles[i] == "trained" and labels[i] == IGNORE and row["context_mode"] == "soft":
            roles[i] = "untrained"
    return roles


def render_row(row: dict, tok: TraceTokenizer, chat: bool, show_tokens: bool) -> Group:
    prompt_len = len(tok.prompt_ids(row["prompt"], chat))
    roles = token_roles(row, tok.undo_id, prompt_len)
    text = Text()
    for token_id, role in zip(row["input_ids"], roles):
        text.append(_printable(tok.decode([token_id])), style=STYLES[role])
    legend = Text("  ").join(Text(name, style=style) for name, style in STYLES.items())
    title = Text(_printable(f"{row['id']}  ({row['undo_unit']} undo, {row['context_mode']} context)"))
    parts = [Panel(text, title=title, subtitle=legend)]
    if row["deviations"]:
        table = Table("kind", "step", "tokens", "undos", "detected after", "reason", title="deviations")
        for dev in row["deviations"]:
            cells = [
                dev["kind"],
                str(dev["step_index"]),
                f"[{dev['token_start']}, {dev['token_end']})",
                str(dev["undo_count"]),
                str(dev["detected_after"]),
                dev["reason"],
            ]
            table.add_row(*(Text(_printable(cell)) for cell in cells))
        parts.append(table)
    if show_tokens:
        table = Table("i", "token", "id", "label", "position", title="tokens")
        for i, (token_id, label, pos, role) in enumerate(
            zip(row["input_ids"], row["labels"], row["position_ids"], roles)
        ):
            label_text = "" if label == IGNORE else repr(tok.decode([label]))
            table.add_row(
                str(i),
                Text(repr(tok.decode([token_id])), style=STYLES[role]),
                str(token_id),
                Text(label_text),
                str(pos),
            )
        parts.append(table)
    return Group(*parts)


def inspect_row(out: Path, index: int, console: Console, show_tokens: bool = False) -> None:
    manifest = read_manifest(out)
    row = read_row(out, manifest, index)
    tok = load_saved(Path(out) / TOKENIZER_DIR, manifest.tokenizer.name)
    console.print(render_row(row, tok, manifest.recipe.export.chat_template, show_tokens))
