"""What a trainer measures on held-out rows: loss, whether the model undoes forced mistakes, and decoded accuracy.

- `teacher_forced`: one masked forward per batch gives the held-out loss (the labels column,
  exactly what training minimises) and the *forced-deviation probe*: the row's own deviation is
  forced into the context and the probe asks whether the model's greedy next token is `<UNDO>`
  (at the state just before each `<UNDO>` group, i.e. right after the mistake). Its controls are
  how often `<UNDO>` is the greedy choice where the labels say a clean token comes (false alarms),
  over all such states and over those at a clean step end (after a newline token), where most
  mistakes are undone, so that "undo after every line" does not pass for detection.
- `decoded`: the prompts decoded greedily by the KV-trimming decoder in the dataset's context
  mode: final-answer accuracy against the row's `answer`, and how often the model undoes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from tracegen.columns import IGNORE
from tracegen.dataset.load import TraceDataset
from tracegen.train.loss import label_loss, model_inputs
from tracegen.train.rewards import answer_matches


@torch.no_grad()
def teacher_forced(
    model, rows: Sequence[Mapping], collate: Callable, *, undo_id: int, step_ends: frozenset[int], batch_size: int = 16
) -> dict[str, float]:
    """eval_loss (mean over labelled tokens) and greedy `<UNDO>` rates: undo_after_deviation,
    undo_false_alarm(_at_step_end).

    `step_ends`: the ids of step delimiters (newline tokens).
    """
    device = next(model.parameters()).device
    delimiters = torch.tensor(sorted(step_ends), dtype=torch.long, device=device)
    loss_sum, tokens = 0.0, 0
    probe_hits, probes = 0, 0
    alarms, clean, step_end_alarms, clean_step_ends = 0, 0, 0, 0
    for start in range(0, len(rows), batch_size):
        chunk = [rows[i] for i in range(start, min(start + batch_size, len(rows)))]
        batch = {key: value.to(device) for key, value in collate(chunk).items()}
        logits = model(**model_inputs(batch)).logits
        total, count = label_loss(logits, batch["labels"])
        loss_sum, tokens = loss_sum + total.item(), tokens + count
        greedy_undo = logits.argmax(-1) == undo_id  # [B, L]: the state at i would emit <UNDO>
        for b, row in enumerate(chunk):
            states = torch.tensor([span[2] - 1 for span in row["prune_spans"]], dtype=torch.long, device=device)
            probe_hits += int(greedy_undo[b, states].sum()) if len(states) else 0
            probes += len(states)
        targets = batch["labels"][:, 1:]
        clean_states = (targets != IGNORE) & (targets != undo_id)
        at_step_end = clean_states & torch.isin(batch["input_ids"][:, :-1], delimiters)
        alarms += int((greedy_undo[:, :-1] & clean_states).sum())
        clean += int(clean_states.sum())
        step_end_alarms += int((greedy_undo[:, :-1] & at_step_end).sum())
        clean_step_ends += int(at_step_end.sum())
    return {
        "eval_loss": loss_sum / max(tokens, 1),
        "undo_after_deviation": probe_hits / probes if probes else float("nan"),
        "undo_false_alarm": alarms / max(clean, 1),
        "undo_false_alarm_at_step_end": step_end_alarms / max(clean_step_ends, 1),
    }


def decoded(
    model,
    data: TraceDataset,
    rows: Sequence[Mapping],
    *,
    max_new_tokens: int,
    batch_size: int = 16,
    mode: str | None = None,
) -> dict[str, float]:
    """accuracy, undo_rate (share of outputs with an `<UNDO>`), undos_per_output and finished_eos of greedy decodes.

    `mode`: the context mode to decode in (default: the dataset's).
    """
    from tracegen.decoding import decode

    correct = with_undo = undos = eos = 0
    for start in range(0, len(rows), batch_size):
        chunk = [rows[i] for i in range(start, min(start + batch_size, len(rows)))]
        results = decode(
            model,
            data.tok,
            [data.prompt_ids(row) for row in chunk],
            mode=mode or data.context_mode,
            undo_unit=data.undo_unit,
            max_new_tokens=max_new_tokens,
        )
        for row, result in zip(chunk, results):
            correct += answer_matches(result.text, row["answer"]) is True
            with_undo += result.undos > 0
            undos += result.undos
            eos += result.finished == "eos"
    n = max(len(rows), 1)
    return {
        "accuracy": correct / n,
        "undo_rate": with_undo / n,
        "undos_per_output": undos / n,
        "finished_eos": eos / n,
    }
