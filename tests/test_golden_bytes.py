"""Golden bytes: small builds of every built-in recipe, byte for byte as recorded before the issue-13 move.

A refactor must not change a single output byte of an existing recipe. When a change is meant to alter
outputs, rerun `python tests/test_golden_bytes.py` and paste the digests it prints into GOLDEN, saying why
in the commit.
"""

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracegen.cli import app

ROOT = Path(__file__).resolve().parents[1]
GSM8K_DIR = ROOT.parent / "shared" / "data" / "gsm8k"
MATH_SAMPLE = ROOT / "data" / "math-sample" / "train.jsonl"
LIMIT = 12


def head(src: Path, dest: Path, lines: int = LIMIT) -> Path:
    with src.open(encoding="utf-8") as f:
        dest.write_text("".join(line for _, line in zip(range(lines), f)), encoding="utf-8")
    return dest


def build_args(recipe: str, root: Path) -> list[str]:
    """The command line of one golden build; the gsm8k inputs are cut from the shared data into `root`."""
    args = ["build", "--recipe", recipe, "--limit", str(LIMIT), "--out", str(root / recipe), "--num-proc", "1"]
    if recipe.startswith("gsm8k"):
        args += ["--source", str(head(GSM8K_DIR / "test.jsonl", root / "test.jsonl"))]
    if recipe in ("gsm8k-weak", "gsm8k-mixed"):
        replay = head(GSM8K_DIR / "example_model_solutions.jsonl", root / "example_model_solutions.jsonl")
        args += ["--replay", str(replay)]
    if recipe == "math":
        args += ["--source", str(MATH_SAMPLE)]
    return args


def digests(recipe: str, root: Path) -> dict[str, str]:
    result = CliRunner().invoke(app, build_args(recipe, root))
    assert result.exit_code == 0, result.output
    out = root / recipe
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


