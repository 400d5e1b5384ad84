"""The rule verifier on hand-made cases of the three kinds it reads beyond annotations: arithmetic in
prose, values stated with no equation, and values bound to another quantity than the gold's; and
side facts that lead nowhere (not errors)."""

from fractions import Fraction

import pytest

from tracegen.steps import split_steps
from tracegen.verifiers.binding import bindings, misbinding
from tracegen.verifiers.calculations import calculations, stated_numbers
from tracegen.verifiers.divergence import first_wrong_step
from tracegen.verifiers.gold_products import gold_piece
from tracegen.verifiers.quantities import quantities
from tracegen.verifiers.registry import get_verifier
from tracegen.verifiers.subjects import subject_of

APPLES = (
    "Tom picks 12 apples and shares them equally among his 3 friends. Each friend eats 2 of them. How many "
    "apples does each friend have left?"
)
APPLES_GOLD = "Each friend gets 12 / 3 = <<12/3=4>>4 apples.\nEach has 4 - 2 = <<4-2=2>>2 apples left.\n#### 2"
EGGS = (
    "Lamar finds 5 eggs. Stacy finds twice as many as Lamar. Charlie finds 2 less than Stacy. How many eggs do "
    "the three find?"
)
EGGS_GOLD = (
    "Stacy finds 5 * 2 = <<5*2=10>>10 eggs.\nCharlie finds 10 - 2 = <<10-2=8>>8 eggs.\nThey find 5 + 10 + 8 "
    "= <<5+10+8=23>>23 eggs.\n#### 23"
)
FARM = (
    "A farm has 20 cows and 8 horses, twice as many of each as the farm next door. How many animals does the "
    "farm next door have?"
)
FARM_GOLD = (
    "Next door has 20 / 2 = <<20/2=10>>10 cows.\nNext door has 8 / 2 = <<8/2=4>>4 horses.\nNext door has 10 "
    "+ 4 = <<10+4=14>>14 animals.\n#### 14"
)
BAKERY = "A bakery bakes 30 loaves of bread every day. How many loaves does it bake in 2 weeks?"
BAKERY_GOLD = (
    "It bakes 30 * 7 = <<30*7=210>>210 loaves a week.\nIn 2 weeks it bakes 210 * 2 = <<210*2=420>>420 "
    "loaves.\n#### 420"
)
AGES = "Sam is 5 years old and his dad is 6 times as old. How old will his dad be in 4 years?"
AGES_GOLD = "His dad is 5 * 6 = <<5*6=30>>30 years old.\nIn 4 years he will be 30 + 4 = <<30+4=34>>34.\n#### 34"


def first_error(question, gold, solution):
    return get_verifier("divergence").first_error(question, gold, solution)


@pytest.mark.parametrize(
    "step, arithmetic, result",
    [
        ("Each friend gets 12 apples / 3 = 4 apples.", (12, 3), 4),
        ("He needs 3 times 4 equals 12 cups.", (3, 4), 12),
        ("Goldy bought 20 sacks x 25 kilograms of rice per sack = 500 kilograms.", (20, 25), 500),
        ("It costs $5/round * 4 rounds = $20.", (5, 4), 20),
        ("(10 apples + 2 apples) * 3 = 36 apples", (10, 2, 3), 36),
    ],
)
def test_prose_arithmetic_is_read_with_its_units(step, arithmetic, result):
    (calc,) = calculations(step)
    assert (calc.operands, calc.result, calc.error()) == (arithmetic, result, None)


@pytest.mark.parametrize(
    "step",
    [
        "2s + 30 = 110",
        "Becca: x + 12 = 78",
        "The cost is 2 dollars and she buys 3 = 6",
        "3 1/2 = 3.5",
        "half of 12 apples / 3 = 2",
    ],
)
def test_algebra_verbs_and_mixed_numbers_are_not_prose_arithmetic(step):
    assert calculations(step) == ()


def test_false_prose_arithmetic_is_the_first_error():
    found = first_error(
        APPLES, APPLES_GOLD, "Each friend gets 12 apples / 3 = 5 apples.\nEach has 5 - 2 = <<5-2=3>>3 left.\nA: 3"
    )
    assert (found.step_index, found.kind) == (0, "false_annotation") and "is 4, not 5" in found.reason


def test_a_wrong_value_introduced_in_prose_is_blamed_where_it_is_introduced_not_where_it_is_used():
    found = first_error(
        APPLES,
        APPLES_GOLD,
        "Each friend gets 12 apples - 3 = 9 apples.\nEach has 9 - 2 = <<9-2=7>>7 apples left.\nA: 7",
    )
    assert (found.step_index, found.kind) == (
        0,
        "wrong_operation",
    ) and "12 - 3 where the gold solution computes 12 / 3" in found.reason


def test_a_value_stated_with_no_equation_is_blamed_where_it_appears():
    solution = "Stacy finds 10 eggs and Charlie finds 9 eggs.\nThey find 5 + 10 + 9 = <<5+10+9=24>>24 eggs.\nA: 24"
    assert stated_numbers(split_steps(solution)[0]) == (10, 9)
    found = first_error(EGGS, EGGS_GOLD, solution)
    assert (found.step_index, found.kind) == (
        0,
        "unsupported_value",
    ) and "states 9 with no calculation" in found.reason


def test_stated_values_that_are_right_or_lead_nowhere_are_no_error():
    # 10 and 8 are the gold's; the 30 children of the aside are never used again
    solution = (
        "Stacy finds 10 eggs and Charlie finds 8 eggs.\nThere are 30 children in the park.\nThey find 5 + 10 "
        "+ 8 = <<5+10+8=23>>23 eggs."
    )
    assert first_wrong_step(EGGS, EGGS_GOLD, split_steps(solution)) is None
    assert stated_numbers("Let S be the sheep and G = 3S geese.") == ()  # algebra states no values


def test_a_side_fact_off_the_gold_chain_that_nothing_uses_is_no_error():
    solution = (
        "Next door has 20 / 2 = <<20/2=10>>10 cows and 8 / 2 = <<8/2=4>>4 horses.\nThat is 20 * 4 = "
        "<<20*4=80>>80 legs of cows here, by the way.\nNext door has 10 + 4 = <<10+4=14>>14 animals."
    )
    assert first_wrong_step(FARM, FARM_GOLD, split_steps(solution)) is None


@pytest.mark.parametrize(
    "question, gold, solution, words",
    [
        # the right number given to the wrong animal
        (
            FARM,
            FARM_GOLD,
            "Next door has 20 / 2 = <<20/2=10>>10 horses.\nSo it has 10 + 20 = <<10+20=30>>30 animals.\nA: 30",
            "10 horse, where the gold solution has 10 cow",
        ),
        # the right number for the wrong period
        (
            BAKERY,
            BAKERY_GOLD,
            "It bakes 30 * 7 = <<30*7=210>>210 loaves a day.\nIn 2 weeks it bakes 210 * 14 = "
            "<<210*14=2940>>2940.\nA: 2940",
            "210 per day, where the gold solution has 210 per week",
        ),
        # the right number used as a multiplier
        (
            AGES,
            AGES_GOLD,
            "His dad is 5 * 6 = <<5*6=30>>30 times as old as Sam.\nSo he is 30 * 5 = <<30*5=150>>150, and 154 in 4 "
            "years.\nA: 154",
            "30 is a multiplier",
        ),
    ],
)
def test_a_gold_value_bound_to_another_quantity_is_a_misread(question, gold, solution, words):
    found = first_error(question, gold, solution)
    assert (found.step_index, found.kind) == (0, "misread"), found
    assert words in found.reason


def test_the_same_binding_in_other_words_is_no_misbinding():
    assert misbinding(FARM, FARM_GOLD, "The farm next door keeps 20 / 2 = <<20/2=10>>10 cows.", 10) is None
    assert misbinding(BAKERY, BAKERY_GOLD, "Every week it bakes 30 * 7 = <<30*7=210>>210 loaves.", 210) is None
    assert misbinding(AGES, AGES_GOLD, "Dad: 5 * 6 = <<5*6=30>>30 years.", 30) is None


BIKE = (
    "Tim wants a $300 bike. He has saved $50. He earns $100 mowing lawns and $60 washing cars. How much more "
    "money does he need?"
)
BIKE_GOLD = (
    "He still needs 300 - 50 = <<300-50=250>>250 dollars.\nAfter his jobs he needs 250 - 100 - 60 = "
    "<<250-100-60=90>>90 dollars.\n#### 90"
)
SPENT = "Ann spends $8 on Monday, $16 on Tuesday and $64 on Wednesday. She had $100. How much does she have left?"
SPENT_GOLD = (
    "She spends 8 + 16 + 64 = <<8+16+64=88>>88 dollars.\nShe has 100 - 88 = <<100-88=12>>12 dollars left.\n#### 12"
)


def test_what_a_chain_takes_away_in_all_is_a_whole_quantity_but_a_partial_total_is_not():
    # 100 + 60: what he earns in all (the gold deducts both); the error is forgetting his savings
    found = first_error(
        BIKE,
        BIKE_GOLD,
        "He earns 100 + 60 = <<100+60=160>>160 dollars.\nHe needs 300 - 160 = <<300-160=140>>140 dollars.\nA: 140",
    )
    assert (found.step_index, found.kind) == (1, "misread")
    # 8 + 16: the total without Wednesday, never completed
    found = first_error(
        SPENT,
        SPENT_GOLD,
        "Monday and Tuesday cost 8 + 16 = <<8+16=24>>24 dollars.\nShe has 100 - 24 = <<100-24=76>>76 left.\nA: 76",
    )
    assert (found.step_index, found.kind) == (0, "misread") and "no later step completes it" in found.reason


