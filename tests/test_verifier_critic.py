"""The critic and ensemble verifiers: ProcessBench prompt, robust parsing, any backend (openai over real
HTTP to a loopback server with scripted judges, replay, hf), the cache, and the ensemble's decision rule."""

import json

import pytest
from loopback_server import Fault, LoopbackServer

from tracegen.llm.config import BackendConfig
from tracegen.llm.factory import make_backend
from tracegen.verifiers.base import Divergence, first_errors
from tracegen.verifiers.critic import critic_prompt, parse_verdict
from tracegen.verifiers.ensemble import decide
from tracegen.verifiers.registry import get_verifier

QUESTION = "Janet has 16 eggs, eats 3 and bakes with 4. She sells the rest at $2 each. How much does she make?"
GOLD = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18"
# a blank line: paragraph k is not line k
WRONG = "She has 16 eggs.\n\nShe sells 16 - 3 = <<16-3=13>>13 eggs.\nShe makes 13 * 2 = $<<13*2=26>>26.\nA: 26"
RIGHT = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\nA: 18"


@pytest.mark.parametrize(
    "text, index",
    [
        ("Paragraph 1 forgets the muffins.\n\n\\boxed{1}", 1),
        ("First I thought \\boxed{0}, but on reflection \\boxed{ 2 }", 2),  # the last box counts
        ("All paragraphs are correct. \\boxed{-1}", -1),
        ("\\boxed{none}", -1),
        ("There is no error in this solution.", -1),
        ("The earliest error occurs in paragraph_3, where 13 is used.", 3),
        ("Reasoning...\nAnswer: 4", 4),
        ("2", 2),
        ("I cannot decide.", None),
        ("", None),
    ],
)
def test_parse_verdict_reads_what_judges_write(text, index):
    assert parse_verdict(text) == index


def test_prompt_is_processbench_template_with_non_blank_lines_as_paragraphs():
    prompt = critic_prompt(QUESTION, WRONG, answer="18")
    assert prompt.startswith(
        "The following is a math problem and a solution (split into paragraphs, enclosed with tags and indexed from 0)"
    )
    assert (
        "<paragraph_1>\nShe sells 16 - 3 = <<16-3=13>>13 eggs.\n</paragraph_1>" in prompt
        and "<paragraph_4>" not in prompt
    )
    assert "The correct final answer to the problem is 18." in prompt
    assert prompt.rstrip().endswith("Please put your final answer (i.e., the index) in \\boxed{}.")
    assert "correct final answer" not in critic_prompt(QUESTION, WRONG)  # ProcessBench's own setting


def scripted_judge(prompt: str, index: int) -> str:
    """A judge that finds 16 - 3 = 13 wrong, rambles without an answer when told to, and passes correct solutions."""
    if "RAMBLE" in prompt:
        return "Let me think about it step by step. It is hard to say."
    if "16 - 3 = <<16-3=13>>13" in prompt:
        return "Paragraph 0 restates the question. Paragraph 1 forgets the 4 eggs for muffins.\n\\boxed{1}"
    return "Every paragraph is correct.\n\\boxed{-1}"


