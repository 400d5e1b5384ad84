"""The verifiers a recipe can name (`weak.verifier`), each imported only when built."""

from __future__ import annotations

from collections.abc import Callable

from tracegen.verifiers.base import Verifier


def _divergence(**options) -> Verifier:
    from tracegen.verifiers.divergence import DivergenceVerifier

    return DivergenceVerifier(**options)


def _rollout(**options) -> Verifier:
    from tracegen.verifiers.rollout import RolloutVerifier

    return RolloutVerifier(**options)


def _critic(**options) -> Verifier:
    from tracegen.verifiers.critic import CriticVerifier

    return CriticVerifier(**options)


def _ensemble(**options) -> Verifier:
    from tracegen.verifiers.ensemble import EnsembleVerifier

    return EnsembleVerifier(**options)


VERIFIERS: dict[str, Callable[..., Verifier]] = {
    "divergence": _divergence,
    "rollout": _rollout,
    "critic": _critic,
    "ensemble": _ensemble,
}
NEEDS_BACKEND = ("rollout", "critic", "ensemble")


def get_verifier(name: str = "divergence", **options) -> Verifier:
    """The verifier registered as `name`, built with `options` (rollout: backend=, m=; critic: backend=,
    votes=, reference=; ensemble: backend= (the critic's), votes=, reference=, rollout_backend=, m=)."""
    if name not in VERIFIERS:
        raise ValueError(f"unknown verifier {name!r} (known: {', '.join(sorted(VERIFIERS))})")
    return VERIFIERS[name](**options)
