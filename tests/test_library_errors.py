"""Library errors name recipe keys and function arguments; the command line names the flags the user typed."""

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tracegen
from tracegen import build, load_recipe
from tracegen.cli import app
from tracegen.errors import InputError


def raised(call) -> InputError:
    with pytest.raises(InputError) as caught:
        call()
    assert "--" not in str(caught.value), str(caught.value)  # a Python caller typed no flag
    return caught.value


def test_a_bad_recipe_override_names_the_recipe_key():
    overrides = {"deviations.weak.backend.replay": "solutions.jsonl", "deviations.weak.verifier": "oracle"}
    error = raised(lambda: load_recipe("gsm8k-weak", overrides))
    assert (error.file, error.field) == ("overrides", "deviations.weak.verifier")
    assert raised(lambda: load_recipe("arith", {"deviations..x": 1})).field == "overrides"


@pytest.mark.parametrize(
    "arguments,field",
    [({"executor": "spark"}, "executor"), ({"shard": (3, 2)}, "shard"), ({"ray_address": "auto"}, "ray_address")],
)
def test_a_bad_build_argument_names_the_argument(tmp_path, arguments, field):
    error = raised(lambda: build(load_recipe("arith", {"limit": 5}), tmp_path / "out", **arguments))
    assert error.field == field and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "flags,shown",
    [
        (["--executor", "spark"], "field '--executor': unknown executor 'spark'"),
        (["--num-shards", "2", "--shard-index", "3"], "field '--shard-index': shard index 3"),
        (["--ray-address", "auto"], "field '--ray-address': a Ray address needs executor 'ray'"),
        (["--set", "deviations..x=1"], "field '--set': not a recipe key"),
        (["--limit", "0"], "command line: field '--limit': "),
        (["--set", "export.loss=sideways"], "command line: field 'export.loss': "),  # --set names a recipe key
    ],
)
def test_the_command_line_names_the_flag(tmp_path, flags, shown):
    result = CliRunner().invoke(app, ["build", "--recipe", "arith", "--out", str(tmp_path / "out"), *flags])
    assert result.exit_code == 2 and shown in result.output, result.output


def test_no_library_module_names_a_flag_as_a_field():
    """Only the command-line layer (the modules that use typer) may say `field="--flag"`."""
    package = Path(tracegen.__file__).parent
    offenders = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Import | ast.ImportFrom) and "typer" in ast.dump(node) for node in ast.walk(tree)):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "field" and "'--" in ast.unparse(node.value):
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not offenders