CHORES = (
    "Lena washes 3 times as many dishes as Omar, and Omar washes half as many dishes as Priya. Priya washes 40 "
    "dishes. How many more dishes does Lena wash than Priya?"
)
CHORES_GOLD = (
    "Omar washes 40 / 2 = <<40/2=20>>20 dishes.\nSo Lena washes 3 * 20 = <<3*20=60>>60 dishes.\nLena washes 60 "
    "- 40 = <<60-40=20>>20 more dishes than Priya.\n#### 20"
)


def test_a_gold_value_given_to_another_person_is_a_misread():
    found = first_error(
        CHORES,
        CHORES_GOLD,
        "If Priya washes 40 dishes, Lena washes 40 / 2 = <<40/2=20>>20 dishes.\nSo Lena washes 20 - 40 = "
        "<<20-40=-20>>-20 more.\nA: -20",
    )
    assert (found.step_index, found.kind) == (0, "misread"), found
    assert "20 of Lena, where the gold solution has 20 of Omar" in found.reason


@pytest.mark.parametrize(
    "step",
    [
        # the subject, in other words
        "Omar's pile is 40 / 2 = <<40/2=20>>20 dishes.",
        "Since Priya washes 40, that means Omar washes 40 / 2 = <<40/2=20>>20 dishes.",
        # a name that is no subject: an object, a comparison, the last of a list
        "After giving half to Omar, she has 40 / 2 = <<40/2=20>>20 dishes.",
        "Half of Priya's 40 is 40 / 2 = <<40/2=20>>20 dishes for Omar.",
        "Priya, Omar, and Lena wash 40 / 2 = <<40/2=20>>20 dishes on the first day.",
        # a difference of two people's values (the gold's last line) is no one's amount
        "Lena washes 60 - 40 = <<60-40=20>>20 more dishes than Priya.",
    ],
)
def test_a_person_binds_a_value_only_as_the_one_subject_of_its_clause(step):
    assert misbinding(CHORES, CHORES_GOLD, step, 20) is None


def test_days_and_groups_are_not_people():
    question = (
        "On Monday the Spanish team scores 4 goals and on Tuesday it scores 3 times as many. How many goals does "
        "it score in all?"
    )
    gold = "On Tuesday it scores 4 * 3 = <<4*3=12>>12 goals.\nIn all 4 + 12 = <<4+12=16>>16 goals.\n#### 16"
    assert misbinding(question, gold, "Monday's 4 goals times 3 make 4 * 3 = <<4*3=12>>12 goals.", 12) is None
    assert misbinding(question, gold, "Spanish players score 4 * 3 = <<4*3=12>>12 goals on Tuesday.", 12) is None


def test_plural_nouns_in_oes_and_meals_bind():
    question = "Rosa buys 12 tomatoes and 4 peppers. She cooks with 1/4 of each. How many tomatoes does she use?"
    gold = "She uses 12 / 4 = <<12/4=3>>3 tomatoes.\nShe uses 4 / 4 = <<4/4=1>>1 pepper.\n#### 3"
    assert "3 pepper, where the gold solution has 3 tomato" in misbinding(
        question, gold, "She uses 12 / 4 = <<12/4=3>>3 peppers.", 3
    )
    question = "Each of 3 dogs eats 2 cups per meal. They eat 2 meals a day. How many cups do they eat a day?"
    gold = "The dogs eat 3 * 2 = <<3*2=6>>6 cups per meal.\nSo 6 * 2 = <<6*2=12>>12 cups a day.\n#### 12"
    assert "6 per day, where the gold solution has 6 per meal" in misbinding(
        question, gold, "The dogs eat 3 * 2 = <<3*2=6>>6 cups a day.", 6
    )


def test_a_calculators_float_noise_cut_off_is_the_exact_value():
    question = "Ivy buys soap at $2.10, bread at $3.35 and milk at $1.55. She pays with $10. What is her change?"
    gold = (
        "She spends 2.10 + 3.35 + 1.55 = <<2.10+3.35+1.55=7>>7 dollars.\nHer change is 10 - 7 = <<10-7=3>>3.\n#### 3"
    )
    solution = (
        "The items cost $2.10 + $3.35 + $1.55 = $<<2.10+3.35+1.55=6.999999999999999>>6.99.\n"
        "Her change is $10 - $6.99 = $<<10-6.99=3.01>>3.01."
    )
    (calc,) = calculations(split_steps(solution)[0])
    assert (calc.error(), calc.stated) == (None, 7)
    assert first_wrong_step(question, gold, split_steps(solution)) is None


def test_thousands_written_with_spaces_in_the_question_are_known():
    question = "A flat sells for $250 000 and the agent takes 2%. How much does the agent take?"
    gold = "One percent is 2500 dollars, so the agent takes 2500 * 2 = <<2500*2=5000>>5000 dollars.\n#### 5000"
    solution = "The fee is $250 000 x 2% = 250000*0.02 = $<<250000*0.02=5000>>5000."
    assert first_wrong_step(question, gold, split_steps(solution)) is None


def test_n_times_more_is_a_multiplier_unless_the_question_counts_times():
    question = "A shop sells 6 kites on Monday and 1/3 more kites on Tuesday than on Monday. How many on Tuesday?"
    gold = "On Tuesday it sells 1/3 * 6 = <<1/3*6=2>>2 more kites.\nSo 6 + 2 = <<6+2=8>>8 kites.\n#### 8"
    assert "2 is a multiplier" in misbinding(question, gold, "It sells 1/3 * 6 = <<1/3*6=2>>2 times more kites.", 2)
    question = "Ada knocks 12 times. Ben knocks 1/3 times more than Ada. How many times does Ben knock?"
    gold = "Ben knocks 1/3 * 12 = <<1/3*12=4>>4 times more.\nSo 12 + 4 = <<12+4=16>>16 times.\n#### 16"
    assert misbinding(question, gold, "Ben knocks 1/3 * 12 = <<1/3*12=4>>4 times more than Ada.", 4) is None


def test_dividing_where_the_gold_multiplies_is_wrong_even_when_a_later_value_lands_on_the_chain():
    question = "A snail needs 4 hours for a path. A slug, at half the snail's speed, needs how long for 3 paths?"
    gold = "The slug needs 4 * 2 = <<4*2=8>>8 hours a path.\nFor 3 paths it needs 8 * 3 = <<8*3=24>>24 hours.\n#### 24"
    # 4/2 = 2, then 2*4 = 8 happens to be the gold's 8 hours a path
    solution = (
        "The slug needs 4 / 2 = <<4/2=2>>2 hours a path.\nSo 2 * 4 = <<2*4=8>>8 hours.\n"
        "For 3 paths it needs 8 * 3 = <<8*3=24>>24 hours."
    )
    found = first_wrong_step(question, gold, split_steps(solution))
    assert (found.step_index, found.kind) == (0, "wrong_operation"), found


def test_a_negative_result_written_without_its_sign_and_cents_as_dollars_are_no_error():
    question = "A coat cost $80 and is now sold for $65. A scarf costs 40 cents. How much less is the coat now?"
    gold = "It is 80 - 65 = <<80-65=15>>15 dollars less.\n#### 15"
    (calc,) = calculations("The change is $65 - $80 = $<<65-80=-15>>15 less.")
    assert calc.error() is None
    solution = "The scarf is 1 * $0.40 = $<<1*0.40=0.4>>0.40.\nThe coat is $80 - $65 = $<<80-65=15>>15 cheaper."
    assert first_wrong_step(question, gold, split_steps(solution)) is None


STICKERS = "Nadia has 30 stickers, 12 more than Omar. Pia has half as many as Omar. How many stickers does Pia have?"
STICKERS_GOLD = (
    "Nadia has 12 more than Omar, which means Omar has 30 - 12 = <<30-12=18>>18 stickers.\n"
    "Pia has 18 / 2 = <<18/2=9>>9 stickers.\n#### 9"
)


def test_which_means_opens_a_clause_before_its_subject():
    assert "18 of Pia, where the gold solution has 18 of Omar" in misbinding(
        STICKERS, STICKERS_GOLD, "Pia has 30 - 12 = <<30-12=18>>18 stickers.", 18
    )
    for step in (
        "Omar has 12 fewer, which means Pia has 30 - 12 = <<30-12=18>>18 stickers.",
        "It means that Pia has 30 - 12 = <<30-12=18>>18 stickers.",
    ):
        assert "18 of Pia" in misbinding(STICKERS, STICKERS_GOLD, step, 18)
    assert misbinding(STICKERS, STICKERS_GOLD, "So it means Omar has 30 - 12 = <<30-12=18>>18 stickers.", 18) is None


CHICKEN = (
    "A cook buys 3 packs with 8 chicken wings each and 2 packs with 5 chicken legs each. He fries 6 wings or 4 "
    "legs at a time. How many pieces of chicken does he buy?"
)
CHICKEN_GOLD = (
    "He buys 3 * 8 = <<3*8=24>>24 chicken wings.\nHe buys 2 * 5 = <<2*5=10>>10 chicken legs.\n"
    "He buys 24 + 10 = <<24+10=34>>34 pieces.\n#### 34"
)


