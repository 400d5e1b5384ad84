"""Sampling from a local transformers model: batched `generate` with left padding, on CUDA when available.

Each batch runs under its own seed (from `seed` and the batch's first cache key) inside a forked RNG,
so a run is reproducible for the same requests and cache, and the caller's RNG state is untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracegen.errors import InputError, first_line
from tracegen.hub_names import require_hub_or_cache
from tracegen.llm import prompts
from tracegen.llm.base import OnOutcome, Outcome, OutcomeLog, Request, check_requests, new_stats
from tracegen.llm.cache import CachedRequest, ResponseCache
from tracegen.llm.config import BackendConfig
from tracegen.public import public_name


class HFBackend:
    name = "hf"

    def __init__(self, cfg: BackendConfig, cache: ResponseCache):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.cfg, self.cache = cfg, cache
        self.model_name = public_name(cfg.model)  # what samples and cache records name: never a local path
        self.stats = new_stats()
        self.device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
        require_hub_or_cache(cfg.model, field="model")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(cfg.model)
            self.model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype="auto").to(self.device).eval()
        except (OSError, ValueError) as e:
            raise InputError(f"cannot load model: {first_line(e)}", file=cfg.model, field="model") from None
        self.tokenizer.padding_side = "left"  # generation continues from the right edge
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if cfg.endpoint == "chat" and not self.tokenizer.chat_template:
            raise InputError(
                "the model's tokenizer has no chat template; use endpoint 'completions'",
                file=cfg.model,
                field="endpoint",
            )

    def run(self, requests: Sequence[Request], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        check_requests(requests)
        log = OutcomeLog(requests, self.stats, on_outcome)
        rows = []  # (request, sample index) still to generate
        for request in requests:
            job = self.cache.lookup(self.name, self.cfg, request)
            self.stats["cache_hits"] += len(job.texts)
            rows.extend((job, index) for index in job.missing())
            if not job.missing():
                log.finish(job.outcome(self.model_name))
        for start in range(0, len(rows), self.cfg.batch_size):
            batch = rows[start : start + self.cfg.batch_size]
            texts = self._generate([job for job, _ in batch], seed_key=batch[0][0].keys[batch[0][1]])
            self.stats["calls"] += len(batch)
            for (job, index), text in zip(batch, texts):
                self.cache.store(job, index, self.model_name, text)
                if not job.missing():
                    log.finish(job.outcome(self.model_name))
        return log.in_order()

    def _prompt_text(self, job: CachedRequest) -> str:
        if "prompt" in job.rendered:
            return job.rendered["prompt"]
        continues = prompts.continues_message(job.rendered)
        return self.tokenizer.apply_chat_template(
            job.rendered["messages"],
            tokenize=False,
            add_generation_prompt=not continues,
            continue_final_message=continues,
        )

    def _generate(self, jobs: list[CachedRequest], seed_key: str) -> list[str]:
        import torch

        cfg = self.cfg
        chat = cfg.endpoint == "chat"
        encoded = self.tokenizer(
            [self._prompt_text(job) for job in jobs],
            return_tensors="pt",
            padding=True,
            add_special_tokens=not chat,  # a chat template writes its own
        ).to(self.device)
        stop = jobs[0].rendered.get("stop")
        sampling = (
            {"do_sample": True, "temperature": cfg.temperature, "top_p": cfg.top_p, "top_k": cfg.top_k or 0}
            if cfg.temperature > 0
            else {"do_sample": False}
        )
        devices = [self.model.device] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(cfg.seed ^ int(seed_key[:12], 16))
            output = self.model.generate(
                **encoded,
                max_new_tokens=cfg.max_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                stop_strings=stop,
                tokenizer=self.tokenizer if stop else None,
                **sampling,
            )
        texts = self.tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        return [_cut_at(text, stop or ()) for text in texts]


def _cut_at(text: str, stops: Sequence[str]) -> str:
    """generate stops *after* a stop string (and other rows of the batch run on): cut at the first one."""
    for stop in stops:
        position = text.find(stop)
        if position >= 0:
            text = text[:position]
    return text


def hf_from_config(cfg: BackendConfig) -> HFBackend:
    """The `hf` backend (tracegen.llm.base.BackendFactory), answering from the response cache first."""
    return HFBackend(cfg, ResponseCache.open(cfg.cache))