def openai_config(server, tmp_path, **overrides) -> BackendConfig:
    settings = dict(
        kind="openai",
        model="judge-1",
        base_url=server.base_url,
        temperature=0.0,
        timeout_s=2.0,
        backoff_base_s=0.01,
        max_retries=1,
        cache=str(tmp_path / "cache.jsonl"),
    )
    return BackendConfig(**(settings | overrides))


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_critic_over_openai_maps_paragraphs_to_lines_and_is_cached(tmp_path, endpoint):
    items = [
        (QUESTION, GOLD, WRONG),
        (QUESTION, GOLD, RIGHT),
        (QUESTION, GOLD, WRONG.replace("She has", "RAMBLE She has")),
    ]
    with LoopbackServer(reply=scripted_judge) as server:
        critic = get_verifier("critic", backend=make_backend(openai_config(server, tmp_path, endpoint=endpoint)))
        found = first_errors(critic, items)
        assert (
            found[0] == Divergence(2, "judged", found[0].reason) and "paragraph 1" in found[0].reason
        )  # line 2: a blank line before
        assert found[1] is None  # a right answer is not judged at all
        assert (found[2].step_index, found[2].kind) == (4, "wrong_final") and "names no step" in found[2].reason
        asked = server.requests[f"/v1/{'chat/completions' if endpoint == 'chat' else 'completions'}"]
        assert asked == 2
        body = server.bodies[0]
        if endpoint == "chat":  # the judge's prompt alone: no solving instructions
            assert [m["role"] for m in body["messages"]] == ["user"] and body["messages"][0]["content"].startswith(
                "The following is a math problem"
            )
        else:
            assert body["prompt"].startswith("The following is a math problem")

        again = get_verifier("critic", backend=make_backend(openai_config(server, tmp_path, endpoint=endpoint)))
        assert first_errors(again, items) == found
        assert (
            server.requests[f"/v1/{'chat/completions' if endpoint == 'chat' else 'completions'}"] == asked
        )  # all from the cache


def test_critic_votes_failed_requests_and_false_alarm_flags(tmp_path):
    votes = {0: "\\boxed{2}", 1: "\\boxed{1}", 2: "\\boxed{1}"}
    with LoopbackServer(reply=lambda prompt, index: votes[index], poison={"POISON": Fault("400")}) as server:
        backend = make_backend(openai_config(server, tmp_path))
        critic = get_verifier("critic", backend=backend, votes=3)
        [found] = critic.first_errors([(QUESTION, GOLD, WRONG)])
        assert found.step_index == 2 and "2 of 3 votes" in found.reason  # paragraph 1, line 2
        [failed] = critic.first_errors([("POISON " + QUESTION, GOLD, WRONG)])
        assert failed.kind == "wrong_final" and "request failed" in failed.reason
        # judging steps whatever the answer: on a correct solution a named step is a false alarm
        assert critic.flag_steps([(QUESTION, GOLD, RIGHT)]) == [1]
    with pytest.raises(ValueError, match="votes"):
        get_verifier("critic", backend=backend, votes=0)


def test_critic_through_replay_reads_judgements_keyed_by_the_prompt(tmp_path):
    replay = tmp_path / "judgements.jsonl"
    replay.write_text(
        json.dumps(
            {"question": critic_prompt(QUESTION, WRONG, answer="18"), "strong-judge": {"solution": "\\boxed{2}"}}
        )
        + "\n"
    )
    critic = get_verifier("critic", backend=make_backend(BackendConfig(kind="replay", replay=str(replay))))
    assert critic.first_error(QUESTION, GOLD, WRONG).step_index == 3  # paragraph 2 is line 3
    unknown = critic.first_error(QUESTION, GOLD, WRONG.replace("16 eggs.", "sixteen eggs."))
    assert unknown.kind == "wrong_final" and "question not in replay file" in unknown.reason


def test_critic_through_a_local_hf_model_runs_and_falls_back_when_it_writes_gibberish(tmp_path):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tracegen.tokens import TraceTokenizer

    tokenizer = TraceTokenizer.load(None).hf
    config = LlamaConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        vocab_size=len(tokenizer),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "judge")
    tokenizer.save_pretrained(tmp_path / "judge")
    backend = make_backend(
        BackendConfig(
            kind="hf",
            model=str(tmp_path / "judge"),
            endpoint="completions",
            max_tokens=4,
            device="cpu",
            cache=str(tmp_path / "c.jsonl"),
        )
    )
    found = get_verifier("critic", backend=backend).first_error(QUESTION, GOLD, WRONG)
    assert found.kind in ("judged", "wrong_final") and 0 <= found.step_index <= 4
    assert backend.stats["calls"] == 1


RULE_SOFT = Divergence(3, "misread", "13*2 = 26 ...")
RULE_HARD = Divergence(2, "false_annotation", "16-3 is 13, not 12")


