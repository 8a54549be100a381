"""The exported script builds the same network: the app's weights in the script's build_model()
give the app's outputs, for every template."""

import numpy as np
import pytest

from workbench.core.build import build_model
from workbench.core.codegen import generate_script
from workbench.core.spec import ModelSpec
from workbench.core.templates import templates
from workbench.core.tf_loader import load_tensorflow


@pytest.fixture(scope="module")
def keras():
    return load_tensorflow()[1]


def script_namespace(source: str) -> dict:
    """Run the script's definitions (imports, functions) without calling main()."""
    namespace = {"__name__": "exported_script"}
    exec(compile(source, "exported_script.py", "exec"), namespace)  # noqa: S102 - our own output
    return namespace


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_exported_script_computes_what_the_app_computes(keras, template):
    project = template.project()
    ours = build_model(project.model)
    theirs = script_namespace(generate_script(project))["build_model"]()
    assert [type(a).__name__ for a in ours.layers] == [type(b).__name__ for b in theirs.layers]
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(0)
    x = rng.random((4, *project.model.input_shape), dtype=np.float32)
    diff = np.abs(np.asarray(ours(x, training=False)) - np.asarray(theirs(x, training=False)))
    assert float(diff.max()) < 1e-5, template.key


def test_a_conv2d_without_activation_is_linear_as_in_keras(keras):
    spec = ModelSpec.from_dict({"input_shape": [6, 6, 1], "layers": [
        {"class_name": "Conv2D", "config": {"filters": 8, "kernel_size": 3}}]})
    assert spec.layers[0].config["activation"] == "linear"
    ours = build_model(spec)
    reference = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(8, 3)])
    reference.set_weights(ours.get_weights())
    x = np.random.default_rng(1).normal(size=(3, 6, 6, 1)).astype(np.float32)
    out = np.asarray(ours(x, training=False))
    assert out.min() < 0  # no relu
    np.testing.assert_allclose(out, np.asarray(reference(x, training=False)), atol=1e-6)
    layer = ours.layers[0].get_config()
    assert layer["activation"] == reference.layers[0].get_config()["activation"] == "linear"


def test_build_model_comes_first_in_the_script():
    from workbench.core.templates import load_template

    source = generate_script(load_template("mnist-cnn"))
    defs = [line for line in source.splitlines() if line.startswith("def ")]
    assert defs[0].startswith("def build_model(")
    assert defs[-1].startswith("def main(")


@pytest.mark.parametrize("name", [
    "C:\\new\\x folder\\N",  # backslashes: \x and \N are SyntaxErrors in a plain literal
    'evil"""\nimport os; os.system("echo injected")\n"""',  # ends a docstring, adds lines
    "quotes ' and \" and {braces} and \r\x1b[31m",
])
def test_the_script_compiles_and_carries_no_code_for_hostile_names(name):
    import ast

    from workbench.core.templates import load_template

    project = load_template("mnist-mlp")
    project.name = name
    source = generate_script(project)
    tree = ast.parse(source)  # a SyntaxError fails the test
    docstring = ast.get_docstring(tree)
    assert docstring.startswith(" ".join(name.split()))
    # Nothing from the name became code: the script is the one an ordinary name gets.
    project.name = "plain"
    plain = ast.parse(generate_script(project))
    assert [ast.dump(n) for n in tree.body[1:]] == [ast.dump(n) for n in plain.body[1:]]


def test_the_script_loads_an_image_folder_as_the_app_does(tmp_path):
    """Grey detection, a WebP named .png, resizing to the common size, scaling and the split:
    the script's arrays are the app's, number for number."""
    from PIL import Image

    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template

    rng = np.random.default_rng(0)
    folder = tmp_path / 'odd "name"\n'
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (6, 6), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / label / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (9, 7), dtype=np.uint8)).save(folder / "a" / "big.png")
    Image.fromarray(np.full((6, 6), 90, np.uint8)).convert("RGBA").save(
        folder / "b" / "webp.png", format="WEBP", lossless=True)  # grey content, RGBA WebP
    project = load_template("mnist-mlp")
    project.dataset, project.training.seed = str(folder), 3
    ours = load_dataset(str(folder), seed=3)
    assert ours.notice and ours.input_shape == (6, 6)
    (x_train, y_train), (x_test, y_test) = script_namespace(generate_script(project))["load_data"]()
    for theirs, app in ((x_train, ours.x_train), (y_train, ours.y_train),
                        (x_test, ours.x_test), (y_test, ours.y_test)):
        assert theirs.dtype == app.dtype and theirs.shape == app.shape
        np.testing.assert_array_equal(theirs, app)
