"""The dataset card (README.md) of an output folder, filled from the build manifest."""

from __future__ import annotations

from pathlib import Path
from string import Template

from tracegen.resources import resource_dir


def _table(counts: dict[str, int]) -> str:
    return "\n".join(f"| {key} | {value:,} |" for key, value in counts.items()) or "| (none) | 0 |"


LABELS_MEANING = {
    ("msft", "soft"): "the prompt and the deviation tokens carry no loss; `<UNDO>` and every correct token do",
    ("msft", "hard"): "each state is labelled once, with the last token the trace emits from it (DESIGN.md section 4); `<UNDO>` inputs and the prompt carry no loss",
    ("naive", "soft"): "the prompt carries no loss; deviation tokens do (the naive baseline), as do `<UNDO>` and correct tokens",
    ("clean", "soft"): "the prompt carries no loss; the clean solution does (no deviations: the plain SFT baseline)",
    ("clean", "hard"): "the prompt carries no loss; the clean solution does (no deviations: the plain SFT baseline)",
}


def render_card(manifest: dict) -> str:
    recipe, tokenizer, splits = manifest["recipe"], manifest["tokenizer"], manifest["splits"]
    template = Template((resource_dir("data_cards") / "default.md").read_text(encoding="utf-8"))
    return template.substitute(
        pretty_name=f"tracegen {recipe['name']}",
        source_name=recipe["source"]["name"].upper() if recipe["source"]["name"] == "gsm8k" else recipe["source"]["name"],
        tracegen_version=manifest["tracegen_version"],
        data_files="\n".join(f"  - split: {split}\n    path: data/{split}-*.parquet" for split in splits),
        split_table="\n".join(f"| {split} | {info['rows']:,} | {info['problems']:,} |" for split, info in splits.items()),
        traces_with_deviations=f"{manifest['traces_with_deviations']:,}",
        kind_table=_table(manifest["deviations_by_kind"]),
        dropped_table=_table(manifest["dropped"]),
        recipe_name=recipe["name"],
        seed=manifest["seed"],
        tokenizer_name=tokenizer["name"],
        tokenizer_sha=tokenizer["sha256"][:16],
        undo_id=tokenizer["undo_id"],
        undo_unit=recipe["export"]["undo_unit"],
        context_mode=recipe["export"]["context_mode"],
        loss=recipe["export"]["loss"],
        labels_meaning=LABELS_MEANING[recipe["export"]["loss"], recipe["export"]["context_mode"]],
        first_split=next(iter(splits)),
    )


def write_card(folder: Path, manifest: dict) -> None:
    (folder / "README.md").write_text(render_card(manifest), encoding="utf-8")