GOLDEN: dict[str, dict[str, str]] = {
    "arith": {
        "README.md": "65e76a14017b1dde9df489afe8c471d59fca98435c413c80ccaa101140749649",
        "data/train-00000-of-00001.parquet": "fd8a59476de44e74e7a123e96aeb6c173648f333bd4f8b285bd51b85b8d57872",
        "plots/deviation_tokens.png": "3800572127879702f739261bdc80ad7cbde35daa4a0940cc02f0cebf057be396",
        "plots/deviations_by_kind.png": "3beed3aa8f50f6fbaedb8f90e36a95e29ac7cdeeb3df6264d71cf55afea914c5",
        "plots/row_tokens.png": "1aff971e24af0e79cee906283635364c2b464c87ecc0658740b51f79895c9437",
        "plots/undos_per_row.png": "b4c6193165d4b51d83fc0b21a737021342fbb893d422137b8b1f923f9e8c8e02",
        "skipped.jsonl": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "tokenizer/chat_template.jinja": "3c4f580dba25238e96943f6ae36834057d2a7da596c15850bc493913894b71d6",
        "tokenizer/tokenizer.json": "253ccc15f4826a9f9236a5463bd467df0b008c9bcd733b26dd28335e97766837",
        "tokenizer/tokenizer_config.json": "a0aa829fe40bf89bbe3f1a061700b6b788bdde79c3db1d950f8c6f0286768348",
        "tracegen.json": "c82c9e8583d50bd634a52b318d96b988dcf42565e86c38e370477ff6f802cc6e",
    },
    "arith-easy": {
        "README.md": "4957de938ce419f986df541e47c69f96e981a31fdf0a373a70e7f524bd29a96c",
        "data/train-00000-of-00001.parquet": "0f90a1d8724bb6c585fcf86fadb0b0597d8579e579c454df23773537267adc7a",
        "plots/deviation_tokens.png": "821f845a6c139806998934966e98b7188df927d92f84b99504b943a596f9193b",
        "plots/deviations_by_kind.png": "67a126092f72ab8407fb4756f3f30c7dc54ef4084dc691cc02b3525b0dd12aa8",
        "plots/row_tokens.png": "b05f0d35f4f1f71900ce7abf0b68b9e37703e7c34adb0a8fda1e986d82cfd3b8",
        "plots/undos_per_row.png": "faef40591913ff66495390a26efc0cdb21fbeffc8bca9693314105c10c09a83a",
        "skipped.jsonl": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "tokenizer/chat_template.jinja": "3c4f580dba25238e96943f6ae36834057d2a7da596c15850bc493913894b71d6",
        "tokenizer/tokenizer.json": "253ccc15f4826a9f9236a5463bd467df0b008c9bcd733b26dd28335e97766837",
        "tokenizer/tokenizer_config.json": "a0aa829fe40bf89bbe3f1a061700b6b788bdde79c3db1d950f8c6f0286768348",
        "tracegen.json": "00c1adcbb5bc3b039197091156f4e4f0079d265bab94f1147fdc44195c56b118",
    },
    "gsm8k": {
        "README.md": "ba9bd54e7cc4d82c7a7c27893fc816807a1b606f274abc8839dc7b5eb6dba3b5",
        "data/test-00000-of-00001.parquet": "6a6d47b4dabdf5d26c6af79fcde4b4fe97749b60627420ab53c30f827f145f95",
        "plots/deviation_tokens.png": "d7add3d8e89fc4922043f4258fa9cffb11fc1660bb174b4bcd24411251eed3cc",
        "plots/deviations_by_kind.png": "8c79843d5af84b00eca46cc408245386c803487900e358329324278a64ce56ca",
        "plots/row_tokens.png": "32f62cf9264fce67c66bca9281df52f712bc1559e8b1935b91d64343cbbb49e1",
        "plots/undos_per_row.png": "b499d9e8c1aba987afaa9ea90d22e481ce438bce2ee078c967ec5b096322cd92",
        "skipped.jsonl": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "tokenizer/chat_template.jinja": "3c4f580dba25238e96943f6ae36834057d2a7da596c15850bc493913894b71d6",
        "tokenizer/tokenizer.json": "253ccc15f4826a9f9236a5463bd467df0b008c9bcd733b26dd28335e97766837",
        "tokenizer/tokenizer_config.json": "a0aa829fe40bf89bbe3f1a061700b6b788bdde79c3db1d950f8c6f0286768348",
        "tracegen.json": "cbc51d1843b05904519c5399696473d7d01228e4ebb2edcf8d868e6e48385250",
    },
    "gsm8k-mixed": {
        "README.md": "7285e3199ea473607e6e1cdf18185ad449f8ae145180b5f75967575c86fb6d4c",
        "data/test-00000-of-00001.parquet": "930995f5c51c7bde8f80f6e87821d8cc8168ed15ff8499bea37cee9f242842d4",
        "plots/deviation_tokens.png": "cbca0123022ba2fdf9a653101324783408b48a2175947f89993af03112a93f20",
        "plots/deviations_by_kind.png": "b8f57cf8503eb89d295a3910b0e8dc8fe4e46a0841be062e392479577edba16b",
        "plots/row_tokens.png": "5cd784237998187fa7384ee464e807daf1f6ad3a241250d217ccf941913a7341",
        "plots/undos_per_row.png": "56342b48774270476c1886a6f76ba0fe2c6efc50627e5fa3c7447e916752caf5",
        "skipped.jsonl": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "tokenizer/chat_template.jinja": "3c4f580dba25238e96943f6ae36834057d2a7da596c15850bc493913894b71d6",
        "tokenizer/tokenizer.json": "253ccc15f4826a9f9236a5463bd467df0b008c9bcd733b26dd28335e97766837",
        "tokenizer/tokenizer_config.json": "a0aa829fe40bf89bbe3f1a061700b6b788bdde79c3db1d950f8c6f0286768348",
        "tracegen.json": "b1684f06d397926a319f0a1d25108c635e40be3d4c0647040eed0ae5f888c7bc",
    },
    "gsm8k-weak": {
        "README.md": "123aec309be1426de5af2ee6a300040c8798a49ff89b0b03d7ca2c25027a1833",
        "data/test-00000-of-00001.parquet": "08810a164fa03087885c70bbfb3874a478f7ea94ea5b16f2cb6a80bcc132e270",
        "plots/deviation_tokens.png": "478ccb89fc292d429b5a3ad1cb8227e0d24432140e78603fdc60f1d671fa0af4",
        "plots/deviations_by_kind.png": "70199ef499605a51f7c135d31547088fa3a7ee57254ae96f358ff42ab5534c70",
        "plots/row_tokens.png": "b0a8315420d613e47dd730d5a63fcb67dfc5a8ab5566b32ea7bbbd09b8cce5c6",
        "plots/undos_per_row.png": "70fc923aecf4e1360232e001dfc600a078445771f129fda47c4ceb38a6200e4a",
        "skipped.jsonl": "b4dd6e84069acd48f0211dfc71f229b553f8d457c2adc309628f256762279e00",
        "tokenizer/chat_template.jinja": "3c4f580dba25238e96943f6ae36834057d2a7da596c15850bc493913894b71d6",
        "tokenizer/tokenizer.json": "253ccc15f4826a9f9236a5463bd467df0b008c9bcd733b26dd28335e97766837",
        "tokenizer/tokenizer_config.json": "a0aa829fe40bf89bbe3f1a061700b6b788bdde79c3db1d950f8c6f0286768348",
        "tracegen.json": "37faa5d7bfc44b8e12e5de4b5761b224046bb50d705b4c6f6045dc711283add9",
    },
    "math": {
        "README.md": "c437788f7752f3d3c45a169c4edb3f87e292f218ed31286c6eb214479ce1d171",
        "data/train-00000-of-00001.parquet": "e4c4b6ff8d25d1bb133ac263c52824f59ce78b0f2b0c68c4df3c81ebf962a4c6",
        "plots/deviation_tokens.png": "38b2b03cca141d160d025a4ef4a8b85f0bf3c2664fd960d993cb6c776f32c9cf",
        "plots/deviations_by_kind.png": "d1fcf90041c7ff7ce96c07ff34bca789ad041b3bede79a0f02e9292107407914",
        "plots/row_tokens.png": "3804137f2b71d7fb50b04fb0820add4cedb9639fa51fc9201a45f879248d619e",
        "plots/undos_per_row.png": "c00d05ddb71c2a7ad16d6cc5264be2ec55515e102a9d302285d8d59f22e68bf0",
        "skipped.jsonl": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "tokenizer/chat_template.jinja": "3c4f580dba25238e96943f6ae36834057d2a7da596c15850bc493913894b71d6",
        "tokenizer/tokenizer.json": "253ccc15f4826a9f9236a5463bd467df0b008c9bcd733b26dd28335e97766837",
        "tokenizer/tokenizer_config.json": "a0aa829fe40bf89bbe3f1a061700b6b788bdde79c3db1d950f8c6f0286768348",
        "tracegen.json": "e88229d217dfc2f82dfdf466d8a5794939d0ab3fbd1cf0b2940161509a16f129",
    },
}