def test_a_compound_noun_counts_its_last_noun():
    assert "24 leg, where the gold solution has 24 wing" in misbinding(
        CHICKEN, CHICKEN_GOLD, "He buys 3 * 8 = <<3*8=24>>24 chicken legs.", 24
    )
    for step in ("He buys 3 * 8 = <<3*8=24>>24 fried chicken wings.", "That is 3 * 8 = <<3*8=24>>24 wings in all."):
        assert misbinding(CHICKEN, CHICKEN_GOLD, step, 24) is None
    question = "A club has 40 members. 25% dance and 75% sing. How many members dance?"
    gold = "Of the 40 members, 40 * .25 = <<40*.25=10>>10 members dance.\n#### 10"
    # a plural ends the noun phrase: `10 members dance` counts members, as `10 members` does
    assert misbinding(question, gold, "That is 40 * .25 = <<40*.25=10>>10 members.", 10) is None


def test_a_number_glued_to_a_bracket_multiplies_it():
    (calc,) = calculations("First year: 8000(.25)=2000")
    assert (calc.operands, calc.result, calc.error()) == ((8000, Fraction(1, 4)), 2000, None)
    (calc,) = calculations("(4)(5) = 20 cups")
    assert (calc.operands, calc.result) == ((4, 5), 20)
    assert calculations("2 (3+4) = 14") == ()  # apart: a count before a bracket, not a product
    question = (
        "A car worth $8000 loses 25% of its value in the first year and 25% of what is left in the second year. "
        "What is it worth after two years?"
    )
    gold = (
        "First year: 8000(.25)=2000\n8000-2000=<<8000-2000=6000>>6000\nSecond year: 6000(.25)=1500\n"
        "6000-1500=<<6000-1500=4500>>4500\n#### 4500"
    )
    solution = (
        "It loses 8000*.25 = <<8000*.25=2000>>2000 the first year.\n"
        "It loses 8000*.25 = <<8000*.25=2000>>2000 the second year.\n"
        "It is worth 8000 - 2000 - 2000 = <<8000-2000-2000=4000>>4000.\nA: 4000"
    )
    found = first_error(question, gold, solution)
    assert found.step_index > 0, found  # the first year's 2000 is the gold's: not the error


def test_units_of_rate_are_no_periods():
    question = (
        "A heater uses 3 kilowatts per hour. It runs 5 hours a day. What does it cost a day at $0.20 a kilowatt?"
    )
    gold = (
        "It uses 3 * 5 = <<3*5=15>>15 kilowatts per hour.\nIt costs 15 * 0.20 = <<15*0.20=3>>3 dollars a day.\n#### 3"
    )
    assert misbinding(question, gold, "It uses 3 * 5 = <<3*5=15>>15 kilowatts a day.", 15) is None
    question = "A cyclist rides at 12 miles per hour, 3 hours a day, and walks 2 miles a day. How far does she go?"
    periods = [
        binding.period for _, binding, _ in bindings("She rides 12 miles per hour and walks 2 miles a day.", question)
    ]
    assert periods == [None, "day"]
    periods = [binding.period for _, binding, _ in bindings("She eats 3 apples per hour.", question)]
    assert periods == ["hour"]


# True side facts (tracegen.verifiers.side_facts): a conversion of the question's quantities by a unit constant is
# true even when the gold solution never computes it; the first error is the line that misuses it.
READING = (
    "Lena reads 15 pages a day. Her library book has 240 pages and is due back in 20 days. How many days early will "
    "she finish it?"
)
READING_GOLD = "She needs 240 / 15 = <<240/15=16>>16 days.\nShe finishes 20 - 16 = <<20-16=4>>4 days early.\n#### 4"
MUFFINS = "A bakery sells 40 muffins a day at $3 each. How many days does it take to make $1,680 from muffins?"
MUFFINS_GOLD = (
    "It makes 40 * 3 = <<40*3=120>>120 dollars a day.\nIt needs 1680 / 120 = <<1680/120=14>>14 days.\n#### 14"
)
SNAIL = (
    "A snail crawls 24 inches an hour. A garden path is 15 feet long and the snail has already crawled 6 feet of it. "
    "How many more hours until it reaches the end?"
)
SNAIL_GOLD = (
    "It still has 15 - 6 = <<15-6=9>>9 feet to go.\nThat is 9 * 12 = <<9*12=108>>108 inches.\n"
    "It takes 108 / 24 = <<108/24=4.5>>4.5 hours.\n#### 4.5"
)


@pytest.mark.parametrize(
    "question, gold, solution, first",
    [
        # a rate times a count of what it is per is no conversion: `she reads 300 pages` is false (the book has 240),
        # and a reader of units cannot tell "could read" from "reads", so the line stays the first error
        (
            READING,
            READING_GOLD,
            "In 20 days she reads 15 pages/day * 20 days = <<15*20=300>>300 pages.\n"
            "She finishes 300 - 240 = <<300-240=60>>60 days early.\nA: 60",
            0,
        ),
        # a rate per day times the days of a week: a week's muffins (true); then dollars divided by muffins
        (
            MUFFINS,
            MUFFINS_GOLD,
            "It sells 40 * 7 = <<40*7=280>>280 muffins a week.\nIt needs 1680 / 280 = <<1680/280=6>>6 weeks.\nA: 6",
            1,
        ),
        # the same product called a day's muffins: the period does not compose
        (
            MUFFINS,
            MUFFINS_GOLD,
            "It sells 40 * 7 = <<40*7=280>>280 muffins a day.\nIt needs 1680 / 280 = <<1680/280=6>>6 days.\nA: 6",
            0,
        ),
        # inches an hour over 12: feet an hour (true); then the whole path instead of what is left
        (
            SNAIL,
            SNAIL_GOLD,
            "It crawls 24 / 12 = <<24/12=2>>2 feet an hour.\nIt takes 15 / 2 = <<15/2=7.5>>7.5 hours.\nA: 7.5",
            1,
        ),
        # the same quotient called inches: no conversion by 12 makes inches of inches
        (
            SNAIL,
            SNAIL_GOLD,
            "It crawls 24 / 12 = <<24/12=2>>2 inches an hour.\nIt takes 15 / 2 = <<15/2=7.5>>7.5 hours.\nA: 7.5",
            0,
        ),
    ],
)
def test_a_true_side_fact_is_not_the_first_error(question, gold, solution, first):
    assert first_error(question, gold, solution).step_index == first


def test_a_rate_applies_to_its_own_count_and_kind():
    question = "Tom swims 3 laps a day for 4 days. Then he swims 5 laps a day for 6 days. How many laps does he swim?"
    gold = (
        "He swims 3 * 4 = <<3*4=12>>12 laps.\nThen 5 * 6 = <<5*6=30>>30 laps.\nIn all 12 + 30 = <<12+30=42>>42.\n"
        "#### 42"
    )
    wrong = "He swims 5 laps a day * 4 days = <<5*4=20>>20 laps.\nIn all 20 + 12 = <<20+12=32>>32 laps.\nA: 32"
    assert first_error(question, gold, wrong).step_index == 0  # the 4 days are the other period's
    question = (
        "A big cookie has 200 calories. A mini cookie has a quarter of that. Sam eats 6 mini cookies and 1 big "
        "cookie. How many calories does he eat?"
    )
    gold = (
        "A mini cookie has 200 / 4 = <<200/4=50>>50 calories.\nThe mini cookies have 6 * 50 = <<6*50=300>>300 "
        "calories.\nHe eats 300 + 200 = <<300+200=500>>500 calories.\n#### 500"
    )
    wrong = (
        "The mini cookies have 6 * 200 = <<6*200=1200>>1200 calories.\nHe eats 1200 + 200 = 1400 calories.\nA: 1400"
    )
    assert first_error(question, gold, wrong).step_index == 0  # a big cookie's calories are no mini cookie's


def test_an_earlier_result_is_a_quantity_too():
    question = (
        "Ravi buys 3 apples every day at 40 cents each. He gets $10 of pocket money a week. How many cents does he "
        "have left at the end of a week?"
    )
    gold = (
        "He spends 3 * 40 = <<3*40=120>>120 cents a day.\nIn a week he spends 120 * 7 = <<120*7=840>>840 cents.\n"
        "$10 is 10 * 100 = <<10*100=1000>>1000 cents.\nHe has 1000 - 840 = <<1000-840=160>>160 cents left.\n#### 160"
    )
    wrong = (
        "He spends 3 * 40 = <<3*40=120>>120 cents a day.\nHe spends 120 * 30 = <<120*30=3600>>3600 cents a month.\n"
        "He has 3600 - 1000 = <<3600-1000=2600>>2600 cents left.\nA: 2600"
    )
    assert first_error(question, gold, wrong).step_index == 2  # a month of the day's 120 cents is true
    wrong = wrong.replace("cents a month", "cents a week")
    assert first_error(question, gold, wrong).step_index == 1  # 30 days are no week


def test_a_true_side_fact_is_no_misbinding_of_the_gold_value_it_equals():
    question = (
        "Maya practises piano for 3 hours every day and plays 4 songs each hour. How many songs does she play in 4 "
        "days?"
    )
    gold = (
        "She practises 3 hours and plays 4 songs an hour, so 3 * 4 = <<3*4=12>>12 songs a day.\n"
        "In 4 days she plays 12 * 4 = <<12*4=48>>48 songs.\n#### 48"
    )
    right = (
        "She practises 3 hours a day for 4 days, so 3 * 4 = <<3*4=12>>12 hours.\n"
        "She plays 12 * 4 = <<12*4=48>>48 songs.\nA: 48"
    )
    # 12 hours is true (3 hours a day for 4 days), though the gold's 12 is songs
    assert get_verifier("divergence").flag_steps([(question, gold, right)]) == [None]


