"""What decoding one prompt gives: the applied output, the raw trace, and what it cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from tracegen.tokens import TraceTokenizer
from tracegen.trace import UndoUnit, replay

Finish = Literal["eos", "length", "undo_cap"]


@dataclass
class DecodeResult:
    """One row's decoding.

    trace_ids: every token the model emitted, `<UNDO>` included (an `<UNDO>` refused by the undo
        cap ends the row and is not part of it). ids: the trace applied by the stack machine.
    text / trace_text: ids / trace_ids decoded (`<UNDO>` written literally), without a final EOS.
    undos: `<UNDO>`s in the trace. erased: tokens they popped. forward_passes: model forwards whose
        logits chose one of this row's tokens (one per emitted token: an undo costs one step).
    logprobs: when asked for, log-softmax of the model's raw logits at each emitted token (no
        temperature, no bans): what a trainer's forward over the same trace computes.
    logits: when asked for, [len(trace_ids), V] raw logits that chose each token.
    """

    prompt_ids: list[int]
    trace_ids: list[int]
    ids: list[int]
    text: str
    trace_text: str
    undos: int
    erased: int
    forward_passes: int
    finished: Finish
    logprobs: list[float] | None = None
    logits: Tensor | None = None

    def record(self) -> dict:
        """The JSON-ready fields (no tensors)."""
        return {
            "text": self.text,
            "trace": self.trace_text,
            "ids": self.ids,
            "trace_ids": self.trace_ids,
            "undos": self.undos,
            "erased": self.erased,
            "forward_passes": self.forward_passes,
            "finished": self.finished,
        }


def _without_eos(ids: list[int], eos_id: int | None) -> list[int]:
    return ids[:-1] if ids and ids[-1] == eos_id else ids


def result_of(
    prompt_ids: list[int],
    trace: list[int],
    *,
    tok: TraceTokenizer,
    unit: UndoUnit,
    delimiters: frozenset[int],
    finished: Finish,
    forward_passes: int,
    logprobs: list[float] | None = None,
    logits: Tensor | None = None,
) -> DecodeResult:
    run = replay(trace, tok.undo_id, unit, delimiters)
    ids = [trace[i] for i in run.survivors]
    return DecodeResult(
        prompt_ids=prompt_ids,
        trace_ids=trace,
        ids=ids,
        text=tok.decode(_without_eos(ids, tok.eos_id)),
        trace_text=tok.decode(_without_eos(trace, tok.eos_id)),
        undos=sum(1 for t in trace if t == tok.undo_id),
        erased=sum(1 for by in run.popped_by if by >= 0),
        forward_passes=forward_passes,
        finished=finished,
        logprobs=logprobs,
        logits=logits,
    )


Segment = tuple[str, Literal["kept", "erased", "undo"]]


def trace_segments(trace: Sequence[int], tok: TraceTokenizer, unit: UndoUnit) -> list[Segment]:
    """The trace as runs of kept, erased and `<UNDO>` tokens, each run decoded (for display)."""
    tokens = _without_eos(list(trace), tok.eos_id)
    run = replay(tokens, tok.undo_id, unit, tok.delimiters if unit == "step" else frozenset())
    kinds = ["undo" if t == tok.undo_id else "erased" if by >= 0 else "kept" for t, by in zip(tokens, run.popped_by)]
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(tokens) + 1):
        if i == len(tokens) or kinds[i] != kinds[start]:
            segments.append((tok.decode(tokens[start:i]), kinds[start]))
            start = i
    return segments
