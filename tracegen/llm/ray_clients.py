"""Weak-model sampling under `--executor ray`: the HTTP calls go out from Ray actors spread over the cluster.

Why actors and not tasks: one server's `concurrency` is a limit on requests in flight at that
server, whoever sends them. It is split into shares over a few client actors (at most
MAX_CLIENTS, one per cluster CPU, placed with Ray's SPREAD strategy); each actor is an
`OpenAIBackend` in one event loop whose share of requests may be in flight, so the shares add up
to the limit exactly. Each actor keeps its breaker and refusal guard across the calls it serves.
An actor whose worker dies is restarted by Ray and the calls it held are sent again.

Why the driver keeps the cache: it looks every request up before anything is sent, and stores
each answer as it comes back, so the cache semantics are a local build's (one database, answers
kept as they arrive, a stopped build resumes with no repeat calls) and workers need no shared
disk. Until the first answer, only one actor gets requests: a wrong URL, model or key stops the
build after a handful of refused requests, as it does locally, not after a handful per actor.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from tracegen.llm.base import BackendDown, OnOutcome, Outcome, OutcomeLog, Request, check_requests, new_stats
from tracegen.llm.cache import CachedRequest, ResponseCache
from tracegen.llm.config import BackendConfig
from tracegen.public import public_name

MAX_CLIENTS = 8  # client actors per server: enough to spread the client's CPU and sockets, few enough to start fast
MAX_RESTARTS = 3  # a client whose worker dies (killed, a lost node) is restarted and its calls sent again
QUEUED_PER_SLOT = 2  # requests handed to an actor per request it may have in flight: it never waits for the driver


class _Received:
    """The actor's stand-in for the cache: answers are filled into the request and handed back to the driver,
    which stores them. `path` names the driver's cache in messages ("kept in ..., a rerun resumes")."""

    def __init__(self, path: Path):
        self.path = path

    def store(self, job: CachedRequest, index: int, model: str, text: str) -> None:
        job.texts[index] = text


class SamplingClient:
    """One Ray actor: an `OpenAIBackend` with `share` requests in flight at most; all methods run in its event loop."""

    def __init__(self, cfg: BackendConfig, share: int, cache_path: Path, api_key: str | None):
        from tracegen.llm.openai_backend import OpenAIBackend  # here: a local build never imports openai for this

        if api_key:  # the driver's key, whatever this node's environment holds (this process serves no one else)
            os.environ[cfg.api_key_env] = api_key
        self.backend = OpenAIBackend(cfg, _Received(cache_path))  # reads the key, and masks it in every message
        self.share = share
        self._session = None  # the client, guards and slots, made in the event loop on the first call
        self._down: BackendDown | None = None  # why this client stopped: every later call fails with it

    async def complete(self, job: CachedRequest) -> tuple[dict[int, str], str | None]:
        """The request's samples (all of them, the ones the driver had included) and its error, if it failed."""
        if self._session is None:
            self._session = (self.backend.client(), self.backend.guards(), asyncio.Semaphore(self.share))
        client, guards, slots = self._session
        async with slots:
            if self._down is not None:  # stopped: no more requests, as a local run cancels its workers
                raise self._down
            try:
                outcome = await self.backend.complete(client, job, guards)
            except BackendDown as down:
                self._down = down
                raise
        return job.texts, outcome.error

    async def stats(self) -> tuple[int, dict]:
        """This worker's process id and its call counts."""
        return os.getpid(), dict(self.backend.stats)


def shares(concurrency: int, clients: int) -> list[int]:
    """`concurrency` split over `clients` as evenly as whole numbers allow (sums to `concurrency`)."""
    return [concurrency // clients + (i < concurrency % clients) for i in range(clients)]


class RayOpenAIBackend:
    """The `openai` backend with its calls made by client actors on the Ray cluster this process is connected to."""

    name = "openai"  # the cache keys of the openai backend: a local build and a Ray build share answers

    def __init__(self, cfg: BackendConfig, cache: ResponseCache):
        self.cfg, self.cache = cfg, cache
        self.model_name = public_name(cfg.model)
        self.stats = new_stats()
        self.calls_by_client: dict[int, int] = {}  # worker process id -> calls it made: where the requests went out

    def run(self, requests: Sequence[Request], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        check_requests(requests)
        log = OutcomeLog(requests, self.stats, on_outcome)
        if pending := self.cache.unanswered(self.name, self.cfg, requests, log, self.model_name):
            self._run_on_cluster(pending, log)
        return log.in_order()

    def _run_on_cluster(self, jobs: list[CachedRequest], log: OutcomeLog) -> None:
        import ray

        count = max(1, min(MAX_CLIENTS, self.cfg.concurrency, len(jobs), int(ray.cluster_resources().get("CPU", 1))))
        actor = ray.remote(
            num_cpus=0, scheduling_strategy="SPREAD", max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS
        )(SamplingClient)
        key = os.environ.get(self.cfg.api_key_env)  # an argument, not a runtime_env: those are shown by Ray's tools
        clients = [
            actor.remote(self.cfg, share, self.cache.path, key) for share in shares(self.cfg.concurrency, count)
        ]
        limits = [QUEUED_PER_SLOT * share for share in shares(self.cfg.concurrency, count)]
        queued: dict = {}  # call -> (client index, the driver's job)
        waiting = iter(jobs)
        answered = False
        try:
            while True:
                for index in range(len(clients) if answered else 1):
                    while sum(i == index for i, _ in queued.values()) < limits[index]:
                        job = next(waiting, None)
                        if job is None:
                            break
                        queued[clients[index].complete.remote(job)] = (index, job)
                if not queued:
                    break
                [done], _ = ray.wait(list(queued), num_returns=1)
                _, job = queued.pop(done)
                try:
                    texts, error = ray.get(done)
                except ray.exceptions.RayTaskError as error:  # raised in the actor: its cause is what we raise
                    if isinstance(error.cause, BackendDown):
                        raise BackendDown(str(error.cause.args[0]), log.failures()) from None
                    raise error.cause from None
                except ray.exceptions.RayActorError:  # its worker died more often than Ray restarts it
                    raise BackendDown(
                        f"a sampling client on the Ray cluster died {MAX_RESTARTS + 1} times. Stopped; the responses "
                        f"received so far are kept in {self.cache.path}, so a rerun resumes.",
                        log.failures(),
                    ) from None
                for index in job.missing():
                    if index in texts:
                        self.cache.store(job, index, self.model_name, texts[index])
                log.finish(
                    Outcome(job.request, [], error=error) if error is not None else job.outcome(self.model_name)
                )
                answered = answered or error is None
        finally:
            self._count_calls(ray, clients)
            for client in clients:
                ray.kill(client)

    def _count_calls(self, ray, clients: list) -> None:
        try:
            counted = ray.get([client.stats.remote() for client in clients], timeout=30)
        except ray.exceptions.RayError:  # a lost actor's calls go uncounted, nothing else
            return
        for pid, stats in counted:
            self.calls_by_client[pid] = stats["calls"]
            self.stats["calls"] += stats["calls"]
            self.stats["retries"] += stats["retries"]


def ray_sampling_backend(cfg: BackendConfig) -> RayOpenAIBackend | None:
    """The backend that spreads `cfg`'s calls over the Ray cluster, or None where the driver should sample:
    replayed solutions make no calls, and a local `hf` model runs where it was loaded."""
    if cfg.kind != "openai":
        return None
    return RayOpenAIBackend(cfg, ResponseCache.open(cfg.cache))
