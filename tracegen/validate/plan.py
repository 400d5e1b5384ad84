"""The experiment: which data variants, built from which problems, trained on how many tokens.

Every variant is the same recipe and the same problems (same source seed, same recipe seed); only
the export switches differ. Held-out problems come from the same recipe with another source seed
and split, every one with a deviation (for the forced-deviation test).

Budget: `--budget-minutes` is the wall time of the whole run. After the datasets are built, a few
optimizer steps on the hard-mode data (the slowest: 4D masks) measure training throughput; what
is left of the budget, less an estimate for the step-unit dataset still to build, is shared
evenly between runs, and `TRAIN_SHARE` of each run's share buys training tokens (the rest is for
the trainer's start-up, saving and evaluation). That gives one fixed number of *training tokens*
(non-padding input tokens, prompt included) per run, the same for every variant; a variant's
optimizer steps are that number over its mean row length times the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tracegen.errors import InputError
from tracegen.recipe import Recipe, load_recipe

TRAIN_SHARE = 0.55
"""Of each run's share of the budget, the part spent in optimizer steps."""
CHECKS_PER_BUDGET = 4
"""A parity run (parity.py) checks its clean-token loss every budget / CHECKS_PER_BUDGET steps."""
PARITY_CAP = 2
"""A parity run stops at this many times the equal-token budget, parity reached or not."""


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    loss: str  # clean | naive | msft
    context_mode: str  # soft | hard
    undo_unit: str = "token"

    def overrides(self) -> dict[str, object]:
        return {"export.loss": self.loss, "export.context_mode": self.context_mode, "export.undo_unit": self.undo_unit}


MAIN_VARIANTS = (
    Variant("clean", "clean SFT", "clean", "soft"),
    Variant("naive", "naive trace SFT", "naive", "soft"),
    Variant("msft-soft", "mSFT soft", "msft", "soft"),
    Variant("msft-hard", "mSFT hard", "msft", "hard"),
)
UNDO_VARIANTS = ("msft-soft", "msft-hard")
"""The variants tracegen recommends; the best of them is trained again with step undo."""


def step_variant(best: Variant) -> Variant:
    return replace(best, name=f"{best.name}-step", label=f"{best.label}, step undo", undo_unit="step")


def train_recipe(
    recipe_name: str, variant: Variant, problems: int, overrides: dict[str, object] | None = None
) -> Recipe:
    """`overrides`: the user's `--set` values, under the variant's own switches."""
    return load_recipe(recipe_name, {**(overrides or {}), "source.num_problems": problems, **variant.overrides()})


def held_out_recipe(
    recipe_name: str, problems: int, overrides: dict[str, object] | None = None, *, clean: bool = False
) -> Recipe:
    """Other problems (source seed + 1, split `test`), each with one deviation; soft, token undo (only the tokens are
    used).

    `clean`: the same problems without deviations, labelled as clean SFT is (for the clean-token loss of parity.py).
    """
    base = synthetic_recipe(recipe_name, overrides)
    return load_recipe(
        recipe_name,
        {
            **(overrides or {}),
            "source.num_problems": problems,
            "source.seed": base.source.seed + 1,
            "source.split": "test",
            "deviations.clean_fraction": 0.0,
            **MAIN_VARIANTS[0 if clean else 2].overrides(),
        },
    )


def synthetic_recipe(recipe_name: str, overrides: dict[str, object] | None = None) -> Recipe:
    """The recipe, refused unless its problems are synthetic: validation needs problems it can make on any machine,
    offline."""
    recipe = load_recipe(recipe_name, overrides or {})
    if recipe.source.name != "arith":
        raise InputError(
            f"validate needs a recipe with the synthetic arith source, not {recipe.source.name!r}", field="recipe"
        )
    return recipe


@dataclass(frozen=True)
class TokenBudget:
    tokens_per_run: int
    throughput: float  # training tokens per second, measured
    seconds_per_run: float  # each run's share of the budget

    def steps(self, mean_row_tokens: float, batch_size: int) -> int:
        """Optimizer steps for the budget, a multiple of CHECKS_PER_BUDGET (a parity run evaluates at that step
        exactly)."""
        return CHECKS_PER_BUDGET * max(
            1, round(self.tokens_per_run / (mean_row_tokens * batch_size * CHECKS_PER_BUDGET))
        )


def token_budget(
    *, budget_seconds: float, elapsed: float, reserve: float, runs: float, throughput: float
) -> TokenBudget:
    """Share what is left of the budget evenly between `runs` (in equal-token runs); `reserve`: seconds still needed
    outside runs."""
    per_run = max(budget_seconds - elapsed - reserve, 0.0) / runs
    return TokenBudget(
        tokens_per_run=int(throughput * per_run * TRAIN_SHARE), throughput=throughput, seconds_per_run=per_run
    )


def dataset_dir(work: Path, name: str) -> Path:
    return work / "data" / name
