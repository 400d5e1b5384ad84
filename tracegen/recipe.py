"""Recipe schema and loading.

A recipe is a YAML file that names every part of a build (source, deviation generators and
their weights, tokenizer, export options) and the seed. Same recipe + same seed + same inputs
gives byte-identical output. Unknown keys and wrong types are errors that name the file, the
line and the field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator

from tracegen.errors import InputError
from tracegen.generators.base import solution_generators
from tracegen.llm.config import BackendConfig
from tracegen.recipe_data import (
    AnswerConfig,
    FieldsConfig,
    StepsConfig,
    annotation_rules,
    default_generators,
    is_gsm8k_shaped,
)
from tracegen.resources import resource_dir
from tracegen.stages import GENERATORS, SOURCES, VERIFIERS


class _Strict(BaseModel):
    # strict: `per_trace: true` or `seed: "3"` is an error, not a silent conversion
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


OVERRIDES = "overrides"  # where an error in an override is: load_recipe's argument (the CLI says "command line")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SPLIT_PATTERN = r"^\w+$"  # what the Hugging Face Hub accepts as a split name


class SourceConfig(_Strict):
    """Where problems come from."""

    name: Annotated[str, SOURCES.validator()] = Field(
        "gsm8k", description="gsm8k | arith | generic | a source registered in tracegen.stages.SOURCES"
    )
    path: str | None = Field(
        None,
        description="local file (gsm8k: JSONL with `question`/`answer`; generic: see `fields`); the Hub is used when "
        "unset",
    )
    hub_id: str = "openai/gsm8k"
    hub_config: str = "main"
    split: str = Field(
        "train",
        pattern=SPLIT_PATTERN,
        description="split to read from the Hub, and the exported split's name (default for a local file: its stem "
        "if train/test/validation)",
    )
    # arith only
    seed: int = Field(
        0, description="seed of the synthetic problems (independent of the recipe seed, which drives deviations)"
    )
    num_problems: int = Field(1000, ge=1)
    min_steps: int = Field(2, ge=1)
    max_steps: int = Field(4, ge=1)
    max_number: int = Field(100, ge=2, le=100_000)
    # generic only (tracegen.recipe_data); left out of the dump when unset
    format: Literal["jsonl", "parquet", "hf"] | None = Field(
        None, description="generic: jsonl | parquet | hf (unset: by the path's suffix, the Hub without one)"
    )
    fields: FieldsConfig | None = Field(None, description="generic: the dataset's column names")

    @model_validator(mode="after")
    def _consistent(self) -> SourceConfig:
        if self.min_steps > self.max_steps:
            raise ValueError(f"min_steps ({self.min_steps}) is larger than max_steps ({self.max_steps})")
        if self.name == "arith" and self.path is not None:
            raise ValueError("the arith source makes its own problems: it takes no path (--source)")
        if self.name != "generic" and (self.format is not None or self.fields is not None):
            raise ValueError(f"format and fields are keys of the generic source, not of '{self.name}'")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        return _without_unset(handler(self), ("format", "fields"))


class WeakConfig(_Strict):
    """Where weak-model solutions come from and how they become deviations (generator `weak`)."""

    backend: BackendConfig = Field(default_factory=BackendConfig)
    mode: Literal["whole", "prefix"] = Field(
        "whole",
        description="whole: the model solves the question; prefix: it continues the gold solution's first steps",
    )
    samples: int = Field(1, ge=1, le=64, description="solutions sampled per problem (replay: every model in the file)")
    verifier: Annotated[str, VERIFIERS.validator()] = Field(
        "divergence",
        description="divergence | rollout | critic | ensemble | a verifier registered in tracegen.stages.VERIFIERS",
    )
    rollouts: int = Field(4, ge=1, description="rollout verifier: completions sampled from each prefix")
    critic: BackendConfig | None = Field(
        None, description="critic and ensemble verifiers: the judge's backend (a strong model)"
    )
    one_row_per_solution: bool = Field(
        False, description="every wrong solution becomes its own row (else: one row per problem, weak drawn by weight)"
    )


class DeviationConfig(_Strict):
    """Which mistakes are spliced in, where, and how often."""

    generators: dict[str, float] = Field(
        default_factory=lambda: {
            "arith_slip": 1.0,
            "digit_swap": 1.0,
            "wrong_operator": 1.0,
            "wrong_operand": 1.0,
            "skip_ahead": 1.0,
            "copy_error": 1.0,
        },
        description="generator name -> relative weight",
    )
    per_trace: int = Field(
        1, ge=1, description="deviations spliced into each non-clean trace (fewer when the solution is short)"
    )
    clean_fraction: float = Field(0.1, ge=0.0, le=1.0, description="fraction of traces kept clean (no deviation)")
    position: Literal["uniform", "early", "late"] = "uniform"
    mid_step_fraction: float = Field(
        0.5, ge=0.0, le=1.0, description="fraction of deviations that start mid-step rather than at the step start"
    )
    detected_after: int | list[int] = Field(
        0, description="steps the wrong value is carried before the undo; a list is sampled uniformly"
    )
    weak: WeakConfig | None = Field(
        None, description="where weak-model solutions come from (needed by the 'weak' generator)"
    )

    @field_validator("generators")
    @classmethod
    def _weights_valid(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights:
            raise ValueError("needs at least one generator")
        if unknown := [name for name in weights if name not in GENERATORS]:
            raise ValueError(GENERATORS.unknown(unknown[0]))
        if not all(math.isfinite(w) and w >= 0 for w in weights.values()) or not 0 < sum(weights.values()) < math.inf:
            raise ValueError("weights must be finite, non-negative and not all zero")
        return weights

    @model_validator(mode="after")
    def _weak_consistent(self) -> DeviationConfig:
        from_models = list(solution_generators(self.generators))
        if from_models and self.weak is None:
            raise ValueError(f"generator '{from_models[0]}' needs a 'weak' section saying where solutions come from")
        if self.weak is not None and self.weak.one_row_per_solution and (len(self.generators) != 1 or not from_models):
            raise ValueError(
                "weak.one_row_per_solution needs generators to be just one that takes model solutions (such as 'weak')"
            )
        return self

    @field_validator("detected_after")
    @classmethod
    def _non_negative(cls, value: int | list[int]) -> int | list[int]:
        values = value if isinstance(value, list) else [value]
        if not values or any(v < 0 for v in values):
            raise ValueError("must be a non-negative integer or a non-empty list of them")
        return value


class ExportConfig(_Strict):
    """How traces become token columns."""

    tokenizer: str | None = Field(
        None, description="transformers tokenizer name or path; the embedded tokenizer when unset"
    )
    chat_template: bool = Field(False, description="format prompts with the tokenizer's chat template")
    prompt_template: str = "Question: {question}\nAnswer:\n"
    undo_unit: Literal["token", "step"] = "token"
    context_mode: Literal["soft", "hard"] = "soft"
    loss: Literal["msft", "naive", "clean"] = "msft"  # clean: the plain SFT baseline (Recipe.plans_deviations)
    label_before_deviation: bool = Field(
        False,
        description="soft mode: also label the state just before each deviation with the correct token (hard mode "
        "always does)",
    )
    format: Literal["parquet", "jsonl"] = "parquet"
    layout: Literal["packed", "branches"] = Field(
        "packed",
        description="packed: one row per trace; branches: hard rows unrolled into plain causal rows "
        "(tracegen.rows.branches)",
    )
    rows_per_file: int = Field(100_000, ge=1)

    @model_validator(mode="after")
    def _combination_meaningful(self) -> ExportConfig:
        if self.loss == "naive" and self.context_mode == "hard":
            raise ValueError(
                "loss 'naive' needs context_mode 'soft': in hard mode every state's label is its last emission, "
                "which is never a deviation token, so there is no deviation loss to switch on"
            )
        if self.label_before_deviation and self.loss != "msft":
            raise ValueError(
                f"label_before_deviation needs loss 'msft' (with loss '{self.loss}' no state before a deviation is "
                "masked)"
            )
        if self.layout == "branches" and self.context_mode != "hard":
            raise ValueError(
                "layout 'branches' unrolls hard-mode rows (context_mode 'hard'); soft rows are plain causal rows "
                "already"
            )
        if "{question}" not in self.prompt_template:
            raise ValueError("prompt_template must contain '{question}'")
        return self


class Recipe(_Strict):
    name: str = Field(pattern=NAME_PATTERN, description="letters, digits, '.', '_' and '-'; names rows and the card")
    description: str = ""
    seed: int = 0
    limit: int | None = Field(None, ge=1, description="use only the first N problems")
    source: SourceConfig = Field(default_factory=SourceConfig)
    steps: StepsConfig = Field(default_factory=StepsConfig, description="what a step is (generic data)")
    answer: AnswerConfig = Field(
        default_factory=AnswerConfig, description="where the final answer sits (generic data)"
    )
    deviations: DeviationConfig = Field(default_factory=DeviationConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)

    @model_validator(mode="before")
    @classmethod
    def _generators_for_format(cls, data: object) -> object:
        if isinstance(data, dict):
            default_generators(data)
        return data

    @model_validator(mode="after")
    def _data_shape_consistent(self) -> Recipe:
        if (rules := annotation_rules(self.deviations.generators)) and len(rules) < sum(
            w > 0 and n not in solution_generators(self.deviations.generators)
            for n, w in self.deviations.generators.items()
        ):
            raise ValueError(
                f"generator '{rules[0]}' (calculator annotations) and the prose_* generators do not mix in one recipe"
            )
        if not is_gsm8k_shaped(self.steps, self.answer):
            if self.source.name != "generic":
                raise ValueError(
                    f"steps.split and answer.format are for the generic source; '{self.source.name}' is GSM8K-shaped"
                )
            if rules := annotation_rules(self.deviations.generators):
                raise ValueError(
                    f"generator '{rules[0]}' rewrites calculator annotations of line steps with '####' answers; this "
                    "data needs the prose_* generators"
                )
        return self

    @property
    def plans_deviations(self) -> bool:
        """`export.loss: clean` is the plain SFT baseline: clean solutions, no deviation planned, no weak model asked,
        whatever `deviations` says (it stays in the dump, as written). The one place that decides it."""
        return self.export.loss != "clean"

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        dumped = handler(self)
        for key, default in (("steps", StepsConfig()), ("answer", AnswerConfig())):
            if getattr(self, key) == default:
                dumped.pop(key, None)
        return dumped


def _without_unset(dumped: dict, keys: tuple[str, ...]) -> dict:
    """A dump without the generic-data keys that are unset: recipes without them keep their bytes."""
    for key in keys:
        if dumped.get(key) is None:
            dumped.pop(key, None)
    return dumped


def builtin_recipe_dir() -> Path:
    return resource_dir("recipes")


def builtin_recipes() -> list[str]:
    return sorted(p.stem for p in builtin_recipe_dir().glob("*.yaml"))


def resolve_recipe_path(name_or_path: str) -> Path:
    """A built-in recipe name (`gsm8k`) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise InputError("no such file", file=name_or_path)
        if path.is_dir():
            raise InputError("is a directory, expected a recipe YAML file", file=name_or_path)
        return path
    builtin = builtin_recipe_dir() / f"{name_or_path}.yaml"
    if not builtin.exists():
        raise InputError(
            f"unknown recipe '{name_or_path}' (built-in: {', '.join(builtin_recipes())}; or give a path to a .yaml "
            "file)"
        )
    return builtin


