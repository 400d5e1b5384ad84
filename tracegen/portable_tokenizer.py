"""Tokenizer folders that load in every transformers version tracegen claims (pyproject: >=4.46).

transformers 5 writes `tokenizer_config.json` in its own dialect: `tokenizer_class:
TokenizersBackend` (a class 4.x does not have: "Tokenizer class TokenizersBackend does not
exist"), extra special tokens as a list under `extra_special_tokens` (4.x reads a list only under
`additional_special_tokens`; from 4.50 it wants a dict under the new name) and the chat template
only in `chat_template.jinja` (read from 4.50 on). `save_portable` writes the folder, then restates
those three in the form every version reads; transformers 5 loads the result the same (tested in
tests/test_portable_tokenizer.py; the 4.46 side runs in CI, .ci/old_transformers_check.py).
"""

from __future__ import annotations

import json
from pathlib import Path

CONFIG = "tokenizer_config.json"
TEMPLATE = "chat_template.jinja"
GENERIC_FAST = "PreTrainedTokenizerFast"  # every 4.x and 5.x version has it; tokenizer.json carries the real work


def save_portable(hf_tokenizer, directory: Path) -> None:
    """`hf_tokenizer.save_pretrained(directory)`, with a tokenizer_config.json any claimed version loads."""
    directory = Path(directory)
    hf_tokenizer.save_pretrained(str(directory))
    path = directory / CONFIG
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = GENERIC_FAST
    extra = config.get("extra_special_tokens")
    if isinstance(extra, list):
        del config["extra_special_tokens"]
        config["additional_special_tokens"] = list(
            dict.fromkeys([*config.get("additional_special_tokens", []), *extra])
        )
    if (directory / TEMPLATE).is_file() and "chat_template" not in config:
        config["chat_template"] = (directory / TEMPLATE).read_text(encoding="utf-8")
    path.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
