"""Divergence labelling: where a wrong solution first goes wrong, and why.

A verifier compares a solution with the gold one and returns the first wrong step as a
`Divergence`, or None when the solution's final answer equals the gold answer. Verifiers are
named by recipes (`weak.verifier`), registered in `tracegen.stages.VERIFIERS` and built with
`registry.get_verifier(name, **options)`:

- `divergence` (tracegen.verifiers.divergence): tracks the values a solution may use and the
  quantities the gold chain has; no model, deterministic.
- `rollout` (tracegen.verifiers.rollout): Math-Shepherd style, needs `backend=` (an object with
  `run(requests)`, tracegen.llm) and `m=` (continuations per prefix).
- `critic` (tracegen.verifiers.critic): an LLM judge with ProcessBench's prompt, needs `backend=`.
- `ensemble` (tracegen.verifiers.ensemble): rule + critic (+ rollout), with a documented decision rule.

The shared types (the `Verifier` protocol a verifier of one's own implements) live in `verifiers.base`; this package
imports neither, so a verifier module can import `base` without importing its siblings.
"""
