"""TRL consumes tracegen data: `SFTTrainer` trains on a dataset folder as loaded, and its `labels` arrive intact.

With `dataset_kwargs={"skip_prepare_dataset": True}` TRL (>= 0.19) tokenizes nothing and packs
nothing; its collator pads the `labels` column as it is. This records every batch the model
receives and checks each row's labels against the dataset's, deviation tokens masked included.
"""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.dataset.load import open_dataset

trl = pytest.importorskip("trl")


def test_sft_trainer_trains_on_the_labels_column_as_exported(tmp_path):
    out = tmp_path / "soft"
    result = CliRunner().invoke(
        app, ["build", "--recipe", "arith", "--limit", "12", "--out", str(out), "--set", "deviations.clean_fraction=0"]
    )
    assert result.exit_code == 0, result.output
    data = open_dataset(str(out))
    rows = data.rows  # every column of the export: TRL keeps input_ids and labels, drops the rest
    expected = {tuple(row["input_ids"]): row["labels"] for row in rows}
    assert all(
        any(label == -100 for label in labels[len(data.prompt_ids(row)) :])
        for row, labels in zip(rows, expected.values())
    ), "every row has masked deviation tokens"

    received: list[dict[str, torch.Tensor]] = []

    class Recording(trl.SFTTrainer):
        def compute_loss(self, model, inputs, *args, **kwargs):
            received.append(
                {key: inputs[key].detach().cpu().clone() for key in ("input_ids", "labels", "attention_mask")}
            )
            return super().compute_loss(model, inputs, *args, **kwargs)

    config = LlamaConfig(
        vocab_size=len(data.tok.hf),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=3,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        dataset_kwargs={"skip_prepare_dataset": True},
        max_length=None,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        dataloader_num_workers=0,
    )
    trainer = Recording(model=LlamaForCausalLM(config), args=args, train_dataset=rows, processing_class=data.tok.hf)
    trainer.train()

    assert len(received) == 3
    for batch in received:
        for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
            n = int(mask.sum())
            assert labels[:n].tolist() == expected[tuple(ids[:n].tolist())]
            assert bool((labels[n:] == -100).all())
    assert all(record["loss"] > 0 for record in trainer.state.log_history if "loss" in record)
