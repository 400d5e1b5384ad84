"""Decode held-out problems with a trained model and measure (tracegen.validate.metrics).

Two greedy decodes per problem, both by the KV-trimming decoder in the variant's context mode and
undo unit:
- free: the prompt alone. Accuracy, spontaneous deviations, undo precision and recall, cost.
- forced: the held-out row's own deviation (a rule-made mistake at a random step, spliced by
  `tracegen build` exactly as in training data) is forced into the decode right after the clean
  steps before it; then the model goes on alone. *Recovery rate*: the share whose final output
  (every `<UNDO>` applied) still has the right answer. *Undo after forced*: the share whose first
  free token is `<UNDO>`.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracegen.decoding import decode
from tracegen.train.data import TraceDataset
from tracegen.train.rewards import answer_matches
from tracegen.validate.forcing import PrefixForcing
from tracegen.validate.metrics import Problem, SolutionStats, solution_stats


def problem_of(row: Mapping) -> Problem:
    return Problem(question=row["prompt"], gold_solution=row["clean_completion"], answer=row["answer"])


def forced_deviation(row: Mapping, prompt_length: int) -> list[int]:
    """The completion tokens up to the end of the row's first deviation: clean steps, then the mistake."""
    return list(row["input_ids"][prompt_length : row["deviations"][0]["token_end"]])


def evaluate(model, held_out: TraceDataset, *, mode: str, undo_unit: str, batch_size: int = 32) -> dict[str, float]:
    """Rates of the free and forced decodes of every held-out row (rows without a deviation get no forced decode)."""
    rows = [held_out.rows[i] for i in range(len(held_out.rows))]
    prompts = [held_out.prompt_ids(row) for row in rows]
    longest = max(len(row["input_ids"]) - len(prompt) for row, prompt in zip(rows, prompts))
    budget = 2 * longest  # room for the gold solution and as many tokens again of mistakes and undos
    tok = held_out.tok
    free = SolutionStats()
    for start in range(0, len(rows), batch_size):
        chunk = slice(start, start + batch_size)
        results = decode(model, tok, prompts[chunk], mode=mode, undo_unit=undo_unit, max_new_tokens=budget)
        for row, result in zip(rows[chunk], results):
            free.add(solution_stats(result.trace_ids, problem_of(row), tok, undo_unit))
    forced_rows = [(row, prompt) for row, prompt in zip(rows, prompts) if row["deviations"]]
    recovered = undone = 0
    for start in range(0, len(forced_rows), batch_size):
        chunk = forced_rows[start : start + batch_size]
        prefixes = [forced_deviation(row, len(prompt)) for row, prompt in chunk]
        forcing = PrefixForcing(model, prefixes)
        results = decode(forcing, tok, [prompt for _, prompt in chunk], mode=mode, undo_unit=undo_unit, max_new_tokens=budget + max(map(len, prefixes)))
        for (row, _), prefix, result in zip(chunk, prefixes, results):
            recovered += answer_matches(result.text, row["answer"]) is True
            undone += len(result.trace_ids) > len(prefix) and result.trace_ids[len(prefix)] == tok.undo_id
    count = max(len(forced_rows), 1)
    return {**free.rates(), "recovery_rate": recovered / count, "undo_after_forced": undone / count, "problems": len(rows), "forced_problems": len(forced_rows)}
