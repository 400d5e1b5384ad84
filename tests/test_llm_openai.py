"""The openai backend over real HTTP against a loopback server that injects faults."""

import socket
from types import SimpleNamespace

import pytest
from loopback_server import Fault, LoopbackServer

from tracegen.llm.base import BackendDown, Request
from tracegen.llm.cache import ResponseCache
from tracegen.llm.config import BackendConfig
from tracegen.llm.factory import make_backend
from tracegen.llm.retry import Backoff

TRANSIENT = [
    Fault("429", retry_after=0.05),
    Fault("503", retry_after=0.05, in_ms=True),
    Fault("500"),
    Fault("stall"),  # past the client's timeout
    Fault("malformed"),
    Fault("no_choices"),
    Fault("drop"),
]
POISON = {"POISON-400": Fault("400"), "POISON-500": Fault("500")}


def answer(prompt: str, index: int) -> str:
    return f"A step for sample {index}.\n#### {len(prompt)}"


def config(server: LoopbackServer, tmp_path, **overrides) -> BackendConfig:
    settings = dict(
        kind="openai",
        model="weak-1",
        base_url=server.base_url,
        timeout_s=1.0,
        backoff_base_s=0.01,
        max_retries=len(TRANSIENT),
        concurrency=8,
        cache=str(tmp_path / "responses.sqlite"),
    )
    return BackendConfig(**(settings | overrides))


def problems(count: int) -> list[Request]:
    return [Request(f"test:{i}", f"Question number {i}?", n=2 if i % 5 == 0 else 1) for i in range(count)]


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_faults_end_as_samples_or_listed_failures_and_rerun_is_cached(tmp_path, endpoint):
    requests = problems(28) + [Request("bad", "POISON-400 question"), Request("dead", "POISON-500 question")]
    finished = []
    with LoopbackServer(reply=answer, script=TRANSIENT, poison=POISON) as server:
        backend = make_backend(config(server, tmp_path, endpoint=endpoint))
        outcomes = backend.run(requests, on_outcome=finished.append)

        assert [o.request for o in outcomes] == requests
        assert sorted(o.request.id for o in finished) == sorted(r.id for r in requests)
        by_id = {o.request.id: o for o in outcomes}
        for outcome in outcomes:
            if outcome.request.id in ("bad", "dead"):
                assert outcome.samples == [] and "\n" not in outcome.error
            else:
                assert outcome.error is None
                assert [s.index for s in outcome.samples] == list(range(outcome.request.n))
                assert all(s.model == "weak-1" and s.text.startswith("A step for sample") for s in outcome.samples)
        assert by_id["bad"].error.startswith("HTTP 400")
        assert by_id["dead"].error.startswith(f"gave up after {len(TRANSIENT) + 1} attempts: HTTP 500")

        # every transient fault was injected and retried; the 400 once; the 500 until retries ran out
        assert sum(server.faults.values()) == len(TRANSIENT) + 1 + len(TRANSIENT) + 1
        assert server.total_requests == 28 + len(TRANSIENT) + 1 + (len(TRANSIENT) + 1)
        assert backend.stats["calls"] == server.total_requests
        assert backend.stats["failures"] == 2
        assert set(server.requests) == {f"/v1/{'chat/completions' if endpoint == 'chat' else 'completions'}"}

        before = server.total_requests
        rerun = make_backend(config(server, tmp_path, endpoint=endpoint))
        again = rerun.run(requests[:28])
        assert server.total_requests == before and rerun.stats["calls"] == 0
        assert [o.samples for o in again] == [o.samples for o in outcomes[:28]]
        assert rerun.stats["cache_hits"] == sum(r.n for r in requests[:28])


def test_failed_requests_are_asked_again_on_rerun_and_changed_sampling_misses_the_cache(tmp_path):
    with LoopbackServer(reply=answer, poison={"POISON-400": Fault("400")}) as server:
        requests = problems(4) + [Request("bad", "POISON-400 question")]
        make_backend(config(server, tmp_path)).run(requests)
        assert server.total_requests == 5
        rerun = make_backend(config(server, tmp_path))
        rerun.run(requests)
        assert rerun.stats["calls"] == 1 and server.total_requests == 6  # only the failed one
        hotter = make_backend(config(server, tmp_path, temperature=1.2))
        hotter.run(requests[:4])
        assert hotter.stats["cache_hits"] == 0 and hotter.stats["calls"] == 4


def test_server_ignoring_n_gets_more_calls_with_new_seeds(tmp_path):
    with LoopbackServer(reply=answer, ignore_n=True) as server:
        backend = make_backend(config(server, tmp_path, seed=7))
        [outcome] = backend.run([Request("q", "How many?", n=3)])
        assert [s.index for s in outcome.samples] == [0, 1, 2]
        assert [(body["n"], body["seed"]) for body in server.bodies] == [(3, 7), (2, 8), (1, 9)]


def test_server_honouring_n_answers_in_one_call(tmp_path):
    with LoopbackServer(reply=answer) as server:
        backend = make_backend(config(server, tmp_path))
        [outcome] = backend.run([Request("q", "How many?", n=4)])
        assert server.total_requests == 1
        assert [s.text.split(".")[0] for s in outcome.samples] == [f"A step for sample {i}" for i in range(4)]


