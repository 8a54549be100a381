"""``workbench explain``: the JSON contract, the same answer as ``predict``, heatmap PNGs, and one
readable line for every bad input (run in-process through ``workbench.cli.main``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from workbench.cli import main

KEYS = {"image", "method", "target", "predicted", "probabilities", "attribution"}


def _train(spec_layers, x, y, path):
    from workbench.core.build import build_model
    from workbench.core.modelio import save_model
    from workbench.core.spec import LayerSpec, ModelSpec
    from workbench.core.tf_loader import load_tensorflow

    load_tensorflow()[1].utils.set_random_seed(0)
    spec = ModelSpec((28, 28), [LayerSpec.create(name, **config) for name, config in spec_layers])
    model = build_model(spec)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=50, verbose=0)
    save_model(model, path)
    return spec


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny trained MLP (a project with its weights beside it), a tiny CNN, two digit PNGs."""
    from workbench.core.datasets import load_dataset
    from workbench.core.project import Project, save_project, weights_path

    folder = tmp_path_factory.mktemp("explain")
    data = load_dataset("mnist-embedded").subset(400, 20)
    mlp = _train([("Flatten", {}), ("Dense", {"units": 16, "activation": "relu"}),
                  ("Dense", {"units": 10, "activation": "softmax"})],
                 data.x_train, data.y_train, folder / "mlp.keras")
    save_project(Project(mlp), folder / "mlp.json")
    assert weights_path(folder / "mlp.json") == folder / "mlp.keras"
    _train([("Reshape", {"target_shape": [28, 28, 1]}),
            ("Conv2D", {"filters": 4, "kernel_size": 3, "activation": "relu"}),
            ("MaxPooling2D", {}), ("Flatten", {}),
            ("Dense", {"units": 10, "activation": "softmax"})],
           data.x_train, data.y_train, folder / "cnn.keras")
    images = []
    for i in range(2):  # dark ink on light paper, canvas-sized, as a person would save one
        digit = (data.x_test[i].reshape(28, 28) * 255).astype(np.uint8)
        path = folder / f"digit{i}.png"
        Image.fromarray(255 - digit).resize((140, 140)).save(path)
        images.append(path)
    return folder, images


def _lines(capfd):
    out, err = capfd.readouterr()
    return [json.loads(line) for line in out.splitlines()], err


def test_json_lines_follow_the_contract_and_predict_agrees(files, capfd):
    folder, images = files
    assert main(["predict", str(folder / "cnn.keras"), *map(str, images), "--json"]) == 0
    predicted, _ = _lines(capfd)
    code = main(["explain", str(folder / "cnn.keras"), *map(str, images), "--json",
                 "--method", "integrated-gradients", "--steps", "16"])
    lines, err = _lines(capfd)
    assert code == 0 and err == ""
    assert len(lines) == 2
    for line, same in zip(lines, predicted):
        assert set(line) == KEYS
        assert line["image"] == same["image"]
        assert line["method"] == "integrated-gradients"
        assert line["predicted"] == same["predicted"] == line["target"]
        np.testing.assert_allclose(line["probabilities"], same["probabilities"], atol=2e-6)
        attribution = np.array(line["attribution"])
        assert attribution.shape == (28, 28)  # the model input's shape, no batch axis
        assert np.abs(attribution).max() > 0


def test_target_methods_and_a_project(files, capfd):
    folder, images = files
    for method in ("gradients", "smoothgrad", "gradcam", "occlusion"):
        assert main(["explain", str(folder / "cnn.keras"), str(images[0]), "--json",
                     "--method", method, "--target", "3"]) == 0
        (line,), _ = _lines(capfd)
        assert line["method"] == method and line["target"] == 3
        assert np.array(line["attribution"]).shape == (28, 28)
    assert main(["explain", str(folder / "mlp.json"), str(images[0])]) == 0
    out, err = capfd.readouterr()
    assert err == "" and "digit0.png: " in out and "Gradients of the evidence for" in out


def test_out_writes_heatmaps_and_replaces_nothing(files, tmp_path, capfd):
    folder, images = files
    mine = tmp_path / "digit0.occlusion.png"
    mine.write_bytes(b"not ours")
    assert main(["explain", str(folder / "cnn.keras"), *map(str, images), "--method",
                 "occlusion", "--out", str(tmp_path)]) == 0
    out, _ = capfd.readouterr()
    assert mine.read_bytes() == b"not ours"
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["digit0.occlusion-2.png", "digit0.occlusion.png", "digit1.occlusion.png"]
    with Image.open(tmp_path / "digit1.occlusion.png") as picture:
        assert picture.size == (280, 280) and picture.mode == "RGB"
    assert "digit0.occlusion-2.png" in out


@pytest.mark.parametrize(("args", "words"), [
    (["mlp.keras", "IMG", "--method", "gradcam"], ["Grad-CAM needs a Conv2D"]),
    (["cnn.keras", "IMG", "--target", "12"], ["class 12 does not exist"]),
    (["cnn.keras", "IMG", "--method", "integrated-gradients", "--steps", "0"], ["steps"]),
    (["missing.keras", "IMG"], ["missing.keras"]),
    (["cnn.keras", "blank.png"], ["no digit found"]),
    (["cnn.keras", "IMG", "--method", "lime"], ["invalid choice"]),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(files, capfd, args, words):
    folder, images = files
    Image.new("L", (50, 50), 255).save(folder / "blank.png")
    argv = [str(images[0]) if a == "IMG" else
            str(folder / a) if a.endswith((".keras", ".png")) else a for a in args]
    with pytest.raises(SystemExit) if "lime" in args else _no_raise() as caught:
        code = main(["explain", *argv])
    code = caught.value.code if "lime" in args else code
    out, err = capfd.readouterr()
    assert code != 0 and out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


def test_a_project_without_weights_is_refused(tmp_path, files, capfd):
    import shutil

    _, images = files
    shutil.copy(files[0] / "mlp.json", tmp_path / "untrained.json")
    assert main(["explain", str(tmp_path / "untrained.json"), str(images[0])]) != 0
    _, err = capfd.readouterr()
    assert "has no trained weights" in err and len(err.strip().splitlines()) == 1


class _no_raise:  # noqa: N801 - reads as the context it is
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
