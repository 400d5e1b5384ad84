"""What may be written down: names and addresses with their secrets and local paths taken out.

Everything a build records (manifest, card, row ids, deviation kinds, cache records, skipped.jsonl,
log lines, errors) goes through here first:
- a URL loses its userinfo (`user:pass@`), query string and fragment (`?api-key=...`);
- a model or tokenizer given as a local folder is recorded as its folder name plus a hash of its
  `config.json` (or `tokenizer.json`), `tiny@3fa2c1d09b7e`: the same weights under another path
  give the same record, and no home folder reaches a file;
- any other absolute path is recorded by its file name;
- free text (server messages, exception text) has URLs cleaned and token-like strings masked.

`SECRET_PATTERNS` is also what `tracegen push` looks for before anything leaves the machine.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# userinfo in a URL, OpenAI-style keys, Hugging Face tokens
SECRET_PATTERNS = {
    "a URL with a user name or password": re.compile(
        r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"'<>]*:[^/\s@\"'<>]*@", re.IGNORECASE
    ),
    "an API key (sk-...)": re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    "a Hugging Face token (hf_...)": re.compile(r"\bhf_[A-Za-z0-9]{20,}"),
}
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)
_FINGERPRINT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
MASK = "***"


def public_url(url: str) -> str:
    """The URL without userinfo, query string or fragment: what identifies a server, nothing that unlocks it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL we can take apart: keep only what precedes any credentials
        return url.split("?", 1)[0].rsplit("@", 1)[-1]
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def public_name(name: str) -> str:
    """A model or tokenizer as it may be recorded: a local folder by name + config hash, a URL cleaned, else as
    given."""
    if _URL.fullmatch(name):
        return public_url(name)
    path = Path(name).expanduser()
    if path.is_dir():
        digest = next((_sha(path / f) for f in _FINGERPRINT_FILES if (path / f).is_file()), None)
        folder = path.resolve().name
        return f"{folder}@{digest[:12]}" if digest else folder
    if path.is_absolute() or name.startswith("~"):
        return path.name
    return name


def public_recipe(recipe: dict) -> dict:
    """A recipe as a manifest records it (the recipe's JSON dump): server URLs, models and paths made public."""
    recipe = copy.deepcopy(recipe)
    source = recipe.get("source") or {}
    if isinstance(source.get("path"), str):
        source["path"] = public_path(source["path"])
    export = recipe.get("export") or {}
    if isinstance(export.get("tokenizer"), str):
        export["tokenizer"] = public_name(export["tokenizer"])
    backend = ((recipe.get("deviations") or {}).get("weak") or {}).get("backend") or {}
    for key, public in (
        ("base_url", public_url),
        ("model", public_name),
        ("replay", public_path),
        ("cache", public_path),
    ):
        if isinstance(backend.get(key), str):
            backend[key] = public(backend[key])
    return recipe


def public_path(path: str) -> str:
    """A data file as it may be recorded: an absolute path by its file name, a relative one as given."""
    return Path(path).name if Path(path).expanduser().is_absolute() or path.startswith("~") else path


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Free text with every URL cleaned, token-like strings and the given secret values masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _URL.sub(lambda m: public_url(m.group(0)), text)
    for name, pattern in SECRET_PATTERNS.items():
        if name.startswith("a URL"):
            continue  # already cleaned above
        text = pattern.sub(MASK, text)
    return text


def environment_secrets(*names: str) -> tuple[str, ...]:
    """The values of the environment variables that hold keys, to mask wherever they might be echoed."""
    return tuple(value for name in names if (value := os.environ.get(name)))


def find_secret(text: str) -> str | None:
    """What in `text` looks like a credential (the kind, never the value), or None."""
    return next((kind for kind, pattern in SECRET_PATTERNS.items() if pattern.search(text)), None)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