def load_recipe(name_or_path: str, overrides: dict[str, object] | None = None) -> Recipe:
    """Load, apply dotted-key overrides (`export.loss`), validate; errors name file, line and field."""
    path = resolve_recipe_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {e.start} of the file)", file=str(path), line=line) from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"broken YAML: {getattr(e, 'problem', None) or e}", file=str(path), line=line) from None
    _refuse_duplicate_keys(node, str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("a recipe must be a YAML mapping", file=str(path), line=1)
    data.setdefault("name", path.stem)
    overrides = overrides or {}
    for dotted, value in overrides.items():
        _set_dotted(data, dotted, value, file=str(path), line=_line_of(node, dotted.split(".")))
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = [str(p) for p in err["loc"]]
        field = ".".join(loc)
        if any(field == k or field.startswith(k + ".") for k in overrides):  # the error is inside an overridden value
            raise InputError(_pydantic_reason(err), file=OVERRIDES, field=field) from None
        raise InputError(_pydantic_reason(err), file=str(path), line=_line_of(node, loc), field=field) from None
    return recipe


def _refuse_duplicate_keys(node: yaml.Node | None, file: str) -> None:
    """YAML keeps the last of two equal keys silently; in a recipe that is always a mistake."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise InputError("duplicate key", file=file, line=key.start_mark.line + 1, field=key.value)
                seen.add(key.value)
            _refuse_duplicate_keys(value, file)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, file)


def _pydantic_reason(err: dict) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "missing"
    message = err["msg"].removeprefix("Value error, ")
    if isinstance(err.get("input"), dict):  # a check across a section's keys: the section itself says nothing more
        return message
    return f"{message} (got {err.get('input')!r})"


def _set_dotted(data: dict, dotted: str, value: object, *, file: str, line: int | None) -> None:
    keys = dotted.split(".")
    if not all(keys):
        raise InputError(f"not a recipe key: {dotted!r}", field=OVERRIDES)
    target = data
    for key in keys[:-1]:
        child = target.get(key)
        if child is None:
            child = target[key] = {}
        if not isinstance(child, dict):
            raise InputError(f"cannot set '{dotted}': '{key}' is not a mapping here", file=file, line=line, field=key)
        target = child
    target[keys[-1]] = value


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """1-based line of the deepest YAML node on the path `loc` (best effort)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        if match is None:
            break
        line = match[0].start_mark.line + 1
        node = match[1]
    return line