@pytest.mark.parametrize(
    "text, value, unit, per",
    [
        ("Each wheel costs 15 dollars to replace.", 15, "dollar", "wheel"),
        ("There are 4 shelves with 30 books on each shelf.", 30, "book", "shelf"),
        ("There are 4 shelves with 30 books on each shelf.", 4, "shelf", None),
        ("A crate weighs 12 kg when it is full.", 12, "kilogram", "crate"),
        ("She has 6 boxes with eight crayons each.", 8, "crayon", "box"),
        ("Weekly, the shop sells 90 hats.", 90, "hat", "week"),
        ("The printer prints 20 pages per minute.", 20, "page", "minute"),
        ("They watched a 3-hour movie.", 3, "hour", None),
        ("He buys 2 bus tickets five days a week.", 5, "day", "week"),
        ("9 out of 10 dentists agree.", 9, None, None),
    ],
)
def test_what_a_number_measures(text, value, unit, per):
    (found,) = [q for q in quantities(text) if q.value == value]
    assert (found.unit and found.unit.name, found.per and found.per.name) == (unit, per)


def assert_first_error(question, gold, solution, step, kind="misread", says="", rights=()):
    """`solution` goes wrong first at `step`, for the reason that `says`; each of `rights`, judged alone, is right."""
    found = first_error(question, gold, solution)
    assert (found.step_index, found.kind) == (step, kind) and says in found.reason, found
    for right in rights:
        assert first_wrong_step(question, gold, split_steps(right)) is None, right


KENNEL = (
    "A kennel takes in 40 dogs each day and has room for 900 dogs. It starts empty. How many free places does it "
    "have after 3 weeks?"
)
KENNEL_GOLD = (
    "In a week it takes in 40 * 7 = <<40*7=280>>280 dogs.\nIn 3 weeks it takes in 280 * 3 = <<280*3=840>>840 dogs.\n"
    "It has 900 - 840 = <<900-840=60>>60 free places.\n#### 60"
)


def test_a_number_per_day_times_a_count_of_weeks_is_a_unit_error():
    solution = (
        "In 3 weeks it takes in 40 * 3 = <<40*3=120>>120 dogs.\nIt has 900 - 120 = <<900-120=780>>780 free places."
    )
    assert_first_error(KENNEL, KENNEL_GOLD, solution + "\nA: 780", 0, says="a count of weeks times a number per day")
    # converting first is right, whichever way round; a number per week times weeks too
    for right in (
        "It takes in 40 * 7 = <<40*7=280>>280 dogs a week.\nSo 3 * 280 = <<3*280=840>>840 dogs.",
        "That is 3 * 7 = <<3*7=21>>21 days.\nSo 40 * 21 = <<40*21=840>>840 dogs.",
        "It takes in 40 * 7 * 3 = <<40*7*3=840>>840 dogs.",
    ):
        assert first_wrong_step(KENNEL, KENNEL_GOLD, split_steps(right)) is None, right
    question = "A cafe sells 30 cakes a week. A cake needs 2 eggs. How many eggs does it use in 5 weeks?"
    gold = "It sells 30 * 5 = <<30*5=150>>150 cakes.\nThey need 150 * 2 = <<150*2=300>>300 eggs.\n#### 300"
    assert first_wrong_step(question, gold, split_steps("It sells 30 * 5 = <<30*5=150>>150 cakes.")) is None
    # minutes for each visit are no count of minutes: 300 visits a day * 20 minutes each is minutes a day
    question = "A clinic sees 300 people a day. Each visit lasts 20 minutes. How many hours of visits a day?"
    gold = "That is 300*20=<<300*20=6000>>6000 minutes a day.\nOr 6000/60=<<6000/60=100>>100 hours.\n#### 100"
    assert first_wrong_step(question, "#### 100", split_steps("That is 300*20=<<300*20=6000>>6000 minutes.")) is None
    assert first_wrong_step(question, gold, split_steps("They see 20*300=<<20*300=6000>>6000 minutes.")) is None
    # `5 days a week` is a number of days, not of things: its `1 hour` of yoga is per day
    question = "Ada does 1 hour of yoga, 5 days a week. How many hours of yoga does she do in 4 weeks?"
    gold = "She does 1*5=<<1*5=5>>5 hours a week.\nIn 4 weeks: 5*4=<<5*4=20>>20 hours.\n#### 20"
    assert first_wrong_step(question, gold, split_steps("That is 5*1=<<5*1=5>>5 hours a week.")) is None
    # `50 weeks a year` times `35 hours a week` cancels: only a plain count of another period is an error
    question = "Lena works 50 weeks a year and 35 hours a week at $20 an hour. What does she earn in a year?"
    gold = "She works 50 * 35 = <<50*35=1750>>1750 hours.\nShe earns 1750 * 20 = <<1750*20=35000>>35000.\n#### 35000"
    assert first_wrong_step(question, gold, split_steps("She works 50 * 35 = <<50*35=1750>>1750 hours.")) is None


def test_a_percentage_added_to_an_amount_is_a_unit_error_even_when_nothing_uses_it():
    question = "A baker had 20 pies. Then she made 45% more pies. Her friend has 6 fewer than the baker. How many?"
    gold = (
        "She made 20 * 0.45 = <<20*0.45=9>>9 more pies.\nShe has 20 + 9 = <<20+9=29>>29 pies.\n"
        "Her friend has 29 - 6 = <<29-6=23>>23 pies.\n#### 23"
    )
    solution = "She has 20 + 45% = <<20+45*.01=20.45>>20.45 pies.\nHer friend has 20 - 6 = <<20-6=14>>14 pies.\nA: 14"
    assert_first_error(question, gold, solution, 0)
    for right in (
        "She has 20 * (1 + 0.45) = <<20*(1+0.45)=29>>29 pies.",
        "She has 100% + 45% = 145% of the pies, 20 * 1.45 = <<20*1.45=29>>29.",
        "The friend has 1 - 0.45 = <<1-0.45=0.55>>0.55 of nothing; she has 20 + 9 = <<20+9=29>>29 pies.",
    ):
        assert first_wrong_step(question, gold, split_steps(right)) is None, right


def test_a_value_the_gold_adds_to_a_yearly_amount_is_a_years():
    question = (
        "Ana earns $3000 a month. Once a year she gets a bonus of half a month's pay. What does she earn in a year?"
    )
    gold = (
        "She earns 3000 * 12 = <<3000*12=36000>>36000 a year.\nHer bonus is 3000 / 2 = <<3000/2=1500>>1500.\n"
        "She earns 36000 + 1500 = <<36000+1500=37500>>37500.\n#### 37500"
    )
    solution = (
        "Her bonus is 3000 / 2 = <<3000/2=1500>>1500 per month.\nShe earns 3000 + 1500 = <<3000+1500=4500>>4500 a "
        "month.\nIn a year she earns 4500 * 12 = <<4500*12=54000>>54000.\nA: 54000"
    )
    rights = ("Her bonus is 3000 / 2 = <<3000/2=1500>>1500.", "Her bonus is 3000 / 2 = <<3000/2=1500>>1500 a year.")
    assert_first_error(
        question, gold, solution, 0, says="1500 per month, where the gold solution has 1500 per year", rights=rights
    )


def test_an_equation_whose_root_no_quantity_has_is_set_up_wrongly_on_its_line():
    from tracegen.verifiers.algebra import equations

    assert equations("In 3 years their ages add up to 2y+y=27.") == (("2y+y=27", 9),)
    assert equations("So she is n=2(30-2n) years old.") == (("n=2(30-2n)", 12),)
    assert equations("He makes 9,000 cakes x 3 = 27,000 cakes.") == ()  # a times sign, not an unknown
    assert equations("Let x be a number.") == equations("She uses 2x flour.") == ()
    question = (
        "The sides of a triangle are x, 2x and 4x cm long, and its perimeter is 63 cm. How long is its longest side?"
    )
    gold = (
        "Let x be the shortest side.\nx+2x+4x=63\n7x=63\nx=<<63/7=9>>9\nThe longest side is 4*9=<<4*9=36>>36 cm.\n"
        "#### 36"
    )
    solution = (
        "Let x be the shortest side.\nThe sides add up to 2x+4x=63 cm.\nSo 6x=63 and x=63/6=<<63/6=10.5>>10.5.\n"
        "The longest side is 4*10.5=<<4*10.5=42>>42 cm.\nA: 42"
    )
    assert_first_error(question, gold, solution, 1)
    right = (
        "Let x be the shortest side.\nThe sides add up to x + 2x + 4x = 63 cm.\nSo 7x = 63 and x = 9.\n"
        "The longest is 4 * 9 = 36."
    )
    assert first_wrong_step(question, gold, split_steps(right)) is None


def test_a_sum_a_later_step_adds_its_own_term_to_again_is_misnamed_where_it_is_made():
    question = "Omar saves $30 and his sister gives him $12 more. A bank doubles all of it. How much does he have?"
    gold = "He has 30+12=<<30+12=42>>42 dollars.\nThe bank doubles it: 42*2=<<42*2=84>>84 dollars.\n#### 84"
    solution = (
        "His sister adds 30+12=<<30+12=42>>42 dollars to his savings.\nSo he has 42+30=<<42+30=72>>72 dollars.\n"
        "The bank doubles it: 72*2=<<72*2=144>>144 dollars.\nA: 144"
    )
    assert_first_error(question, gold, solution, 0, says="42 already holds 30")


BEADS = "Ivy has 50 beads. Mia has 20 more than Ivy, and Zoe has 20 more than Mia. How many do the three have?"
BEADS_GOLD = (
    "Mia has 50+20=<<50+20=70>>70 beads.\nZoe has 70+20=<<70+20=90>>90 beads.\nIvy and Mia have 50+70=<<50+70=120>>"
    "120.\nThe three have 120+90=<<120+90=210>>210 beads.\n#### 210"
)
BOOKS = "Two books weigh 4 pounds each and a bag weighs 3 pounds. What do the books and the bag weigh?"


