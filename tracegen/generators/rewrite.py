"""Rewriting a step: a calculation changed in its annotation, visible expression and visible result
at once, and a changed value carried into a later step."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from tracegen.generators.calcs import Calc, final_literal, read_calcs, write_shown
from tracegen.steps import evaluate, format_number

Edit = tuple[int, int, str]  # replace text[start:end] by the string


def splice_edits(text: str, edits: list[Edit]) -> str:
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _operand_text(value: Fraction, like: str) -> str:
    text = format_number(value, like)
    return f"({text})" if value < 0 else text


def result_edits(step: str, calc: Calc, value: Fraction) -> list[Edit]:
    """Write a new result into the annotation and the visible result, each in its own style."""
    start, end = calc.result_span
    edits = [(start, end, format_number(value, step[start:end]))]
    if calc.shown_result is not None:
        start, end = calc.shown_result
        edits.append((start, end, write_shown(value, step[start:end])))
    return edits


def calc_result(calc: Calc, numbers: dict[int, Fraction], operators: dict[int, str]) -> Fraction | None:
    """The result of a calculation with operands (by operand index) and operators (by token index) rewritten, as
    the rewritten annotation reads; None if it cannot be evaluated."""
    edits: list[Edit] = []
    for index, value in numbers.items():
        token = calc.tokens[calc.operands[index].token]
        edits.append((token.start, token.end, _operand_text(value, token.text)))
    edits += [(calc.tokens[index].start, calc.tokens[index].end, op) for index, op in operators.items()]
    try:
        return evaluate(splice_edits(calc.annotation.expr, edits))
    except (ValueError, ZeroDivisionError):
        return None


def edit_calc(
    step: str, calc: Calc, numbers: dict[int, Fraction], operators: dict[int, str], style: Mapping[str, str]
) -> tuple[list[Edit], Fraction] | None:
    """Rewrite operands (by operand index) and operators (by token index), recompute the result.

    Returns the step edits and the new result; None if the new expression cannot be evaluated.
    """
    result = calc_result(calc, numbers, operators)
    if result is None:
        return None
    base = calc.annotation.start + 2
    step_edits: list[Edit] = []
    for index, value in numbers.items():
        operand = calc.operands[index]
        step_edits.append((*operand.span, _operand_text(value, calc.tokens[operand.token].text)))
        if operand.shown is not None:
            step_edits.append((*operand.shown, _operand_text(value, step[operand.shown[0] : operand.shown[1]])))
    shown_operators = dict(calc.operators)
    for index, op in operators.items():
        token = calc.tokens[index]
        step_edits.append((base + token.start, base + token.end, op))
        if shown_operators.get(index) is not None:
            step_edits.append((*shown_operators[index], style.get(op, op)))
    return step_edits + result_edits(step, calc, result), result


def _carry_calcs(
    step: str, calcs: tuple[Calc, ...], changes: dict[Fraction, Fraction], style: Mapping[str, str]
) -> tuple[list[Edit], dict[Fraction, Fraction]] | None:
    """Replace changed values used as operands, recompute, and let new changes propagate.

    Returns the edits and the updated changes; None when a calc that needs rewriting cannot be
    (its visible expression does not match, or the new expression cannot be evaluated).
    """
    changes = dict(changes)
    edits: list[Edit] = []
    for calc in calcs:
        numbers = {k: changes[o.value] for k, o in enumerate(calc.operands) if not o.signed and o.value in changes}
        if not numbers:
            continue
        if not calc.editable:
            return None
        edited = edit_calc(step, calc, numbers, {}, style)
        if edited is None:
            return None
        edits += edited[0]
        if edited[1] != calc.result:
            changes[calc.result] = edited[1]
    return edits, changes


def carry(
    step: str, changes: dict[Fraction, Fraction], style: Mapping[str, str]
) -> tuple[str, dict[Fraction, Fraction]] | None:
    """A gold step rewritten to use the changed values (old -> new); a final step's answer too."""
    final = final_literal(step)
    if final is not None:
        start, end, value = final
        if value not in changes:
            return step, changes
        return splice_edits(step, [(start, end, format_number(changes[value], step[start:end]))]), changes
    calcs = read_calcs(step)
    if calcs is None:
        return None
    carried = _carry_calcs(step, calcs, changes, style)
    if carried is None:
        return None
    return splice_edits(step, carried[0]), carried[1]


def rewrite_step(
    step: str, calcs: tuple[Calc, ...], target: int, edits: list[Edit], new_result: Fraction, style: Mapping[str, str]
) -> str | None:
    """Apply the edits of calc `target` and carry its new result through the rest of the step."""
    changes = {calcs[target].result: new_result} if new_result != calcs[target].result else {}
    carried = _carry_calcs(step, calcs[target + 1 :], changes, style)
    if carried is None:
        return None
    return splice_edits(step, edits + carried[0])
