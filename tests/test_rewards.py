"""GRPO rewards: correct answers by value, a price per <UNDO>, a penalty for no answer, the verifier's process
score."""

import pytest
import torch

from tracegen.train.rewards import RewardWeights, answer_matches, group_advantages, process_score, reward

QUESTION = "Ben has 3 apples and buys 4 more. He eats 2. How many apples does he have?"
GOLD = "He has 3+4 = <<3+4=7>>7 apples.\nAfter eating, he has 7-2 = <<7-2=5>>5 apples.\n#### 5"
WRONG_SECOND = "He has 3+4 = <<3+4=7>>7 apples.\nAfter eating, he has 7-3 = <<7-3=4>>4 apples.\n#### 4"
WRONG_FIRST = "He has 3+4 = <<3+4=8>>8 apples.\nAfter eating, he has 8-2 = <<8-2=6>>6 apples.\n#### 6"


@pytest.mark.parametrize(
    "text,gold,expected",
    [
        (GOLD, "5", True),
        ("so...\n#### 1,000", "1000", True),
        ("#### $5.00", "5", True),
        ("The answer is 5.", "5", True),
        (WRONG_SECOND, "5", False),
        ("He has 7 apples.", "5", None),
        ("#### five", "5", None),
        ("", "5", None),
    ],
)
def test_answers_are_compared_by_value(text, gold, expected):
    assert answer_matches(text, gold) is expected


def test_a_gold_answer_that_is_no_number_is_an_error():
    with pytest.raises(ValueError, match="not a number"):
        answer_matches("#### 5", "five")


def test_correct_minus_a_price_per_undo():
    weights = RewardWeights(correct=1.0, undo_penalty=0.1, unparseable_penalty=0.5)
    clean = reward(GOLD, 0, gold_answer="5", weights=weights)
    undid = reward(GOLD, 3, gold_answer="5", weights=weights)
    assert (clean.total, clean.correct, clean.parsed) == (1.0, True, True)
    assert undid.total == pytest.approx(0.7) and undid.undos == 3
    assert clean.process is None


def test_a_wrong_answer_earns_nothing_and_no_answer_costs():
    weights = RewardWeights(correct=1.0, undo_penalty=0.1, unparseable_penalty=0.5)
    wrong = reward(WRONG_SECOND, 1, gold_answer="5", weights=weights)
    silent = reward("He has some apples.", 0, gold_answer="5", weights=weights)
    assert (wrong.total, wrong.correct, wrong.parsed) == (pytest.approx(-0.1), False, True)
    assert (silent.total, silent.correct, silent.parsed) == (-0.5, False, False)


def test_the_process_score_is_the_share_of_steps_before_the_first_wrong_one():
    assert process_score(QUESTION, GOLD, GOLD) == 1.0
    assert process_score(QUESTION, GOLD, WRONG_FIRST) == 0.0
    assert process_score(QUESTION, GOLD, WRONG_SECOND) == pytest.approx(1 / 3)  # 1 of 3 lines right before it


def test_the_process_reward_adds_its_weighted_score():
    weights = RewardWeights(correct=1.0, undo_penalty=0.0, unparseable_penalty=0.5, process=0.5)
    later = reward(WRONG_SECOND, 0, gold_answer="5", weights=weights, question=QUESTION, gold_solution=GOLD)
    sooner = reward(WRONG_FIRST, 0, gold_answer="5", weights=weights, question=QUESTION, gold_solution=GOLD)
    assert later.total == pytest.approx(0.5 / 3) and later.process == pytest.approx(1 / 3)
    assert sooner.total == 0.0 and later.total > sooner.total
    with pytest.raises(ValueError, match="needs the question"):
        reward(GOLD, 0, gold_answer="5", weights=weights)


def test_weights_are_magnitudes():
    with pytest.raises(ValueError):
        RewardWeights(undo_penalty=-0.1)


def test_advantages_are_normalised_within_each_group():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5], [2.0, -1.0, 0.0, 3.0]])
    advantages = group_advantages(rewards)
    assert advantages.shape == rewards.shape
    assert torch.allclose(advantages.mean(1), torch.zeros(3), atol=1e-6)
    assert torch.equal(advantages[1], torch.zeros(4)), "a group whose samples all score the same teaches nothing"
    assert torch.allclose(advantages[0].std(), torch.tensor(1.0), atol=1e-3)
    assert advantages[2].argmax() == 3 and advantages[2].argmin() == 1
    with pytest.raises(ValueError):
        group_advantages(torch.ones(4, 1))
