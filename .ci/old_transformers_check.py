"""Run with the OLDEST transformers tracegen claims (pyproject), on what .ci/compat_fixture.py wrote with the
current one: the build's tokenizer and the model folder load, encode alike, keep <UNDO> special, and the
model computes the same logits. Needs only transformers and torch (not tracegen). Usage: python
.ci/old_transformers_check.py FOLDER"""

import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

folder = Path(sys.argv[1])
expected = json.loads((folder / "expected.json").read_text())
for name in ("dataset/tokenizer", "model"):
    tok = AutoTokenizer.from_pretrained(folder / name)
    assert tok.is_fast, name
    assert tok.backend_tokenizer.encode(expected["text"], add_special_tokens=False).ids == expected["ids"], name
    assert tok.convert_tokens_to_ids("<UNDO>") == expected["undo_id"] and tok.eos_token_id == expected["eos_id"], name
    assert "<UNDO>" in tok.all_special_tokens, name
    assert tok.chat_template, name
model = AutoModelForCausalLM.from_pretrained(folder / "model").eval()
with torch.no_grad():
    logits = model(torch.tensor([expected["ids"]])).logits[0, -1]
assert torch.allclose(logits, torch.tensor(expected["last_logits"]), atol=1e-4), (
    "the model folder computes other logits"
)
print(f"ok: transformers {transformers.__version__} loads the tokenizer and the model folder tracegen saved")
