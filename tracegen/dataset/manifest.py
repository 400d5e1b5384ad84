"""The manifest of a dataset folder (`tracegen.json`), typed: what was built, from what, with which tokenizer.

`Manifest` is both what `tracegen build` writes (`Manifest.write`) and what every reader gets
(`read_manifest`): check, inspect, the card and its statistics, the trainers, `open_dataset`, for a
local folder and a downloaded Hub dataset alike. A broken manifest is one line naming the file and
the field.

Forward compatible: keys a newer tracegen adds are kept (written back as they were) and never an
error; only what this version reads is typed. The recipe is recorded as the build's recipe dump
(`Recipe.model_dump`, made public); `RecipeRecord` types the parts readers use and keeps the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracegen.answer_format import GSM8K
from tracegen.dataset.layout import MANIFEST
from tracegen.errors import InputError
from tracegen.recipe import ExportConfig
from tracegen.stepsplit import LINE


class _Record(BaseModel):
    # extra="allow": a newer tracegen's keys survive a read and a write; strict: `"rows": "3"` is an error
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class SourceRecord(_Record):
    name: str
    path: str | None = None  # a local file by its name only (tracegen.public)
    hub_id: str | None = None
    hub_config: str | None = None
    split: str | None = None
    seed: int = 0  # arith's problem seed


class DeviationsRecord(_Record):
    generators: dict[str, float]
    per_trace: int
    clean_fraction: float
    detected_after: int | list[int]


# A manifest holds the export values a recipe allows: the types are the recipe's own.
UndoUnit, ContextMode, Loss, DataFormat, Layout = (
    ExportConfig.model_fields[name].annotation for name in ("undo_unit", "context_mode", "loss", "format", "layout")
)


class ExportRecord(_Record):
    undo_unit: UndoUnit
    context_mode: ContextMode
    loss: Loss
    chat_template: bool
    format: DataFormat
    layout: Layout = "packed"  # manifests written before the branches layout have no key
    label_before_deviation: bool = False


class StepsRecord(_Record):
    split: str = LINE


class AnswerRecord(_Record):
    format: str = GSM8K


class RecipeRecord(_Record):
    """The recipe the dataset was built from, as its dump recorded it (`steps`/`answer` only when not default)."""

    name: str
    seed: int
    source: SourceRecord
    deviations: DeviationsRecord
    export: ExportRecord
    steps: StepsRecord | None = None
    answer: AnswerRecord | None = None

    @property
    def step_split(self) -> str:
        return (self.steps or StepsRecord()).split

    @property
    def answer_format(self) -> str:
        return (self.answer or AnswerRecord()).format


class TokenizerRecord(_Record):
    name: str  # public: a local folder by name and hash (tracegen.public)
    sha256: str  # of tokenizer/tokenizer.json
    undo_id: int
    eos_id: int | None


class SplitRecord(_Record):
    rows: int
    problems: int
    files: list[str]  # relative to the folder: data/<split>-NNNNN-of-MMMMM.parquet


class Manifest(_Record):
    """Everything needed to reproduce and check a dataset; no timestamps, so builds stay byte-identical."""

    tracegen_version: str
    recipe: RecipeRecord
    seed: int
    tokenizer: TokenizerRecord
    splits: dict[str, SplitRecord] = Field(min_length=1)
    deviations_by_kind: dict[str, int] = Field(default_factory=dict)
    dropped: dict[str, int] = Field(default_factory=dict)  # reason -> problems or rows not written
    skipped_rows: int = 0
    traces_with_deviations: int = 0

    @property
    def files(self) -> list[str]:
        """Every data file of every split, in the manifest's order."""
        return [rel for split in self.splits.values() for rel in split.files]

    @property
    def rows(self) -> int:
        return sum(split.rows for split in self.splits.values())

    def to_json(self) -> str:
        """The manifest's bytes: sorted keys, two-space indent, what a reader read comes back unchanged."""
        return json.dumps(self.model_dump(mode="json", exclude_unset=True), indent=2, sort_keys=True) + "\n"

    def write(self, folder: Path) -> None:
        (Path(folder) / MANIFEST).write_text(self.to_json(), encoding="utf-8")


def read_manifest(folder: Path, *, shown: str | None = None) -> Manifest:
    """The manifest of a dataset folder, validated; errors name `shown` (default: the folder as given) + the file.

    `shown` is what the user named: a Hub dataset is read from a download under the Hub cache, whose
    local path no error should show.
    """
    path = Path(folder) / MANIFEST
    where = f"{shown if shown is not None else folder}/{MANIFEST}"
    if not path.is_file():
        raise InputError(f"not a tracegen dataset folder (no {MANIFEST})", file=shown or str(folder))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"not a valid tracegen manifest ({type(e).__name__}: {e})", file=where) from None
    return parse_manifest(data, where)


def parse_manifest(data: object, where: str = MANIFEST) -> Manifest:
    """A manifest from its JSON value; `where` names it in the error."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(part) for part in err["loc"]) or None
        reason = "missing" if err["type"] == "missing" else f"{err['msg']} (got {_short(err.get('input'))})"
        raise InputError(f"not a valid tracegen manifest: {reason}", file=where, field=field) from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