# The libraries that write the bytes: parquet files name their pyarrow version, plots depend on matplotlib's
# renderer, tokenizer files on transformers/tokenizers. Other versions write other (equally right) bytes.
RECORDED_WITH = {"pyarrow": "26.0.1", "matplotlib": "3.11.2", "transformers": "5.24.0", "tokenizers": "0.23.3"}


def writer_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in RECORDED_WITH}


@pytest.mark.parametrize("recipe", sorted(GOLDEN))
def test_built_in_recipe_gives_the_recorded_bytes(recipe, tmp_path):
    if recipe.startswith("gsm8k") and not (GSM8K_DIR / "example_model_solutions.jsonl").exists():
        pytest.skip("../shared/data/gsm8k is not present")
    if (installed := writer_versions()) != RECORDED_WITH:
        pytest.skip(
            f"digests recorded with {RECORDED_WITH}, installed {installed}: rerun this file to record them again"
        )
    assert digests(recipe, tmp_path) == GOLDEN[recipe]


def test_every_built_in_recipe_has_golden_bytes():
    assert set(GOLDEN) == {p.stem for p in (ROOT / "recipes").glob("*.yaml")}


if __name__ == "__main__":
    # As the tests run (conftest.py): offline, which transformers records in tokenizer_config.json
    # (`local_files_only`), and with a response cache of their own.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRACEGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="tracegen-cache-")
    recipes = sys.argv[1:] or sorted(p.stem for p in (ROOT / "recipes").glob("*.yaml"))
    print(f"RECORDED_WITH = {writer_versions()!r}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in recipes:
            print(f"    {name!r}: {digests(name, Path(tmp))!r},")
