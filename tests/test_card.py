"""The dataset card: YAML the Hub accepts, statistics that match the data, plots that exist and are byte-stable."""

import ast
import hashlib
import importlib.util
import json
import re
from pathlib import Path

import matplotlib
import pyarrow.parquet as pq
import pytest
import torch
from huggingface_hub import DatasetCard
from PIL import Image
from typer.testing import CliRunner

from tracegen import __version__
from tracegen.cli import app
from tracegen.dataset.manifest import Manifest, read_manifest
from tracegen.hub import stats
from tracegen.hub.card import render_card, size_category
from tracegen.hub.plots import write_plots
from tracegen.hub.stats import DatasetStats, Distribution, SplitStats, dataset_stats
from tracegen.recipe import Recipe

MODES = {"soft": [], "hard": ["--context-mode", "hard", "--undo-unit", "step"], "clean": ["--loss", "clean"]}
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


@pytest.fixture(scope="module", params=sorted(MODES))
def built(request, tmp_path_factory, gsm8k_small) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(request.param) / "out"
    args = [
        "build",
        "--recipe",
        "gsm8k",
        "--source",
        str(gsm8k_small),
        "--out",
        str(out),
        "--limit",
        "60",
        *MODES[request.param],
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return request.param, out


def rows(out: Path) -> list[dict]:
    return [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def python_blocks(card: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", card, flags=re.S)


def test_card_yaml_is_what_the_hub_reads(built):
    mode, out = built
    card = DatasetCard.load(out / "README.md")
    data = card.data.to_dict()
    assert data["license"] and data["task_categories"] == ["text-generation"] and "undo" in data["tags"]
    assert data["size_categories"] == ["n<1K"]
    (config,) = data["configs"]
    assert config["data_files"] == [{"split": "train", "path": "data/train-*.parquet"}]
    assert list(out.glob(config["data_files"][0]["path"]))


def test_every_plot_the_card_links_is_a_png_in_the_folder(built):
    mode, out = built
    links = IMAGE_LINK.findall((out / "README.md").read_text())
    assert len(links) == 4
    assert sorted(links) == sorted(str(p.relative_to(out)) for p in (out / "plots").iterdir())
    for link in links:
        assert (out / link).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(out / link) as image:
            image.verify()
            assert image.size[0] == 640


def test_card_statistics_match_the_rows(built):
    mode, out = built
    data = rows(out)
    card = (out / "README.md").read_text()
    manifest = json.loads((out / "tracegen.json").read_text())
    undo_id = manifest["tokenizer"]["undo_id"]
    kinds = sorted({d["kind"] for r in data for d in r["deviations"]})
    undos = sum(r["input_ids"].count(undo_id) for r in data)
    with_deviations = sum(bool(r["deviations"]) for r in data)
    deviations = sum(len(r["deviations"]) for r in data)
    assert f"| train | {len(data)} | 60 | {with_deviations} | {deviations} | {undos:,} |" in card
    longest = max(len(r["input_ids"]) for r in data)
    assert re.search(rf"\| tokens per row \| train \| [\d.]+ \| \d+ \| \d+ \| \d+ \| \d+ \| {longest} \|", card)
    if mode == "clean":
        assert not kinds and "No deviations." in card
    else:
        assert kinds
        for kind in kinds:
            count = sum(d["kind"] == kind for r in data for d in r["deviations"])
            assert f"| `{kind}` | {count} |" in card
    assert f"| context mode | {manifest['recipe']['export']['context_mode']} |" in card
    assert f"| `<UNDO>` token id | {undo_id} |" in card


def test_statistics_do_not_depend_on_how_many_rows_are_read_at_a_time(built, monkeypatch):
    _, out = built
    manifest = read_manifest(out)
    whole = dataset_stats(out, manifest)
    monkeypatch.setattr(stats, "STATS_BATCH_ROWS", 7)  # 60 problems' rows in many batches, some rows with no undo
    assert dataset_stats(out, manifest) == whole and whole.rows == len(rows(out))


def test_usage_snippets_are_python(built):
    mode, out = built
    blocks = python_blocks((out / "README.md").read_text())
    assert len(blocks) == 5
    for block in blocks:
        ast.parse(block)
    assert 'dataset_kwargs={"skip_prepare_dataset": True}' in blocks[1]
    assert "batch_attention_inputs(rows, undo_id=UNDO_ID)" in blocks[2]
    assert "TraceSFTTrainer(model=model" in blocks[4]


@pytest.mark.parametrize("built", ["hard"], indirect=True)
def test_the_hand_built_mask_of_the_card_hides_exactly_what_was_undone(built, tmp_path):
    """The card's no-dependency snippet: each token sees as many tokens as its position id says (the surviving
    prefix)."""
    mode, out = built
    snippet = tmp_path / "card_snippet.py"
    snippet.write_text(python_blocks((out / "README.md").read_text())[3])
    spec = importlib.util.spec_from_file_location("card_snippet", snippet)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.UNDO_ID == json.loads((out / "tracegen.json").read_text())["tokenizer"]["undo_id"]
    data = [r for r in rows(out) if r["prune_spans"]][:8]
    assert len(data) >= 4
    batch = module.collate(data)
    length = max(len(r["input_ids"]) for r in data)
    assert batch["attention_mask"].shape == (len(data), 1, length, length)
    visible = (batch["attention_mask"][:, 0] == 0).sum(-1)
    for b, row in enumerate(data):
        n = len(row["input_ids"])
        assert visible[b, :n].tolist() == [p + 1 for p in row["position_ids"]]
        assert batch["labels"][b, n:].eq(-100).all() and visible[b, n:].eq(1).all()
    masks = pytest.importorskip("tracegen.train.masks")
    expected = masks.batch_attention_inputs(data, undo_id=module.UNDO_ID)  # the card's other snippet: the same batch
    assert expected.keys() == batch.keys() and all(torch.equal(expected[key], batch[key]) for key in batch)


def synthetic_stats() -> DatasetStats:
    """Two splits, a kind string with Markdown and mathtext specials, one split without deviations."""
    weird = "weak:org/model|v2 $x$"
    train = SplitStats(
        rows=3,
        problems=4,
        problems_with_rows=3,
        rows_with_deviations=2,
        deviations_by_kind={"arith_slip": 1, weird: 2},
        row_tokens=Distribution((10, 250), (2, 1)),
        deviation_tokens=Distribution((3, 5), (1, 2)),
        undos_per_row=Distribution((0, 3, 5), (1, 1, 1)),
    )
    test = SplitStats(1, 1, 1, 0, {}, Distribution((12,), (1,)), Distribution((), ()), Distribution((0,), (1,)))
    return DatasetStats(splits={"train": train, "test": test}, rejected_by_verification=1)


def test_card_tables_escape_kinds_from_data(built, tmp_path):
    mode, out = built
    stats = synthetic_stats()
    card = render_card(read_manifest(out), stats, write_plots(tmp_path, stats))
    assert "| kind | train | test |" in card
    assert "| `weak:org/model\\|v2 $x$` | 2 | 0 |" in card
    assert "| tokens per deviation | test | - | - | - | - | - | - |" in card
    assert (
        "| candidate mistakes a verifier found not wrong (rejected) | 1 | 25.0% of 4 (rejected + deviations written) |"
        in card
    )
    DatasetCard(card)  # the front matter still parses


def png_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def test_plots_are_byte_identical_whatever_the_user_style(tmp_path):
    stats = synthetic_stats()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_plots(tmp_path / "a", stats)
    with matplotlib.rc_context({"lines.linewidth": 7, "font.size": 20, "axes.facecolor": "black"}):
        second = write_plots(tmp_path / "b", stats)
    assert [p.path for p in first] == [p.path for p in second]
    for plot in first:
        a, b = (tmp_path / "a" / plot.path).read_bytes(), (tmp_path / "b" / plot.path).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()
        assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(png_chunks(a)), "no metadata that could vary"


def test_stats_read_any_kind_string_from_the_parquet(tmp_path):
    import pyarrow as pa

    from tracegen.dataset.schema import SCHEMA

    deviation = {
        "kind": "weak:Qwen/Qwen2.5-0.5B",
        "step_index": 0,
        "char_start": 0,
        "char_end": 3,
        "token_start": 4,
        "token_end": 7,
        "undo_count": 3,
        "detected_after": 0,
        "reason": "r",
    }
    base = {
        "prompt": "p",
        "clean_completion": "c",
        "trace": "t",
        "answer": "1",
        "labels": [],
        "position_ids": [],
        "undo_unit": "token",
        "context_mode": "soft",
    }
    table = [
        base
        | {
            "id": "r:train:1",
            "source_id": "train:1",
            "deviations": [deviation],
            "input_ids": [5, 5, 5, 5, 6, 6, 6, 2, 2, 2, 7],
            "prune_spans": [[4, 7, 7]],
        },
        base
        | {
            "id": "r:train:1:b",
            "source_id": "train:1",
            "deviations": [deviation | {"kind": "digit_swap", "token_end": 5}],
            "input_ids": [5, 6, 2, 7],
            "prune_spans": [[4, 5, 5]],
        },
        base | {"id": "r:train:2", "source_id": "train:2", "deviations": [], "input_ids": [5, 7], "prune_spans": []},
    ]
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(table, schema=SCHEMA), tmp_path / "data" / "train-00000-of-00001.parquet")
    manifest = Manifest.model_validate(
        {
            "tracegen_version": __version__,
            "recipe": Recipe(name="r").model_dump(mode="json"),
            "seed": 0,
            "tokenizer": {"name": "t", "sha256": "0" * 64, "undo_id": 2, "eos_id": 7},
            "splits": {"train": {"rows": 3, "problems": 3, "files": ["data/train-00000-of-00001.parquet"]}},
            "dropped": {
                "arith_slip:accidentally_correct": 2,
                "weak:correct_solution": 1,
                "copy_error:cannot_carry": 5,
            },
        }
    )
    stats = dataset_stats(tmp_path, manifest)
    train = stats.splits["train"]
    assert train.deviations_by_kind == {"digit_swap": 1, "weak:Qwen/Qwen2.5-0.5B": 1}
    assert (train.rows, train.rows_with_deviations, train.undos, stats.problems_without_rows) == (3, 2, 4, 1)
    assert train.deviation_tokens == Distribution((1, 3), (1, 1))
    assert train.undos_per_row == Distribution((0, 1, 3), (1, 1, 1))
    assert stats.rejected_by_verification == 3


def test_distribution_summary():
    dist = Distribution(values=(1, 2, 10), counts=(5, 4, 1))
    assert dist.total == 10 and dist.mean == pytest.approx(2.3)
    assert [dist.quantile(q) for q in (0.0, 0.5, 0.6, 0.9, 0.91, 1.0)] == [1, 1, 2, 2, 10, 10]
    assert Distribution((), ()).quantile(0.5) is None


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1_000, 7_473, 250_000, 20_000_000)] == [
        "n<1K",
        "n<1K",
        "1K<n<10K",
        "1K<n<10K",
        "100K<n<1M",
        "n>10M",
    ]
