"""`tracegen push`: offline dry run, and the upload itself against a stubbed HfApi (no network)."""

import shutil
from pathlib import Path

import pytest
from huggingface_hub.errors import OfflineModeIsEnabled
from typer.testing import CliRunner

import tracegen.hub.push as push_module
from tracegen.cli import app

TOKEN = "hf_tracegen_test_secret_token"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, gsm8k_small) -> Path:
    out = tmp_path_factory.mktemp("push") / "out"
    result = CliRunner().invoke(
        app, ["build", "--recipe", "gsm8k", "--source", str(gsm8k_small), "--out", str(out), "--limit", "20"]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def folder(dataset, tmp_path) -> Path:
    """A copy of the built dataset that a test may break."""
    return Path(shutil.copytree(dataset, tmp_path / "ds"))


class FakeHub:
    """Stands in for huggingface_hub.HfApi and records what tracegen asks of it."""

    calls: list[tuple[str, tuple, dict]] = []
    fail_with: Exception | None = None

    def __init__(self, **kwargs):
        FakeHub.calls.append(("__init__", (), kwargs))

    def create_repo(self, *args, **kwargs):
        FakeHub.calls.append(("create_repo", args, kwargs))
        if FakeHub.fail_with is not None:
            raise FakeHub.fail_with
        return f"https://huggingface.co/datasets/{args[0]}"

    def upload_folder(self, **kwargs):
        FakeHub.calls.append(("upload_folder", (), kwargs))


@pytest.fixture
def hub(monkeypatch):
    FakeHub.calls, FakeHub.fail_with = [], None
    monkeypatch.setattr(push_module, "HfApi", FakeHub)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return FakeHub


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_dry_run_lists_files_and_checks_the_card_offline(folder, hub):
    result = run("push", folder, "--repo-id", "me/undo-data", "--dry-run")
    assert result.exit_code == 0, result.output
    for path in (
        "README.md",
        "tracegen.json",
        "data/train-00000-of-00001.parquet",
        "plots/row_tokens.png",
        "tokenizer/tokenizer.json",
    ):
        assert path in result.output
    size = (folder / "data" / "train-00000-of-00001.parquet").stat().st_size
    assert f"{size:,}" in result.output
    assert "nothing sent" in result.output
    assert hub.calls == []


def test_push_creates_the_repo_and_uploads_the_folder_with_the_token_from_the_environment(folder, hub):
    result = run("push", folder, "--repo-id", "me/undo-data", "--private")
    assert result.exit_code == 0, result.output
    (_, _, init), (_, create_args, create), (_, _, upload) = hub.calls
    assert init == {"token": TOKEN}
    assert create_args == ("me/undo-data",) and create == {"repo_type": "dataset", "private": True, "exist_ok": True}
    assert (
        upload["repo_id"] == "me/undo-data"
        and upload["repo_type"] == "dataset"
        and Path(upload["folder_path"]) == folder
    )
    assert set(upload["delete_patterns"]) == {"data/*", "jsonl/*", "tokenizer/*", "plots/*"}
    assert "https://huggingface.co/datasets/me/undo-data" in result.output
    assert TOKEN not in result.output and TOKEN not in result.stderr


def test_without_private_the_hub_default_visibility_applies(folder, hub):
    assert run("push", folder, "--repo-id", "me/undo-data").exit_code == 0
    assert hub.calls[1][2]["private"] is None


def test_no_token_is_one_line_and_nothing_is_sent(folder, hub, monkeypatch):
    monkeypatch.setattr(push_module, "get_token", lambda: None)
    result = run("push", folder, "--repo-id", "me/undo-data")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no Hugging Face token: set HF_TOKEN or run `hf auth login`"
    assert hub.calls == []


def test_a_hub_failure_is_one_line_without_the_token(folder, hub):
    hub.fail_with = OfflineModeIsEnabled(
        f"Cannot reach https://huggingface.co/api/repos/create: offline\nmore detail {TOKEN}"
    )
    result = run("push", folder, "--repo-id", "me/undo-data")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "push failed: OfflineModeIsEnabled: Cannot reach https://huggingface.co/api/repos/create: offline"
    )


def test_a_folder_that_check_rejects_is_not_pushed(folder, hub):
    shutil.copy(folder / "data" / "train-00000-of-00001.parquet", folder / "data" / "train-extra.parquet")
    result = run("push", folder, "--repo-id", "me/undo-data")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "tracegen check rejects it" in line and "data/train-extra.parquet" in line
    assert hub.calls == []


@pytest.mark.parametrize(
    "breakage,where,what",
    [
        (lambda card: card.replace("license: mit\n", "license: [mit\n"), "README.md:3:", "does not parse"),
        (lambda card: card.replace("---\n", "", 1), "README.md:1:", "no YAML front matter"),
        (lambda card: card.replace("- undo\n", ""), "README.md:", "field 'tags': tag 'undo' is missing"),
        (
            lambda card: card.replace("data/train-*.parquet", "data/validation-*.parquet"),
            "README.md:",
            "field 'configs'",
        ),
        (lambda card: card.replace("plots/row_tokens.png", "plots/missing.png"), "README.md:", "plots/missing.png"),
        (lambda card: card.replace("license: mit\n", ""), "README.md:", "field 'license': missing"),
    ],
    ids=["broken-yaml", "no-front-matter", "no-undo-tag", "data-files-match-nothing", "missing-plot", "no-license"],
)
def test_a_broken_card_is_refused_with_one_line(folder, hub, breakage, where, what):
    card = folder / "README.md"
    card.write_text(breakage(card.read_text()))
    result = run("push", folder, "--repo-id", "me/undo-data", "--dry-run")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert where in line and what in line, line
    assert hub.calls == []


@pytest.mark.parametrize("repo_id", ["undo-data", "me/undo--data", "a/b/c", "me/"])
def test_a_malformed_repo_id_is_refused(folder, hub, repo_id):
    result = run("push", folder, "--repo-id", repo_id, "--dry-run")
    assert result.exit_code == 2
    assert "field '--repo-id'" in result.stderr