@pytest.mark.parametrize(
    "question, gold, solution",
    [
        (
            "Cal has 3 kg of rice, Dee 5 kg and Eli 4 kg. They share it equally. How much does each get?",
            "They have 3+5+4=<<3+5+4=12>>12 kg.\nEach gets 12/3=<<12/3=4>>4 kg.\n#### 4",
            "Dee and Eli have 5+4=<<5+4=9>>9 kg.\nAll three have 3+9=<<3+9=12>>12 kg.\nEli and Dee have "
            "4+9=<<4+9=13>>13.\nEach gets 12/3=<<12/3=4>>4 kg.",
        ),
        (
            BEADS,
            BEADS_GOLD,
            "Mia has 50+20=<<50+20=70>>70.\nZoe has 70+20=<<70+20=90>>90.\nIn all 70+50+90=<<70+50+90=210>>210.",
        ),
        (
            BOOKS,
            "They weigh 4+4+3=<<4+4+3=11>>11 pounds.\n#### 11",
            "A book and the bag: 4+3=<<4+3=7>>7.\nAll: 7+4=<<7+4=11>>11.",
        ),
    ],
    ids=["a-double-count-nothing-uses", "through-another-gold-sum", "a-term-the-gold-has-twice"],
)
def test_adding_a_term_again_is_right_where_the_gold_does_it_too(question, gold, solution):
    assert first_wrong_step(question, gold, split_steps(solution)) is None


RICE = "A cook uses 3 cups of rice a day. How many cups does he use in 7 days?"


@pytest.mark.parametrize(
    "gold, says",
    [
        ("He uses 3 cups of rice a day so in 7 days he uses 3*7 = <<3*7=21>>21 cups.\n#### 21", None),
        (
            "Every day, he uses 3 * 7 = <<3*7=21>>21 cups.\n#### 21",
            "21 per week, where the gold solution has 21 per day",
        ),
    ],
    ids=["the-day-is-3s", "a-period-no-number-has-is-the-values"],
)
def test_a_period_three_words_after_a_number_is_that_numbers(gold, says):
    found = misbinding(RICE, gold, "He uses 3*7 = <<3*7=21>>21 cups of rice a week.", 21)
    assert found is None if says is None else says in found


def test_a_calculation_repeated_where_the_gold_applies_it_to_a_new_base_is_a_misread():
    question = "A bike costs $500. It loses 10% of its value in the first year and 10% of what is left in the second."
    gold = (
        "First year: 500*.10=<<500*.10=50>>50\n500-50=<<500-50=450>>450\nSecond year: 450*.10=<<450*.10=45>>45\n"
        "450-45=<<450-45=405>>405\n#### 405"
    )
    solution = (
        "In the first year it loses 500*.10=<<500*.10=50>>50.\nIn the second year it loses 500*.10=<<500*.10=50>>50.\n"
        "It is worth 500-50-50=<<500-50-50=400>>400.\nA: 400"
    )
    assert_first_error(question, gold, solution, 1)
    # the same product for two things the gold never computes apart is no repeat (3 hats and 3 pairs of socks)
    question = "Eva knits 3 hats of 2 balls of wool each and 3 pairs of socks of 2 balls each. How many balls?"
    gold = "One hat and one pair of socks take 2+2=<<2+2=4>>4 balls.\nShe needs 3*4=<<3*4=12>>12 balls.\n#### 12"
    solution = "Hats: 3*2=<<3*2=6>>6 balls.\nSocks: 3*2=<<3*2=6>>6 balls.\nIn all 6+6=<<6+6=12>>12 balls."
    assert first_wrong_step(question, gold, split_steps(solution)) is None


def test_a_number_per_item_times_the_items_is_no_number_per_item():
    question = (
        "A parking garage has 6 levels. Each level holds 40 cars. A quarter of the places are free. How many cars?"
    )
    gold = (
        "It holds 6 * 40 = <<6*40=240>>240 cars.\n240 / 4 = <<240/4=60>>60 are free.\n"
        "240 - 60 = <<240-60=180>>180.\n#### 180"
    )
    solution = (
        "There are 6 * 40 = <<6*40=240>>240 cars on each level.\n"
        "So the garage holds 240 * 6 = <<240*6=1440>>1440 cars.\nA: 1440"
    )
    rights = (
        "There are 6 * 40 = <<6*40=240>>240 cars on all levels.",
        "Each level holds 40 cars, so 6 levels hold 6 * 40 = <<6*40=240>>240 cars.",
    )
    assert_first_error(question, gold, solution, 0, says="240 is all the levels' together", rights=rights)


def test_an_unjustified_sum_of_money_or_persons_amount_is_wrong_even_when_nothing_uses_it():
    question = "Ben has $50. Ann has 20% less than Ben. How much do they have together?"
    gold = "Ann has 50*0.8=<<50*0.8=40>>40 dollars.\nTogether they have 50+40=<<50+40=90>>90 dollars.\n#### 90"
    rest = "\nAnn has 50-10=<<50-10=40>>40 dollars.\nTogether they have 50+40=<<50+40=90>>90 dollars."
    for claim in ("Ben's $50 is 20% more than Ann's $45", "Ben's 50 is 20% more than Ann's 45"):
        solution = f"{claim}, so Ann has 50*0.2=<<50*0.2=10>>10 dollars less." + rest
        found = first_wrong_step(question, gold, split_steps(solution))
        assert (found.step_index, found.kind) == (0, "unsupported_value"), (claim, found)
    solution = "Over 3 days nothing changes, so Ann has 50*0.2=<<50*0.2=10>>10 dollars less." + rest
    assert first_wrong_step(question, gold, split_steps(solution)) is None  # a bare number in passing


def test_an_expression_in_the_gold_unknown_is_judged_at_the_gold_root():
    from tracegen.verifiers.algebra import expressions

    assert expressions("Ana: 4x+10 marbles", "x", Fraction(10)) == (("4x+10", 50),)
    assert expressions("So Ana is 5*x+2 = 5x+2.", "x", Fraction(3)) == (("5*x+2", 17), ("5x+2", 17))
    question = (
        "Ana, Bo and Cy have 100 marbles. Bo has 4 times as many as Cy, and Ana has 10 more than Bo. How many has Ana?"
    )
    gold = (
        "Let x be the number of marbles Cy has.\nBo: 4x\nAna: 4x+10\nx+4x+4x+10=100\n9x=90\nx=<<90/9=10>>10\n"
        "Ana: 4*10+10=<<4*10+10=50>>50 marbles\n#### 50"
    )
    solution = (
        "Let x be the number of Cy's marbles.\nBo: 4x\nAna: x+10\nTotal: x+4x+x+10=100\n6x=90\nx=15\nAna: 25\nA: 25"
    )
    assert_first_error(question, gold, solution, 2)
    right = "Let x be the number of Cy's marbles.\nBo: 4x\nAna: 4x+10\nIn all x+4x+4x+10=100\n9x=90\nx=10"
    assert first_wrong_step(question, gold, split_steps(right)) is None
    # another unknown (x for Bo's marbles) is not judged at the gold's root
    other = "Let x be the number of Bo's marbles.\nAna: x+10\nCy: x/4"
    assert first_wrong_step(question, gold, split_steps(other)) is None


STAMPS = "Ola sold 2/3 of her stamps and has 40 left. How many stamps did she have at first?"
STAMPS_GOLD = "She has 1 - 2/3 = 1/3 left.\nSo she had 40 * 3 = <<40*3=120>>120 stamps at first.\n#### 120"


def test_an_unknown_for_what_the_question_asks_has_the_gold_answer_as_its_value():
    solution = "Let y be the number of stamps she had at first.\nShe sold 2/3y and kept 40y.\nSo y = 40/3.\nA: 13"
    assert_first_error(
        STAMPS,
        STAMPS_GOLD,
        solution,
        1,
        says="40y is 4800",  # 2/3y is no gold value, but a share of y the question names
        rights=["Let y be the number of stamps she had at first.\nShe kept y/3 = 40 stamps.\nSo y = 120."],
    )
    # an unknown for something the question does not ask is not judged at the answer
    other = "Let y be the number of stamps she sold.\nShe kept 40y."
    assert first_wrong_step(STAMPS, STAMPS_GOLD, split_steps(other)) is None


def test_a_number_of_times_a_week_times_weeks_counts_times_not_hours():
    question = "A choir meets 3 times a week for 2 hours each time for 5 weeks. How many hours does it meet?"
    gold = "It meets 3*2=<<3*2=6>>6 hours a week.\nIn 5 weeks it meets 6*5=<<6*5=30>>30 hours.\n#### 30"
    solution = "It meets 5*3=<<5*3=15>>15 hours in all.\nA: 15"
    rights = ("It meets 5*3=<<5*3=15>>15 times.\nEach time is 2 hours: 15*2=<<15*2=30>>30 hours.",)
    assert_first_error(question, gold, solution, 0, says="15 counts times (3 a week), not hours", rights=rights)


BARNS = "A farm has 7 barns. In each barn there are 6 stalls, and each stall holds 3 goats. How many goats are there?"
BARNS_GOLD = "There are 7*6=<<7*6=42>>42 stalls.\nThey hold 42*3=<<42*3=126>>126 goats.\n#### 126"


