"""When to retry a failed call, how long to wait, and when to stop calling a server that is down or refuses.

Two reasons stop a whole build instead of failing it item by item: the server stops answering
(CircuitBreaker: connection failures in a row), or it refuses every request the same way, which is
what a wrong base URL (404), model name (400/404) or key (401/403) looks like (RefusalGuard). Until
the first request succeeds only `WARMUP_CALLS` are in flight, so such a mistake costs a handful of
requests whatever the build's size or concurrency.
"""

from __future__ import annotations

import asyncio
import random
import re
from contextlib import asynccontextmanager

import openai

from tracegen.public import redact

RETRY_STATUS = {408, 409, 429}  # and every 5xx
SDK_PREFIX = re.compile(r"^Error code: \d+ - ")  # the openai package's own prefix; we say "HTTP NNN"


class MalformedResponse(Exception):
    """The server answered 200 with a body that is not a completion (bad JSON, no choices, no text)."""


def is_retryable(error: Exception) -> bool:
    if isinstance(error, openai.APIStatusError):
        return error.status_code in RETRY_STATUS or error.status_code >= 500
    return isinstance(error, (openai.APIConnectionError, openai.APIResponseValidationError, MalformedResponse))


def is_connection_failure(error: Exception) -> bool:
    """Refused, dropped or timed out: what a server that is down looks like (the circuit breaker counts these)."""
    return isinstance(error, openai.APIConnectionError)


def is_refusal(error: Exception) -> bool:
    """A 4xx that asking again will not change (400, 401, 403, 404, 422...)."""
    return isinstance(error, openai.APIStatusError) and 400 <= error.status_code < 500 and not is_retryable(error)


def server_message(error: openai.APIStatusError) -> str:
    """What the server said, from its JSON error body (OpenAI's `message`, FastAPI's `detail`) or its text."""
    body = error.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                return value.strip()
            if value:
                return str(value)
    if isinstance(body, str) and body.strip():
        return body.strip()
    return SDK_PREFIX.sub("", error.message or "").strip() or (
        error.response.reason_phrase if error.response is not None else ""
    )


def describe(error: Exception, secrets: tuple[str, ...] = ()) -> str:
    """One line for an Outcome's error; never the request (it carries the API key's header), never a credential."""
    if isinstance(error, openai.APIStatusError):
        text = f"HTTP {error.status_code}: {' '.join(server_message(error).split())}"
    elif isinstance(error, openai.APITimeoutError):
        text = "timed out"
    elif isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        text = f"connection failed ({type(cause).__name__}: {cause})" if cause else "connection failed"
    else:
        text = f"malformed response: {error}"
    return redact(" ".join(text.split()), secrets)[:300]


def retry_after(error: Exception) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms or Retry-After in seconds), if it said."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP date: rare from inference servers; fall back to our own backoff
        if seconds >= 0:
            return seconds
    return None


class Backoff:
    """Exponential backoff with full jitter, unless the server named a wait; every wait capped."""

    def __init__(self, base_s: float, max_s: float, rng: random.Random | None = None):
        self.base_s, self.max_s = base_s, max_s
        self.rng = rng or random.Random()

    def delay(self, attempt: int, error: Exception) -> float:
        asked = retry_after(error)
        if asked is not None:
            return min(asked, self.max_s)
        return self.rng.uniform(0, min(self.max_s, self.base_s * 2**attempt))


class CircuitBreaker:
    """Opens after `threshold` connection failures in a row, across all requests; any answer closes the count."""

    def __init__(self, threshold: int):
        self.threshold = threshold
        self.in_a_row = 0
        self.last_error: Exception | None = None

    @property
    def open(self) -> bool:
        return self.in_a_row >= self.threshold

    def record(self, error: Exception | None) -> None:
        """Note a call's result: None for any answer from the server (even an HTTP error), else the failure."""
        if error is None or not is_connection_failure(error):
            self.in_a_row = 0
            return
        self.in_a_row += 1
        self.last_error = error


WARMUP_CALLS = 4  # calls in flight until one succeeds
REFUSALS_BEFORE_ANSWER = 4  # refusals, none answered yet: the settings are wrong
REFUSALS_IN_A_ROW = 16  # refusals in a row after answers: the key was revoked, the model unloaded...


class RefusalGuard:
    """Stops a run whose requests are all refused; holds calls back to `WARMUP_CALLS` until one succeeds."""

    def __init__(self) -> None:
        self.answered = False
        self.in_a_row = 0
        self.last_error: openai.APIStatusError | None = None
        self._warmup = asyncio.Semaphore(WARMUP_CALLS)

    @asynccontextmanager
    async def slot(self):
        """Wrap each call: before the first success, wait for one of the few warm-up slots."""
        if self.answered:
            yield
            return
        async with self._warmup:
            yield

    @property
    def tripped(self) -> bool:
        return self.in_a_row >= (REFUSALS_IN_A_ROW if self.answered else REFUSALS_BEFORE_ANSWER)

    def record(self, error: Exception | None) -> None:
        """Note a call's result: None for a success; any other answer but a refusal resets the count."""
        if error is None:
            self.answered = True
            self.in_a_row = 0
        elif is_refusal(error):
            self.in_a_row += 1
            self.last_error = error
        elif not is_connection_failure(error):
            self.in_a_row = 0


def refusal_hint(status: int, api_key_env: str) -> str:
    """Which setting a refusal with this status points at."""
    if status in (401, 403):
        return f"check the API key (read from ${api_key_env}) and that it may use this model"
    if status == 404:
        return "check --base-url (an OpenAI-compatible server's URL usually ends in /v1) and --model"
    if status in (400, 422):
        return (
            "check --model (the name the server knows the model by) and the sampling settings "
            "(deviations.weak.backend.*)"
        )
    return f"check --base-url, --model and the API key in ${api_key_env}"
