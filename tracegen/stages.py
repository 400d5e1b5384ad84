"""The stages a recipe names, one registry per kind (tracegen.registry), with tracegen's own stages in them.

Built-in stages are registered lazily, by "module:attr", so naming one imports nothing until it
is used; the rule generators register themselves with `@rule` (tracegen.generators.registry) in
the modules listed here. A user adds a stage of their own the same way, before the recipe is
loaded: `SOURCES.register("mine", my_source)` (the protocols: tracegen.sources.base,
tracegen.generators.base, tracegen.verifiers.base, tracegen.llm.base).
"""

from __future__ import annotations

from tracegen.registry import Registry

SOURCES: Registry = Registry("source", "source.name")
"""Problem sources (`tracegen.sources.base.ProblemSource`), named by `source.name`."""
SOURCES.register("gsm8k", "tracegen.sources.gsm8k:gsm8k_source")
SOURCES.register("arith", "tracegen.sources.arith:arith_source")
SOURCES.register("generic", "tracegen.sources.generic:generic_source")

GENERATORS: Registry = Registry(
    "generator", "deviations.generators", modules=("tracegen.generators.rules", "tracegen.generators.prose")
)
"""Deviation generators (`tracegen.generators.base.StepGenerator` or `SolutionGenerator`), named by the keys of
`deviations.generators`."""
GENERATORS.register("weak", "tracegen.generators.weak:WEAK")

VERIFIERS: Registry = Registry("verifier", "deviations.weak.verifier")
"""Verifiers (a factory of `tracegen.verifiers.base.Verifier`, called with its options), named by `weak.verifier`."""
VERIFIERS.register("divergence", "tracegen.verifiers.divergence:DivergenceVerifier")
VERIFIERS.register("rollout", "tracegen.verifiers.rollout:RolloutVerifier")
VERIFIERS.register("critic", "tracegen.verifiers.critic:CriticVerifier")
VERIFIERS.register("ensemble", "tracegen.verifiers.ensemble:EnsembleVerifier")

BACKENDS: Registry = Registry("backend", "backend.kind")
"""Model backends (`tracegen.llm.base.BackendFactory`: a `BackendConfig` in, a `Backend` out), named by `kind`."""
BACKENDS.register("replay", "tracegen.llm.generic_replay:replay_from_config")
BACKENDS.register("openai", "tracegen.llm.openai_backend:openai_from_config")
BACKENDS.register("hf", "tracegen.llm.hf_backend:hf_from_config")

_REGISTRIES = {"source": SOURCES, "generator": GENERATORS, "verifier": VERIFIERS, "backend": BACKENDS}


def handoff(recipe) -> dict[str, dict]:
    """The registrations a recipe (tracegen.recipe.Recipe) names, for a worker process to `receive`.

    Worker processes (spawn, Ray) start with tracegen's own stages only; a stage registered at run
    time travels to them by pickle, so it must be a module-level function or class (a lambda cannot).
    """
    weak = recipe.deviations.weak
    named = {
        "source": [recipe.source.name],
        "generator": list(recipe.deviations.generators),
        "verifier": [weak.verifier] if weak else [],
        "backend": [config.kind for config in (weak.backend, weak.critic) if config] if weak else [],
    }
    return {kind: _REGISTRIES[kind].entries(names) for kind, names in named.items()}


def receive(stages: dict[str, dict]) -> None:
    """Registers what `handoff` gave, in a worker process, before the recipe is validated there."""
    for kind, entries in stages.items():
        _REGISTRIES[kind].update(entries)
