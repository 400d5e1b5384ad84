"""The `tracegen` command line. Thin: parsing, progress and printing; the work lives in the modules."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from tracegen import __version__
from tracegen.errors import InputError

app = typer.Typer(help="Build, check and inspect training traces that teach models to take back their mistakes with <UNDO>.", no_args_is_help=True, add_completion=False)
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


def _version(value: bool) -> None:
    if value:
        console.print(f"tracegen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")] = False) -> None:
    """Build, check and inspect training traces that teach models to take back their mistakes with <UNDO>."""


def _say(label: str, style: str, message: str) -> None:
    """One line on stderr; `message` comes from data and paths, so it is never read as markup."""
    err_console.print(Text.assemble((label, style), " ", message), highlight=False, soft_wrap=True)


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # so `kill` cleans up like Ctrl-C does


@contextmanager
def _friendly_errors():
    """Bad input: one line on stderr and exit 2. Ctrl-C or SIGTERM: a short note and exit 130, nothing half-written."""
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        yield
    except InputError as e:
        _say("error:", "bold red", str(e))
        raise typer.Exit(2) from None
    except OSError as e:  # disk full, permission denied...: the staging folder is already removed
        _say("error:", "bold red", f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        _say("interrupted:", "yellow", "nothing was written to the output folder")
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parse_overrides(pairs: list[str]) -> dict[str, object]:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"expected KEY=VALUE, got {pair!r}", field="--set")
        try:
            overrides[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise InputError(f"value is not valid YAML ({getattr(e, 'problem', None) or type(e).__name__})", field=f"--set {key}") from None
    return overrides


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    )


@app.command()
def build(
    recipe: Annotated[str, typer.Option(help="built-in recipe name (gsm8k, arith) or a path to a recipe YAML")] = "gsm8k",
    out: Annotated[Path, typer.Option(help="output folder (a Hugging Face dataset repository)")] = Path("out"),
    source: Annotated[str | None, typer.Option(help="local JSONL with question/answer fields (default: the recipe's source)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N problems")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="transformers tokenizer name or local path (default: the embedded one)")] = None,
    undo_unit: Annotated[str | None, typer.Option(help="token | step")] = None,
    context_mode: Annotated[str | None, typer.Option(help="soft | hard")] = None,
    loss: Annotated[str | None, typer.Option(help="msft | naive | clean")] = None,
    chat_template: Annotated[bool | None, typer.Option("--chat-template/--plain-prompt", help="format prompts with the tokenizer's chat template")] = None,
    format: Annotated[str | None, typer.Option("--format", help="parquet | jsonl (jsonl also writes parquet)")] = None,
    num_proc: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    overwrite: Annotated[bool, typer.Option(help="replace a non-empty output folder")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override any recipe value: --set deviations.per_trace=2")] = None,
) -> None:
    """Build a dataset of UNDO traces from a recipe."""
    from tracegen.build import build as run_build
    from tracegen.recipe import load_recipe

    with _friendly_errors():
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
        }
        overrides = {k: v for k, v in flags.items() if v is not None}
        overrides.update(_parse_overrides(set_ or []))
        loaded = load_recipe(recipe, overrides)
        with _progress() as progress:
            task = progress.add_task(f"building {loaded.name}", total=None)
            report = run_build(
                loaded,
                out,
                num_proc=num_proc,
                overwrite=overwrite,
                on_start=lambda total: progress.update(task, total=total),
                on_advance=lambda n: progress.advance(task, n),
            )
    _print_build_summary(report)


def _print_build_summary(report) -> None:
    table = Table(title=Text(f"tracegen build -> {report.out}"), show_header=False)
    table.add_row("rows", f"{report.rows:,} ({report.split}) from {report.problems:,} problems")
    table.add_row("traces with deviations", f"{report.traces_with_deviations:,}")
    for kind, count in sorted(report.deviations.items()):
        table.add_row(f"  {kind}", f"{count:,}")
    table.add_row("rejected or dropped", f"{sum(report.dropped.values()):,}")
    for reason, count in sorted(report.dropped.items()):
        table.add_row(f"  {reason}", f"{count:,}")
    table.add_row("seconds", f"{report.seconds:.1f} ({report.rows / max(report.seconds, 1e-9):,.0f} rows/s)")
    console.print(table)


@app.command()
def check(out: Annotated[Path, typer.Argument(help="a folder written by tracegen build")]) -> None:
    """Re-derive every invariant of every row; exit 1 naming the first bad row and rule."""
    from tracegen.check import check_dataset

    with _friendly_errors(), _progress() as progress:
        task = progress.add_task("checking", total=None)
        report = check_dataset(out, on_progress=lambda n: progress.advance(task, n))
    if report.failure:
        _say("check failed", "bold red", f"after {report.rows:,} good rows: {report.failure}")
        raise typer.Exit(1)
    console.print(f"[green]ok[/]: {report.rows:,} rows, every invariant holds")


@app.command()
def inspect(
    out: Annotated[Path, typer.Argument(help="a folder written by tracegen build")],
    row: Annotated[int, typer.Option(help="row index")] = 0,
    tokens: Annotated[bool, typer.Option(help="also list every token with its label and position")] = False,
) -> None:
    """Show one row in colour: deviations, <UNDO>, masked and trained tokens."""
    from tracegen.inspect_row import inspect_row

    with _friendly_errors():
        inspect_row(out, row, console, show_tokens=tokens)
