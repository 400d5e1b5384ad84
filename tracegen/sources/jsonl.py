"""Reading JSONL files line by line with errors that name the file, the line and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from tracegen.errors import InputError


def read_jsonl_objects(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (1-based line number, object) for each non-blank line; raise InputError on bad input."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("no such file", file=name)
    if path.is_dir():
        raise InputError("is a directory, expected a JSONL file", file=name)
    seen = False
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")  # tolerate a byte-order mark
            except UnicodeDecodeError as e:
                raise InputError(f"not UTF-8 text (byte {e.start} of the line)", file=name, line=number) from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                raise InputError(
                    f"not valid JSON ({e.msg.removesuffix(' at')} at column {e.colno})", file=name, line=number
                ) from None
            except (RecursionError, ValueError) as e:  # nesting too deep, integers too long
                raise InputError(
                    f"not valid JSON ({type(e).__name__}: {str(e).splitlines()[0][:80]})", file=name, line=number
                ) from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {_json_type(obj)}", file=name, line=number)
            seen = True
            yield number, obj
    if not seen:
        raise InputError("empty: no JSON lines", file=name)


def require_str(obj: dict, key: str, *, file: str, line: int) -> str:
    if key not in obj:
        raise InputError("missing", file=file, line=line, field=key)
    value = obj[key]
    if not isinstance(value, str):
        raise InputError(f"expected a string, got {_json_type(value)}", file=file, line=line, field=key)
    if not value.strip():
        raise InputError("empty", file=file, line=line, field=key)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(
            f"not valid text (unpaired surrogate {value[e.start]!r} at char {e.start})",
            file=file,
            line=line,
            field=key,
        ) from None
    return value


def _json_type(value: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), "null" if value is None else type(value).__name__)
