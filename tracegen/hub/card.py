"""The dataset card (README.md) of an output folder: data_cards/default.md filled from the manifest,
statistics of the written parquet files, and the plots drawn from them.

Values that land in the YAML front matter are written as JSON strings (valid YAML), so a split
named `true` or `1` stays a string. Values from data (deviation kinds) land in Markdown tables
as code spans with `|` escaped.
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from tracegen.dataset.layout import CARD, split_pattern
from tracegen.dataset.manifest import ExportRecord, Manifest, SourceRecord
from tracegen.hub.plots import Plot, write_plots
from tracegen.hub.stats import DatasetStats, Distribution, dataset_stats
from tracegen.resources import resource_dir
from tracegen.rows.branches import layout_summary

LABELS_MEANING = {
    ("msft", "soft"): "the prompt and the deviation tokens carry no loss; `<UNDO>` and every correct token do",
    (
        "msft",
        "hard",
    ): "each state is labelled once, with the last token the trace emits from it (DESIGN.md section 4); `<UNDO>` "
    "inputs and the prompt carry no loss",
    (
        "naive",
        "soft",
    ): "the prompt carries no loss; deviation tokens do (the naive baseline), as do `<UNDO>` and correct tokens",
    ("clean", "soft"): "the prompt carries no loss; the clean solution does (no deviations: the plain SFT baseline)",
    ("clean", "hard"): "the prompt carries no loss; the clean solution does (no deviations: the plain SFT baseline)",
}


def _labels_meaning(export: ExportRecord) -> str:
    meaning = LABELS_MEANING[export.loss, export.context_mode]
    if export.label_before_deviation and export.context_mode == "soft":
        meaning += (
            "; the state just before each deviation is labelled with the correct token (its input is the "
            "deviation's first token)"
        )
    return meaning


BRANCHES_SECTION = """
**This dataset has the `branches` layout.** Each hard-mode trace is unrolled into plain causal rows
(`branch` 0 is the clean path; one more row per undo group holds the surviving prefix, the deviation
and the `<UNDO>` it needs): `input_ids` and `labels` train with plain causal attention and arange
positions, in any trainer, packing included (TRL: `SFTTrainer(model=model, processing_class=tokenizer,
train_dataset=train, args=SFTConfig(output_dir="undo-sft", packing=True))`, with its own collator). Every state
of the packed trace is labelled on exactly one row, so the summed loss equals the packed row's under
the hard mask. The packed trace stays in `packed_input_ids`, `packed_labels`, `packed_position_ids`
and `prune_spans` (the same on every row of a trace); the text columns are the trace's.
"""

# The Hub's size_categories, by upper bound on the number of rows.
SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
]


def write_card(folder: Path, manifest: Manifest) -> None:
    """Compute the statistics of the parquet files in `folder`, draw the plots, write README.md."""
    stats = dataset_stats(folder, manifest)
    plots = write_plots(folder, stats)
    layout = layout_summary(manifest.recipe.export.layout, [Path(folder) / rel for rel in manifest.files])
    (Path(folder) / CARD).write_text(render_card(manifest, stats, plots, layout=layout), encoding="utf-8")


def render_card(manifest: Manifest, stats: DatasetStats, plots: list[Plot], layout: str = "packed") -> str:
    recipe, tokenizer, splits = manifest.recipe, manifest.tokenizer, manifest.splits
    deviations, export = recipe.deviations, recipe.export
    template = Template((resource_dir("data_cards") / "default.md").read_text(encoding="utf-8"))
    return template.substitute(
        pretty_name=_yaml_string(f"tracegen {recipe.name}"),
        title=f"tracegen {recipe.name}",
        size_category=_yaml_string(size_category(stats.rows)),
        data_files="\n".join(
            f"  - split: {_yaml_string(split)}\n    path: {_yaml_string(split_pattern(split))}" for split in splits
        ),
        source_name=_source_name(recipe.source.name),
        contamination=f"\n> **Warning: test-set rows.** This dataset was {warning}\n"
        if (warning := contamination_warning(manifest))
        else "",
        source=_source(recipe.source),
        tracegen_version=manifest.tracegen_version,
        recipe_name=recipe.name,
        seed=manifest.seed,
        tokenizer_name=tokenizer.name,
        tokenizer_sha=tokenizer.sha256[:16],
        undo_id=tokenizer.undo_id,
        undo_unit=export.undo_unit,
        context_mode=export.context_mode,
        loss=export.loss,
        layout=layout,
        layout_section=BRANCHES_SECTION if export.layout == "branches" else "",
        per_trace=deviations.per_trace,
        clean_fraction=deviations.clean_fraction,
        detected_after=deviations.detected_after,
        generator_table=_rows([(_code(name), f"{weight:g}") for name, weight in deviations.generators.items()]),
        split_table=_rows(
            [
                (split, _n(s.rows), _n(s.problems), _n(s.rows_with_deviations), _n(s.deviations), _n(s.undos))
                for split, s in stats.splits.items()
            ]
        ),
        kind_table=_kind_table(stats),
        length_table=_length_table(stats),
        verification_table=_verification_table(stats),
        dropped_table=_rows([(_code(reason), _n(count)) for reason, count in manifest.dropped.items()])
        or "| (none) | 0 |",
        labels_meaning=_labels_meaning(export),
        first_split=next(iter(splits)),
        **{f"plot_{Path(plot.path).stem}": plot.path for plot in plots},
    )


def contamination_warning(manifest: Manifest) -> str | None:
    """Plain words for a dataset made from a benchmark's test split: training on it spoils that test set."""
    if "test" not in manifest.splits:
        return None
    source = _source_name(manifest.recipe.source.name)
    return (
        f"made from {source} TEST problems: do not evaluate on the {source} test set a model trained on this "
        f"(its score would be contaminated); build from the train split for training data."
    )


