"""Every generator a recipe can name: the rule registry with all its rules, and the check of a recipe's names.

Importing this module imports every module of rules (the GSM8K rules and the prose rules), so
`RULES` is complete here; the `weak` generator is planned apart (tracegen.generators.weak).
"""

from __future__ import annotations

import tracegen.generators.prose  # noqa: F401  (importing a module of rules registers them)
import tracegen.generators.rules  # noqa: F401
from tracegen.errors import InputError
from tracegen.generators.base import WEAK_GENERATOR
from tracegen.generators.registry import RULES, RuleGenerator


def check_generators(weights: dict[str, float]) -> None:
    """Recipes name generators by string: an unknown name is bad input, found before any work."""
    known = [*RULES, WEAK_GENERATOR]
    unknown = [name for name in weights if name not in known]
    if unknown:
        raise InputError(
            f"unknown generator '{unknown[0]}' (known: {', '.join(sorted(known))})", field="deviations.generators"
        )


def resolve_rules(weights: dict[str, float]) -> list[tuple[RuleGenerator, float]]:
    """The rule generators with positive weight (the `weak` generator is planned by tracegen.generators.weak)."""
    check_generators(weights)
    return [(RULES[name], weight) for name, weight in weights.items() if weight > 0 and name != WEAK_GENERATOR]
