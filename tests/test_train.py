"""The masked-SFT trainer: batches, the loss, `<UNDO>` in the vocabulary, checkpoints and the CLI (tiny models,
seconds)."""

import json
import shutil
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.dataset.load import open_dataset
from tracegen.decoding import decode
from tracegen.errors import InputError
from tracegen.tokens import TraceTokenizer
from tracegen.train import loop
from tracegen.train.config import MsftConfig
from tracegen.train.data import TraceCollator, held_out
from tracegen.train.evaluate import teacher_forced
from tracegen.train.loss import label_loss, model_inputs
from tracegen.train.masks import attention_inputs
from tracegen.train.metrics import read_metrics
from tracegen.train.model import add_undo_token, build_model
from tracegen.train.msft import train_msft

FAST = dict(
    eval_rows=2,
    eval_decode=1,
    batch_size=2,
    log_every=1,
    eval_every=2,
    save_every=2,
    max_new_tokens=4,
    lr=3e-3,
    warmup_steps=1,
)


def build(out, *args):
    result = CliRunner().invoke(app, ["build", "--recipe", "arith", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, str]:
    """Arith builds per context mode, two deviations in every row; step undos, so hard mode relabels states."""
    root = tmp_path_factory.mktemp("train")
    options = [
        "--limit",
        "24",
        "--undo-unit",
        "step",
        "--set",
        "deviations.clean_fraction=0",
        "--set",
        "deviations.per_trace=2",
    ]
    return {mode: str(build(root / mode, "--context-mode", mode, *options)) for mode in ("soft", "hard")}


@pytest.fixture(params=["soft", "hard"])
def dataset(request, builds) -> str:
    return builds[request.param]


@pytest.fixture(scope="module")
def tiny_llama():
    tok = TraceTokenizer.load(None)
    config = LlamaConfig(
        vocab_size=len(tok.hf),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def tiny_llama_folder(tiny_llama, tmp_path_factory) -> str:
    """The tiny Llama saved as a pretrained model, to start training from (smaller than --model-config tiny)."""
    folder = tmp_path_factory.mktemp("pretrained") / "tiny"
    tiny_llama.save_pretrained(folder)
    return str(folder)


def test_a_padded_batch_loses_exactly_the_sum_of_its_rows(dataset, tiny_llama):
    data = open_dataset(dataset)
    rows = [data.rows[i] for i in range(8)]
    assert len({len(row["input_ids"]) for row in rows}) > 1, "rows of different lengths, so the batch pads"
    batch = TraceCollator(data.tok.undo_id)(rows)
    assert batch["attention_mask"].dim() == (4 if data.context_mode == "hard" else 2)
    with torch.no_grad():
        batched, count = label_loss(tiny_llama(**model_inputs(batch)).logits, batch["labels"])
        alone_sum, alone_count = 0.0, 0
        for row in rows:
            mask, positions = attention_inputs(
                row["input_ids"],
                row["position_ids"],
                row["prune_spans"],
                row["context_mode"],
                undo_id=data.tok.undo_id,
            )
            logits = tiny_llama(
                input_ids=torch.tensor([row["input_ids"]]), attention_mask=mask, position_ids=positions
            ).logits
            total, n = label_loss(logits, torch.tensor([row["labels"]]))
            alone_sum, alone_count = alone_sum + total.item(), alone_count + n
    assert count == alone_count == sum(sum(label != -100 for label in row["labels"][1:]) for row in rows)
    assert batched.item() == pytest.approx(alone_sum, rel=1e-5)


def test_a_hard_batch_is_not_a_causal_batch(builds, tiny_llama):
    """The hard mask changes the loss (else the equality above would prove nothing about it)."""
    data = open_dataset(builds["hard"])
    rows = [data.rows[i] for i in range(4)]
    hard = TraceCollator(data.tok.undo_id)(rows)
    causal = TraceCollator(data.tok.undo_id)([{**row, "context_mode": "soft"} for row in rows])
    with torch.no_grad():
        hard_loss, _ = label_loss(tiny_llama(**model_inputs(hard)).logits, hard["labels"])
        causal_loss, _ = label_loss(tiny_llama(**model_inputs(causal)).logits, causal["labels"])
    assert abs(hard_loss.item() - causal_loss.item()) > 1e-3


def test_held_out_rows_are_never_trained_on(dataset):
    data = open_dataset(dataset)
    train, evaluation = held_out(data.rows, 5, seed=0)
    assert len(evaluation) == 5 and len(train) == len(data.rows) - 5
    assert not set(train["id"]) & set(evaluation["id"])
    assert held_out(data.rows, 5, seed=0)[1]["id"] == evaluation["id"]


def test_undo_joins_a_pretrained_vocabulary_as_the_mean_of_named_words(tmp_path, foreign_tokenizers):
    tok = TraceTokenizer.load(str(foreign_tokenizers["gpt2"]))
    base = len(tok.hf) - 1
    assert tok.undo_id == base, "the gpt2-like tokenizer had no <UNDO>: it is the new last id"
    config = LlamaConfig(
        vocab_size=base,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path / "pretrained")
    model = build_model(tok, model=str(tmp_path / "pretrained"), undo_init=("undo", "delete"))
    embeddings, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert embeddings.shape[0] == head.shape[0] == len(tok.hf)
    source = sorted({i for word in ("undo", "delete") for i in tok.encode(word)})
    assert torch.allclose(embeddings[tok.undo_id], embeddings[source].mean(0))
    assert torch.allclose(head[tok.undo_id], head[source].mean(0))
    assert model.config.undo_token_id == tok.undo_id
    # a model that already learnt <UNDO> keeps it
    with torch.no_grad():
        embeddings[tok.undo_id] = 7.0
    assert add_undo_token(model, tok, ("undo",)) is False
    assert bool((model.get_input_embeddings().weight[tok.undo_id] == 7.0).all())


def test_undo_defaults_to_the_mean_of_all_embeddings(tmp_path, foreign_tokenizers):
    tok = TraceTokenizer.load(str(foreign_tokenizers["gpt2"]))
    config = LlamaConfig(
        vocab_size=len(tok.hf) - 1,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    model = LlamaForCausalLM(config)
    assert add_undo_token(model, tok) is True
    embeddings = model.get_input_embeddings().weight
    assert torch.allclose(embeddings[tok.undo_id], embeddings[: tok.undo_id].mean(0), atol=1e-6)


def test_training_lowers_the_loss_and_a_resumed_run_ends_where_an_uninterrupted_one_does(
    builds, tiny_llama_folder, tmp_path
):
    settings = dict(dataset=builds["hard"], model=tiny_llama_folder, steps=4, **FAST)
    straight = tmp_path / "straight"
    final = train_msft(MsftConfig(out=straight, **settings))
    records = read_metrics(straight)
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 4 and losses[-1] < losses[0]
    evals = [r for r in records if "eval_loss" in r]
    assert [r["step"] for r in evals] == [0, 2, 4] and evals[-1]["eval_loss"] < evals[0]["eval_loss"]
    assert set(final) >= {"eval_loss", "undo_after_deviation", "undo_false_alarm", "accuracy", "undo_rate"}
    assert [p.name for p in loop.checkpoints(straight)] == ["step-000002", "step-000004"]

    # the same run, interrupted after step 2's checkpoint
    interrupted = tmp_path / "interrupted"
    shutil.copytree(straight, interrupted)
    for leftover in (interrupted / "checkpoints" / "step-000004", interrupted / "model"):
        shutil.rmtree(leftover)
    train_msft(MsftConfig(out=interrupted, resume=True, **settings))
    assert [r["step"] for r in read_metrics(interrupted) if "loss" in r] == [1, 2, 3, 4, 3, 4]
    a = AutoModelForCausalLM.from_pretrained(straight / "model").state_dict()
    b = AutoModelForCausalLM.from_pretrained(interrupted / "model").state_dict()
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6


def test_cli_trains_and_the_model_decodes(builds, tmp_path):
    out = tmp_path / "run"
    args = [
        "train",
        "msft",
        builds["soft"],
        "--out",
        str(out),
        "--model-config",
        "tiny",
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--eval-rows",
        "2",
    ]
    args += ["--eval-decode", "1", "--eval-every", "2", "--max-new-tokens", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "eval_loss" in result.output
    run = json.loads((out / "run.json").read_text())
    assert run["trainer"] == "msft" and run["steps"] == 2
    assert [r["step"] for r in read_metrics(out) if "loss" in r] == [2]
    tok = TraceTokenizer.load(str(out / "model"))
    model = AutoModelForCausalLM.from_pretrained(out / "model")
    [result_] = decode(model, tok, ["Question: 2+2?\nAnswer:\n"], max_new_tokens=3)
    assert 1 <= len(result_.trace_ids) <= 3


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--steps", "0"], "field '--steps': must be at least 1"),
        (["--resume"], "field '--resume': nothing to resume"),
        (["--eval-rows", "1000"], "field '--eval-rows': cannot hold out 1000"),
        (["--model", "org/model"], "give either a model (path or Hub id) or a model config"),
        (["--mixed-precision", "fp8"], "field '--mixed-precision': expected one of no, bf16, fp16"),
    ],
)
def test_cli_bad_settings_are_one_line_and_exit_2(builds, tmp_path, args, expected):
    result = CliRunner().invoke(
        app,
        [
            "train",
            "msft",
            builds["hard"],
            "--out",
            str(tmp_path / "run"),
            "--model-config",
            "tiny",
            "--eval-rows",
            "4",
            *args,
        ],
    )
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_cli_refuses_a_folder_with_another_run(builds, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text("{}\n")
    result = CliRunner().invoke(
        app, ["train", "msft", builds["hard"], "--out", str(out), "--model-config", "tiny", "--eval-rows", "4"]
    )
    assert result.exit_code == 2 and "pass --resume" in result.output


def test_cli_names_a_folder_that_is_no_dataset(tmp_path):
    result = CliRunner().invoke(
        app, ["train", "msft", str(tmp_path), "--out", str(tmp_path / "run"), "--model-config", "tiny"]
    )
    assert result.exit_code == 2 and "not a tracegen dataset folder" in result.output


class Oracle(torch.nn.Module):
    """Greedy-predicts each row's labels exactly (`<UNDO>` included), or one fixed token everywhere."""

    def __init__(self, rows, vocab: int, always: int | None = None):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.rows, self.vocab, self.always = rows, vocab, always

    def forward(self, input_ids, **_):
        targets = torch.full(input_ids.shape, self.always if self.always is not None else 3)
        if self.always is None:
            for b in range(len(input_ids)):
                row = next(r for r in self.rows if input_ids[b, : len(r["input_ids"])].tolist() == r["input_ids"])
                labels = torch.tensor(row["labels"][1:])
                targets[b, : len(labels)] = torch.where(labels == -100, 3, labels)
        return SimpleNamespace(logits=torch.nn.functional.one_hot(targets, self.vocab).float() * self.scale)


def test_the_forced_deviation_probe_reads_the_state_right_after_each_mistake(dataset):
    data = open_dataset(dataset)
    rows = [data.rows[i] for i in range(6)]
    collate, vocab, undo = TraceCollator(data.tok.undo_id), len(data.tok.hf), data.tok.undo_id

    def probe(model):
        return teacher_forced(model, rows, collate, undo_id=undo, step_ends=data.tok.delimiters, batch_size=4)

    perfect = probe(Oracle(rows, vocab))
    assert (perfect["undo_after_deviation"], perfect["undo_false_alarm"], perfect["undo_false_alarm_at_step_end"]) == (
        1.0,
        0.0,
        0.0,
    )
    assert probe(Oracle(rows, vocab, always=undo)) | {"eval_loss": 0} == {
        "eval_loss": 0,
        "undo_after_deviation": 1.0,
        "undo_false_alarm": 1.0,
        "undo_false_alarm_at_step_end": 1.0,
    }
    never = probe(Oracle(rows, vocab, always=data.tok.eos_id))
    assert (never["undo_after_deviation"], never["undo_false_alarm"]) == (0.0, 0.0)
    assert perfect["eval_loss"] < never["eval_loss"]


def test_a_hub_id_is_downloaded_once_then_read_like_a_folder(builds, monkeypatch):
    import huggingface_hub

    asked = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda **kwargs: asked.append(kwargs) or builds["soft"])
    data = open_dataset("someone/arith-undo")
    assert asked == [{"repo_id": "someone/arith-undo", "repo_type": "dataset"}]
    assert len(data.rows) == 24 and data.tok.undo_id == 2


def test_neither_a_folder_nor_a_hub_id_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="not a Hub dataset id"):
        open_dataset(str(tmp_path / "no" / "such" / "folder"))


def test_every_labelled_token_of_a_step_weighs_the_same_however_the_step_is_cut(builds, tiny_llama_folder, tmp_path):
    """One batch of 4 rows, or 2 micro-batches of 2 rows (of different label counts): the same update."""
    settings = dict(
        dataset=builds["hard"], model=tiny_llama_folder, steps=2, **{**FAST, "eval_decode": 0, "save_every": 2}
    )
    train_msft(MsftConfig(out=tmp_path / "whole", **{**settings, "batch_size": 4}))
    train_msft(MsftConfig(out=tmp_path / "accumulated", **{**settings, "batch_size": 2, "grad_accum": 2}))
    a = AutoModelForCausalLM.from_pretrained(tmp_path / "whole" / "model").state_dict()
    b = AutoModelForCausalLM.from_pretrained(tmp_path / "accumulated" / "model").state_dict()
    start = AutoModelForCausalLM.from_pretrained(tiny_llama_folder).state_dict()
    assert max((a[k] - start[k]).abs().max().item() for k in a) > 1e-3, "the steps moved the weights"
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-5


@pytest.mark.parametrize("command,config", [("msft", "MsftConfig"), ("grpo", "GrpoConfig")])
def test_cli_options_are_the_config_fields_with_their_defaults(command, config):
    import dataclasses
    import inspect

    from tracegen.cli import train_commands as commands
    from tracegen.train import config as configs

    fields = {f.name: f.default for f in dataclasses.fields(getattr(configs, config))}
    parameters = inspect.signature(getattr(commands, command)).parameters
    assert list(parameters) == list(fields)
    for name, parameter in parameters.items():
        if name != "undo_init":  # a repeatable option (None when not given); the config keeps a tuple
            required = fields[name] is dataclasses.MISSING
            assert parameter.default == (inspect.Parameter.empty if required else fields[name]), name
    shown = CliRunner().invoke(app, ["train", command, "--help"], env={"COLUMNS": "300"}).output
    for name in fields:
        assert (name if name == "dataset" else f"--{name.replace('_', '-')}") in shown, name


@pytest.mark.parametrize(
    "command,options,expected",
    [
        ("msft", [], {}),
        (
            "msft",
            ["--steps", "7", "--undo-init", "a", "--undo-init", "b", "--schedule-steps", "3", "--no-resume"],
            {"steps": 7, "undo_init": ("a", "b"), "schedule_steps": 3},
        ),
        ("grpo", [], {}),
        ("grpo", ["--top-p", "0.9", "--mode", "hard", "--lr", "2e-5"], {"top_p": 0.9, "mode": "hard", "lr": 2e-5}),
    ],
)
def test_cli_options_reach_the_trainer_as_its_config(monkeypatch, tmp_path, command, options, expected):
    """What a user types is what the trainer gets: given options parsed to the field's type, the rest its default."""
    from tracegen.train import grpo, msft
    from tracegen.train.config import GrpoConfig

    module, config = (msft, MsftConfig) if command == "msft" else (grpo, GrpoConfig)
    received = []
    monkeypatch.setattr(module, f"train_{command}", lambda cfg, printer: received.append(cfg))
    result = CliRunner().invoke(app, ["train", command, "data/x", "--out", str(tmp_path), *options])
    assert result.exit_code == 0, result.output
    assert received == [config(dataset="data/x", out=tmp_path, **expected)]


def test_cli_option_bounds_come_from_the_config():
    result = CliRunner().invoke(app, ["train", "msft", "data/x", "--out", "run", "--schedule-steps", "0"])
    assert result.exit_code == 2
    assert "schedule-steps" in result.output


def test_the_schedule_holds_its_minimum_after_schedule_steps_and_on_eval_can_stop_a_run(
    builds, tiny_llama_folder, tmp_path
):
    """What `tracegen validate` needs to train on to parity: the equal-budget run's schedule, then the final LR,
    stopped by a callback."""
    seen = []

    def stop_at_6(model, step, metrics):
        seen.append((step, model.training, "eval_loss" in metrics))
        return step == 6

    out = tmp_path / "run"
    settings = dict(FAST, eval_every=2, save_every=100)
    train_msft(
        MsftConfig(
            dataset=builds["soft"],
            out=out,
            model=tiny_llama_folder,
            steps=20,
            schedule_steps=4,
            min_lr_ratio=0.1,
            **settings,
        ),
        on_eval=stop_at_6,
    )
    assert seen == [(2, False, True), (4, False, True), (6, False, True)]
    lrs = {r["step"]: r["lr"] for r in read_metrics(out) if "lr" in r}
    assert max(lrs) == 6 and lrs[4] == pytest.approx(lrs[5]) == pytest.approx(lrs[6]) == pytest.approx(
        0.1 * FAST["lr"]
    )
    assert [p.name for p in loop.checkpoints(out)] == ["step-000006"] and (out / "model").is_dir()