def test_a_product_still_per_one_item_called_a_total_is_misread_on_its_line():
    # 6 stalls a barn * 3 goats a stall is one barn's goats: called the total, the line is the error, not the next
    solution = "The total number of goats is 6*3=<<6*3=18>>18.\nSo the farm has 18*6=<<18*6=108>>108 goats.\nA: 108"
    rights = (
        "Each barn has 6*3=<<6*3=18>>18 goats.\nThe farm has 18*7=<<18*7=126>>126 goats.",
        "The 6 stalls of a barn hold 6*3=<<6*3=18>>18 goats in total.\nThe farm has 18*7=<<18*7=126>>126 goats.",
        "The total number of goats in a barn is 6*3=<<6*3=18>>18.\nThe farm has 18*7=<<18*7=126>>126 goats.",
    )
    assert_first_error(BARNS, BARNS_GOLD, solution, 0, says="18 is one barn's, called a total of all 7", rights=rights)


def test_a_share_each_item_has_called_the_combined_share_is_misread_on_its_line():
    question = (
        "A library has 4 reading rooms. Each room has 1/5 the seats of the main hall, which seats 150 people. "
        "How many seats are there in all, the main hall included?"
    )
    gold = (
        "A room has 150/5=<<150/5=30>>30 seats.\nThe rooms have 30*4=<<30*4=120>>120.\n"
        "120+150=<<120+150=270>>270.\n#### 270"
    )
    solution = (
        "The combined seats of the reading rooms are 1/5*150=<<1/5*150=30>>30.\n"
        "With the main hall there are 30+150=<<30+150=180>>180 seats.\nA: 180"
    )
    rights = ("Each reading room has 1/5*150=<<1/5*150=30>>30 seats.\nThe 4 rooms have 30*4=<<30*4=120>>120 seats.",)
    assert_first_error(question, gold, solution, 0, says="30 is one room's", rights=rights)


def test_a_total_of_one_item_is_a_total_where_the_question_has_one_or_an_each_is_another_numbers():
    # one barn: its goats are all the goats
    question = "A farm has 1 barn. In each barn there are 6 stalls, and each stall holds 3 goats. How many goats?"
    solution = "The total number of goats is 6*3=<<6*3=18>>18.\nA: 18"
    assert first_wrong_step(question, "6*3=<<6*3=18>>18 goats.\n#### 18", split_steps(solution)) is None
    # `25 cards in each deck and 5 boxes`: the boxes are no boxes per deck, so 5*40 is a total of the boxes' cards
    question = (
        "Kim has 6 decks with 25 cards in each deck and 5 boxes with 40 stickers in each box. She gives away 100. How "
        "many things does she keep?"
    )
    gold = "6*25=<<6*25=150>>150.\n5*40=<<5*40=200>>200.\n150+200-100=<<150+200-100=250>>250.\n#### 250"
    solution = "Kim has 6*25=<<6*25=150>>150 cards.\nShe has 5*40=<<5*40=200>>200 stickers in total.\nA: 250"
    assert first_wrong_step(question, gold, split_steps(solution)) is None


PHONE = "Lena pays $40 a month for her phone and $20 a month for music. How much does she pay in a year?"
PHONE_GOLD = "She pays 40+20=<<40+20=60>>60 a month.\nIn a year she pays 60*12=<<60*12=720>>720.\n#### 720"


@pytest.mark.parametrize(
    "solution, first",
    [
        # 480 is the phone's year, named the year's total, and nothing uses it: the line is wrong, not the next one
        (
            "In a year she pays 40*12=<<40*12=480>>480 in total.\nEach month 40-20=<<40-20=20>>20 more.\nA: 20",
            0,
        ),
        # a year's subtotal a later step adds to is on the way
        (
            "In a year she pays 40*12=<<40*12=480>>480 dollars in total for the phone.\n"
            "For music she pays 20*12=<<20*12=240>>240.\nSo 480+240=<<480+240=720>>720 in all.",
            None,
        ),
        # the same value named the phone's: no misnaming, the wrong line is the next
        ("For the phone she pays 40*12=<<40*12=480>>480 a year.\nEach month 40-20=<<40-20=20>>20 more.\nA: 20", 1),
    ],
)
def test_a_value_called_the_total_of_the_period_the_question_asks_is_misnamed_when_it_is_not_the_answer(
    solution, first
):
    found = first_wrong_step(PHONE, PHONE_GOLD, split_steps(solution))
    assert (found and found.step_index) == first, found
    if first == 0:
        assert "480 is called the year's total" in found.reason


SHELF = (
    "A shelf holds a red box of 6 kg, a blue box of 4 kg and a green box of 9 kg. A yellow box weighs twice as "
    "much as the blue box. How heavy are the four boxes together?"
)
SHELF_GOLD = (
    "The yellow box weighs 4 * 2 = <<4*2=8>>8 kg.\nTogether they weigh 6 + 4 + 9 + 8 = <<6+4+9+8=27>>27 kg.\n#### 27"
)


@pytest.mark.parametrize(
    "solution, first",
    [
        (  # two of the gold's terms, then added to: the sum that leaves the green box out is the error
            "The red and blue boxes weigh 6 + 4 = <<6+4=10>>10 kg.\nThe yellow box weighs 4 * 2 = <<4*2=8>>8 kg.\n"
            "The four boxes weigh 10 + 8 = <<10+8=18>>18 kg.\nA: 18",
            2,
        ),
        (  # three pieces, each added on: still the last sum
            "The red and blue boxes weigh 6 + 4 = <<6+4=10>>10 kg.\nWith the green box that is 10 + 9 = <<10+9=19>>19"
            " kg.\nThe yellow box weighs 4 * 3 = <<4*3=12>>12 kg.\nAll four weigh 19 + 12 = <<19+12=31>>31 kg.\nA: 31",
            2,
        ),
    ],
)
def test_a_partial_sum_the_solution_keeps_adding_to_is_no_first_error(solution, first):
    assert first_error(SHELF, SHELF_GOLD, solution).step_index == first


@pytest.mark.parametrize(
    "solution",
    [
        # the piece is taken for the whole: halved as if it were all four boxes
        "The boxes weigh 6 + 4 + 9 = <<6+4+9=19>>19 kg.\nHalf of that is 19 / 2 = <<19/2=9.5>>9.5 kg.\nA: 9.5",
        # equal to a gold partial sum (6+4 = 10) but not made of the gold's terms: 2 + 8 are no boxes
        "The boxes weigh 2 + 8 = <<2+8=10>>10 kg.\nWith the yellow box 10 + 8 = <<10+8=18>>18 kg.\nA: 18",
    ],
)
def test_a_partial_sum_used_as_the_whole_stays_the_first_error(solution):
    assert first_error(SHELF, SHELF_GOLD, solution).step_index == 0


TRIP = (
    "Maya walks 25 minutes to the museum, spends an hour and 10 minutes inside and walks 25 minutes back. Leo's trip "
    "takes 30 minutes less than Maya's. How many minutes does Leo's trip take?"
)
TRIP_GOLD = (
    "Maya spends 60+10 = <<60+10=70>>70 minutes inside.\nSo her total time is 25+70+25 = <<25+70+25=120>>120 "
    "minutes.\nLeo's trip takes 120-30 = <<120-30=90>>90 minutes.\n#### 90"
)


def test_a_named_total_the_gold_gives_another_value_is_wrong_even_unused():
    steps = [
        "Maya's total time is 25+1+10+25 = <<25+1+10+25=61>>61 minutes.",  # an hour read as 1 minute; nothing uses 61
        "Maya spends 60+10 = <<60+10=70>>70 minutes inside.",
        "Leo's trip takes 25+70+25-30 = <<25+70+25-30=90>>90 minutes.",
    ]
    found = first_wrong_step(TRIP, TRIP_GOLD, steps, Fraction(90))
    assert found is not None and (found.step_index, found.kind) == (0, "misread")
    assert "120" in found.reason


@pytest.mark.parametrize(
    "first",
    [
        "Maya's total time is 25+70+25 = <<25+70+25=120>>120 minutes.",  # the gold's value
        "Maya walks a total of 25+25 = <<25+25=50>>50 minutes.",  # a piece of the gold sum 25+70+25: a gold value
        "Her total time is 25+1+10+25 = <<25+1+10+25=61>>61 minutes.",  # no one named as its subject: not read
        "Maya's time inside is 60+10 = <<60+10=70>>70 minutes.",  # the gold's value
        "In two days, Maya's total time is 120*2 = <<120*2=240>>240 minutes.",  # another time: an aside
    ],
)
def test_a_value_is_compared_only_with_the_same_quantity_at_the_same_time(first):
    steps = [
        first,
        "Maya spends 60+10 = <<60+10=70>>70 minutes inside.",
        "Leo's trip takes 120-30 = <<120-30=90>>90 minutes.",
    ]
    assert first_wrong_step(TRIP, TRIP_GOLD, steps, Fraction(90)) is None


def test_a_persons_count_the_gold_gives_another_value_is_wrong_even_unused():
    question = (
        "Nina earns $12 an hour. She worked 6 hours on the first job and 4 hours on the second. How much did she earn?"
    )
    gold = "Nina worked 6+4 = <<6+4=10>>10 hours.\nShe earned 10*12 = $<<10*12=120>>120.\n#### 120"
    steps = ["Nina worked 6*12 = <<6*12=72>>72 hours.", "She earned 10*12 = $<<10*12=120>>120."]
    found = first_wrong_step(question, gold, steps, Fraction(120))
    assert found is not None and (found.step_index, found.kind) == (0, "misread")
    # another person's hours, or the same hours at another stage, are other quantities
    for other in ("Omar worked 6*12 = <<6*12=72>>72 hours.", "Nina worked 6*12 = <<6*12=72>>72 hours after lunch."):
        assert first_wrong_step(question, gold, [other, steps[1]], Fraction(120)) is None


