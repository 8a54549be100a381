"""The `fonts` dataset (tutorial H): shipped file, loader, and a byte-identical rebuild."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.actions.dataset import describe as describe_dataset
from workbench.core.datasets import DatasetError, describe, fonts, load_dataset

REPO = Path(__file__).resolve().parents[2]
PER_FONT = fonts.PER_FONT  # characters × weights × variants


@pytest.fixture(scope="module")
def shipped() -> dict[str, np.ndarray]:
    with np.load(fonts.SHIPPED, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.fixture(scope="module")
def data():
    return load_dataset("fonts")


def test_shipped_file_holds_five_balanced_fonts(shipped):
    assert shipped["x"].shape == (5 * PER_FONT, 36, 36)
    assert shipped["x"].dtype == np.uint8 and shipped["y"].dtype == np.uint8
    assert np.bincount(shipped["y"]).tolist() == [PER_FONT] * 5
    assert shipped["class_names"].tolist() == fonts.CLASS_NAMES
    # Letters and digits, every one in every font.
    assert set(shipped["chars"].tolist()) == set(fonts.CHARS)
    # White ink on black, and no glyph is empty or cut at the border.
    ink = shipped["x"].reshape(len(shipped["x"]), -1).max(axis=1)
    assert ink.min() > 128
    assert shipped["x"][:, [0, -1], :].max() < 128 and shipped["x"][:, :, [0, -1]].max() < 128
    assert len(shipped["fonts"]) == 10  # regular and bold of each font, with their digests


def test_variation_makes_each_glyph_differ(shipped):
    # The same character in the same font and weight is rendered several different ways.
    first = shipped["x"][: fonts.VARIANTS]
    assert len({image.tobytes() for image in first}) == fonts.VARIANTS


def test_loads_with_a_stratified_split(data):
    assert data.name == "fonts"
    assert data.task == "classification"
    assert data.class_names == fonts.CLASS_NAMES
    assert data.input_shape == (36, 36) and data.is_image
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    train = np.bincount(data.y_train, minlength=5)
    test = np.bincount(data.y_test, minlength=5)
    assert (train + test).tolist() == [PER_FONT] * 5
    assert train.min() >= 200
    np.testing.assert_allclose(test / PER_FONT, fonts.TEST_FRACTION, atol=0.01)
    assert f"{train.sum():,} train / {test.sum():,} test" in data.description
    assert describe("fonts") == data.description


def test_split_follows_the_seed(data):
    again = load_dataset("fonts", seed=0)
    np.testing.assert_array_equal(again.x_test, data.x_test)
    assert not np.array_equal(load_dataset("fonts", seed=1).y_train, data.y_train)


def test_dataset_action_reports_counts(data):
    report = describe_dataset(data)
    assert report["input_shape"] == [36, 36]
    assert report["classes"] == fonts.CLASS_NAMES
    assert sum(report["train_counts"]) + sum(report["test_counts"]) == 5 * PER_FONT


def test_missing_or_damaged_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="make_fonts_dataset"):
        fonts.load_fonts(tmp_path / "absent.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DatasetError, match="damaged"):
        fonts.load_fonts(broken)


def test_npz_bytes_are_a_normal_npz_and_stable(tmp_path):
    arrays = {"x": np.arange(12, dtype=np.uint8).reshape(3, 4), "names": np.asarray(["a", "bc"])}
    first = fonts.npz_bytes(arrays)
    assert fonts.npz_bytes(arrays) == first
    path = tmp_path / "a.npz"
    path.write_bytes(first)
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["x"], arrays["x"])
        assert archive["names"].tolist() == ["a", "bc"]


def _same_fonts_as_shipped(shipped) -> str | None:
    """Why a rebuild cannot be expected to match byte for byte here, or None if it can."""
    try:
        digests = fonts.font_digests()
    except FileNotFoundError as exc:
        return f"font file missing: {exc}"
    if digests != shipped["fonts"].tolist():
        return "these font files differ from the ones the shipped file was rendered from"
    shipped_freetype = str(shipped["freetype"].reshape(-1)[0])
    if fonts.freetype_version() != shipped_freetype:
        return f"Pillow's FreeType is {fonts.freetype_version()}, not {shipped_freetype}"
    return None


def test_rebuild_is_byte_identical(shipped, tmp_path):
    reason = _same_fonts_as_shipped(shipped)
    if reason:
        pytest.skip(reason)
    out = tmp_path / "fonts.npz"
    done = subprocess.run([sys.executable, str(REPO / "tools/make_fonts_dataset.py"),
                           "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == fonts.SHIPPED.read_bytes()
    assert hashlib.sha256(out.read_bytes()).hexdigest() in done.stdout


def test_tool_names_a_missing_font(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "tools/make_fonts_dataset.py"),
                           "--fonts", str(tmp_path), "--out", str(tmp_path / "f.npz")],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1
    assert "DejaVuSans.ttf" in done.stderr and "fonts-dejavu-core" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_dataset_json(capsys):
    import json

    from workbench.cli import main

    assert main(["dataset", "fonts", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["name"] == "fonts" and report["input_shape"] == [36, 36]
    assert report["classes"] == fonts.CLASS_NAMES
    counts = np.add(report["train_counts"], report["test_counts"])
    assert counts.tolist() == [PER_FONT] * 5
    assert sum(report["test_counts"]) == round(5 * PER_FONT * fonts.TEST_FRACTION)
