"""Fail fast on a Hub name without a network: one line in seconds, not a traceback after the Hub client's retries.

Loading `org/name` with no network makes huggingface_hub retry for 26-50 s before transformers gives
up. A connection to the Hub's host, with a short timeout, tells the same thing in a few seconds. A
name already in the local cache, a local folder, or HF_HUB_OFFLINE skip the probe.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from tracegen.errors import InputError

PROBE_TIMEOUT_S = 3.0
_CACHED_FILES = ("config.json", "tokenizer_config.json", "tokenizer.json")


def require_hub_or_cache(name: str, field: str) -> None:
    """Raise InputError now if `name` must come from the Hub and the Hub cannot be reached."""
    if Path(name).expanduser().exists() or _offline():
        return
    from huggingface_hub import constants, try_to_load_from_cache

    if any(isinstance(try_to_load_from_cache(name, filename), str) for filename in _CACHED_FILES):
        return
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    host, port = endpoint.hostname or "huggingface.co", endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise InputError(
            f"cannot reach the Hugging Face Hub ({host}:{port}: {why}) and {name!r} is not in the local cache; "
            "pass a local folder, or run once with a network to cache it",
            field=field,
        ) from None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
