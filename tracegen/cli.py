"""The `tracegen` command line. Thin: parsing, progress and printing; the work lives in the modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from tracegen import __version__
from tracegen.errors import InputError
from tracegen.progress import LineProgress, format_rate
from tracegen.resources import resource_dir
from tracegen.terminal import console, err_console, friendly_errors, say
from tracegen.train.commands import train_app

app = typer.Typer(help="Build, check, publish, decode and train on traces that teach models to take back their mistakes with <UNDO>.", no_args_is_help=True, add_completion=False)
app.add_typer(train_app, name="train")  # tracegen train msft|grpo (tracegen/train/commands.py)


def _version(value: bool) -> None:
    if value:
        console.print(f"tracegen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")] = False) -> None:
    """Build, check, publish, decode and train on traces that teach models to take back their mistakes with <UNDO>."""


RECIPES = sorted(path.stem for path in resource_dir("recipes").glob("*.yaml"))


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


def _progress() -> Progress | LineProgress:
    """A live bar on a terminal; plain progress lines when stderr is a log (CI, nohup), so long runs are never silent."""
    if not err_console.is_terminal:
        return LineProgress(sys.stderr)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


@app.command()
def build(
    recipe: Annotated[str, typer.Option(help=f"built-in recipe name ({', '.join(RECIPES)}) or a path to a recipe YAML")] = "gsm8k",
    out: Annotated[Path, typer.Option(help="output folder (a Hugging Face dataset repository)")] = Path("out"),
    source: Annotated[str | None, typer.Option(help="local file: gsm8k JSONL with question/answer, or for generic recipes JSONL/Parquet with the recipe's fields (default: the recipe's source)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N problems")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="transformers tokenizer name or local path (default: the embedded one)")] = None,
    undo_unit: Annotated[str | None, typer.Option(help="token | step")] = None,
    context_mode: Annotated[str | None, typer.Option(help="soft | hard")] = None,
    loss: Annotated[str | None, typer.Option(help="msft | naive | clean")] = None,
    chat_template: Annotated[bool | None, typer.Option("--chat-template/--plain-prompt", help="format prompts with the tokenizer's chat template")] = None,
    format: Annotated[str | None, typer.Option("--format", help="parquet | jsonl (jsonl also writes parquet)")] = None,
    layout: Annotated[str | None, typer.Option(help="packed | branches (hard rows unrolled into plain causal rows for any trainer)")] = None,
    num_proc: Annotated[int | None, typer.Option(min=1, envvar="TRACEGEN_NUM_PROC", help="worker processes (default: the available CPU cores)")] = None,
    executor: Annotated[str, typer.Option(help="local (processes on this machine) | ray (tasks on a Ray cluster; pip install \"tracegen[ray]\")")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster to use with --executor ray (default: $RAY_ADDRESS, one running here, or a new local one)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace a non-empty output folder")] = False,
    num_shards: Annotated[int, typer.Option(min=1, help="split the build across N machines (join the shards with tracegen merge)")] = 1,
    shard_index: Annotated[int, typer.Option(min=0, help="which of the --num-shards shards this machine builds (0-based)")] = 0,
    replay: Annotated[str | None, typer.Option(help="weak-model solutions to replay from JSONL (recipes with the 'weak' generator)")] = None,
    backend: Annotated[str | None, typer.Option(help="weak-model backend: replay | openai | hf")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (key from $OPENAI_API_KEY)")] = None,
    model: Annotated[str | None, typer.Option(help="weak model name (openai) or local path / Hub id (hf)")] = None,
    refresh_cache: Annotated[bool, typer.Option("--refresh-cache", help="ask the model again even where the response cache has an answer (the new answers replace the old)")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override any recipe value: --set deviations.per_trace=2")] = None,
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
        overrides.update(_parse_overrides(set_ or []))
        loaded = load_recipe(recipe, overrides)
        if any(key.startswith("deviations.weak.") for key in overrides) and not uses_weak_models(loaded):
            raise InputError(f"recipe '{loaded.name}' draws no weak-model deviations (e.g. use --recipe gsm8k-weak)", field="--replay/--backend")
        with _progress() as progress:
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
        console.print(f"[green]shard {shard_index} of {num_shards}[/] written to {Text(str(out))}; join all shards with: tracegen merge SHARD... --out OUT")
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
    if report.skipped:
        table.add_row("rows not written", f"{len(report.skipped):,} (listed with reasons in skipped.jsonl)")
    table.add_row("seconds", f"{report.seconds:.1f} ({format_rate(report.rows, report.seconds)} rows/s)")
    console.print(table)
    for warning in report.warnings:
        say("warning:", "bold yellow", f"this dataset was {warning}")


@app.command()
def merge(
    shards: Annotated[list[Path], typer.Argument(help="the folders written by tracegen build --num-shards N --shard-index i, i = 0..N-1")],
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
    from tracegen.check import check_dataset

    with friendly_errors(), _progress() as progress:
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
    from tracegen.inspect_row import inspect_row

    with friendly_errors():
        inspect_row(out, row, console, show_tokens=tokens)


@app.command()
def push(
    out: Annotated[Path, typer.Argument(help="a folder written by tracegen build")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="the Hub dataset to create or update: ORG/NAME")],
    private: Annotated[bool, typer.Option(help="create the repository as private")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check the folder and its card offline and list what would be uploaded")] = False,
) -> None:
    """Upload a dataset folder to the Hugging Face Hub as it is (token from HF_TOKEN or `hf auth login`)."""
    from tracegen.export import push as hub

    with friendly_errors():
        with _progress() as progress:
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
            console.print(f"ok: tracegen check passes and the card's YAML is valid; {len(plan.files)} files would be uploaded (dry run: nothing sent)")
            return
        try:
            url = hub.push(plan, private=private)
        except hub.PushError as e:
            say("push failed:", "bold red", str(e))
            raise typer.Exit(1) from None
    console.print(Text(f"pushed {len(plan.files)} files to {url}"))


@app.command()
def diverge(
    source: Annotated[Path, typer.Option(help="gold problems: GSM8K JSONL with question/answer fields")],
    replay: Annotated[Path | None, typer.Option(help="model solutions: JSONL with a question and {model: {solution}} objects")] = None,
    out: Annotated[Path | None, typer.Option(help="where to write one JSON row per wrong solution (replaced atomically); with --labels, the scores as JSON")] = None,
    labels: Annotated[Path | None, typer.Option(help="score the verifier against hand labels instead (the project's format, or ProcessBench's)")] = None,
    verifier: Annotated[str, typer.Option(help="divergence (rules, no model) | critic (an LLM judge) | ensemble (both)")] = "divergence",
    critic: Annotated[Path | None, typer.Option(help="critic, ensemble: YAML file with the judge's backend (kind, model, base_url, ...)")] = None,
) -> None:
    """Find the first wrong step of every wrong solution (line, model, first_error_step, kind, reason), or score a verifier with --labels."""
    from tracegen.verifiers.diverge import diverge as run_diverge
    from tracegen.verifiers.diverge import load_verifier

    with friendly_errors():
        judge = load_verifier(verifier, critic)
        if labels is not None:
            from tracegen.verifiers.scoring import read_labelled, score, write_score

            result = score(judge, read_labelled(labels, source, replay))
            table = Table(title=f"{verifier} verifier against {labels.name}", show_header=False)
            for name, value in result.lines():
                table.add_row(name, value)
            console.print(table)
            if out is not None:
                write_score(out, result)
            return
        if replay is None or out is None:
            raise InputError("give --replay FILE and --out FILE to label, or --labels FILE to score", field="--replay/--out")
        report = run_diverge(source, replay, out, judge)
    console.print(Text(f"diverge: {report.summary()}"), soft_wrap=True)


@app.command()
def decode(
    model: Annotated[str, typer.Option(help="a transformers causal LM: local folder or Hub name")],
    prompt: Annotated[str | None, typer.Option(help="one prompt")] = None,
    prompts: Annotated[Path | None, typer.Option(help="JSONL file, one object per line with a 'prompt' string")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="tokenizer folder or Hub name (default: the model's)")] = None,
    mode: Annotated[str, typer.Option(help="hard (undone tokens leave the KV cache) | soft (they stay in context)")] = "hard",
    undo_unit: Annotated[str, typer.Option(help="token | step")] = "token",
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 128,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 is greedy")] = 0.0,
    top_k: Annotated[int | None, typer.Option(min=1)] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    seed: Annotated[int | None, typer.Option(help="random seed for sampling")] = None,
    max_undos: Annotated[int, typer.Option(min=0, help="a row that emits more <UNDO>s than this ends")] = 64,
    undo_threshold: Annotated[float, typer.Option(min=0.0, max=0.999, help="emit <UNDO> only where its probability exceeds this; elsewhere the best other token")] = 0.0,
    ban_after: Annotated[int, typer.Option(min=0, help="hard mode: a state may not emit a token it has undone this many times (1: at the first undo; 0: never)")] = 2,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    device: Annotated[str | None, typer.Option(help="torch device (default: cuda when there is one)")] = None,
    out: Annotated[Path | None, typer.Option(help="also write one JSON object per prompt to this JSONL file")] = None,
) -> None:
    """Generate with a model that can <UNDO>; prints each trace with what it undid struck through."""
    from tracegen.decoding import decode as run_decode
    from tracegen.decoding import trace_segments
    from tracegen.atomic import write_jsonl_atomically
    from tracegen.decoding.files import load_model, read_prompts
    from tracegen.export.tokenizer import TraceTokenizer

    styles = {"kept": "", "erased": "strike dim", "undo": "bold red"}
    with friendly_errors():
        if (prompt is None) == (prompts is None):
            raise InputError("give exactly one of --prompt TEXT and --prompts FILE", field="--prompt/--prompts")
        texts = [prompt] if prompt is not None else read_prompts(prompts)
        lm = load_model(model, device)  # first: it explains a dataset folder given as the model
        tok = TraceTokenizer.load(tokenizer or model)
        options = dict(mode=mode, undo_unit=undo_unit, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, max_undos=max_undos, undo_threshold=undo_threshold, ban_after=ban_after)
        results = []
        try:
            for start in range(0, len(texts), batch_size):  # each batch its own seed, so batches do not repeat each other's draws
                results += run_decode(lm, tok, texts[start : start + batch_size], seed=None if seed is None else seed + start, **options)
        except ValueError as e:  # an option the decoder refuses (unknown mode, top-k without sampling...)
            raise InputError(str(e), field="decode") from None
        for i, (text, result) in enumerate(zip(texts, results)):
            console.print(Text(f"[{i}] {result.finished}: {result.undos} undos, {result.erased} tokens erased", style="bold"))
            trace = Text.assemble((text, "dim"), *((segment, styles[kind]) for segment, kind in trace_segments(result.trace_ids, tok, undo_unit)))
            console.print(trace, highlight=False, soft_wrap=True)
        if out is not None:
            write_jsonl_atomically(out, ({"prompt": text, **result.record()} for text, result in zip(texts, results)))
            say("wrote", "green", str(out))


@app.command()
def validate(
    recipe: Annotated[str, typer.Option(help="a recipe with the synthetic arith source")] = "arith",
    budget_minutes: Annotated[float, typer.Option(help="wall time of the whole run, all variants and seeds")] = 30.0,
    seeds: Annotated[int, typer.Option(min=1, help="training seeds per variant")] = 3,
    out: Annotated[Path, typer.Option(help="folder for results.md, results.json, results.png and the runs")] = Path("validate"),
    train_problems: Annotated[int | None, typer.Option(min=1, help="training problems (default: the recipe's)")] = None,
    eval_problems: Annotated[int, typer.Option(min=1, help="held-out problems")] = 100,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a recipe value for every dataset: --set deviations.clean_fraction=0.3")] = None,
    undo_threshold: Annotated[float, typer.Option(min=0.0, max=0.999, help="evaluation decodes emit <UNDO> only where its probability exceeds this")] = 0.0,
    ban_after: Annotated[int, typer.Option(min=0, help="evaluation decodes, hard mode: ban a token at a state after this many undos there (0: never)")] = 2,
    parity: Annotated[bool, typer.Option(help="also train each trace variant until its clean-token loss reaches clean SFT's")] = True,
) -> None:
    """Train tiny models from scratch on clean, naive and masked trace data; measure whether they learn to undo."""
    from tracegen.validate.evaluate import DecodeSettings
    from tracegen.validate.run import ValidateConfig
    from tracegen.validate.run import validate as run_validate

    command = f"tracegen validate --recipe {recipe} --budget-minutes {budget_minutes:g} --seeds {seeds} --out {out}"
    command += (f" --train-problems {train_problems}" if train_problems else "") + f" --eval-problems {eval_problems}"
    command += "".join(f" --set {pair}" for pair in set_ or [])
    command += (f" --undo-threshold {undo_threshold:g}" if undo_threshold else "") + (f" --ban-after {ban_after}" if ban_after != 2 else "") + ("" if parity else " --no-parity")
    with friendly_errors():
        config = ValidateConfig(
            recipe=recipe, out=out, budget_minutes=budget_minutes, seeds=seeds, train_problems=train_problems, eval_problems=eval_problems,
            overrides=_parse_overrides(set_ or []), decoding=DecodeSettings(undo_threshold=undo_threshold, ban_after=ban_after), parity=parity, command=command,
        )
        run_validate(config, say=lambda line: say("validate:", "cyan", line))
    say("wrote", "green", str(out / "results.md"))
