"""Sampling from any OpenAI-compatible server (vLLM, SGLang, llama.cpp, OpenAI) through the `openai` package.

`concurrency` workers share the requests; each call is retried with backoff (honouring Retry-After) on
429, 5xx, timeouts, dropped connections and malformed bodies, never on other 4xx. The whole run stops
with BackendDown when the server stops answering (a circuit breaker) or refuses every request the same
way (a wrong --base-url, --model or key: tracegen.llm.retry.RefusalGuard), instead of failing every item.
Samples are cached one by one as they arrive, so a rerun resumes where the last one stopped. The API
key and any password in the URL never reach a message: errors are redacted (tracegen.public).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator, Sequence

import openai

from tracegen.llm import prompts
from tracegen.llm.base import BackendDown, OnOutcome, Outcome, OutcomeLog, Request, check_requests, new_stats
from tracegen.llm.cache import CachedRequest, ResponseCache
from tracegen.llm.config import BackendConfig
from tracegen.llm.retry import (
    Backoff,
    CircuitBreaker,
    MalformedResponse,
    RefusalGuard,
    describe,
    is_retryable,
    refusal_hint,
)
from tracegen.public import environment_secrets, public_name, public_url


class _GaveUp(Exception):
    """A request failed for good (a 4xx, or retries exhausted); its message is the Outcome's error."""