ZOO = "A zoo has 4 times as many parrots as eagles and half as many owls as eagles. It has 12 eagles. How many birds?"
ZOO_GOLD = (
    "There are 4*12 = <<4*12=48>>48 parrots.\nThere are 12/2 = <<12/2=6>>6 owls.\n"
    "There are 48+12+6 = <<48+12+6=66>>66 birds.\n#### 66"
)


@pytest.mark.parametrize(
    ("first", "blamed"),
    [
        ("There are 4*12 = <<4*12=48>>48 owls.", 0),  # the gold's 48 is parrots, its 6 owls
        ("There are 4*12 = <<4*12=48>>48 birds.", 1),  # a kind the 48 parrots are part of (the gold's 66 birds): true
        ("There are 4*12 = <<4*12=48>>48 parrot birds.", 1),  # the gold's name, worded otherwise
        ("There are 4*12 = <<4*12=48>>48 more.", 1),  # no name
    ],
)
def test_a_gold_value_given_the_name_of_another_quantity_is_wrong_on_its_line(first, blamed):
    steps = [first, "There are 48*2 = <<48*2=96>>96 parrots.", "There are 96+48+12 = <<96+48+12=156>>156 birds."]
    found = first_wrong_step(ZOO, ZOO_GOLD, steps, Fraction(156))
    assert found is not None and (found.step_index, found.kind) == (blamed, "misread")
    assert ("48 owl" in found.reason) == (blamed == 0)


def test_a_misnamed_gold_value_used_as_the_gold_uses_it_is_a_slip_of_wording_not_read():
    steps = ["There are 4*12 = <<4*12=48>>48 owls.", "There are 48+12+6 = <<48+12+6=66>>66 birds."]
    assert first_wrong_step(ZOO, ZOO_GOLD, steps, Fraction(66)) is None


BERRIES = (
    "Maya picks 20 strawberries. Her brother picks three times as many. They sell each for $1. How much do they get?"
)
BERRIES_GOLD = (
    "Her brother picks 20*3 = <<20*3=60>>60 strawberries.\nTogether they pick 20+60 = <<20+60=80>>80 strawberries.\n"
    "They get 80*1 = $<<80*1=80>>80.\n#### 80"
)


def test_a_gold_value_given_to_a_named_person_where_the_gold_gives_it_to_a_role_is_wrong():
    later = ["Together they pick 60+60 = <<60+60=120>>120 strawberries.", "They get 120*1 = $<<120*1=120>>120."]
    found = first_wrong_step(BERRIES, BERRIES_GOLD, ["Maya picks 20*3 = <<20*3=60>>60 strawberries.", *later])
    assert found is not None and (found.step_index, found.kind) == (0, "misread")
    found = first_wrong_step(
        BERRIES, BERRIES_GOLD, ["Maya's brother picks 20*3 = <<20*3=60>>60 strawberries.", *later]
    )
    assert found is not None and found.step_index == 1  # the role said: the 60 is right, the sum is wrong


BAKER = (
    "A baker makes muffins and scones for 6 guests, and each guest gets three pastries. She makes twice as many "
    "scones as muffins. How many muffins does she make?"
)
BAKER_GOLD = "She makes 6*3 = <<6*3=18>>18 pastries.\nThe muffins are a third: 18/3 = <<18/3=6>>6.\n#### 6"


@pytest.mark.parametrize(("sets_out", "blamed"), [("the number of muffins", 0), ("how many pastries she makes", None)])
def test_what_a_line_sets_out_to_find_names_its_value(sets_out, blamed):
    steps = [
        f"First find {sets_out}: 6 guests * 3 pastries/guest = <<6*3=18>>18 items.",
        "The scones are 18*2 = <<18*2=36>>36.",
        "She makes 18 muffins.",
    ]
    found = first_wrong_step(BAKER, BAKER_GOLD, steps, Fraction(18))
    assert (None if found is None else found.step_index) == blamed  # 18 is the pastries, the question's muffins 6


PENS = "Ava has $20. She buys a book for $5 and a ruler for $3 and spends the rest on pens at $3 each. How many pens?"
PENS_GOLD = (
    "The book and ruler cost 5+3 = $<<5+3=8>>8.\nShe spends 20-8 = $<<20-8=12>>12 on pens.\n"
    "She buys 12/3 = <<12/3=4>>4 pens.\n#### 4"
)


@pytest.mark.parametrize(("bought", "blamed"), [("pens", 0), ("the book and ruler", 1)])
def test_money_is_named_by_what_it_buys(bought, blamed):
    steps = [f"She spends 5+3 = $<<5+3=8>>8 on {bought}.", "She buys 8*3 = <<8*3=24>>24 pens."]
    found = first_wrong_step(PENS, PENS_GOLD, steps, Fraction(24))
    assert found is not None and found.step_index == blamed  # the gold's 12 is what she spends on pens


SCALE = (
    "A kitchen scale is broken. When a 200-gram bag of flour is put on it, the reading is 230. If it is off by the "
    "same percentage for every weight, what will it read for a 400-gram bag?"
)
SCALE_GOLD = (
    "The scale is off by 230-200 = <<230-200=30>>30 grams.\nThat is 30/200*100 = <<30/200*100=15>>15% too much.\n"
    "It reads 400*1.15 = <<400*1.15=460>>460 for 400 grams.\n#### 460"
)


@pytest.mark.parametrize(
    ("finds", "blamed"),
    [("the reading of the scale", 0), ("how far off the scale is", 1), ("the error of the scale", 1)],
)
def test_a_gold_value_given_the_name_the_question_gives_another_value_is_wrong(finds, blamed):
    """The question's `the reading is 230` names 230; a line that finds `the reading` and gets the gold's 30 (how far
    off it is) calls it something the problem says is another value, and acts on it."""
    steps = [f"First find {finds}: 230-200 = <<230-200=30>>30 grams.", "It reads 400+30 = <<400+30=430>>430 grams."]
    found = first_wrong_step(SCALE, SCALE_GOLD, steps, Fraction(430))
    assert found is not None and found.step_index == blamed
    assert ("reading" in found.reason) == (blamed == 0)


LEO = (
    "Leo has three $5 bills and two $20 bills that he saved. He spends half of his money on a game. How much money "
    "does he have left?"
)
LEO_GOLD = (
    "Three $5 bills are worth 3*5 = $<<3*5=15>>15.\nTwo $20 bills are worth 2*20 = $<<2*20=40>>40.\n"
    "Leo has $15+$40 = $<<15+40=55>>55.\nHe spends 55/2 = $<<55/2=27.5>>27.5 on the game.\n"
    "He has 55-27.5 = $<<55-27.5=27.5>>27.5 left.\n#### 27.5"
)


@pytest.mark.parametrize(
    ("first", "blamed"),
    [
        ("Leo has saved 3*5 = $<<3*5=15>>15.", 0),  # the gold's `Leo has` is 55
        ("Leo has 3*5 = $<<3*5=15>>15 in $5 bills.", 1),  # true: what the $5 bills are worth
        ("The $5 bills are worth 3*5 = $<<3*5=15>>15.", 1),
    ],
)
def test_money_a_person_has_is_named_by_the_clause_before_it(first, blamed):
    steps = [first, "He spends 15/2 = $<<15/2=7.5>>7.5 on the game.", "He has 15-7.5 = $<<15-7.5=7.5>>7.5 left."]
    found = first_wrong_step(LEO, LEO_GOLD, steps, Fraction(7.5))
    assert found is not None and found.step_index == blamed


def test_a_name_before_a_value_at_another_stage_or_in_a_comparison_is_not_the_same_quantity():
    later = ["He has 15-7.5 = $<<15-7.5=7.5>>7.5 left."]
    # `left` is another stage than the gold's `Leo has $55`; the 15 is then spent as the gold never does
    steps = ["After buying candy, Leo has 3*5 = $<<3*5=15>>15 left.", "He spends 15/2 = $<<15/2=7.5>>7.5.", *later]
    found = first_wrong_step(LEO, LEO_GOLD, steps, Fraction(7.5))
    assert found is not None and found.step_index == 1
    assert subject_of("Leo has 3*5 = $<<3*5=15>>15 more than Ann.", Fraction(15)) is None
    assert (
        subject_of("The jeans are $40 and they are 25% off so that's 40*.25 = $<<40*.25=10>>10", Fraction(10)) is None
    )
    assert str(subject_of("First find the reading of the scale: 230-200 = <<230-200=30>>30", Fraction(30))) == (
        "reading of scale"
    )


