"""Project → a standalone Keras training script that needs only keras, numpy (and TensorFlow)."""

from __future__ import annotations

import inspect
import keyword
import textwrap
from pathlib import Path

from workbench.core.catalogue import layer_type
from workbench.core.datasets import builtin, fonts, splits
from workbench.core.datasets.builtin import EMBEDDED_MNIST, EMBEDDED_TEST_SIZE
from workbench.core.project import Project
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig


def _literal(value) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict) and value.get("class_name") in ("L1", "L2", "L1L2"):
        args = ", ".join(f"{k}={v!r}" for k, v in (value.get("config") or {}).items())
        return f"keras.regularizers.{value['class_name']}({args})"
    return repr(value)


def layer_code(layer: LayerSpec, name: str | None = None) -> str:
    """``keras.layers.Dense(128, activation='relu')``: the arguments Keras requires, and the
    others only where they differ from Keras's default (the catalogue's ``Param.default``);
    ``name`` (a graph layer's) last."""
    ltype = layer_type(layer.class_name)
    args = []
    for param in ltype.params:
        value = layer.config.get(param.name, param.default)
        if not param.required and value == param.default:
            continue
        args.append(f"{param.name}={_literal(value)}")
    if name is not None:
        args.append(f"name={name!r}")
    return f"keras.layers.{layer.class_name}({', '.join(args)})"


def model_code(spec: ModelSpec, indent: str = "    ") -> str:
    """The expression of a plain stack's ``keras.Sequential`` (``build_code`` for graphs)."""
    lines = [f"keras.Input(shape={_literal(list(spec.input_shape))}),"]
    lines += [layer_code(layer) + "," for layer in spec.layers]
    body = "\n".join(indent * 2 + ln for ln in lines)
    return f"keras.Sequential(\n{indent}[\n{body}\n{indent}]\n)"


# Names the generated script uses for its own things: a layer variable never takes them.
_TAKEN = {"keras", "np", "os", "argparse", "Path", "inputs", "model", "annotations", "SEED",
          "VALIDATION_SPLIT", "main", "build_model", "load_data"}


def graph_code(spec: ModelSpec) -> str:
    """The body of ``build_model()`` for a graph: the functional API, one line per layer in
    topological order (``stem = keras.layers.Conv2D(..., name='stem')(inputs)``), returning
    ``keras.Model(inputs, <the last layer>)``."""
    variables = {"input": "inputs"}
    for name in spec.names():
        var = name.replace("-", "_")
        while keyword.iskeyword(var) or var in _TAKEN or var in variables.values():
            var += "_"
        variables[name] = var
    lines = [f"inputs = keras.Input(shape={_literal(list(spec.input_shape))}, name='input')"]
    for node in spec.graph():
        args = [variables[s] for s in node.inbound]
        call = f"[{', '.join(args)}]" if node.merges else args[0]
        code = layer_code(spec.layers[node.index], node.name)
        lines.append(f"{variables[node.name]} = {code}({call})")
    lines.append(f"return keras.Model(inputs, {variables[spec.names()[-1]]})")
    return "\n".join(lines)


def build_code(spec: ModelSpec) -> str:
    """The body of the script's ``build_model()``: a Sequential for a stack, else the graph."""
    if spec.is_sequential() and all(layer.name is None for layer in spec.layers):
        return "return " + model_code(spec)
    return graph_code(spec)


def _optimizer_code(config: TrainConfig) -> str:
    opt = config.optimizer_dict()
    args = ", ".join(f"{k}={v!r}" for k, v in opt["config"].items())
    return f"keras.optimizers.{opt['class_name']}({args})"


def _source(*functions) -> str:
    """The Workbench's own numpy-only functions, written into the script: the data it trains on
    is then exactly the app's (same split, same seed), not a look-alike."""
    return "\n\n" + "\n\n".join(inspect.getsource(f) for f in functions)


_SPLITS = (splits.allocate, splits._by_class, splits.stratified_split, splits.held_out_size)

