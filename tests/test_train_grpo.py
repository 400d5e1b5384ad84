"""GRPO: rollouts are scored under the context mode the decoder used, the loss, and a short run through the CLI."""

import copy
import json

import pytest
import torch
from transformers import AutoModelForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.decoding import decode
from tracegen.train.grpo import grpo_loss, token_logprobs
from tracegen.train.masks import trace_columns
from tracegen.train.metrics import read_metrics

TOLERANCE = 1e-4
PROMPTS = [
    "Question: Ann has 3 apples and buys 4 more. How many?\nAnswer:\n",
    "Question: 12 times 3?\nAnswer:\n",
    "Count:\n1\n2\n",
]
UNDO_STEPS = [{4, 5, 6, 11}, {2, 9}, {0, 7, 8}]
"""Steps at which each rollout is made to emit <UNDO> (a no-op at step 0 included), so the traces revisit states."""


def forced_undos(rows: torch.Tensor, step: int) -> torch.Tensor:
    return torch.tensor([step in UNDO_STEPS[r] for r in rows.tolist()], dtype=torch.bool)


def rollouts(model, tok, mode, unit):
    """Sampled traces (temperature 1) with undos, and the decoder's own log-probs of each, teacher-forced."""
    prompt_ids = [tok.prompt_ids(p, chat=False) for p in PROMPTS]
    sampled = decode(
        model,
        tok,
        prompt_ids,
        mode=mode,
        undo_unit=unit,
        temperature=1.0,
        seed=3,
        max_new_tokens=16,
        force_undo=forced_undos,
    )
    traces = [r.trace_ids for r in sampled]
    assert all(tok.undo_id in t for t in traces)
    own = decode(model, tok, prompt_ids, mode=mode, undo_unit=unit, forced=traces)
    assert [r.trace_ids for r in own] == traces
    return prompt_ids, traces, [r.logprobs for r in own]


@pytest.mark.parametrize("unit", ["token", "step"])
@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_rollout_logprobs_equal_the_decoders_own(model, tok, mode, unit):
    prompt_ids, traces, expected = rollouts(model, tok, mode, unit)
    delimiters = tok.delimiters if unit == "step" else frozenset()
    columns = [
        trace_columns(p, t, undo_id=tok.undo_id, unit=unit, delimiters=delimiters, context_mode=mode)
        for p, t in zip(prompt_ids, traces)
    ]
    with torch.no_grad():
        logprobs, mask = token_logprobs(model, columns, undo_id=tok.undo_id)
    for b, want in enumerate(expected):
        assert int(mask[b].sum()) == len(want)
        assert (logprobs[b, : len(want)] - torch.tensor(want)).abs().max().item() <= TOLERANCE
    if mode == "hard":  # scoring a hard rollout as a plain causal sequence would be wrong: the check above has teeth
        causal = [
            trace_columns(p, t, undo_id=tok.undo_id, unit=unit, delimiters=delimiters, context_mode="soft")
            for p, t in zip(prompt_ids, traces)
        ]
        with torch.no_grad():
            naive, _ = token_logprobs(model, causal, undo_id=tok.undo_id)
        assert (
            max((naive[b, : len(want)] - torch.tensor(want)).abs().max().item() for b, want in enumerate(expected))
            > 1e-3
        )


def test_the_loss_on_policy_is_minus_the_advantage_weighted_logprob():
    logprobs = torch.tensor([[-1.0, -2.0, -0.5], [-0.3, -0.7, 0.0]], requires_grad=True)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    advantages = torch.tensor([1.0, -2.0])
    loss, stats = grpo_loss(
        logprobs, logprobs.detach(), logprobs.detach(), advantages, mask, clip_eps=0.2, kl_coef=0.1
    )
    assert loss.item() == pytest.approx(-(3 * 1.0) - (2 * -2.0))  # ratio 1, KL 0
    assert stats["kl"].item() == 0.0 and stats["clipped"].item() == 0.0
    loss.backward()
    assert torch.allclose(logprobs.grad, -advantages[:, None] * mask)  # the policy gradient, masked


def test_the_surrogate_is_clipped_and_the_kl_is_k3():
    old = torch.zeros(1, 2)
    current = torch.log(torch.tensor([[1.5, 1.1]]))  # ratios 1.5 (outside 1 +- 0.2) and 1.1
    reference = torch.zeros(1, 2)
    mask = torch.ones(1, 2, dtype=torch.bool)
    loss, stats = grpo_loss(current, old, reference, torch.tensor([1.0]), mask, clip_eps=0.2, kl_coef=0.5)
    k3 = sum((1 / r) - torch.log(torch.tensor(1 / r)).item() - 1 for r in (1.5, 1.1))
    assert stats["clipped"].item() == 1.0
    assert stats["kl"].item() == pytest.approx(k3, rel=1e-5)
    assert loss.item() == pytest.approx(-(1.2 + 1.1) + 0.5 * k3, rel=1e-5)


def undo_prone(model, tok):
    """A copy of `model` whose <UNDO> logit is about as large as all others together, so samples differ in their
    undos."""
    prone = copy.deepcopy(model)
    ids = torch.tensor([tok.prompt_ids(PROMPTS[0], chat=False)])
    with torch.no_grad():
        direction = prone.model(input_ids=ids).last_hidden_state[0].mean(0)
        prone.lm_head.weight[tok.undo_id] = 8 * direction / direction.norm() ** 2
    prone.config.undo_token_id = tok.undo_id  # a model that knows <UNDO>: training starts from it as it is
    return prone


def test_cli_grpo_runs_and_updates_the_policy(tmp_path, model, tok):
    out = tmp_path / "arith"
    build = CliRunner().invoke(app, ["build", "--recipe", "arith", "--limit", "8", "--out", str(out)])
    assert build.exit_code == 0, build.output
    start = undo_prone(model, tok)
    start.save_pretrained(tmp_path / "start")
    run = tmp_path / "run"
    args = [
        "train",
        "grpo",
        str(out),
        "--out",
        str(run),
        "--model",
        str(tmp_path / "start"),
        "--steps",
        "2",
        "--prompts-per-step",
        "2",
    ]
    args += [
        "--group-size",
        "2",
        "--max-new-tokens",
        "6",
        "--eval-rows",
        "2",
        "--eval-every",
        "2",
        "--lr",
        "1e-2",
        "--mode",
        "hard",
        "--seed",
        "1",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    records = read_metrics(run)
    steps = [r for r in records if "reward" in r]
    assert [r["step"] for r in steps] == [1, 2]
    assert all(
        r["length"] <= 6 and r["kl"] >= 0 and r["parsed"] == 0.0 for r in steps
    )  # 6 tokens are too few for an answer
    assert all(r["reward"] == pytest.approx(-0.5 - 0.01 * r["undos"]) for r in steps)
    assert all(r["undos"] > 0 and r["reward_std"] > 0 and r["grad_norm"] > 0 for r in steps), (
        "samples differ in their undos: the policy has a gradient"
    )
    assert [r["step"] for r in records if "eval_accuracy" in r] == [0, 2]
    assert json.loads((run / "run.json").read_text())["rollout_mode"] == "hard"
    trained = AutoModelForCausalLM.from_pretrained(run / "model").state_dict()
    assert any((trained[k] - v).abs().max().item() > 0 for k, v in start.state_dict().items())
