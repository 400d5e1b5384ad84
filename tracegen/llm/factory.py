"""The backend a `BackendConfig` names, kept apart from the config so the config stays plain data
(the backends import the config; the config imports none of them)."""

from __future__ import annotations

from tracegen.llm.base import Backend
from tracegen.llm.config import BackendConfig
from tracegen.stages import BACKENDS


def make_backend(cfg: BackendConfig) -> Backend:
    """The backend registered as `cfg.kind` (tracegen.stages.BACKENDS); heavy imports (openai, torch) happen only
    for the kind chosen."""
    return BACKENDS.get(cfg.kind)(cfg)
