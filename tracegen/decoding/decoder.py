"""The KV-trimming decoder: generation in which `<UNDO>` really erases (DESIGN.md section 4).

hard: an `<UNDO>` pops tokens off the row's stack and their slots leave its KV cache, so the model
always sees the surviving sequence at its own positions; the `<UNDO>` itself is never fed. The
step after an undo feeds the new stack top again (dropping its old slot), which recomputes the
state the row is back in: an undo costs the one forward step that any emitted token costs. A
revisited state may not re-emit a token it has undone there `ban_after` times (rowstate.py).
soft: plain generation; `<UNDO>` is an ordinary token in context and the stack machine only
defines the applied output.

A batch makes one forward per step for all its rows; rows undo independently (slots.py), and a
row leaves the batch when it ends (EOS, its token budget, or more `<UNDO>`s than `max_undos`).
The common step (no row undoes or ends) runs without touching the host.

`undo_threshold` P calibrates undoing at decode time: `<UNDO>` may be emitted only from a state
whose raw probability for it (softmax of the logits, before temperature and bans) exceeds P;
elsewhere it is masked and the best (or a sampled) other token comes instead. A model that puts
a few percent on `<UNDO>` at correct states then no longer undoes them when greedy ties are close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from tracegen.decoding.choice import TokenChooser
from tracegen.decoding.result import DecodeResult, Finish, result_of
from tracegen.decoding.rowstate import DEFAULT_BAN_AFTER, HardRowState
from tracegen.decoding.slots import SlotCache
from tracegen.tokens import TraceTokenizer
from tracegen.trace import PROMPT_END

ForceUndo = Callable[[Tensor, int], Tensor]
"""(prompt indices of the active rows [b], step) -> bool [b] on the same device: rows that emit `<UNDO>` now, whatever
the model says."""


def decode(
    model,
    tokenizer,
    prompts: Sequence[str] | Sequence[Sequence[int]],
    *,
    mode: str = "hard",
    undo_unit: str = "token",
    max_new_tokens: int = 128,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    max_undos: int = 64,
    undo_threshold: float = 0.0,
    ban_after: int = DEFAULT_BAN_AFTER,
    force_undo: ForceUndo | None = None,
    forced: Sequence[Sequence[int]] | None = None,
    return_logits: bool = False,
) -> list[DecodeResult]:
    """Decode a batch of prompts with any transformers causal LM.

    `tokenizer`: a TraceTokenizer or a transformers fast tokenizer (`<UNDO>` is added when missing;
    the model's vocabulary must have room for it). Text prompts get the tokenizer's default prefix
    (e.g. BOS); id prompts are used as given. `temperature` 0 is greedy.
    `forced`: teacher forcing, one trace per row: each row emits exactly these tokens (undos are
    applied as usual) and its results carry the log-probs (and, with `return_logits`, the logits)
    of the states that emitted them, e.g. to score a rollout as the decoder saw it.
    `force_undo`: makes rows emit `<UNDO>` at chosen steps (benchmarks, tests).
    `undo_threshold`: `<UNDO>` only where its probability exceeds this (0: wherever the model picks it).
    `ban_after`: in hard mode, a state may not emit a token it has undone this many times (0: never banned).
    """
    if mode not in ("soft", "hard"):
        raise ValueError(f"unknown context mode {mode!r} (expected soft or hard)")
    if undo_unit not in ("token", "step"):
        raise ValueError(f"unknown undo unit {undo_unit!r} (expected token or step)")
    if max_new_tokens < 1 or max_undos < 0:
        raise ValueError("max_new_tokens must be at least 1 and max_undos at least 0")
    if not 0.0 <= undo_threshold < 1.0:
        raise ValueError(f"undo_threshold must be in [0, 1), got {undo_threshold}")
    if ban_after < 0:
        raise ValueError(f"ban_after must be at least 0 (0 never bans), got {ban_after}")
    tok = (
        tokenizer
        if isinstance(tokenizer, TraceTokenizer)
        else TraceTokenizer(tokenizer, getattr(tokenizer, "name_or_path", "") or "tokenizer")
    )
    prompt_ids = [tok.prompt_ids(p, chat=False) if isinstance(p, str) else [int(t) for t in p] for p in prompts]
    if not prompt_ids or not all(prompt_ids):
        raise ValueError("decode needs at least one prompt, and every prompt at least one token")
    if forced is not None and (len(forced) != len(prompt_ids) or not all(forced)):
        raise ValueError("forced needs one non-empty trace per prompt")
    chooser = TokenChooser(
        temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, device=next(model.parameters()).device
    )
    with torch.inference_mode():
        batch = _Decoding(
            model,
            tok,
            prompt_ids,
            mode=mode,
            unit=undo_unit,
            max_new_tokens=max_new_tokens,
            chooser=chooser,
            max_undos=max_undos,
            undo_threshold=undo_threshold,
            ban_after=ban_after,
            force_undo=force_undo,
            forced=forced,
            return_logits=return_logits,
        )
        return batch.run()


class _Decoding:
    """One batch's decoding state. Batch rows are the active rows; `rows` maps them to prompt indices."""

    def __init__(
        self,
        model,
        tok: TraceTokenizer,
        prompts: list[list[int]],
        *,
        mode,
        unit,
        max_new_tokens,
        chooser,
        max_undos,
        undo_threshold,
        ban_after,
        force_undo,
        forced,
        return_logits,
    ):
        self.tok, self.prompts, self.mode, self.unit = tok, prompts, mode, unit
        self.delimiters = tok.delimiters if unit == "step" else frozenset()
        self.chooser, self.max_undos, self.force_undo = chooser, max_undos, force_undo
        self.undo_threshold, self.ban_after = undo_threshold, ban_after
        self.steps = max(len(f) for f in forced) if forced is not None else max_new_tokens
        pad_id = tok.hf.pad_token_id if tok.hf.pad_token_id is not None else (tok.eos_id or 0)
        self.slots = SlotCache(model, prompts, pad_id=pad_id, capacity=self.steps)
        if mode == "hard" and not self.slots.trimmable():
            raise ValueError(
                "hard mode trims the KV cache, which needs every cache layer to keep every token (no sliding window "
                "or recurrent layers)"
            )
        device, batch = self.slots.device, len(prompts)
        self.rows = torch.arange(batch, device=device)
        self.row_list = list(range(batch))
        self.index_of = {r: r for r in self.row_list}  # prompt index -> batch row
        self.positions = torch.tensor([len(p) for p in prompts], device=device)
        self.undos = torch.zeros(batch, dtype=torch.long, device=device)
        self.emitted = torch.full((batch, self.steps), -1, dtype=torch.long, device=device)
        self.forced = None
        if forced is not None:
            self.forced = torch.full((batch, self.steps), -1, dtype=torch.long)
            for row, trace in enumerate(forced):
                self.forced[row, : len(trace)] = torch.as_tensor(trace)
            self.forced = self.forced.to(device)
            self.limits = torch.tensor([len(f) for f in forced], device=device)
        self.logprobs = torch.zeros(batch, self.steps, device=device) if forced is not None else None
        self.return_logits = return_logits
        self.logits: Tensor | None = None
        self.states: dict[int, HardRowState] = {}
        self.watched: set[int] = (
            set()
        )  # rows on known ground (rowstate.py): their tokens go to their state as they come
        self.ends: dict[int, tuple[int, Finish]] = {}

    def run(self) -> list[DecodeResult]:
        logits = self.slots.prefill()
        if logits.shape[-1] <= self.tok.undo_id:
            raise ValueError(
                f"the model has {logits.shape[-1]} logits, no room for <UNDO> (id {self.tok.undo_id}); resize its "
                "embeddings"
            )
        if self.return_logits:
            self.logits = torch.zeros(len(self.prompts), self.steps, logits.shape[-1], device=logits.device)
        for step in range(self.steps):
            tokens = self._choose(logits, step)
            self._record(tokens, logits, step)
            fed = self._advance(tokens, step)
            if fed is None:
                break
            logits = self.slots.step(*fed)
        return self._collect()

    def _choose(self, logits: Tensor, step: int) -> Tensor:
        if self.forced is not None:
            tokens = self.forced[self.rows, step]
        else:
            allowed = self._without_unsure_undos(logits) if self.undo_threshold > 0 else logits
            tokens = self.chooser(self._without_banned(allowed) if self.watched else allowed)
        if self.force_undo is not None:
            tokens = torch.where(self.force_undo(self.rows, step), self.tok.undo_id, tokens)
        return tokens

    def _without_unsure_undos(self, logits: Tensor) -> Tensor:
        """`<UNDO>` masked in the rows whose probability for it is at most the threshold."""
        undo = self.tok.undo_id
        unsure = logits.softmax(-1)[:, undo] <= self.undo_threshold
        masked = logits.clone()
        masked[:, undo] = torch.where(unsure, float("-inf"), logits[:, undo])
        return masked

    def _without_banned(self, logits: Tensor) -> Tensor:
        rows, columns = [], []
        for r in self.watched:
            banned = self.states[r].banned()
            rows += [self.index_of[r]] * len(banned)
            columns += banned
        if not rows:
            return logits
        return logits.index_put(
            (torch.tensor(rows, device=logits.device), torch.tensor(columns, device=logits.device)),
            torch.tensor(float("-inf"), device=logits.device),
        )

    def _record(self, tokens: Tensor, logits: Tensor, step: int) -> None:
        self.emitted[self.rows, step] = tokens
        if self.logprobs is not None:
            self.logprobs[self.rows, step] = logits.log_softmax(-1).gather(1, tokens[:, None]).squeeze(1)
        if self.logits is not None:
            self.logits[self.rows, step] = logits

    def _advance(self, tokens: Tensor, step: int) -> tuple[Tensor, Tensor, Tensor] | None:
        """Apply this step's tokens; returns what to feed next (tokens, positions, slot ids), or None when every row
        ended."""
        undo_id, eos_id = self.tok.undo_id, self.tok.eos_id
        undo = tokens == undo_id
        self.undos += undo
        capped = undo & (self.undos > self.max_undos)
        done = capped if eos_id is None else capped | (tokens == eos_id)
        if self.forced is not None:
            done = done | (self.limits[self.rows] <= step + 1)
        elif step + 1 == self.steps:
            done = torch.ones_like(done)
        events = done | undo if self.mode == "hard" else done
        positions, slot_ids = self.positions, torch.full_like(tokens, step)
        if not self.watched and not bool(events.any()):
            self.positions = positions + 1
            return tokens, positions, slot_ids
        host_tokens, host_done, host_capped = tokens.tolist(), done.tolist(), capped.tolist()
        for r in list(self.watched):
            i = self.index_of[r]
            if not host_done[i] and host_tokens[i] != undo_id and not self.states[r].push(host_tokens[i]):
                self.watched.discard(r)
        refeeds = [
            self._undo(i, step)
            for i, t in enumerate(host_tokens)
            if t == undo_id and not host_done[i] and self.mode == "hard"
        ]
        if refeeds:
            index, token, position, slot = (torch.tensor(column, device=tokens.device) for column in zip(*refeeds))
            tokens, positions, slot_ids = (
                tokens.index_put((index,), token),
                positions.index_put((index,), position),
                slot_ids.index_put((index,), slot),
            )
        self.positions = positions + 1
        for i in (i for i, d in enumerate(host_done) if d):
            r = self.row_list[i]
            finished: Finish = "undo_cap" if host_capped[i] else "eos" if host_tokens[i] == eos_id else "length"
            self.ends[r] = (step if host_capped[i] else step + 1, finished)
            self.states.pop(r, None)
            self.watched.discard(r)
        keep_list = [i for i, d in enumerate(host_done) if not d]
        if not keep_list:
            return None
        if len(keep_list) < len(host_done):
            keep = torch.tensor(keep_list, device=tokens.device)
            self.slots.select(keep)
            self.rows, self.undos, self.positions = self.rows[keep], self.undos[keep], self.positions[keep]
            self.row_list = [self.row_list[i] for i in keep_list]
            self.index_of = {r: i for i, r in enumerate(self.row_list)}
            tokens, positions, slot_ids = tokens[keep], positions[keep], slot_ids[keep]
        if self.mode == "hard":
            self.slots.tidy()
        return tokens, positions, slot_ids

    def _undo(self, i: int, step: int) -> tuple[int, int, int, int]:
        """Pop batch row i's stack; returns (i, token, position, slot id) of the stack top to feed again."""
        r = self.row_list[i]
        if r not in self.states:
            self.states[r] = HardRowState(
                undo_id=self.tok.undo_id, unit=self.unit, delimiters=self.delimiters, ban_after=self.ban_after
            )
        state = self.states[r]
        if r not in self.watched:
            state.catch_up(self.emitted[r, len(state.trace) : step].tolist())
        self.watched.add(r)
        popped = state.undo()
        top = state.top
        self.slots.kill(i, popped + [top])
        token = state.trace[top] if top != PROMPT_END else self.prompts[r][-1]
        return i, token, len(self.prompts[r]) + len(state.stack) - 1, top

    def _collect(self) -> list[DecodeResult]:
        emitted = self.emitted.tolist()
        logprobs = self.logprobs.tolist() if self.logprobs is not None else None
        results = []
        for r, prompt in enumerate(self.prompts):
            length, finished = self.ends[r]
            forward_passes = length + (finished == "undo_cap")  # a refused <UNDO> was chosen by a forward too
            results.append(
                result_of(
                    prompt,
                    emitted[r][:length],
                    tok=self.tok,
                    unit=self.unit,
                    delimiters=self.delimiters,
                    finished=finished,
                    forward_passes=forward_passes,
                    logprobs=logprobs[r][:length] if logprobs is not None else None,
                    logits=self.logits[r, :length].cpu() if self.logits is not None else None,
                )
            )
        return results
