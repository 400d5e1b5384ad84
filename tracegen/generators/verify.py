"""Verification of a rewritten step: `is_wrong` (is it really wrong?) and the values it changed."""

from __future__ import annotations

from fractions import Fraction

from tracegen.annotations import parse_annotations
from tracegen.steps import annotation_holds, parse_number, step_value


def is_wrong(gold: str, wrong: str) -> bool:
    """Whether a rewritten step really is wrong.

    Its value differs from the gold step's, or one of its annotations that is not in the gold
    step is false, or (same number of annotations) one of them computes a different value.
    Annotations already false in the gold step (GSM8K has some) do not count.
    """
    if wrong == gold:
        return False
    if step_value(gold) != step_value(wrong):
        return True
    gold_annotations = parse_annotations(gold)
    gold_texts = [(a.expr, a.result) for a in gold_annotations]
    wrong_annotations = parse_annotations(wrong)
    if any((a.expr, a.result) not in gold_texts and not annotation_holds(a) for a in wrong_annotations):
        return True
    if len(gold_annotations) == len(wrong_annotations):
        return any(
            parse_number(g.result) != parse_number(w.result) for g, w in zip(gold_annotations, wrong_annotations)
        )
    return False


def value_changes(gold: str, wrong: str) -> dict[Fraction, Fraction]:
    """Values the wrong step changed (old -> new), to carry into later steps."""
    gold_annotations, wrong_annotations = parse_annotations(gold), parse_annotations(wrong)
    if gold_annotations and len(gold_annotations) == len(wrong_annotations):
        pairs = [(parse_number(g.result), parse_number(w.result)) for g, w in zip(gold_annotations, wrong_annotations)]
    else:
        pairs = [(step_value(gold), step_value(wrong))]
    return {old: new for old, new in pairs if old is not None and new is not None and old != new}
