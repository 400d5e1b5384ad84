"""When to retry a failed call, how long to wait, and when to stop calling a server that is down."""

from __future__ import annotations

import random
import re

import openai

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


def describe(error: Exception) -> str:
    """One line for an Outcome's error; never the request (it carries the API key's header)."""
    if isinstance(error, openai.APIStatusError):
        message = SDK_PREFIX.sub("", error.message.splitlines()[0]) if error.message else ""
        return f"HTTP {error.status_code}: {message}"[:300]
    if isinstance(error, openai.APITimeoutError):
        return "timed out"
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        return f"connection failed ({type(cause).__name__}: {cause})"[:300] if cause else "connection failed"
    return f"malformed response: {error}"[:300]


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