BRIDGE = (
    "A rope bridge holds at most 500 kg. A hiker weighs 70 kg. If Tom crosses the bridge with 7 other hikers, by how "
    "many kg do they go over its limit?"
)
BRIDGE_GOLD = (
    "Tom and 7 other hikers are 7 + 1 = <<7+1=8>>8 hikers.\nThey weigh 8 * 70 = <<8*70=560>>560 kg.\n"
    "That is 560 - 500 = <<560-500=60>>60 kg over.\n#### 60"
)
RAISE = (
    "Sara earned $12 an hour. Last month she got a raise of $3 an hour. How many dollars does she earn now in 10 "
    "hours?"
)
RAISE_GOLD = (
    "She now earns 12 + 3 = <<12+3=15>>15 dollars an hour.\n"
    "In 10 hours she earns 15 * 10 = <<15*10=150>>150 dollars.\n#### 150"
)
CRATES = "Each crate is 2 feet wide, 3 feet long and 2 feet tall. How many cubic feet do 5 crates hold?"
CRATES_GOLD = (
    "A crate holds 2 * 3 * 2 = <<2*3*2=12>>12 cubic feet.\n5 crates hold 5 * 12 = <<5*12=60>>60 cubic feet.\n#### 60"
)
PRICES = (
    "A school planned to pay $300 for each of 40 laptops, but the price turned out to be 10% higher. How much does "
    "the school pay?"
)
PRICES_GOLD = (
    "The price rose by 300 * 10/100 = <<300*10/100=30>>30 dollars.\nA laptop costs 300 + 30 = <<300+30=330>>330 "
    "dollars.\nThe school pays 40 * 330 = <<40*330=13200>>13200 dollars.\n#### 13200"
)
CHARGES = "A school buys 40 laptops at $300 each. Each laptop has a $20 delivery charge. How much does the school pay?"
CHARGES_GOLD = (
    "A laptop costs 300 + 20 = <<300+20=320>>320 dollars.\nThe school pays 40 * 320 = <<40*320=12800>>12800 "
    "dollars.\n#### 12800"
)
OVERTIME = "Jo earns $20 an hour for 8 hours and $30 an hour after that. How much does she earn in 11 hours?"
OVERTIME_GOLD = (
    "The first 8 hours pay 8 * 20 = <<8*20=160>>160.\nShe works 11 - 8 = <<11-8=3>>3 hours more.\n"
    "They pay 3 * 30 = <<3*30=90>>90.\nShe earns 160 + 90 = <<160+90=250>>250.\n#### 250"
)


@pytest.mark.parametrize(
    "solution, first",
    [
        # 7 * 70 is the gold's 8 * 70 for 7 of the 8 hikers (8 = 7 + 1): true; the error is forgetting Tom after it
        (
            "The 7 other hikers weigh 7 * 70 = <<7*70=490>>490 kg.\nThey go over by 500 - 490 = <<500-490=10>>10 kg.\n"
            "A: 10",
            1,
        ),
        # the same product named with no unit, or as a day's: its meaning is not stated as the units compose
        (
            "The 7 other hikers weigh 7 * 70 = <<7*70=490>>490.\n"
            "They go over by 500 - 490 = <<500-490=10>>10 kg.\nA: 10",
            0,
        ),
        (
            "The 7 other hikers weigh 7 * 70 = <<7*70=490>>490 kg a day.\n"
            "They go over by 500 - 490 = <<500-490=10>>10 kg.\nA: 10",
            0,
        ),
    ],
)
def test_a_product_of_one_part_of_a_gold_sum_is_true(solution, first):
    assert first_error(BRIDGE, BRIDGE_GOLD, solution).step_index == first


def test_a_base_and_its_change_are_no_parts_of_a_whole():
    # the gold's 12 + 3 is a rate raised, not two parts: 10 hours at the old $12 is no quantity of the problem now
    wrong = (
        "She earns 12 dollars an hour * 10 hours = <<12*10=120>>120 dollars.\n"
        "With the raise she earns 120 + 3 = <<120+3=123>>123 dollars.\nA: 123"
    )
    assert first_error(RAISE, RAISE_GOLD, wrong).step_index == 0


@pytest.mark.parametrize(
    "question, gold, expression, piece",
    [
        (BRIDGE, BRIDGE_GOLD, "7*70=490", True),  # one part of the sum 7 + 1, times the gold's factor
        (BRIDGE, BRIDGE_GOLD, "1*70=70", True),
        (BRIDGE, BRIDGE_GOLD, "7*500=3500", False),  # the gold never multiplies these
        (RAISE, RAISE_GOLD, "12*10=120", False),  # a base and its raise are not multiplied out
        (RAISE, RAISE_GOLD, "3*10=30", False),
        (CRATES, CRATES_GOLD, "5*3=15", False),  # a single product (a crate's 12 cubic feet) is not regrouped
        (CRATES, CRATES_GOLD, "2*3=6", True),  # but its own factors are its pieces
        (OVERTIME, OVERTIME_GOLD, "11*30=330", False),  # a difference is not multiplied out
        (PRICES, PRICES_GOLD, "40*300=12000", False),  # the old price: 30 is the change of a price `10% higher`
        (CHARGES, CHARGES_GOLD, "40*300=12000", True),  # an extra charge is a part, not a change of the price
        (BRIDGE, BRIDGE_GOLD, "70*7=490", True),
    ],
)
def test_which_products_are_pieces_of_the_gold(question, gold, expression, piece):
    (calc,) = calculations(f"<<{expression}>>")
    assert gold_piece(question, gold, calc) is piece


FERRY = (
    "A ferry left the dock with some cars. At the first island 6 cars drove off and 9 drove on. At the second island "
    "4 cars drove off. It reached the last port with 25 cars after 2 hours. How many cars did it leave the dock with?"
)
FERRY_GOLD = (
    "Before the second island it had 25 + 4 = <<25+4=29>>29 cars.\nBefore the first island it had 29 - 9 + 6 = "
    "<<29-9+6=26>>26 cars.\n#### 26"
)


SCARVES = (
    "Mia buys three times as many wool scarves as silk scarves. A wool scarf costs 20% less than a silk one. She "
    "spent $150 on silk scarves that cost $30 each. How much did she spend on scarves?"
)
SCARVES_GOLD = (
    "She bought 150 / 30 = <<150/30=5>>5 silk scarves.\nShe bought 5 * 3 = <<5*3=15>>15 wool scarves.\n"
    "A wool scarf costs 30 * 0.8 = <<30*0.8=24>>24 dollars.\nShe spent 24 * 15 = <<24*15=360>>360 dollars on wool "
    "scarves.\nShe spent 150 + 360 = <<150+360=510>>510 dollars.\n#### 510"
)


@pytest.mark.parametrize(
    ("question", "gold", "solution", "first"),
    [
        # a false count nothing uses, in a solution that goes wrong later: the first error is the false count
        (
            FERRY,
            FERRY_GOLD,
            "At the islands 6 + 4 = <<6+4=10>>10 cars drove on.\nIt left with 25 - 9 = <<25-9=16>>16 cars.\nA: 16",
            0,
        ),
        # the same, when every step after it is right and only the answer is wrong
        (
            FERRY,
            FERRY_GOLD,
            "At the islands 6 + 4 = <<6+4=10>>10 cars drove on.\nBefore the second island it had 25 + 4 = "
            "<<25+4=29>>29 cars.\nA: 29",
            0,
        ),
        # without the aside the later line stays the first error
        (FERRY, FERRY_GOLD, "It left with 25 - 9 = <<25-9=16>>16 cars.\nA: 16", 0),
        (
            FERRY,
            FERRY_GOLD,
            "Before the second island it had 25 + 4 = <<25+4=29>>29 cars.\nIt left with 29 - 9 = <<29-9=20>>20 cars."
            "\nA: 20",
            1,
        ),
        # 450 lands on the gold's 360 by chance (450 * 0.8), and the wrong sum uses 450 again: 450 was the error
        (
            SCARVES,
            SCARVES_GOLD,
            "She spent 150 * 3 = <<150*3=450>>450 on wool scarves.\nWith the discount that is 450 * 0.8 = "
            "<<450*0.8=360>>360.\nIn all she spent 360 + 450 = <<360+450=810>>810.\nA: 810",
            0,
        ),
        # another path that lands on the gold, and a wrong step that does not reuse it: the wrong step stays
        (
            SCARVES,
            SCARVES_GOLD,
            "She spent 150 * 3 = <<150*3=450>>450 on wool scarves before the discount.\nWith the discount that is "
            "450 * 0.8 = <<450*0.8=360>>360.\nIn all she spent 360 + 100 = <<360+100=460>>460.\nA: 460",
            2,
        ),
    ],
)
def test_a_wrong_solution_is_blamed_where_an_unused_or_lucky_value_was_made(question, gold, solution, first):
    found = first_error(question, gold, solution)
    assert found is not None and found.step_index == first


@pytest.mark.parametrize(
    ("question", "gold", "steps", "answer"),
    [
        # an unused value off the chain in a right solution stays a side fact
        (
            FERRY,
            FERRY_GOLD,
            [
                "In all 6 + 4 = <<6+4=10>>10 cars drove off.",
                "Before the second island it had 25 + 4 = <<25+4=29>>29 cars.",
                "Before the first island it had 29 - 9 + 6 = <<29-9+6=26>>26 cars.",
            ],
            26,
        ),
        # another path that lands on the gold, in a right solution
        (
            SCARVES,
            SCARVES_GOLD,
            [
                "She spent 150 * 3 = <<150*3=450>>450 on wool scarves before the discount.",
                "With the discount that is 450 * 0.8 = <<450*0.8=360>>360.",
                "In all she spent 360 + 150 = <<360+150=510>>510.",
            ],
            510,
        ),
    ],
)
def test_moving_the_blame_raises_no_false_alarm(question, gold, steps, answer):
    """Both rules only move the blame of a solution already wrong: a right solution stays unflagged."""
    assert first_wrong_step(question, gold, steps, Fraction(answer)) is None


def test_a_true_conversion_nothing_uses_is_not_blamed_before_the_real_error():
    steps = [
        "The trip takes 2 hours, that is 2 * 60 = <<2*60=120>>120 minutes.",
        "Before the second island it had 25 - 4 = <<25-4=21>>21 cars.",
    ]
    found = first_wrong_step(FERRY, FERRY_GOLD, steps, Fraction(21))
    assert found is not None and found.step_index == 1
