"""Building the verifier a recipe names (`weak.verifier`), from the one registry (`tracegen.stages.VERIFIERS`)."""

from __future__ import annotations

from tracegen.stages import VERIFIERS
from tracegen.verifiers.base import Verifier


def get_verifier(name: str = "divergence", **options) -> Verifier:
    """The verifier registered as `name`, built with `options` (rollout: backend=, m=; critic: backend=,
    votes=, reference=; ensemble: backend= (the critic's), votes=, reference=, rollout_backend=, m=);
    `InputError` naming the known verifiers for an unknown name."""
    return VERIFIERS.get(name)(**options)
