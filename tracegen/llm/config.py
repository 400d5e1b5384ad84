"""Which backend to use and how it samples: the `backend:` section of a recipe, or command-line flags."""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tracegen.public import public_url
from tracegen.stages import BACKENDS

# what the openai package calls when neither base_url nor $OPENAI_BASE_URL is set
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"


class BackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Annotated[str, BACKENDS.validator()] = "replay"  # or a backend registered in tracegen.stages.BACKENDS
    # replay
    replay: str | None = None  # JSONL path
    models: list[str] | None = None  # which solution keys to use (None = all)
    # openai and hf
    base_url: str | None = None  # openai: None = the OpenAI API
    model: str | None = None  # openai: the served model name; hf: a local folder or Hub id
    api_key_env: str = "OPENAI_API_KEY"  # the key itself is read from the environment, never stored
    endpoint: Literal["chat", "completions"] = "chat"
    prefill: bool = True  # chat, prefix mode: send the partial solution as the assistant's message to continue
    temperature: float = Field(0.8, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int | None = Field(None, ge=1)
    max_tokens: int = Field(384, ge=1)
    seed: int = 0
    # openai: traffic
    concurrency: int = Field(16, ge=1)
    timeout_s: float = Field(60, gt=0)
    max_retries: int = Field(6, ge=0)
    backoff_base_s: float = Field(0.5, ge=0)  # retry k waits a random time in [0, base * 2**k] (full jitter)
    backoff_max_s: float = Field(60, ge=0)  # cap on any one wait, Retry-After included
    breaker_failures: int = Field(8, ge=1)  # consecutive connection failures/timeouts that stop the build
    # hf
    device: str | None = None  # None = cuda when available, else cpu
    batch_size: int = Field(16, ge=1)
    # all
    cache: str | None = None  # None = $TRACEGEN_CACHE_DIR or ~/.cache/tracegen, file responses.jsonl
    # ask again even where the cache has an answer (the new answers replace the old ones); a way of
    # running, not part of what is built, so it is left out of every record (manifest, fingerprint)
    refresh_cache: bool = Field(False, exclude=True)

    @model_validator(mode="after")
    def _needs(self) -> BackendConfig:
        if self.kind == "replay" and not self.replay:
            raise ValueError(
                "backend 'replay' needs 'replay', a JSONL file of model solutions (on the command line: --replay FILE)"
            )
        if self.kind in ("openai", "hf") and not self.model:
            raise ValueError(f"backend '{self.kind}' needs 'model' (on the command line: --model NAME)")
        return self

    def server(self) -> str | None:
        """Who answers, part of every cache key: the server's URL without credentials (openai), None for local
        models."""
        if self.kind != "openai":
            return None
        return public_url(self.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_URL).rstrip("/")

    def sampling(self) -> dict:
        """The parameters that change what a model writes: part of every cache key."""
        return {
            "endpoint": self.endpoint,
            "prefill": self.prefill,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