def _source_name(name: str) -> str:
    return name.upper() if name == "gsm8k" else name


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>10M")


def _source(source: SourceRecord) -> str:
    if source.name == "arith":
        return f"synthetic arithmetic problems (`arith`, source seed {source.seed})"
    if source.path is not None:
        return f"{source.name}, local file `{Path(source.path).name}`"
    return f"{source.name}, `{source.hub_id}` ({source.hub_config}, split {source.split}) on the Hugging Face Hub"


def _kind_table(stats: DatasetStats) -> str:
    if not stats.kinds:
        return "No deviations."
    header = "| kind | " + " | ".join(stats.splits) + " |\n|---|" + "---|" * len(stats.splits) + "\n"
    return header + _rows(
        [
            (_code(kind), *(_n(s.deviations_by_kind.get(kind, 0)) for s in stats.splits.values()))
            for kind in stats.kinds
        ]
    )


def _length_table(stats: DatasetStats) -> str:
    measures = (
        ("tokens per row", "row_tokens"),
        ("tokens per deviation", "deviation_tokens"),
        ("`<UNDO>` tokens per row", "undos_per_row"),
    )
    return _rows(
        [
            (label, split, *_summary(getattr(s, attribute)))
            for label, attribute in measures
            for split, s in stats.splits.items()
        ]
    )


def _summary(dist: Distribution) -> tuple[str, ...]:
    if not dist.total:
        return ("-",) * 6
    return (f"{dist.mean:.1f}", *(_n(dist.quantile(q)) for q in (0.0, 0.5, 0.9, 0.99, 1.0)))


def _verification_table(stats: DatasetStats) -> str:
    rejected, written = stats.rejected_by_verification, stats.deviations
    return _rows(
        [
            (
                "problems without a row",
                _n(stats.problems_without_rows),
                f"{_share(stats.problems_without_rows, stats.problems)} of {_n(stats.problems)} problems",
            ),
            (
                "candidate mistakes a verifier found not wrong (rejected)",
                _n(rejected),
                f"{_share(rejected, rejected + written)} of {_n(rejected + written)} (rejected + deviations written)",
            ),
        ]
    )


def _rows(rows: list[tuple]) -> str:
    return "\n".join("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)


def _n(value: int) -> str:
    return f"{value:,}"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _code(text: str) -> str:
    """A value from data as a code span in a table cell: `|` would end the cell, a backtick the span."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _yaml_string(text: str) -> str:
    return json.dumps(text)
