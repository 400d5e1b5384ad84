"""The stages a recipe names, one registry per kind (tracegen.registry), with tracegen's own stages in them.

Built-in stages are registered lazily, by "module:attr", so naming one imports nothing until it
is used; the rule generators register themselves with `@rule` (tracegen.generators.registry) in
the modules listed here. A user adds a stage of their own the same way, before the recipe is
loaded: `SOURCES.register("mine", my_source)` (the protocols: tracegen.sources.base,
tracegen.generators.base, tracegen.verifiers.base, tracegen.llm.base).
"""

from __future__ import annotations

from tracegen.registry import Registry

SOURCES: Registry = Registry(
    "source",
    "source.name",
    builtins={
        "gsm8k": "tracegen.sources.gsm8k:gsm8k_source",
        "arith": "tracegen.sources.arith:arith_source",
        "generic": "tracegen.sources.generic:generic_source",
    },
)
"""Problem sources (`tracegen.sources.base.ProblemSource`), named by `source.name`."""

GENERATORS: Registry = Registry(
    "generator",
    "deviations.generators",
    builtins={"weak": "tracegen.generators.weak:WEAK"},
    modules=("tracegen.generators.rules", "tracegen.generators.prose"),
)
"""Deviation generators (`tracegen.generators.base.StepGenerator` or `SolutionGenerator`), named by the keys of
`deviations.generators`."""

VERIFIERS: Registry = Registry(
    "verifier",
    "deviations.weak.verifier",
    builtins={
        "divergence": "tracegen.verifiers.divergence:DivergenceVerifier",
        "rollout": "tracegen.verifiers.rollout:RolloutVerifier",
        "critic": "tracegen.verifiers.critic:CriticVerifier",
        "ensemble": "tracegen.verifiers.ensemble:EnsembleVerifier",
    },
)
"""Verifiers (a factory of `tracegen.verifiers.base.Verifier`, called with its options), named by `weak.verifier`."""

BACKENDS: Registry = Registry(
    "backend",
    "backend.kind",
    builtins={
        "replay": "tracegen.llm.generic_replay:replay_from_config",
        "openai": "tracegen.llm.openai_backend:openai_from_config",
        "hf": "tracegen.llm.hf_backend:hf_from_config",
    },
)
"""Model backends (`tracegen.llm.base.BackendFactory`: a `BackendConfig` in, a `Backend` out), named by `kind`."""

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