_LOADERS = {
    "mnist-embedded": lambda: _source(*_SPLITS) + f'''

def load_data():
    """The 10,000 MNIST digits shipped with the Workbench, split as the app splits them."""
    path = Path(os.environ.get("WORKBENCH_MNIST_NPZ", {str(EMBEDDED_MNIST)!r}))
    with np.load(path) as data:
        x, y = data["x"], data["y"]
    train, test = stratified_split(y, {EMBEDDED_TEST_SIZE!r}, SEED or 0)
    x = x.astype(np.float32) / np.float32(255.0)
    y = y.astype(np.int64)
    return (x[train], y[train]), (x[test], y[test])
''',
    "fonts": lambda: _source(*_SPLITS) + f'''

def load_data():
    """The Workbench's fonts dataset (36x36 glyphs, 5 fonts), split as the app splits it."""
    path = Path(os.environ.get("WORKBENCH_FONTS_NPZ", {str(fonts.SHIPPED)!r}))
    with np.load(path) as data:
        x, y = data["x"], data["y"]
    train, test = stratified_split(y, {round(fonts.PER_FONT * 5 * fonts.TEST_FRACTION)}, SEED or 0)
    x = x.astype(np.float32) / np.float32(255.0)
    y = y.astype(np.int64)
    return (x[train], y[train]), (x[test], y[test])
''',
    "mnist": lambda: '''

def load_data():
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return (x_train / 255.0, y_train), (x_test / 255.0, y_test)
''',
    "fashion-mnist": lambda: '''

def load_data():
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    return (x_train / 255.0, y_train), (x_test / 255.0, y_test)
''',
    "regression-line": lambda: _source(builtin.regression_line_arrays) + '''

def load_data():
    return regression_line_arrays(SEED or 0)
''',
    "random-classes": lambda: _source(builtin.random_classes_arrays) + '''

def load_data():
    return random_classes_arrays(SEED or 0)
''',
}

_NPZ_LOADER = '''

def load_data():
    with np.load({path!r}) as data:
        x_train, y_train = data["x_train"], data["y_train"]
        if "x_test" in data:
            x_test, y_test = data["x_test"], data["y_test"]
        else:  # the app's split: 20 % held out, stratified for class labels
            classes = y_train.dtype.kind in "biu" and y_train.ndim == 1
            train, test = stratified_split(
                y_train, held_out_size(len(y_train)), SEED or 0, stratify=classes)
            x_train, x_test, y_train, y_test = (
                x_train[train], x_train[test], y_train[train], y_train[test])
    scale = 255.0 if x_train.dtype == np.uint8 else 1.0
    return (x_train / scale, y_train), (x_test / scale, y_test)
'''

_FOLDER_LOADER = """

def load_data():
    \"\"\"The images of the class folders, decoded as the app decodes them (Pillow, raster
    formats only, by content; grey when every image is grey; resized to the most common size;
    scaled to [0, 1]) and split as the app splits them.\"\"\"
    from PIL import Image

    images, labels = [], []
    for label, paths in enumerate(image_files(Path({path!r})).values()):
        for path in paths:
            with Image.open(path, formats=PILLOW_FORMATS) as image:
                images.append(image_pixels(image))
            labels.append(label)
    size, grayscale, _channels = common_shape(images)
    x = stack_images(images, grayscale, size)
    y = np.asarray(labels, dtype=np.int64)
    train, test = stratified_split(y, held_out_size(len(y)), SEED or 0)
    return (x[train], y[train]), (x[test], y[test])
"""


def _folder_loader(path: str) -> str:
    """The image-folder loader: the app's own decoding functions and constants, then load_data."""
    from workbench.core.datasets import folders as files
    from workbench.core.safe_io import IMAGE_FORMATS

    constants = (f"\n\nIMAGE_FORMATS = {files.IMAGE_FORMATS!r}\nPILLOW_FORMATS = {IMAGE_FORMATS!r}"
                 f"\n_GRAY_MODES = {sorted(files._GRAY_MODES)!r}"
                 f"\n_GREY_TOLERANCE = {files._GREY_TOLERANCE!r}")
    return (constants + _source(*_SPLITS, files.image_files, files.image_pixels,
                                files.common_shape, files.fit_image, files.stack_images)
            + _FOLDER_LOADER.replace("{path!r}", repr(path)))


