"""The `tracegen` command line. Thin: parsing, progress and printing; the work lives in the modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tracegen import __version__
from tracegen.cli.model_commands import decode, diverge, validate
from tracegen.cli.terminal import console, friendly_errors, parse_overrides, progress_bar, say
from tracegen.cli.train_commands import train_app
from tracegen.errors import InputError
from tracegen.progress import format_rate
from tracegen.resources import resource_dir

app = typer.Typer(
    help="Build, check, publish, decode and train on traces that teach models to take back their mistakes with "
    "<UNDO>.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(train_app, name="train")  # tracegen train msft|grpo (tracegen/cli/train_commands.py)


def _version(value: bool) -> None:
    if value:
        console.print(f"tracegen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Build, check, publish, decode and train on traces that teach models to take back their mistakes with <UNDO>."""


RECIPES = sorted(path.stem for path in resource_dir("recipes").glob("*.yaml"))


@app.command()
def build(
    recipe: Annotated[
        str, typer.Option(help=f"built-in recipe name ({', '.join(RECIPES)}) or a path to a recipe YAML")
    ] = "gsm8k",
    out: Annotated[Path, typer.Option(help="output folder (a Hugging Face dataset repository)")] = Path("out"),
    source: Annotated[
        str | None,
        typer.Option(
            help="local file: gsm8k JSONL with question/answer, or for generic recipes JSONL/Parquet with the "
            "recipe's fields (default: the recipe's source)"
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N problems")] = None,
    tokenizer: Annotated[
        str | None, typer.Option(help="transformers tokenizer name or local path (default: the embedded one)")
    ] = None,
    undo_unit: Annotated[str | None, typer.Option(help="token | step")] = None,
    context_mode: Annotated[str | None, typer.Option(help="soft | hard")] = None,
    loss: Annotated[str | None, typer.Option(help="msft | naive | clean")] = None,
    chat_template: Annotated[
        bool | None,
        typer.Option("--chat-template/--plain-prompt", help="format prompts with the tokenizer's chat template"),
    ] = None,
    format: Annotated[str | None, typer.Option("--format", help="parquet | jsonl (jsonl also writes parquet)")] = None,
    layout: Annotated[
        str | None, typer.Option(help="packed | branches (hard rows unrolled into plain causal rows for any trainer)")
    ] = None,
    num_proc: Annotated[
        int | None,
        typer.Option(min=1, envvar="TRACEGEN_NUM_PROC", help="worker processes (default: the available CPU cores)"),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help='local (processes on this machine) | ray (tasks on a Ray cluster; pip install "tracegen[ray]")'
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to use with --executor ray (default: $RAY_ADDRESS, one running here, or a new local one)"
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace a non-empty output folder")] = False,
    num_shards: Annotated[
        int, typer.Option(min=1, help="split the build across N machines (join the shards with tracegen merge)")
    ] = 1,
    shard_index: Annotated[
        int, typer.Option(min=0, help="which of the --num-shards shards this machine builds (0-based)")
    ] = 0,
    replay: Annotated[
        str | None, typer.Option(help="weak-model solutions to replay from JSONL (recipes with the 'weak' generator)")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="weak-model backend: replay | openai | hf")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (key from $OPENAI_API_KEY)"),
    ] = None,
    model: Annotated[str | None, typer.Option(help="weak model name (openai) or local path / Hub id (hf)")] = None,
    refresh_cache: Annotated[
        bool,
        typer.Option(
            "--refresh-cache",
            help="ask the model again even where the response cache has an answer (the new answers replace the old)",
        ),
    ] = False,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override any recipe value: --set deviations.per_trace=2")
    ] = None,
) -> None:
    """Build a dataset of UNDO traces from a recipe."""
    from tracegen.pipeline.build import build as run_build
    from tracegen.pipeline.build import uses_weak_models
    from tracegen.recipe import load_recipe

    with friendly_errors():
        flags = {
            "seed": seed,
            "limit": limit,
            "source.path": source,
            "export.tokenizer": tokenizer,
            "export.undo_unit": undo_unit,
            "export.context_mode": context_mode,
            "export.loss": loss,
            "export.chat_template": chat_template,
            "export.format": format,
            "export.layout": layout,
            "deviations.weak.backend.kind": backend or ("replay" if replay else None),
            "deviations.weak.backend.replay": replay,
            "deviations.weak.backend.base_url": base_url,
            "deviations.weak.backend.model": model,
            "deviations.weak.backend.refresh_cache": refresh_cache or None,
        }
        overrides = {k: v for k, v in flags.items() if v is not None}
        overrides.update(parse_overrides(set_ or []))
        loaded = load_recipe(recipe, overrides)
        if any(key.startswith("deviations.weak.") for key in overrides) and not uses_weak_models(loaded):
            raise InputError(
                f"recipe '{loaded.name}' draws no weak-model deviations (e.g. use --recipe gsm8k-weak)",
                field="--replay/--backend",
            )
        with progress_bar() as progress:
            task = progress.add_task("loading", total=None)

            def next_phase(description: str, total: int) -> None:
                progress.reset(task, description=description, total=total)

            report = run_build(
                loaded,
                out,
                num_proc=num_proc,
                overwrite=overwrite,
                shard=(shard_index, num_shards),
                executor=executor,
                ray_address=ray_address,
                on_phase=next_phase,
                on_advance=lambda n: progress.advance(task, n),
            )
    if num_shards > 1:
        console.print(
            f"[green]shard {shard_index} of {num_shards}[/] written to {Text(str(out))}; join all shards with: "
            "tracegen merge SHARD... --out OUT"
        )
        return
    _print_build_summary(report)


def _print_build_summary(report) -> None:
    table = Table(title=Text(f"tracegen build -> {report.out}"), show_header=False)
    table.add_row("rows", f"{report.rows:,} ({report.split}) from {report.problems:,} problems")
    if report.resumed_chunks:
        table.add_row("resumed", f"{report.resumed_chunks:,} chunks finished by an earlier run were reused")
    table.add_row("traces with deviations", f"{report.traces_with_deviations:,}")
    for kind, count in sorted(report.deviations.items()):
        table.add_row(f"  {kind}", f"{count:,}")
    table.add_row("rejected or dropped", f"{sum(report.dropped.values()):,}")
    for reason, count in sorted(report.dropped.items()):
        table.add_row(f"  {reason}", f"{count:,}")
    if report.model_calls:
        table.add_row("model calls", ", ".join(f"{key} {value:,}" for key, value in report.model_calls.items()))
    if report.skipped_rows:
        table.add_row("rows not written", f"{report.skipped_rows:,} (listed with reasons in skipped.jsonl)")
    table.add_row("seconds", f"{report.seconds:.1f} ({format_rate(report.rows, report.seconds)} rows/s)")
    console.print(table)
    for warning in report.warnings:
        say("warning:", "bold yellow", f"this dataset was {warning}")


@app.command()
def merge(
    shards: Annotated[
        list[Path],
        typer.Argument(help="the folders written by tracegen build --num-shards N --shard-index i, i = 0..N-1"),
    ],
    out: Annotated[Path, typer.Option(help="output folder: the dataset one build would have made")] = Path("out"),
    overwrite: Annotated[bool, typer.Option(help="replace a non-empty output folder")] = False,
) -> None:
    """Join shard builds into one dataset, byte for byte the one a single build makes."""
    from tracegen.pipeline.build import merge as run_merge

    with friendly_errors():
        report = run_merge(shards, out, overwrite=overwrite)
    _print_build_summary(report)


@app.command()
def check(out: Annotated[Path, typer.Argument(help="a folder written by tracegen build")]) -> None:
    """Re-derive every invariant of every row; exit 1 naming the first bad row and rule."""
    from tracegen.dataset.check import check_dataset

    with friendly_errors(), progress_bar() as progress:
        task = progress.add_task("checking", total=None)
        report = check_dataset(out, on_progress=lambda n: progress.advance(task, n))
    if report.failure:
        say("check failed", "bold red", f"after {report.rows:,} good rows: {report.failure}")
        raise typer.Exit(1)
    console.print(f"[green]ok[/]: {report.rows:,} rows, every invariant holds")


@app.command()
def inspect(
    out: Annotated[Path, typer.Argument(help="a folder written by tracegen build")],
    row: Annotated[int, typer.Option(help="row index")] = 0,
    tokens: Annotated[bool, typer.Option(help="also list every token with its label and position")] = False,
) -> None:
    """Show one row in colour: deviations, <UNDO>, masked and trained tokens."""
    from tracegen.dataset.inspect_row import inspect_row

    with friendly_errors():
        inspect_row(out, row, console, show_tokens=tokens)


@app.command()
def push(
    out: Annotated[Path, typer.Argument(help="a folder written by tracegen build")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="the Hub dataset to create or update: ORG/NAME")],
    private: Annotated[bool, typer.Option(help="create the repository as private")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check the folder and its card offline and list what would be uploaded")
    ] = False,
) -> None:
    """Upload a dataset folder to the Hugging Face Hub as it is (token from HF_TOKEN or `hf auth login`)."""
    from tracegen.hub import push as hub

    with friendly_errors():
        with progress_bar() as progress:
            task = progress.add_task("checking", total=None)
            plan = hub.plan_push(out, repo_id, on_progress=lambda n: progress.advance(task, n))
        if dry_run:
            table = Table(title=Text(f"tracegen push --dry-run: {plan.folder} -> {plan.repo_id}"))
            table.add_column("file")
            table.add_column("bytes", justify="right")
            for path, size in plan.files:
                table.add_row(Text(path), f"{size:,}")
            table.add_row("total", f"{plan.total_bytes:,}")
            console.print(table)
            console.print(
                f"ok: tracegen check passes and the card's YAML is valid; {len(plan.files)} files would be uploaded "
                "(dry run: nothing sent)"
            )
            return
        try:
            url = hub.push(plan, private=private)
        except hub.PushError as e:
            say("push failed:", "bold red", str(e))
            raise typer.Exit(1) from None
    console.print(Text(f"pushed {len(plan.files)} files to {url}"))


# registered last, so `tracegen --help` lists them after the dataset commands
for command in (diverge, decode, validate):
    app.command()(command)
