"""The model-facing commands: `tracegen diverge`, `decode` and `validate` (registered by tracegen.cli.main)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tracegen.cli.terminal import console, friendly_errors, parse_overrides, say
from tracegen.errors import InputError


def diverge(
    source: Annotated[Path, typer.Option(help="gold problems: GSM8K JSONL with question/answer fields")],
    replay: Annotated[
        Path | None, typer.Option(help="model solutions: JSONL with a question and {model: {solution}} objects")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="where to write one JSON row per wrong solution (replaced atomically); with --labels, the scores as "
            "JSON"
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="score the verifier against hand labels instead (the project's format, or ProcessBench's)"),
    ] = None,
    verifier: Annotated[
        str, typer.Option(help="divergence (rules, no model) | critic (an LLM judge) | ensemble (both)")
    ] = "divergence",
    critic: Annotated[
        Path | None,
        typer.Option(help="critic, ensemble: YAML file with the judge's backend (kind, model, base_url, ...)"),
    ] = None,
) -> None:
    """Find the first wrong step of every wrong solution (line, model, first_error_step, kind, reason), or score a
    verifier with --labels."""
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
            raise InputError(
                "give --replay FILE and --out FILE to label, or --labels FILE to score", field="--replay/--out"
            )
        report = run_diverge(source, replay, out, judge)
    console.print(Text(f"diverge: {report.summary()}"), soft_wrap=True)


def decode(
    model: Annotated[str, typer.Option(help="a transformers causal LM: local folder or Hub name")],
    prompt: Annotated[str | None, typer.Option(help="one prompt")] = None,
    prompts: Annotated[
        Path | None, typer.Option(help="JSONL file, one object per line with a 'prompt' string")
    ] = None,
    tokenizer: Annotated[str | None, typer.Option(help="tokenizer folder or Hub name (default: the model's)")] = None,
    mode: Annotated[
        str, typer.Option(help="hard (undone tokens leave the KV cache) | soft (they stay in context)")
    ] = "hard",
    undo_unit: Annotated[str, typer.Option(help="token | step")] = "token",
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 128,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 is greedy")] = 0.0,
    top_k: Annotated[int | None, typer.Option(min=1)] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    seed: Annotated[int | None, typer.Option(help="random seed for sampling")] = None,
    max_undos: Annotated[int, typer.Option(min=0, help="a row that emits more <UNDO>s than this ends")] = 64,
    undo_threshold: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.999,
            help="emit <UNDO> only where its probability exceeds this; elsewhere the best other token",
        ),
    ] = 0.0,
    ban_after: Annotated[
        int,
        typer.Option(
            min=0,
            help="hard mode: a state may not emit a token it has undone this many times (1: at the first undo; 0: "
            "never)",
        ),
    ] = 2,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    device: Annotated[str | None, typer.Option(help="torch device (default: cuda when there is one)")] = None,
    out: Annotated[Path | None, typer.Option(help="also write one JSON object per prompt to this JSONL file")] = None,
) -> None:
    """Generate with a model that can <UNDO>; prints each trace with what it undid struck through."""
    from tracegen.atomic import write_jsonl_atomically
    from tracegen.decoding import decode as run_decode
    from tracegen.decoding import trace_segments
    from tracegen.decoding.files import load_model, read_prompts
    from tracegen.tokens import TraceTokenizer

    styles = {"kept": "", "erased": "strike dim", "undo": "bold red"}
    with friendly_errors():
        if (prompt is None) == (prompts is None):
            raise InputError("give exactly one of --prompt TEXT and --prompts FILE", field="--prompt/--prompts")
        texts = [prompt] if prompt is not None else read_prompts(prompts)
        lm = load_model(model, device)  # first: it explains a dataset folder given as the model
        tok = TraceTokenizer.load(tokenizer or model)
        options = dict(
            mode=mode,
            undo_unit=undo_unit,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            max_undos=max_undos,
            undo_threshold=undo_threshold,
            ban_after=ban_after,
        )
        results = []
        try:
            for start in range(
                0, len(texts), batch_size
            ):  # each batch its own seed, so batches do not repeat each other's draws
                results += run_decode(
                    lm, tok, texts[start : start + batch_size], seed=None if seed is None else seed + start, **options
                )
        except ValueError as e:  # an option the decoder refuses (unknown mode, top-k without sampling...)
            raise InputError(str(e), field="decode") from None
        for i, (text, result) in enumerate(zip(texts, results)):
            console.print(
                Text(f"[{i}] {result.finished}: {result.undos} undos, {result.erased} tokens erased", style="bold")
            )
            trace = Text.assemble(
                (text, "dim"),
                *((segment, styles[kind]) for segment, kind in trace_segments(result.trace_ids, tok, undo_unit)),
            )
            console.print(trace, highlight=False, soft_wrap=True)
        if out is not None:
            write_jsonl_atomically(out, ({"prompt": text, **result.record()} for text, result in zip(texts, results)))
            say("wrote", "green", str(out))


def validate(
    recipe: Annotated[str, typer.Option(help="a recipe with the synthetic arith source")] = "arith",
    budget_minutes: Annotated[float, typer.Option(help="wall time of the whole run, all variants and seeds")] = 30.0,
    seeds: Annotated[int, typer.Option(min=1, help="training seeds per variant")] = 3,
    out: Annotated[Path, typer.Option(help="folder for results.md, results.json, results.png and the runs")] = Path(
        "validate"
    ),
    train_problems: Annotated[
        int | None, typer.Option(min=1, help="training problems (default: the recipe's)")
    ] = None,
    eval_problems: Annotated[int, typer.Option(min=1, help="held-out problems")] = 100,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a recipe value for every dataset: --set deviations.clean_fraction=0.3"),
    ] = None,
    undo_threshold: Annotated[
        float,
        typer.Option(
            min=0.0, max=0.999, help="evaluation decodes emit <UNDO> only where its probability exceeds this"
        ),
    ] = 0.0,
    ban_after: Annotated[
        int,
        typer.Option(
            min=0, help="evaluation decodes, hard mode: ban a token at a state after this many undos there (0: never)"
        ),
    ] = 2,
    parity: Annotated[
        bool, typer.Option(help="also train each trace variant until its clean-token loss reaches clean SFT's")
    ] = True,
) -> None:
    """Train tiny models from scratch on clean, naive and masked trace data; measure whether they learn to undo."""
    from tracegen.validate.evaluate import DecodeSettings
    from tracegen.validate.run import ValidateConfig
    from tracegen.validate.run import validate as run_validate

    command = f"tracegen validate --recipe {recipe} --budget-minutes {budget_minutes:g} --seeds {seeds} --out {out}"
    command += (f" --train-problems {train_problems}" if train_problems else "") + f" --eval-problems {eval_problems}"
    command += "".join(f" --set {pair}" for pair in set_ or [])
    command += (
        (f" --undo-threshold {undo_threshold:g}" if undo_threshold else "")
        + (f" --ban-after {ban_after}" if ban_after != 2 else "")
        + ("" if parity else " --no-parity")
    )
    with friendly_errors():
        config = ValidateConfig(
            recipe=recipe,
            out=out,
            budget_minutes=budget_minutes,
            seeds=seeds,
            train_problems=train_problems,
            eval_problems=eval_problems,
            overrides=parse_overrides(set_ or []),
            decoding=DecodeSettings(undo_threshold=undo_threshold, ban_after=ban_after),
            parity=parity,
            command=command,
        )
        run_validate(config, say=lambda line: say("validate:", "cyan", line))
    say("wrote", "green", str(out / "results.md"))
