"""The backend a `BackendConfig` names, kept apart from the config so the config stays plain data
(the backends import the config; the config imports none of them)."""

from __future__ import annotations

from tracegen.llm.base import Backend
from tracegen.llm.config import BackendConfig


def make_backend(cfg: BackendConfig) -> Backend:
    """The configured backend; heavy imports (openai, torch) happen only for the kind chosen."""
    if cfg.kind == "replay":
        from tracegen.llm.generic_replay import replay_backend

        return replay_backend(cfg.replay, models=cfg.models)
    from tracegen.llm.cache import ResponseCache

    cache = ResponseCache.open(cfg.cache)
    if cfg.kind == "openai":
        from tracegen.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(cfg, cache)
    from tracegen.llm.hf_backend import HFBackend

    return HFBackend(cfg, cache)
