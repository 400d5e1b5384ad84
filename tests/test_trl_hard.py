"""Hard mode under TRL: `TraceSFTTrainer` with SFTConfig's defaults, and TRL's own collator on a `--layout branches`
build."""

import math
import os
import re

import pytest
import torch
from conftest import ROOT
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.dataset.load import open_dataset
from tracegen.train.data import TraceCollator

trl = pytest.importorskip("trl")
runner = CliRunner()


def tiny_llama(vocab_size: int) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config)


def readme_snippet(heading: str) -> tuple[str, str]:
    """(the shell comment's command, the code) of the first python block after `heading` in README.md."""
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text[text.index(heading) :], re.S).group(1)
    command = re.match(r"# (tracegen build .*)\n", code).group(1)
    return command, code


def test_readme_snippet_trains_a_hard_build_with_finite_metrics(tmp_path, monkeypatch):
    command, code = readme_snippet("**Hard mode, packed rows.**")
    monkeypatch.chdir(tmp_path)
    import datasets

    # load_dataset caches a local folder by its name: an earlier out/arith-hard of another test run would come back
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets-cache")
    args = command.split()[1:] + [
        "--limit",
        "40",
    ]  # 40 rows: 5 steps of 8 per epoch, so TRL's first log (step 10) is after exactly 2 epochs
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = open_dataset("out/arith-hard")
    tiny_llama(len(data.tok.hf)).save_pretrained("your-base-model")

    class OnThisMachine(
        trl.SFTConfig
    ):  # no GPU here: TrainingArguments refuses bf16 (SFTConfig's default) without use_cpu, and bf16 is slow on a CPU
        def __init__(self, *args, **kwargs):
            super().__init__(
                *args, **{"use_cpu": True, "bf16": False, "report_to": [], "save_strategy": "no", **kwargs}
            )

    monkeypatch.setattr(trl, "SFTConfig", OnThisMachine)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # as written: the folder and model names are the README's
    trainer = namespace["trainer"]
    logs = [record for record in trainer.state.log_history if "loss" in record]
    assert logs and all(
        math.isfinite(value) for record in logs for value in record.values() if isinstance(value, float)
    ), trainer.state.log_history
    assert len(data.rows) == 40 and trainer.args.logging_steps == 10
    assert logs[0]["num_tokens"] == 2 * sum(
        len(row["input_ids"]) for row in data.rows
    )  # every token of every row, twice, no padding


def test_trace_sft_trainer_keeps_the_hard_columns_and_cuts_them_at_max_length(tmp_path):
    out = tmp_path / "hard"
    result = runner.invoke(
        app,
        [
            "build",
            "--recipe",
            "arith",
            "--limit",
            "8",
            "--context-mode",
            "hard",
            "--out",
            str(out),
            "--set",
            "deviations.clean_fraction=0",
        ],
    )
    assert result.exit_code == 0, result.output
    data = open_dataset(str(out))
    from tracegen.integrations.trl import TraceSFTTrainer

    received = []

    class Recording(TraceSFTTrainer):
        def compute_loss(self, model, inputs, *args, **kwargs):
            received.append(
                {
                    key: inputs[key].detach().clone()
                    for key in ("input_ids", "attention_mask", "position_ids", "labels")
                }
            )
            return super().compute_loss(model, inputs, *args, **kwargs)

    args = trl.SFTConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=2,
        per_device_train_batch_size=4,
        max_length=96,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
        bf16=False,
    )
    trainer = Recording(
        model=tiny_llama(len(data.tok.hf)), processing_class=data.tok.hf, train_dataset=data.rows, args=args
    )
    trainer.train()
    assert any(len(row["input_ids"]) > 96 for row in data.rows), "some rows are cut"
    by_ids = {tuple(row["input_ids"][:96]): row for row in data.rows}
    collate = TraceCollator(data.tok.undo_id)
    for batch in received:
        assert batch["attention_mask"].dim() == 4
        for b, ids in enumerate(batch["input_ids"]):
            n = int((batch["position_ids"][b] > 0).sum()) + 1
            row = by_ids[tuple(ids[:n].tolist())]
            cut = {
                **row,
                "input_ids": row["input_ids"][:n],
                "labels": row["labels"][:n],
                "position_ids": row["position_ids"][:n],
                "prune_spans": [s for s in row["prune_spans"] if s[2] < n],
            }
            expected = collate([cut])
            assert torch.equal(batch["attention_mask"][b, 0, :n, :n], expected["attention_mask"][0, 0])
            assert torch.equal(batch["labels"][b, :n], expected["labels"][0]) and torch.equal(
                batch["position_ids"][b, :n], expected["position_ids"][0]
            )


