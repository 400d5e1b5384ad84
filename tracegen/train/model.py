"""The model a trainer starts from: a pretrained one, or a small Llama built from a config, with `<UNDO>` in its
vocabulary.

A pretrained model has never seen `<UNDO>`: its embedding row is new (or an untrained row of a
padded vocabulary). It starts as the mean of the embeddings of a few named words ("undo",
"delete": a meaning to start from) or, with none named, of all existing embeddings (a neutral
start that leaves the model's predictions almost unchanged). The model's config then records
`undo_token_id`, so a model trained by tracegen keeps its learnt `<UNDO>` when trained again.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tracegen.errors import InputError, first_line
from tracegen.tokens import TraceTokenizer

MODEL_CONFIGS: dict[str, dict] = {
    # ~0.9M parameters: trains on arith on 2 CPU cores in a couple of minutes
    "tiny": {
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    # ~12M parameters: a quick single-GPU sanity run
    "small": {
        "hidden_size": 384,
        "intermediate_size": 1024,
        "num_hidden_layers": 6,
        "num_attention_heads": 6,
        "num_key_value_heads": 2,
    },
}


def build_model(
    tok: TraceTokenizer,
    *,
    model: str | None = None,
    model_config: str | None = None,
    undo_init: Sequence[str] = (),
    seed: int = 0,
):
    """A causal LM for `tok`: loaded from a path or Hub id, or built from `MODEL_CONFIGS[model_config]` (trained from
    scratch)."""
    if (model is None) == (model_config is None):
        raise InputError(
            "give either a model (path or Hub id) or a model config (tiny, small)", field="model/model_config"
        )
    if model_config is not None:
        return _from_config(tok, model_config, seed)
    from transformers import AutoModelForCausalLM

    try:
        loaded = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    except Exception as e:  # OSError, ValueError, Hub errors...: one line says which
        raise InputError(f"cannot load the model: {first_line(e)}", file=model, field="model") from None
    add_undo_token(loaded, tok, undo_init)
    return loaded


def _from_config(tok: TraceTokenizer, name: str, seed: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    if name not in MODEL_CONFIGS:
        raise InputError(f"unknown model config {name!r} (known: {', '.join(MODEL_CONFIGS)})", field="model_config")
    config = LlamaConfig(
        vocab_size=len(tok.hf),
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=tok.eos_id,
        pad_token_id=tok.hf.pad_token_id,
        bos_token_id=tok.hf.bos_token_id,
        undo_token_id=tok.undo_id,
        **MODEL_CONFIGS[name],
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def add_undo_token(model, tok: TraceTokenizer, init_words: Sequence[str] = ()) -> bool:
    """Make room for the tokenizer's vocabulary and initialise `<UNDO>`'s rows; False when the model already knows
    it."""
    if getattr(model.config, "undo_token_id", None) == tok.undo_id:
        return False
    rows = model.get_input_embeddings().weight.shape[0]
    if rows < len(tok.hf):
        model.resize_token_embeddings(len(tok.hf), mean_resizing=False)
    source_ids = _init_source_ids(tok, init_words, existing=min(rows, len(tok.hf)))
    with torch.no_grad():
        for matrix in _embedding_matrices(model):
            matrix[tok.undo_id] = matrix[source_ids].mean(0)
    model.config.undo_token_id = tok.undo_id
    return True


def _init_source_ids(tok: TraceTokenizer, words: Sequence[str], existing: int) -> list[int]:
    """Token ids whose mean starts `<UNDO>`: the tokens of the named words, else every pre-existing token but
    `<UNDO>`."""
    if not words:
        return [i for i in range(existing) if i != tok.undo_id]
    ids = sorted({i for word in words for i in tok.encode(word)} - {tok.undo_id})
    if not ids or max(ids) >= existing:
        raise InputError(
            f"cannot initialise <UNDO> from {list(words)}: their tokens are not in the model's vocabulary",
            field="undo_init",
        )
    return ids


def _embedding_matrices(model) -> list[torch.Tensor]:
    """The input embedding, and the output projection when it is not the same tensor."""
    matrices = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight.data_ptr() != matrices[0].data_ptr():
        matrices.append(output.weight)
    return matrices
