"""`tracegen push`: upload a dataset folder to the Hugging Face Hub as it is.

Everything that can be known offline is checked before the first request: the repo id is
well formed, `tracegen check` accepts the folder, and the card's YAML is what the Hub needs to
show the data (configs pointing at the parquet files that are there, every plot it links).
`--dry-run` stops after that. The token comes from HF_TOKEN or the saved login and is never
printed. Last, nothing in the folder may look like a credential (a URL with a password, an `sk-`
key, an `hf_` token: tracegen.public.SECRET_PATTERNS), in any text file or any string of the
parquet files: it is the last guard before the data is public.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from huggingface_hub import DatasetCard, HfApi, get_token
from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, HFValidationError, filter_repo_objects, validate_repo_id

from tracegen.dataset.check import check_dataset
from tracegen.dataset.layout import CARD, DATA_DIR, JSONL_DIR, PLOTS_DIR, TOKENIZER_DIR
from tracegen.errors import InputError
from tracegen.public import SECRET_PATTERNS, find_secret

# Folders tracegen owns: their old files on the Hub are removed by a push, so a shard left from an
# earlier, larger build is not loaded as data.
OWNED_FOLDERS = (DATA_DIR, JSONL_DIR, TOKENIZER_DIR, PLOTS_DIR)
REQUIRED_TAGS = ("undo",)
_IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


class PushError(Exception):
    """The Hub refused or could not be reached; one line says why."""


@dataclass(frozen=True)
class PushPlan:
    folder: Path
    repo_id: str
    files: list[tuple[str, int]]  # path relative to the folder, size in bytes

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


def plan_push(folder: Path, repo_id: str, *, on_progress: Callable[[int], None] = lambda n: None) -> PushPlan:
    """Check everything offline and list the files `upload_folder` would send; raise InputError on the first
    problem."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise InputError(str(e).splitlines()[0], field="repo_id") from None
    if "/" not in repo_id:
        raise InputError(f"expected ORG/NAME, got {repo_id!r}", field="repo_id")
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder" if not folder.exists() else "is not a folder", file=str(folder))
    report = check_dataset(folder, on_progress=on_progress)
    if report.failure:
        raise InputError(f"tracegen check rejects it, so it is not pushed: {report.failure}", file=str(folder))
    check_card(folder)
    files = _files(folder)
    check_no_secrets(folder, [path for path, _ in files])
    return PushPlan(folder, repo_id, files)


def check_no_secrets(folder: Path, paths: list[str]) -> None:
    """Refuse a folder in which anything looks like a credential; the message names the file and the kind, never the
    value."""
    for path in paths:
        shown = str(Path(folder) / path)
        if path.endswith(".parquet"):
            kind = _secret_in_parquet(Path(folder) / path)
        else:
            kind = find_secret((Path(folder) / path).read_bytes().decode("utf-8", errors="replace"))
        if kind is not None:
            raise InputError(
                f"contains what looks like {kind}; remove it and rebuild before publishing (nothing was sent)",
                file=shown,
            )


def _secret_in_parquet(path: Path) -> str | None:
    """Search every string in the file, nested ones (deviation reasons, weak solutions) included, batch by batch."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for column in batch.columns:
            for strings in _string_arrays(column):
                for kind, pattern in SECRET_PATTERNS.items():
                    if pc.any(
                        pc.match_substring_regex(
                            strings, pattern.pattern, ignore_case=bool(pattern.flags & re.IGNORECASE)
                        )
                    ).as_py():
                        return kind
    return None


def _string_arrays(array: pa.Array) -> list[pa.Array]:
    """The string leaves of an arrow array, through lists and structs."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return [array]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _string_arrays(array.flatten())
    if pa.types.is_struct(kind):
        return [leaf for index in range(kind.num_fields) for leaf in _string_arrays(array.field(index))]
    return []


def check_card(folder: Path) -> None:
    """The card's YAML parses and has what the Hub needs to show and load the data; every linked image exists."""
    shown = str(Path(folder) / CARD)
    try:
        text = (Path(folder) / CARD).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", file=shown) from None
    if not text.startswith("---\n"):
        raise InputError("no YAML front matter (a first line '---')", file=shown, line=1)
    try:
        card = DatasetCard(text)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 2 if e.problem_mark is not None else None  # +1 for 1-based, +1 for the '---' line
        raise InputError(f"the YAML front matter does not parse: {e.problem}", file=shown, line=line) from None
    except (ValueError, yaml.YAMLError) as e:
        raise InputError(f"the YAML front matter does not parse: {_first_line(e)}", file=shown) from None
    data = card.data.to_dict()
    for key in ("license", "task_categories", "configs"):
        if not data.get(key):
            raise InputError("missing from the YAML front matter", file=shown, field=key)
    if missing := [tag for tag in REQUIRED_TAGS if tag not in (data.get("tags") or [])]:
        raise InputError(f"tag {missing[0]!r} is missing", file=shown, field="tags")
    present = [path for path, _ in _files(Path(folder))]
    for pattern in _data_file_patterns(data["configs"]):
        if not isinstance(pattern, str) or not any(fnmatch(path, pattern) for path in present):
            raise InputError(f"data_files path {pattern!r} matches no file in the folder", file=shown, field="configs")
    for link in _IMAGE_LINK.findall(card.text):
        if "://" not in link and not (Path(folder) / link).is_file():
            raise InputError(f"links the image {link!r}, which is not in the folder", file=shown)


def _data_file_patterns(configs: list) -> list[object]:
    """Every path pattern of every config: data_files is a pattern, a list of them, or a list of {split, path}."""
    patterns = []
    for config in configs:
        files = config.get("data_files") if isinstance(config, dict) else None
        for entry in files if isinstance(files, list) else [files]:
            path = entry.get("path") if isinstance(entry, dict) else entry
            patterns.extend(path if isinstance(path, list) else [path])
    return patterns


def push(plan: PushPlan, *, private: bool) -> str:
    """Create the dataset repo if needed and upload the folder in one commit; return the dataset's URL."""
    token = get_token()
    if token is None:
        raise InputError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(token=token)
    try:
        url = api.create_repo(plan.repo_id, repo_type="dataset", private=True if private else None, exist_ok=True)
        api.upload_folder(
            repo_id=plan.repo_id,
            repo_type="dataset",
            folder_path=plan.folder,
            commit_message=f"tracegen push ({len(plan.files)} files)",
            delete_patterns=[f"{folder}/*" for folder in OWNED_FOLDERS],
        )
    except (
        Exception
    ) as e:  # HTTP errors come from requests, httpx or httpx2 depending on the huggingface_hub version: no common base
        raise PushError(_first_line(e)) from None
    return str(url)


def _files(folder: Path) -> list[tuple[str, int]]:
    paths = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return [
        (path, (folder / path).stat().st_size)
        for path in filter_repo_objects(paths, ignore_patterns=DEFAULT_IGNORE_PATTERNS)
    ]


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
