"""What a new user meets first: test-set rows said plainly, help that lists every recipe, progress in
logs, an interrupted train that says how to resume, decoding without warnings, clear model errors,
and saved tokenizers every claimed transformers version loads."""

import json
import re
import socket
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracegen.cli import app
from tracegen.errors import InputError

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _weak_replay_build(tmp_path, source_name: str):
    from conftest import GSM8K_DIR

    if not (GSM8K_DIR / "example_model_solutions.jsonl").exists():
        pytest.skip("../shared/data/gsm8k is not present")
    gold = tmp_path / source_name
    with (GSM8K_DIR / "test.jsonl").open() as src:
        gold.write_text("".join(line for _, line in zip(range(6), src)))
    replay = GSM8K_DIR / "example_model_solutions.jsonl"
    return runner.invoke(
        app,
        [
            "build",
            "--recipe",
            "gsm8k-weak",
            "--source",
            str(gold),
            "--replay",
            str(replay),
            "--out",
            str(tmp_path / "out"),
        ],
    )


def test_rows_from_a_test_split_are_called_so_in_the_card_and_the_summary(tmp_path):
    result = _weak_replay_build(tmp_path, "test.jsonl")
    assert result.exit_code == 0, result.output
    card = (tmp_path / "out" / "README.md").read_text()
    assert "Warning: test-set rows" in card and "do not evaluate on the GSM8K test set" in card
    assert 'split="test"' in card and 'split="train"' not in card  # load_dataset names the split that exists
    assert re.search(r"^warning: .*GSM8K TEST problems", result.output, re.MULTILINE)


def test_rows_from_a_train_file_carry_no_test_set_warning(tmp_path):
    result = _weak_replay_build(tmp_path, "train.jsonl")  # the gsm8k-weak recipe no longer forces split "test"
    assert result.exit_code == 0, result.output
    assert "Warning: test-set rows" not in (tmp_path / "out" / "README.md").read_text()
    assert (
        "warning:" not in result.output
        and "train" in json.loads((tmp_path / "out" / "tracegen.json").read_text())["splits"]
    )


def test_readme_load_dataset_examples_name_the_split_their_build_writes():
    readme = (ROOT / "README.md").read_text().replace("\\\n", " ")
    builds = {m.group(2): m.group(1) for m in re.finditer(r"tracegen build ([^\n]*?)--out (out/[\w-]+)", readme)}
    examples = re.findall(r'load_dataset\("(out/[\w-]+)", split="(\w+)"\)', readme)
    assert examples
    for folder, split in examples:
        command = builds[folder]
        source = re.search(r"--source \S*/(\w+)\.jsonl", command)
        assert split == (source.group(1) if source else "train"), (folder, command)


def test_build_help_lists_every_shipped_recipe():
    result = runner.invoke(app, ["build", "--help"], terminal_width=400)
    shipped = sorted(path.stem for path in (ROOT / "recipes").glob("*.yaml"))
    assert len(shipped) >= 5 and all(name in result.output for name in shipped)


def test_a_build_logged_to_a_file_prints_progress_lines_and_a_readable_rate(tmp_path):
    result = runner.invoke(app, ["build", "--recipe", "arith", "--limit", "30", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert re.search(r"^building arith: 30/30 \(100%\), [\d.,]+/s, \d+s elapsed$", result.output, re.MULTILINE)


def test_progress_lines_say_the_time_left_and_slow_rates_are_not_zero():
    from tracegen.progress import LineProgress, format_rate

    lines, now = [], [0.0]

    class Sink:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    progress = LineProgress(Sink(), interval_s=10, clock=lambda: now[0])
    task = progress.add_task("sampling (openai)", total=100)
    now[0] = 5
    progress.advance(task, 10)  # too soon for a line
    now[0] = 20
    progress.advance(task, 10)
    assert lines == ["sampling (openai): 20/100 (20%), 1.0/s, 20s elapsed, about 1m20s left\n"]
    assert format_rate(10, 80) == "0.1" and format_rate(5000, 2) == "2,500"


def test_ctrl_c_in_train_names_checkpoints_and_resume(tmp_path, monkeypatch):
    import tracegen.train.msft

    def interrupted(config, printer):
        raise KeyboardInterrupt

    monkeypatch.setattr(tracegen.train.msft, "train_msft", interrupted)
    result = runner.invoke(app, ["train", "msft", str(tmp_path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 130
    assert "--resume" in result.output and "checkpoint" in result.output and "build" not in result.output


def test_train_steps_show_the_time_left():
    from tracegen.cli.train_commands import StepClock

    now = [100.0]
    clock = StepClock(total_steps=100, clock=lambda: now[0])
    assert clock.left(10) == ""  # the first record only starts the clock (a resumed run starts here)
    now[0] = 110.0
    assert clock.left(20) == "  eta 1m20s"  # 10 steps in 10 s, 80 to go
    assert clock.left(100) == ""


def test_decode_passes_the_cache_the_way_the_model_asks(tmp_path, tok, model):
    from tracegen.decoding import decode

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decode(model, tok, ["Question: 1 + 1?\nAnswer:\n"], max_new_tokens=3)
    assert not [w for w in caught if "past_key_values" in str(w.message)]


def test_decode_explains_a_dataset_folder_given_as_the_model(tmp_path):
    (tmp_path / "tracegen.json").write_text("{}")
    result = runner.invoke(app, ["decode", "--model", str(tmp_path), "--prompt", "x"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "is a dataset folder written by tracegen build, not a model" in line and "tracegen train" in line


def test_a_hub_name_without_a_network_fails_in_seconds(monkeypatch):
    from tracegen.tokens import TraceTokenizer

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(InputError, match=r"cannot reach the Hugging Face Hub .* not in the local cache"):
        TraceTokenizer.load("tracegen-test-org/no-such-model")
    assert time.monotonic() - started < 10


def test_runs_are_not_committed_by_accident():
    assert "/runs/" in (ROOT / ".gitignore").read_text().split()


def test_saved_tokenizers_speak_the_dialect_every_claimed_version_reads(tmp_path, tok):
    from transformers import AutoTokenizer

    tok.save(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"  # transformers 4.x has no TokenizersBackend
    assert "<UNDO>" in config["additional_special_tokens"] and not isinstance(config.get("extra_special_tokens"), list)
    assert config["chat_template"] == tok.hf.chat_template  # 4.46 reads no chat_template.jinja
    again = AutoTokenizer.from_pretrained(tmp_path)  # and this version loads it the same
    assert again.convert_tokens_to_ids("<UNDO>") == tok.undo_id and "<UNDO>" in again.all_special_tokens
    assert again.chat_template == tok.hf.chat_template
    text = "Question: 3 + 4?\nAnswer:\n3 + 4 = 7\n#### 7"
    assert again.backend_tokenizer.encode(text, add_special_tokens=False).ids == tok.encode(text)


def test_a_checkpoint_of_tied_embeddings_saves_without_a_shared_tensor_note(tmp_path, tok, caplog):
    from transformers import LlamaConfig, LlamaForCausalLM

    from tracegen.train.loop import make_accelerator, save_checkpoint

    accelerator = make_accelerator(mixed_precision="no", seed=0)
    config = LlamaConfig(
        vocab_size=len(tok.hf),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=True,
    )
    accelerator.prepare(LlamaForCausalLM(config))
    with caplog.at_level("WARNING"):
        folder = save_checkpoint(accelerator, tmp_path, step=1, batches_seen=1, keep=2)
    assert (folder / "trainer_state.json").is_file()
    assert not [r for r in caplog.records if "shared tensor" in r.getMessage()]
