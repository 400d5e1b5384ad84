"""`export.loss: clean` is the plain SFT baseline: no deviation is planned and no weak model is asked."""

import json

import pyarrow.parquet as pq

from tracegen import build, load_recipe
from tracegen.pipeline.build import uses_weak_models


def test_the_clean_baseline_plans_no_deviations_and_asks_no_weak_model():
    weak = load_recipe("gsm8k-weak", {"deviations.weak.backend.replay": "solutions.jsonl"})
    clean = load_recipe("gsm8k-weak", {"deviations.weak.backend.replay": "solutions.jsonl", "export.loss": "clean"})
    assert weak.plans_deviations and uses_weak_models(weak)
    assert not clean.plans_deviations and not uses_weak_models(clean)
    assert clean.deviations == weak.deviations  # recorded as written, unused


def test_a_clean_build_has_no_deviation_and_records_its_deviations_section(tmp_path):
    recipe = load_recipe("arith", {"limit": 10, "export.loss": "clean", "deviations.clean_fraction": 0.0})
    report = build(recipe, tmp_path / "out")
    rows = pq.read_table(next((tmp_path / "out" / "data").glob("*.parquet"))).to_pylist()
    assert report.rows == 10 and not any(row["deviations"] for row in rows)
    manifest = json.loads((tmp_path / "out" / "tracegen.json").read_text())
    assert manifest["traces_with_deviations"] == 0 and manifest["recipe"]["deviations"]["clean_fraction"] == 0.0