@pytest.mark.parametrize(
    "rule, critic, dead_end, step, kind",
    [
        (RULE_HARD, None, None, 2, "false_annotation"),  # 1: hard evidence, no critic
        (RULE_HARD, 4, None, 2, "false_annotation"),  # 1: a later critic step cannot move it later
        (RULE_HARD, 0, None, 0, "judged"),  # 1: the critic sees an earlier error
        (RULE_SOFT, 3, 1, 3, "misread"),  # 2: rule and critic agree
        (RULE_SOFT, 1, 1, 1, "judged"),  # 2: critic and rollouts agree
        (RULE_SOFT, 0, 3, 3, "misread"),  # 2: rule and rollouts agree
        (RULE_SOFT, 1, 0, 1, "judged"),  # 3: no agreement: the critic
        (RULE_SOFT, None, 1, 3, "misread"),  # 3: the critic names nothing: the rule
    ],
)
def test_ensemble_decision_rule(rule, critic, dead_end, step, kind):
    found = decide(rule, critic, "the critic names paragraph 1", dead_end)
    assert (found.step_index, found.kind) == (step, kind)


def test_ensemble_over_openai_combines_rule_and_critic(tmp_path):
    false_arithmetic = "She sells 16 - 3 - 4 = <<16-3-4=8>>8 eggs.\nShe makes 8 * 2 = $<<8*2=16>>16.\nA: 16"
    with LoopbackServer(reply=lambda prompt, index: "\\boxed{1}") as server:
        ensemble = get_verifier("ensemble", backend=make_backend(openai_config(server, tmp_path)))
        found = ensemble.first_errors(
            [(QUESTION, GOLD, WRONG), (QUESTION, GOLD, false_arithmetic), (QUESTION, GOLD, RIGHT)]
        )
        assert (found[0].step_index, found[0].kind) == (
            2,
            "misread",
        )  # rule (16-3 = 13, line 2) and critic (paragraph 1 = line 2) agree
        assert (found[1].step_index, found[1].kind) == (
            0,
            "false_annotation",
        )  # hard evidence at 0: the critic's later step loses
        assert found[2] is None
        assert ensemble.flag_steps([(QUESTION, GOLD, RIGHT)]) == [1]  # the critic's false alarm shows


def test_a_weak_build_with_the_ensemble_verifier_judges_every_wrong_solution_in_one_cached_batch(tmp_path):
    from conftest import GSM8K_DIR
    from typer.testing import CliRunner

    from tracegen.cli import app

    if not (GSM8K_DIR / "example_model_solutions.jsonl").exists():
        pytest.skip("../shared/data/gsm8k is not present")
    with (GSM8K_DIR / "test.jsonl").open() as src:
        (tmp_path / "test.jsonl").write_text("".join(line for _, line in zip(range(6), src)))
    wrong = 0
    with (GSM8K_DIR / "example_model_solutions.jsonl").open() as src:
        for _, line in zip(range(6), src):
            wrong += sum(not v["is_correct"] for v in json.loads(line).values() if isinstance(v, dict))
    with LoopbackServer(reply=lambda prompt, index: "\\boxed{0}") as server:
        critic = (
            f"{{kind: openai, model: judge, base_url: '{server.base_url}', temperature: 0, cache: "
            f"'{tmp_path / 'critic.jsonl'}'}}"
        )
        for run in ("first", "again"):
            args = [
                "build", "--recipe", "gsm8k-weak", "--source", str(tmp_path / "test.jsonl"),
                "--out", str(tmp_path / run),
                "--replay", str(GSM8K_DIR / "example_model_solutions.jsonl"),
                "--set", "deviations.weak.verifier=ensemble", "--set", f"deviations.weak.critic={critic}",
            ]  # fmt: skip
            invoked = CliRunner().invoke(app, args)
            assert invoked.exit_code == 0, invoked.output
        assert (
            sum(server.requests.values()) == wrong
        )  # once per wrong solution; the second build is served from the cache
    missing = CliRunner().invoke(app, args[:-2] + ["--out", str(tmp_path / "no-critic")])
    assert missing.exit_code == 2 and "needs 'critic'" in missing.output
