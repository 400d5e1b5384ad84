"""The response cache (append-only JSONL) and prompt rendering, which together make the cache key."""

import pytest

from tracegen.errors import InputError
from tracegen.llm import prompts
from tracegen.llm.base import Request
from tracegen.llm.cache import ResponseCache, default_cache_path, sample_key
from tracegen.llm.config import BackendConfig

SAMPLING = BackendConfig(kind="openai", model="m").sampling()


def key(index: int = 0, server: str = "http://127.0.0.1:8000/v1", **sampling) -> str:
    return sample_key("openai", server, "m", {"prompt": "Question: q\nAnswer:"}, SAMPLING | sampling, index)


def test_records_survive_reopening_and_keys_separate_what_changes_the_text(tmp_path):
    path = tmp_path / "sub" / "responses.jsonl"
    cache = ResponseCache(path)
    cache.put(key(0), "m", "first")
    cache.put(key(1), "m", "second ✓")
    cache.close()
    reopened = ResponseCache(path)
    assert (reopened.get(key(0)), reopened.get(key(1)), len(reopened)) == ("first", "second ✓", 2)
    assert (
        len({key(0), key(1), key(0, temperature=0.2), key(0, seed=1), key(0, server="http://10.0.0.2:8000/v1")}) == 5
    )
    assert key(0) == key(0, **dict(reversed(list(SAMPLING.items()))))  # order-free


def test_a_torn_last_line_is_skipped_and_closed_off_before_the_next_record(tmp_path):
    path = tmp_path / "responses.jsonl"
    cache = ResponseCache(path)
    cache.put(key(0), "m", "kept")
    cache.close()
    with path.open("a") as f:
        f.write('{"key": "' + key(1)[:20])  # killed mid-write
    torn = ResponseCache(path)
    assert torn.get(key(0)) == "kept" and torn.get(key(1)) is None and torn.damaged == 1
    torn.put(key(1), "m", "asked again")
    torn.close()
    again = ResponseCache(path)
    assert again.get(key(1)) == "asked again" and again.damaged == 1 and len(again) == 2


def test_a_file_that_is_no_cache_is_refused(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n{"question": "r", "answer": "b"}\n')
    with pytest.raises(InputError, match=r"train.jsonl:1: field 'cache': not a response cache"):
        ResponseCache(path)
    with pytest.raises(InputError, match="is a directory"):
        ResponseCache(tmp_path)


def test_default_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEGEN_CACHE_DIR", str(tmp_path))
    assert default_cache_path() == tmp_path / "responses.jsonl"
    assert ResponseCache.open(None).path == tmp_path / "responses.jsonl"


def test_chat_prompts_whole_and_prefix():
    whole = prompts.render(Request("a", "How many?"), "chat", prefill=True)
    assert [m["role"] for m in whole["messages"]] == ["system", "user"] and "#### " in whole["messages"][0]["content"]
    assert not prompts.continues_message(whole)
    prefilled = prompts.render(Request("a", "How many?", prefix="2 + 2 = 4\n"), "chat", prefill=True)
    assert prefilled["messages"][-1] == {"role": "assistant", "content": "2 + 2 = 4\n"} and prompts.continues_message(
        prefilled
    )
    quoted = prompts.render(Request("a", "How many?", prefix="2 + 2 = 4\n"), "chat", prefill=False)
    assert quoted["messages"][-1]["role"] == "user" and "2 + 2 = 4" in quoted["messages"][-1]["content"]


def test_completion_prompts_and_cleaning():
    assert prompts.render(Request("a", "How many?"), "completions", prefill=True) == {
        "prompt": "Question: How many?\nAnswer:",
        "stop": ["\nQuestion:"],
    }
    assert prompts.render(Request("a", "How many?", prefix="2 + 2 = 4\n"), "completions", prefill=True)[
        "prompt"
    ].endswith("Answer: 2 + 2 = 4\n")
    assert prompts.clean(Request("a", "q"), " 4 + 4 = 8\n#### 8\n") == "4 + 4 = 8\n#### 8"
    continued = Request("a", "q", prefix="2 + 2 = 4\n")
    assert prompts.clean(continued, "4 + 4 = 8\n#### 8\n") == "4 + 4 = 8\n#### 8"
    assert prompts.clean(continued, "2 + 2 = 4\n4 + 4 = 8\n#### 8") == "4 + 4 = 8\n#### 8"  # restated prefix removed


def test_config_rejects_what_cannot_work():
    with pytest.raises(ValueError, match="backend 'replay' needs 'replay'"):
        BackendConfig()
    with pytest.raises(ValueError, match="backend 'hf' needs 'model'"):
        BackendConfig(kind="hf")
    with pytest.raises(ValueError, match="extra"):
        BackendConfig(kind="openai", model="m", temprature=0.3)
    with pytest.raises(ValueError):
        BackendConfig(kind="openai", model="m", concurrency="8")  # strict: no coercion from strings
    assert BackendConfig(kind="openai", model="m", temperature=1).temperature == 1.0


def test_the_key_names_the_server_without_its_credentials(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    plain = BackendConfig(kind="openai", model="m", base_url="http://host:8000/v1")
    assert (
        BackendConfig(kind="openai", model="m", base_url="http://user:pw@host:8000/v1/?key=x").server()
        == plain.server()
        == "http://host:8000/v1"
    )
    assert BackendConfig(kind="openai", model="m").server() == "https://api.openai.com/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://other:9000/v1")
    assert (
        BackendConfig(kind="openai", model="m").server() == "http://other:9000/v1"
    )  # where the openai package sends it
    assert BackendConfig(kind="hf", model="m").server() is None
    refreshing = BackendConfig(kind="openai", model="m", refresh_cache=True)
    assert "refresh_cache" not in refreshing.model_dump() and "refresh_cache" not in refreshing.model_dump_json()
