"""Model backends that sample weak-model solutions: an OpenAI-compatible server, a local transformers
model, or solutions replayed from JSONL. `factory.make_backend(BackendConfig)` picks one; all share `base.Backend`."""
