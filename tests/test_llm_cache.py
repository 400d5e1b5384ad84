"""The response cache (sqlite) and prompt rendering, which together make the cache key."""

import json
import multiprocessing

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
    path = tmp_path / "sub" / "responses.sqlite"
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


def test_the_first_answer_stored_wins_unless_the_build_refreshes(tmp_path):
    cache = ResponseCache(tmp_path / "responses.sqlite")
    cache.put(key(0), "m", "first")
    cache.put(key(0), "m", "a concurrent writer's")
    assert cache.get(key(0)) == "first" and len(cache) == 1
    cfg = BackendConfig(kind="openai", model="m", refresh_cache=True)
    job = cache.lookup("openai", cfg, Request("q", "q"))
    assert job.refresh and job.texts == {}  # a refresh reads nothing
    cache.store(job, 0, "m", "asked again")
    assert job.texts == {0: "asked again"} and ResponseCache(tmp_path / "responses.sqlite").get(job.keys[0]) == (
        "asked again"
    )


def test_an_earlier_versions_jsonl_is_imported_once_and_kept(tmp_path):
    legacy = tmp_path / "responses.jsonl"
    records = [{"key": key(0), "model": "m", "text": "old"}, {"key": key(1), "model": "m", "text": "kept"}]
    records.append({"key": key(0), "model": "m", "text": "refreshed"})  # a later record of a key won on load
    legacy.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"key": "' + key(2)[:20])  # torn last line
    cache = ResponseCache(legacy)  # a .jsonl path names the database beside it
    assert cache.path == tmp_path / "responses.sqlite" and legacy.read_text().count("\n") == 3
    assert (cache.get(key(0)), cache.get(key(1)), cache.get(key(2)), cache.damaged) == ("refreshed", "kept", None, 1)
    cache.put(key(1), "m", "new")  # no effect: the stored answer wins
    cache.put(key(2), "m", "asked again")
    again = ResponseCache(tmp_path / "responses.sqlite")
    assert again.damaged == 0 and len(again) == 3  # not imported twice
    with legacy.open("a") as f:  # an earlier version appended to it since
        f.write('\n{"key": "' + key(3) + '", "model": "m", "text": "appended"}\n')
    appended = ResponseCache(tmp_path / "responses.sqlite")
    assert (appended.get(key(2)), appended.get(key(3)), len(appended)) == ("asked again", "appended", 4)


def _write_many(path: str, start: int, count: int) -> None:
    cache = ResponseCache(path)
    for i in range(start, start + count):
        cache.put(key(i), "m", f"text {i}")
    cache.close()


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "responses.sqlite")
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(path, start, 400)) for start in (0, 300)]  # 100 keys overlap
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    cache = ResponseCache(path)
    assert len(cache) == 700 and all(cache.get(key(i)) == f"text {i}" for i in range(700))


def test_a_file_that_is_no_cache_is_refused(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n{"question": "r", "answer": "b"}\n')
    with pytest.raises(InputError, match=r"train.jsonl:1: field 'cache': not a response cache"):
        ResponseCache(path)
    with pytest.raises(InputError, match="is a directory"):
        ResponseCache(tmp_path)
    (tmp_path / "notes.sqlite").write_text("not a database, but long enough to have a header" * 4)
    with pytest.raises(InputError, match=r"notes.sqlite: field 'cache': not a response cache"):
        ResponseCache(tmp_path / "notes.sqlite")


def test_default_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEGEN_CACHE_DIR", str(tmp_path))
    assert default_cache_path() == tmp_path / "responses.sqlite"
    assert ResponseCache.open(None).path == tmp_path / "responses.sqlite"


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
