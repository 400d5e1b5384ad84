"""Decode held-out problems with a trained model and measure (tracegen.validate.metrics).

Greedy decodes by the KV-trimming decoder in the variant's context mode and undo unit, under
the decode settings `DecodeSettings` names (undo threshold, ban policy):
- free: the prompt alone. Accuracy, spontaneous deviations, undo precision and recall, cost,
  decodes ended by the undo cap.
- forced: the held-out row's own deviation (a rule-made mistake at a random step, spliced by
  `tracegen build` exactly as in training data) is forced into the decode right after the clean
  steps before it; then the model goes on alone. *Recovery rate*: the share whose final output
  (every `<UNDO>` applied) still has the right answer. *Undo after forced*: the share whose first
  free token is `<UNDO>`.
- false undo: each free decode that solved its problem without undoing is decoded again with one
  `<UNDO>` forced at a random token of it (the same token for every variant and policy), which
  erases a correct token. *Kept after a false undo*: the share still solved. In hard mode the ban
  policy decides whether the state may emit the erased token again, so this is measured for
  every policy in BAN_POLICIES (the issue-11 experiment that chose the default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random

import torch

from tracegen.dataset.load import TraceDataset
from tracegen.decoding import decode
from tracegen.decoding.rowstate import DEFAULT_BAN_AFTER
from tracegen.train.rewards import answer_matches
from tracegen.validate.forcing import PrefixForcing
from tracegen.validate.metrics import GoldReference, SolutionStats, solution_stats

BAN_POLICIES = (1, 2, 0)
"""ban_after values compared in hard mode: ban at the first undo (the old behaviour), at the second, never."""


@dataclass(frozen=True)
class DecodeSettings:
    undo_threshold: float = 0.0
    ban_after: int = DEFAULT_BAN_AFTER


def problem_of(row: Mapping) -> GoldReference:
    return GoldReference(question=row["prompt"], gold_solution=row["clean_completion"], answer=row["answer"])


def forced_deviation(row: Mapping, prompt_length: int) -> list[int]:
    """The completion tokens up to the end of the row's first deviation: clean steps, then the mistake."""
    return list(row["input_ids"][prompt_length : row["deviations"][0]["token_end"]])


def evaluate(
    model,
    held_out: TraceDataset,
    *,
    mode: str,
    undo_unit: str,
    settings: DecodeSettings = DecodeSettings(),
    batch_size: int = 32,
) -> dict[str, float]:
    """Rates of the free, forced and false-undo decodes of every held-out row (rows without a deviation get no forced
    decode)."""
    rows = [held_out.rows[i] for i in range(len(held_out.rows))]
    prompts = [held_out.prompt_ids(row) for row in rows]
    longest = max(len(row["input_ids"]) - len(prompt) for row, prompt in zip(rows, prompts))
    budget = 2 * longest  # room for the gold solution and as many tokens again of mistakes and undos
    tok = held_out.tok
    options = dict(
        mode=mode, undo_unit=undo_unit, undo_threshold=settings.undo_threshold, ban_after=settings.ban_after
    )
    free = SolutionStats()
    solved_cleanly: list[tuple[int, int]] = []  # (row index, length of its undo-free solved trace)
    for start in range(0, len(rows), batch_size):
        chunk = slice(start, start + batch_size)
        results = decode(model, tok, prompts[chunk], max_new_tokens=budget, **options)
        for index, (row, result) in enumerate(zip(rows[chunk], results), start):
            stats = solution_stats(
                result.trace_ids, problem_of(row), tok, undo_unit, undo_capped=result.finished == "undo_cap"
            )
            free.add(stats)
            if stats.correct and result.undos == 0 and len(result.trace_ids) > 1:
                solved_cleanly.append((index, len(result.trace_ids)))
    forced_rows = [(row, prompt) for row, prompt in zip(rows, prompts) if row["deviations"]]
    recovered = undone = 0
    for start in range(0, len(forced_rows), batch_size):
        chunk = forced_rows[start : start + batch_size]
        prefixes = [forced_deviation(row, len(prompt)) for row, prompt in chunk]
        forcing = PrefixForcing(model, prefixes)
        results = decode(
            forcing, tok, [prompt for _, prompt in chunk], max_new_tokens=budget + max(map(len, prefixes)), **options
        )
        for (row, _), prefix, result in zip(chunk, prefixes, results):
            recovered += answer_matches(result.text, row["answer"]) is True
            undone += len(result.trace_ids) > len(prefix) and result.trace_ids[len(prefix)] == tok.undo_id
    count = max(len(forced_rows), 1)
    metrics = {
        **free.rates(),
        "recovery_rate": recovered / count,
        "undo_after_forced": undone / count,
        "problems": len(rows),
        "forced_problems": len(forced_rows),
    }
    policies = BAN_POLICIES if mode == "hard" else (settings.ban_after,)  # bans act in hard mode only
    kept = {
        ban_after: kept_after_false_undo(
            model,
            tok,
            rows,
            prompts,
            solved_cleanly,
            max_new_tokens=budget,
            options={**options, "ban_after": ban_after},
            batch_size=batch_size,
        )
        for ban_after in policies
    }
    metrics["kept_after_false_undo"] = kept[settings.ban_after]
    metrics["false_undo_problems"] = len(solved_cleanly)
    if mode == "hard":
        metrics |= {f"kept_after_false_undo_ban_after_{ban_after}": share for ban_after, share in kept.items()}
    return metrics


def kept_after_false_undo(
    model,
    tok,
    rows: Sequence[Mapping],
    prompts: Sequence[Sequence[int]],
    solved: Sequence[tuple[int, int]],
    *,
    max_new_tokens: int,
    options: dict,
    batch_size: int,
) -> float:
    """Of the problems solved without undoing, the share still solved when one `<UNDO>` is forced at a random token of
    the solution."""
    if not solved:
        return float("nan")
    kept = 0
    for start in range(0, len(solved), batch_size):
        chunk = solved[start : start + batch_size]
        # step k emits <UNDO> instead of token k, popping token k-1 (a correct token, never the final EOS)
        at = torch.tensor([Random(index).randrange(1, length) for index, length in chunk])
        results = decode(
            model,
            tok,
            [prompts[index] for index, _ in chunk],
            max_new_tokens=max_new_tokens,
            force_undo=lambda active, step, at=at: at.to(active.device)[active] == step,
            **options,
        )
        kept += sum(
            answer_matches(result.text, rows[index]["answer"]) is True for (index, _), result in zip(chunk, results)
        )
    return kept / len(solved)