def test_plain_sft_trainer_with_the_collator_says_which_column_went_missing(tmp_path):
    out = tmp_path / "hard"
    assert (
        runner.invoke(
            app, ["build", "--recipe", "arith", "--limit", "4", "--context-mode", "hard", "--out", str(out)]
        ).exit_code
        == 0
    )
    data = open_dataset(str(out))
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "trl"), max_steps=1, report_to=[], save_strategy="no", use_cpu=True, bf16=False
    )
    trainer = trl.SFTTrainer(
        model=tiny_llama(len(data.tok.hf)),
        processing_class=data.tok.hf,
        train_dataset=data.rows,
        args=args,
        data_collator=TraceCollator(data.tok.undo_id),
    )
    with pytest.raises(KeyError, match="TraceSFTTrainer"):
        trainer.train()


def test_trl_default_collator_with_packing_trains_a_branches_build_exactly(tmp_path):
    out = tmp_path / "branches"
    result = runner.invoke(
        app,
        [
            "build",
            "--recipe",
            "arith",
            "--limit",
            "12",
            "--context-mode",
            "hard",
            "--layout",
            "branches",
            "--out",
            str(out),
            "--set",
            "deviations.clean_fraction=0",
        ],
    )
    assert result.exit_code == 0, result.output
    data = open_dataset(str(out))
    model = tiny_llama(len(data.tok.hf))
    received = []

    class Recording(trl.SFTTrainer):
        def compute_loss(self, model, inputs, *args, **kwargs):
            received.append(
                {key: value.detach().clone() for key, value in inputs.items() if isinstance(value, torch.Tensor)}
            )
            return super().compute_loss(model, inputs, *args, **kwargs)

    args = trl.SFTConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=2,
        per_device_train_batch_size=2,
        packing=True,
        max_length=256,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
        bf16=False,
    )
    trainer = Recording(
        model=model, processing_class=data.tok.hf, train_dataset=data.rows, args=args
    )  # TRL's own collator
    trainer.train()
    assert all(math.isfinite(record["loss"]) for record in trainer.state.log_history if "loss" in record)
    # each packed sequence arrives whole, labels untouched: every branch row's (input_ids, labels) is one of the
    # dataset's
    rows = {tuple(row["input_ids"]): row["labels"] for row in data.rows}
    model.eval()
    for batch in received:
        assert "attention_mask" not in batch  # padding-free: one flat sequence, positions restart per row
        ids, labels, positions = batch["input_ids"][0], batch["labels"][0], batch["position_ids"][0]
        starts = [*(positions == 0).nonzero().flatten().tolist(), len(ids)]
        with torch.no_grad():
            packed_logits = model(input_ids=ids[None], position_ids=positions[None]).logits[0]
            for start, end in zip(starts, starts[1:]):
                piece = tuple(ids[start:end].tolist())
                assert piece in rows and labels[start:end].tolist() == [-100, *rows[piece][1:]]
                alone = model(input_ids=ids[None, start:end]).logits[0]
                assert (packed_logits[start:end] - alone).abs().max() <= 1e-4  # no attention across rows
    assert os.path.isdir(tmp_path / "trl")
