"""Property: whatever the deviation text, place and tokenizer, a built row passes every check rule.

This ties the exporter to the independent checker: for random problems, random deviation text
(unicode, digits, newlines, annotation-like markup, special-token look-alikes), random start
points, both undo units and both context modes, a row is either dropped with a reason or proven.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracegen.dataset.check_rows import RowContext, check_row
from tracegen.generators.base import Deviation
from tracegen.recipe import ExportConfig
from tracegen.rows.row import build_row
from tracegen.sources.arith import generate_arith
from tracegen.tokens import TraceTokenizer

PROBLEMS = list(generate_arith(50, seed=3, max_steps=5))
PIECES = list("0123456789 +-*/=<>$.,\nabcxyz€é😀\t") + ["<UNDO>", "<|endoftext|>", " <<", ">>", "\n\n"]
TEXT = st.lists(st.sampled_from(PIECES), min_size=1, max_size=20).map("".join)


@pytest.fixture(scope="module")
def tokenizers(foreign_tokenizers):
    return {
        "embedded": TraceTokenizer.load(None),
        **{n: TraceTokenizer.load(str(p)) for n, p in foreign_tokenizers.items() if n != "bert"},
    }


@st.composite
def deviations(draw):
    problem = draw(st.sampled_from(PROBLEMS))
    steps = problem.solution.split("\n")
    indices = sorted(draw(st.lists(st.integers(0, len(steps) - 1), min_size=1, max_size=3, unique=True)))
    devs = []
    for i in indices:
        start = draw(st.integers(0, len(steps[i])))
        devs.append(Deviation("test", i, start, draw(TEXT), detected_after=0))
    return problem, devs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=deviations(),
    unit=st.sampled_from(["token", "step"]),
    mode=st.sampled_from(["soft", "hard"]),
    name=st.sampled_from(["embedded", "gpt2", "qwen", "llama"]),
)
def test_built_rows_pass_every_check(tokenizers, case, unit, mode, name):
    problem, devs = case
    tok = tokenizers[name]
    cfg = ExportConfig(undo_unit=unit, context_mode=mode)
    result = build_row(problem, devs, tok, cfg, "row")
    if name == "embedded":  # byte-level BPE: nothing is dropped but a deviation that is all clean tokens
        assert result.row is not None and set(result.dropped) <= {"deviation_prefix_of_clean"}
    if result.row is None:
        assert result.dropped
        return
    check_row(result.row, RowContext.of(tok, unit, mode, "msft", False))
    assert len(result.row["deviations"]) + sum(result.dropped.values()) == len(devs)