class OpenAIBackend:
    name = "openai"

    def __init__(self, cfg: BackendConfig, cache: ResponseCache):
        self.cfg, self.cache = cfg, cache
        self.model_name = public_name(cfg.model)  # what samples and cache records name: never a local path
        self.secrets = environment_secrets(cfg.api_key_env)  # masked wherever a server might echo them
        self.stats = new_stats()
        self.backoff = Backoff(cfg.backoff_base_s, cfg.backoff_max_s)

    def run(self, requests: Sequence[Request], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        check_requests(requests)
        log = OutcomeLog(requests, self.stats, on_outcome)
        pending = []
        for request in requests:
            job = self.cache.lookup(self.name, self.cfg, request)
            self.stats["cache_hits"] += len(job.texts)
            if job.missing():
                pending.append(job)
            else:
                log.finish(job.outcome(self.model_name))
        if pending:
            try:
                asyncio.run(self._run_jobs(pending, log))
            except BackendDown as down:
                raise BackendDown(str(down), log.failures()) from None
        return log.in_order()

    async def _run_jobs(self, jobs: list[CachedRequest], log: OutcomeLog) -> None:
        client = openai.AsyncOpenAI(
            base_url=self.cfg.base_url,
            api_key=os.environ.get(self.cfg.api_key_env) or "EMPTY",  # local servers need none
            max_retries=0,  # retries are ours: backoff with jitter, and a breaker across requests
            timeout=self.cfg.timeout_s,
        )
        guards = _Guards(CircuitBreaker(self.cfg.breaker_failures), RefusalGuard())
        queue = iter(jobs)  # shared by the workers: one event loop, so no lock is needed
        async with client:
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(min(self.cfg.concurrency, len(jobs))):
                        group.create_task(self._worker(client, queue, guards, log))
            except* BackendDown as down:
                raise down.exceptions[0] from None

    async def _worker(
        self, client: openai.AsyncOpenAI, queue: Iterator[CachedRequest], guards: _Guards, log: OutcomeLog
    ) -> None:
        for job in queue:
            log.finish(await self._complete(client, job, guards))

    async def _complete(self, client: openai.AsyncOpenAI, job: CachedRequest, guards: _Guards) -> Outcome:
        """Fill every missing sample of one request; a server that returns fewer than `n` gets more calls."""
        while missing := job.missing():
            try:
                texts = await self._call_with_retries(client, job, missing, guards)
            except _GaveUp as gave_up:
                return Outcome(job.request, [], error=str(gave_up))
            for index, text in zip(missing, texts):
                self.cache.put(job.keys[index], self.model_name, text)
                job.texts[index] = text
        return job.outcome(self.model_name)

    async def _call_with_retries(
        self, client: openai.AsyncOpenAI, job: CachedRequest, missing: list[int], guards: _Guards
    ) -> list[str]:
        attempt = 0
        while True:
            try:
                async with guards.refusals.slot():
                    self.stats["calls"] += 1
                    texts = await self._call(client, job, count=len(missing), seed=self.cfg.seed + missing[0])
            except (openai.APIError, MalformedResponse) as error:
                guards.breaker.record(error)
                guards.refusals.record(error)
                if guards.breaker.open:
                    raise self._down(client, guards.breaker) from None
                if guards.refusals.tripped:
                    raise self._refused(client, guards.refusals) from None
                if not is_retryable(error):
                    raise _GaveUp(describe(error, self.secrets)) from None
                if attempt == self.cfg.max_retries:
                    raise _GaveUp(f"gave up after {attempt + 1} attempts: {describe(error, self.secrets)}") from None
                self.stats["retries"] += 1
                await asyncio.sleep(self.backoff.delay(attempt, error))
                attempt += 1
            else:
                guards.breaker.record(None)
                guards.refusals.record(None)
                return texts

    async def _call(self, client: openai.AsyncOpenAI, job: CachedRequest, count: int, seed: int) -> list[str]:
        """One HTTP call for up to `count` samples (distinct seeds per call, so refills are new samples)."""
        cfg = self.cfg
        extra = {"top_k": cfg.top_k} if cfg.top_k is not None else {}
        if prompts.continues_message(job.rendered):  # vLLM and SGLang: continue the prefilled answer
            extra |= {"continue_final_message": True, "add_generation_prompt": False}
        create = client.chat.completions.create if cfg.endpoint == "chat" else client.completions.create
        try:
            response = await create(
                model=cfg.model,
                n=count,
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                max_tokens=cfg.max_tokens,
                seed=seed,
                extra_body=extra or None,
                **job.rendered,
            )
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise MalformedResponse(f"body is not JSON ({error})") from None
        return _choice_texts(response, cfg.endpoint)[:count]

    def _down(self, client: openai.AsyncOpenAI, breaker: CircuitBreaker) -> BackendDown:
        return BackendDown(
            f"the server at {public_url(str(client.base_url))} is not answering: {breaker.in_a_row} "
            f"connection failures in a row (last: {describe(breaker.last_error, self.secrets)}). Stopped; the "
            f"responses received so far are kept in {self.cache.path}, so a rerun resumes."
        )

    def _refused(self, client: openai.AsyncOpenAI, guard: RefusalGuard) -> BackendDown:
        which = "the last" if guard.answered else "the first"
        return BackendDown(
            f"the server at {public_url(str(client.base_url))} refused {which} {guard.in_a_row} requests for model "
            f"{self.model_name!r} ({describe(guard.last_error, self.secrets)}): "
            f"{refusal_hint(guard.last_error.status_code, self.cfg.api_key_env)}. "
            f"Stopped after {self.stats['calls']} requests."
        )


class _Guards:
    """What every worker of one run shares: the breaker (server down) and the refusal guard (settings wrong)."""

    def __init__(self, breaker: CircuitBreaker, refusals: RefusalGuard):
        self.breaker, self.refusals = breaker, refusals


def _choice_texts(response: object, endpoint: str) -> list[str]:
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise MalformedResponse("no choices")
    if endpoint == "chat":
        texts = [getattr(getattr(choice, "message", None), "content", None) for choice in choices]
    else:
        texts = [getattr(choice, "text", None) for choice in choices]
    if not all(isinstance(text, str) for text in texts):
        raise MalformedResponse("a choice has no text")
    return texts


def openai_from_config(cfg: BackendConfig) -> OpenAIBackend:
    """The `openai` backend (tracegen.llm.base.BackendFactory), answering from the response cache first."""
    return OpenAIBackend(cfg, ResponseCache.open(cfg.cache))
