"""The critic verifier: an LLM judge names the earliest wrong step, ProcessBench style.

The prompt is ProcessBench's critique template (Zheng et al., 2024, "ProcessBench: Identifying
Process Errors in Mathematical Reasoning"): the problem, the solution's non-blank lines as
paragraphs `<paragraph_0>`...`<paragraph_k>`, and the task "return the index of the paragraph
where the earliest error occurs, or -1", answered in `\\boxed{}`. By default the prompt also
states the gold final answer (`reference=True`): the verifier only judges solutions whose
answer is known to be wrong, and the reference lets the judge check values against it;
`reference=False` is ProcessBench's setting exactly.

Any backend runs it (tracegen.llm: openai, hf, replay), through the same response cache as every
model call, with a `Request(task="judge")` whose question is the whole prompt. `first_errors`
sends every solution of a batch in one `run`, so a concurrent backend judges them in parallel.
`parse_verdict` reads the answer robustly: the last `\\boxed{}`, else a phrase naming the
paragraph, else a last line that is one integer; `-1`, `none` and "no error" mean none found.

What a user can expect (ProcessBench, GSM8K subset, F1 of the accuracies on wrong and on correct
solutions, as published): o1-mini 93.2, QwQ-32B-Preview 88.0, Qwen2.5-Math-PRM-72B 87.3,
GPT-4o 79.2, Math-Shepherd-PRM-7B 47.9. Small open models as critics score far lower.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tracegen.llm.base import Request
from tracegen.verifiers.answers import WrongSolution, final_value
from tracegen.verifiers.base import Divergence
from tracegen.verifiers.calculations import plain

TEMPLATE = (
    "The following is a math problem and a solution (split into paragraphs, enclosed with tags and "
    "indexed from 0):\n"
    "\n"
    "[Math Problem]\n"
    "\n"
    "{problem}\n"
    "\n"
    "[Solution]\n"
    "\n"
    "{paragraphs}\n"
    "{reference}\n"
    "Your task is to review and critique the solution paragraph by paragraph. Once you identify an error "
    "in a paragraph, return the index of the paragraph where the earliest error occurs. Otherwise, "
    'return the index of -1 (which typically denotes "not found").\n'
    "\n"
    "Please put your final answer (i.e., the index) in \\boxed{{}}."
)
REFERENCE = "\nThe correct final answer to the problem is {answer}.\n"

_BOXED = re.compile(r"\\boxed\s*\{\s*(-?\s*[0-9]+)\s*\}")
_NAMED = re.compile(
    r"(?:earliest|first)\s+(?:error|mistake)[^0-9\-]{0,40}?(?:paragraph|step|index)?\s*[_#]?\s*(-?[0-9]+)",
    re.IGNORECASE,
)
_NONE = re.compile(
    r"\\boxed\s*\{\s*(?:none|n/?a|no error)\s*\}|\bno (?:error|mistake)s?\b|\ball (?:paragraphs|steps) are correct\b",
    re.IGNORECASE,
)
_LAST_INTEGER = re.compile(r"^\s*(?:answer\s*:?\s*)?(-?[0-9]+)\s*\.?\s*$", re.IGNORECASE)


def paragraphs_of(solution: str) -> list[int]:
    """Line indices (into solution.split("\\n")) of the solution's non-blank lines: paragraph k is line
    paragraphs_of(...)[k]."""
    return [index for index, line in enumerate(solution.split("\n")) if line.strip()]


def critic_prompt(question: str, solution: str, answer: str | None = None) -> str:
    """The critique prompt for `solution`; with `answer`, the gold final answer is stated too."""
    lines = solution.split("\n")
    paragraphs = "\n\n".join(
        f"<paragraph_{k}>\n{lines[index].strip()}\n</paragraph_{k}>" for k, index in enumerate(paragraphs_of(solution))
    )
    reference = REFERENCE.format(answer=answer) if answer is not None else ""
    return TEMPLATE.format(problem=question.strip(), paragraphs=paragraphs, reference=reference)


def parse_verdict(text: str) -> int | None:
    """The paragraph index a judge answered (-1: no error found), or None when it answered none readably."""
    boxed = _BOXED.findall(text)
    if boxed:
        return int(boxed[-1].replace(" ", ""))
    if _NONE.search(text):
        return -1
    named = _NAMED.findall(text)
    if named:
        return int(named[-1])
    lines = [line for line in text.strip().split("\n") if line.strip()]
    last = _LAST_INTEGER.match(lines[-1]) if lines else None
    return int(last.group(1)) if last else None


@dataclass(frozen=True)
class Judgement:
    """What the critic said about one solution: the line it names (None: none), and why."""

    wrong: WrongSolution | None  # None: the solution's answer is right
    step: int | None  # index into solution.split("\n") of the step named
    note: str


class CriticVerifier:
    """`backend`: any tracegen.llm backend; `votes`: samples per solution, the most named index wins (ties: the
    earliest)."""

    def __init__(self, backend, votes: int = 1, reference: bool = True):
        if votes < 1:
            raise ValueError(f"votes (samples per solution) must be at least 1, got {votes}")
        self.backend, self.votes, self.reference = backend, votes, reference

    def first_error(self, question: str, gold: str, solution: str) -> Divergence | None:
        return self.first_errors([(question, gold, solution)])[0]

    def first_errors(self, items: Sequence[tuple[str, str, str]]) -> list[Divergence | None]:
        """`first_error` of each (question, gold, solution), judged in one backend run. When the critic
        names no step (answers -1, unreadably, or its request failed) the error is the conclusion (`wrong_final`)."""
        return [
            None if judgement.wrong is None else _divergence(judgement, solution)
            for judgement, (_, _, solution) in zip(self.judge(items), items)
        ]

    def flag_steps(self, items: Sequence[tuple[str, str, str]]) -> list[int | None]:
        """The step the critic names for each solution, whatever its answer (None: none); on a correct
        solution a step named is a false alarm."""
        return [judgement.step for judgement in self.judge(items, every=True)]

    def judge(self, items: Sequence[tuple[str, str, str]], every: bool = False) -> list[Judgement]:
        """The critic's judgement of each wrong solution (of every solution with `every`), in one backend run."""
        wrong = [WrongSolution.of(gold, solution) for _, gold, solution in items]
        judged = [every or found is not None for found in wrong]
        requests = []
        for number, ((question, gold, solution), asked) in enumerate(zip(items, judged)):
            if asked:
                answer = plain(final_value(gold)) if self.reference else None
                requests.append(
                    Request(
                        id=f"critic:{number}",
                        question=critic_prompt(question, solution, answer),
                        n=self.votes,
                        task="judge",
                    )
                )
        outcomes = {outcome.request.id: outcome for outcome in (self.backend.run(requests) if requests else [])}
        judgements = []
        for number, ((_, _, solution), found, asked) in enumerate(zip(items, wrong, judged)):
            outcome = outcomes.get(f"critic:{number}")
            if not asked:
                judgements.append(Judgement(None, None, "the answer is right"))
            elif outcome.error is not None:
                judgements.append(Judgement(found, None, f"the critic's request failed ({outcome.error})"))
            else:
                judgements.append(_named(solution, found, [parse_verdict(sample.text) for sample in outcome.samples]))
        return judgements


def _named(solution: str, wrong: WrongSolution | None, named: list[int | None]) -> Judgement:
    lines = paragraphs_of(solution)
    valid = [index for index in named if index is not None and 0 <= index < len(lines)]
    if not valid:
        return Judgement(
            wrong, None, "the critic found no error" if -1 in named else "the critic's answer names no step"
        )
    counts = Counter(valid)
    top = max(counts.values())
    index = min(index for index, count in counts.items() if count == top)
    return Judgement(
        wrong,
        lines[index],
        f"the critic names paragraph {index} as the earliest error ({counts[index]} of {len(named)} votes)",
    )


def _divergence(judgement: Judgement, solution: str) -> Divergence:
    wrong = judgement.wrong
    if judgement.step is not None:
        return Divergence(judgement.step, "judged", judgement.note)
    lines = paragraphs_of(solution)
    last = wrong.final if wrong.final is not None else (lines[-1] if lines else 0)
    return Divergence(
        last,
        "wrong_final",
        f"{judgement.note}; it answers {'nothing' if wrong.answer is None else plain(wrong.answer)}, not "
        f"{plain(wrong.gold_answer)}",
    )
