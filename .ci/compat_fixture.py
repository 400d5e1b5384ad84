"""Write what tracegen saves for users into FOLDER: a build's tokenizer (FOLDER/dataset/tokenizer) and a
model folder as `tracegen train` saves it (FOLDER/model). .ci/old_transformers_check.py then loads
both with the oldest transformers tracegen claims. Usage: python .ci/compat_fixture.py FOLDER"""

import json
import subprocess
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tracegen.tokens import TraceTokenizer

folder = Path(sys.argv[1])
subprocess.run(
    [
        sys.executable,
        str(Path(__file__).resolve().parents[1] / "cli.py"),
        "build",
        "--recipe",
        "arith",
        "--limit",
        "8",
        "--out",
        str(folder / "dataset"),
        "--overwrite",
    ],
    check=True,
)
tok = TraceTokenizer.load(str(folder / "dataset" / "tokenizer"))
config = LlamaConfig(
    vocab_size=len(tok.hf),
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    tie_word_embeddings=True,
)
torch.manual_seed(0)
model = LlamaForCausalLM(config).eval()
model.save_pretrained(folder / "model")
tok.save(folder / "model")  # as tracegen.train.loop.save_model does
text = "Question: 3 + 4?\nAnswer:\n3 + 4 = 7\n#### 7"
ids = tok.encode(text)
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0, -1].tolist()
(folder / "expected.json").write_text(
    json.dumps({"text": text, "ids": ids, "undo_id": tok.undo_id, "eos_id": tok.eos_id, "last_logits": logits})
)
print(f"wrote {folder}")