def generate_script(project: Project) -> str:
    """Python source that rebuilds, trains and evaluates the project's model with plain Keras."""
    cfg = project.training
    dataset = project.dataset
    if dataset in _LOADERS:
        loader = _LOADERS[dataset]()
    elif dataset.lower().endswith(".npz"):
        path = repr(str(Path(dataset).resolve()))
        loader = _source(*_SPLITS) + _NPZ_LOADER.replace("{path!r}", path)
    else:
        loader = _folder_loader(str(Path(dataset).resolve()))
    one_hot = cfg.loss in ("categorical_crossentropy", "hinge")
    callbacks = "[]"
    if cfg.early_stopping:
        es = cfg.early_stopping
        monitor = es["monitor"] if cfg.validation_split > 0 else es["monitor"].replace("val_", "")
        callbacks = (
            f"[keras.callbacks.EarlyStopping(monitor={monitor!r}, patience={es['patience']!r}, "
            f"restore_best_weights={es['restore_best_weights']!r})]"
        )
    # Project strings enter the code only as escaped literals (repr): a name with a backslash,
    # quotes or a newline can neither break the script nor add lines to it.
    title = " ".join((project.name or "Workbench model").split())
    docstring = repr(f"{title}: exported from the Workbench; rebuilds and trains the model with "
                     "plain Keras.\n\nRun: python {this file} [--epochs N] [--save model.keras]\n")
    return textwrap.dedent('''\
        {docstring}

        from __future__ import annotations

        import argparse
        import os
        from pathlib import Path

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

        import keras
        import numpy as np

        SEED = {seed!r}
        VALIDATION_SPLIT = {validation_split!r}


        def build_model():
            {model}


        # The data, loaded and split exactly as the Workbench does it.
        ''').format(docstring=docstring, seed=cfg.seed, validation_split=cfg.validation_split,
                    model=build_code(project.model).replace("\n", "\n    ")) + loader + (
        _source(splits.validation_indices)) + textwrap.dedent('''


        def batches(x, y, batch_size, shuffle=False):
            """The batches the Workbench trains on: the rows in a new seeded order every epoch."""
            import tensorflow as tf

            rows = tf.data.Dataset.from_tensor_slices((np.arange(len(x)), y))
            if shuffle:
                rows = rows.shuffle(len(x), seed=SEED, reshuffle_each_iteration=True)
            x = tf.convert_to_tensor(x)
            return rows.batch(batch_size).map(lambda i, labels: (tf.gather(x, i), labels))


        def main():
            parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
            parser.add_argument("--epochs", type=int, default={epochs!r})
            parser.add_argument("--save", default=None, help="where to save the trained model")
            args = parser.parse_args()
            if SEED is not None:
                keras.utils.set_random_seed(SEED)
            (x_train, y_train), (x_test, y_test) = load_data()
            input_shape = {input_shape!r}
            x_train = np.asarray(x_train, "float32").reshape((-1, *input_shape))
            x_test = np.asarray(x_test, "float32").reshape((-1, *input_shape))
            if {one_hot!r}:
                num_classes = int(max(y_train.max(), y_test.max())) + 1
                y_train = keras.utils.to_categorical(y_train, num_classes)
                y_test = keras.utils.to_categorical(y_test, num_classes)
            x_fit, y_fit, validation = x_train, y_train, None
            if VALIDATION_SPLIT > 0 and len(x_train) > 1:  # the app's seeded split, not Keras's
                train, val = validation_indices(len(x_train), VALIDATION_SPLIT, SEED)
                x_fit, y_fit = x_train[train], y_train[train]
                validation = batches(x_train[val], y_train[val], {batch_size!r})
            model = build_model()
            model.summary()
            print("Total params:", model.count_params())
            model.compile(
                optimizer={optimizer},
                loss={loss!r},
                metrics={metrics!r},
            )
            model.fit(
                batches(x_fit, y_fit, {batch_size!r}, shuffle={shuffle!r}),
                validation_data=validation,
                epochs=args.epochs,
                callbacks={callbacks},
            )
            print("Test:", model.evaluate(x_test, y_test, verbose=0, return_dict=True))
            if args.save:
                model.save(args.save)


        if __name__ == "__main__":
            main()
        ''').format(
        epochs=cfg.epochs, input_shape=tuple(project.model.input_shape), one_hot=one_hot,
        optimizer=_optimizer_code(cfg), loss=cfg.loss, metrics=list(cfg.metrics),
        batch_size=cfg.batch_size, shuffle=cfg.shuffle, callbacks=callbacks,
    )