def test_prefix_mode_chat_prefills_the_partial_solution(tmp_path):
    with LoopbackServer(reply=lambda prompt, index: "So 3 + 4 = 7.\n#### 7") as server:
        backend = make_backend(config(server, tmp_path, top_k=20))
        [outcome] = backend.run([Request("q@1", "What is 1 + 2 + 4?", prefix="1 + 2 = 3.\n")])
        [body] = server.bodies
        assert body["messages"][-1] == {"role": "assistant", "content": "1 + 2 = 3.\n"}
        assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
        assert body["top_k"] == 20
        assert outcome.samples[0].text == "So 3 + 4 = 7.\n#### 7"


def test_prefix_mode_completions_continues_the_prompt_and_stops_at_the_next_question(tmp_path):
    with LoopbackServer(reply=lambda prompt, index: "So 3 + 4 = 7.\n#### 7") as server:
        backend = make_backend(config(server, tmp_path, endpoint="completions"))
        backend.run([Request("q@1", "What is 1 + 2 + 4?", prefix="1 + 2 = 3.\n")])
        [body] = server.bodies
        assert body["prompt"].endswith("\nAnswer: 1 + 2 = 3.\n")
        assert "\nQuestion:" in body["stop"]
        assert "top_k" not in body and "continue_final_message" not in body


def test_api_key_is_sent_but_never_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEGEN_TEST_KEY", "sk-very-secret-123")
    with LoopbackServer(reply=answer, poison={"POISON-400": Fault("400")}) as server:
        backend = make_backend(config(server, tmp_path, api_key_env="TRACEGEN_TEST_KEY"))
        outcomes = backend.run([Request("q", "How many?"), Request("bad", "POISON-400")])
        assert server.authorizations == {"Bearer sk-very-secret-123"}
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("responses.sqlite*"))  # the database and its WAL
    assert stored and b"sk-very-secret" not in stored
    assert all("sk-very-secret" not in (o.error or "") for o in outcomes)


def test_server_down_opens_the_breaker_without_calling_for_every_item(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = BackendConfig(
        kind="openai",
        model="weak-1",
        base_url=f"http://127.0.0.1:{port}/v1",
        breaker_failures=3,
        concurrency=2,
        backoff_base_s=0.01,
        cache=str(tmp_path / "responses.sqlite"),
    )
    backend = make_backend(cfg)
    with pytest.raises(BackendDown) as down:
        backend.run(problems(50))
    message = str(down.value)
    assert f"127.0.0.1:{port}" in message and "3 connection failures in a row" in message
    assert "rerun resumes" in message and str(tmp_path / "responses.sqlite") in message
    assert backend.stats["calls"] <= cfg.breaker_failures + cfg.concurrency


def test_answers_between_failures_keep_the_breaker_closed(tmp_path):
    script = [Fault("drop"), Fault("drop"), None] * 3  # 6 drops, never 3 in a row
    with LoopbackServer(reply=answer, script=script) as server:
        backend = make_backend(config(server, tmp_path, breaker_failures=3, concurrency=1))
        outcomes = backend.run(problems(4))
    assert all(o.error is None for o in outcomes)
    assert backend.stats["retries"] == 6


def test_duplicate_request_ids_are_a_caller_bug(tmp_path):
    with LoopbackServer(reply=answer) as server:
        with pytest.raises(ValueError, match="duplicate request id 'x'"):
            make_backend(config(server, tmp_path)).run([Request("x", "a"), Request("x", "b")])
        assert server.total_requests == 0


def _rate_limited(headers: dict[str, str]) -> SimpleNamespace:
    """What Backoff reads of an openai.RateLimitError: its response's (lower-cased) headers."""
    return SimpleNamespace(response=SimpleNamespace(headers=headers))


def test_backoff_honours_retry_after_and_caps_every_wait():
    backoff = Backoff(base_s=0.5, max_s=10)
    assert backoff.delay(0, _rate_limited({"retry-after": "0.05"})) == pytest.approx(0.05)
    assert backoff.delay(3, _rate_limited({"retry-after-ms": "250"})) == pytest.approx(0.25)
    assert backoff.delay(0, _rate_limited({"retry-after": "3600"})) == 10
    waits = [backoff.delay(attempt, _rate_limited({})) for attempt in range(8) for _ in range(20)]
    assert all(0 <= wait <= 10 for wait in waits) and max(waits[:20]) <= 0.5 and max(waits) > 0.5


def test_a_restated_prefix_is_cut_from_the_sample_but_cached_as_written(tmp_path):
    written = "1 + 2 = 3.\nSo 3 + 4 = 7.\n#### 7"
    with LoopbackServer(reply=lambda prompt, index: written) as server:
        backend = make_backend(config(server, tmp_path, prefill=False))
        [outcome] = backend.run([Request("q@1", "What is 1 + 2 + 4?", prefix="1 + 2 = 3.\n")])
        [body] = server.bodies
    assert body["messages"][-1]["role"] == "user" and "1 + 2 = 3." in body["messages"][-1]["content"]
    assert outcome.samples[0].text == "So 3 + 4 = 7.\n#### 7"
    cache = ResponseCache(tmp_path / "responses.sqlite")
    job = cache.lookup("openai", config(server, tmp_path, prefill=False), outcome.request)
    assert len(cache) == 1 and job.texts == {0: written}
