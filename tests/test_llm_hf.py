"""The hf backend on a tiny random Llama with the embedded tokenizer (gibberish text; shapes, seeds, cache)."""

import pytest

from tracegen.errors import InputError
from tracegen.llm.base import Request
from tracegen.llm.config import BackendConfig
from tracegen.llm.factory import make_backend
from tracegen.public import public_name
from tracegen.tokens import TraceTokenizer

REQUESTS = [
    Request("a", "Tom has 3 apples and eats one. How many are left?", n=3),
    Request("b@1", "What is 2 + 2 + 1?", prefix="2 + 2 = 4\n"),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = TraceTokenizer.load(None).hf
    folder = tmp_path_factory.mktemp("tiny-llama")
    config = LlamaConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        vocab_size=len(tokenizer),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def backend(model, cache, **overrides):
    settings = dict(
        kind="hf", model=str(model), endpoint="completions", max_tokens=8, batch_size=2, device="cpu", cache=str(cache)
    )
    return make_backend(BackendConfig(**(settings | overrides)))


def texts(outcomes):
    return [[s.text for s in o.samples] for o in outcomes]


def test_batched_sampling_is_seeded_and_cached(tiny_model, tmp_path):
    first = backend(tiny_model, tmp_path / "one.jsonl")
    outcomes = first.run(REQUESTS)
    assert [[s.index for s in o.samples] for o in outcomes] == [[0, 1, 2], [0]]
    assert all(
        s.model == public_name(str(tiny_model)) and s.text for o in outcomes for s in o.samples
    )  # never the local path
    assert outcomes[0].samples[0].model.startswith(f"{tiny_model.name}@")
    assert len(set(texts(outcomes)[0])) == 3  # sampled, not greedy
    assert first.stats["calls"] == 4

    fresh = backend(tiny_model, tmp_path / "two.jsonl")
    assert texts(fresh.run(REQUESTS)) == texts(outcomes)  # same seed, same requests: same samples
    other_seed = backend(tiny_model, tmp_path / "three.jsonl", seed=1)
    assert texts(other_seed.run(REQUESTS)) != texts(outcomes)

    rerun = backend(tiny_model, tmp_path / "one.jsonl")
    assert texts(rerun.run(REQUESTS)) == texts(outcomes)
    assert rerun.stats["calls"] == 0 and rerun.stats["cache_hits"] == 4


def test_greedy_when_temperature_is_zero(tiny_model, tmp_path):
    greedy = backend(tiny_model, tmp_path / "greedy.jsonl", temperature=0.0)
    [outcome] = greedy.run([Request("a", "How many?", n=2)])
    assert outcome.samples[0].text == outcome.samples[1].text


def test_chat_endpoint_renders_the_template_and_prefills_the_partial_solution(tiny_model, tmp_path):
    chat = backend(tiny_model, tmp_path / "chat.jsonl", endpoint="chat")  # the embedded tokenizer has a template
    outcomes = chat.run(REQUESTS)
    assert [len(o.samples) for o in outcomes] == [3, 1] and chat.stats["failures"] == 0
    completions = backend(tiny_model, tmp_path / "chat.jsonl")
    completions.run(REQUESTS)
    assert completions.stats["cache_hits"] == 0  # a different prompt is a different cache key


def test_chat_without_a_template_and_missing_models_are_bad_input(tiny_model, tmp_path):
    from transformers import AutoTokenizer

    plain = tmp_path / "plain"
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(plain)
    for name in ("config.json", "model.safetensors"):
        (plain / name).write_bytes((tiny_model / name).read_bytes())
    with pytest.raises(InputError, match="field 'endpoint': the model's tokenizer has no chat template"):
        backend(plain, tmp_path / "c.jsonl", endpoint="chat")
    with pytest.raises(InputError, match="field 'model': cannot load model"):
        backend(tmp_path / "no-such-model", tmp_path / "c.jsonl")
