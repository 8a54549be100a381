"""Project → a standalone Keras training script that needs only keras, numpy (and TensorFlow)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from workbench.core.catalogue import layer_type
from workbench.core.project import Project
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig

EMBEDDED = Path(__file__).resolve().parents[2] / "resources" / "datasets" / "mnist-10k.npz"


def _literal(value) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict) and value.get("class_name") in ("L1", "L2", "L1L2"):
        args = ", ".join(f"{k}={v!r}" for k, v in (value.get("config") or {}).items())
        return f"keras.regularizers.{value['class_name']}({args})"
    return repr(value)


def layer_code(layer: LayerSpec) -> str:
    """``keras.layers.Dense(128, activation='relu')``: only arguments that differ from Keras's."""
    ltype = layer_type(layer.class_name)
    args = []
    for param in ltype.params:
        value = layer.config.get(param.name, param.default)
        # Required Keras arguments are always written; others only when not the catalogue default.
        required = param.name in ("units", "filters", "kernel_size", "rate", "target_shape",
                                  "factor", "height_factor", "width_factor")
        if not required and value == param.default:
            continue
        args.append(f"{param.name}={_literal(value)}")
    return f"keras.layers.{layer.class_name}({', '.join(args)})"


def model_code(spec: ModelSpec, indent: str = "    ") -> str:
    lines = [f"keras.Input(shape={_literal(list(spec.input_shape))}),"]
    lines += [layer_code(layer) + "," for layer in spec.layers]
    body = "\n".join(indent * 2 + ln for ln in lines)
    return f"keras.Sequential(\n{indent}[\n{body}\n{indent}]\n)"


def _optimizer_code(config: TrainConfig) -> str:
    opt = config.optimizer_dict()
    args = ", ".join(f"{k}={v!r}" for k, v in opt["config"].items())
    return f"keras.optimizers.{opt['class_name']}({args})"


_LOADERS = {
    "mnist-embedded": '''
def load_data():
    """The 10,000 MNIST digits shipped with the Workbench, split 80/20 stratified."""
    path = Path(os.environ.get("WORKBENCH_MNIST_NPZ", {embedded!r}))
    with np.load(path) as data:
        x, y = data["x"].astype("float32") / 255.0, data["y"].astype("int64")
    rng = np.random.default_rng(SEED or 0)
    train, test = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        cut = int(round(len(idx) * 0.8))
        train.append(idx[:cut])
        test.append(idx[cut:])
    train, test = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    return (x[train], y[train]), (x[test], y[test])
''',
    "mnist": '''
def load_data():
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return (x_train / 255.0, y_train), (x_test / 255.0, y_test)
''',
    "fashion-mnist": '''
def load_data():
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    return (x_train / 255.0, y_train), (x_test / 255.0, y_test)
''',
    "regression-line": '''
def load_data():
    """y = x + 0.1·noise on x in [0, 1]: the classic first Keras example."""
    rng = np.random.default_rng(SEED or 0)
    x = rng.uniform(0, 1, size=(120, 1)).astype("float32")
    y = (x[:, 0] + 0.1 * rng.standard_normal(120)).astype("float32")
    return (x[:100], y[:100]), (x[100:], y[100:])
''',
    "random-classes": '''
def load_data():
    """Random vectors with random labels: a model can only memorise them."""
    rng = np.random.default_rng(SEED or 0)
    x = rng.uniform(0, 1, size=(1200, 100)).astype("float32")
    y = rng.integers(0, 10, size=1200)
    return (x[:1000], y[:1000]), (x[1000:], y[1000:])
''',
}

_NPZ_LOADER = '''
def load_data():
    with np.load({path!r}) as data:
        x_train, y_train = data["x_train"], data["y_train"]
        if "x_test" in data:
            x_test, y_test = data["x_test"], data["y_test"]
        else:
            cut = int(len(x_train) * 0.8)
            x_train, x_test, y_train, y_test = (
                x_train[:cut], x_train[cut:], y_train[:cut], y_train[cut:])
    scale = 255.0 if x_train.dtype == np.uint8 else 1.0
    return (x_train / scale, y_train), (x_test / scale, y_test)
'''

_FOLDER_LOADER = '''
def load_data():
    def arrays(subset):
        ds = keras.utils.image_dataset_from_directory(
            {path!r}, validation_split=0.2, subset=subset, seed=SEED or 0, batch_size=None)
        xs, ys = zip(*[(x.numpy() / 255.0, y.numpy()) for x, y in ds])
        return np.stack(xs), np.array(ys)
    return arrays("training"), arrays("validation")
'''


def generate_script(project: Project) -> str:
    """Python source that rebuilds, trains and evaluates the project's model with plain Keras."""
    cfg = project.training
    dataset = project.dataset
    if dataset in _LOADERS:
        loader = _LOADERS[dataset].replace("{embedded!r}", repr(str(EMBEDDED)))
    elif dataset.lower().endswith(".npz"):
        loader = _NPZ_LOADER.replace("{path!r}", repr(str(Path(dataset).resolve())))
    else:
        loader = _FOLDER_LOADER.replace("{path!r}", repr(str(Path(dataset).resolve())))
    one_hot = cfg.loss in ("categorical_crossentropy", "hinge")
    callbacks = "[]"
    if cfg.early_stopping:
        es = cfg.early_stopping
        monitor = es["monitor"] if cfg.validation_split > 0 else es["monitor"].replace("val_", "")
        callbacks = (
            f"[keras.callbacks.EarlyStopping(monitor={monitor!r}, patience={es['patience']}, "
            f"restore_best_weights={es['restore_best_weights']})]"
        )
    title = project.name or "Workbench model"
    return textwrap.dedent('''\
        """{title}: exported from the Workbench; rebuilds and trains the model with plain Keras.

        Run: python {{this file}} [--epochs N] [--save model.keras]
        """

        import argparse
        import os
        from pathlib import Path

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

        import keras
        import numpy as np

        SEED = {seed!r}
        ''').format(title=title, seed=cfg.seed) + loader + textwrap.dedent('''

        def build_model():
            return {model}


        def main():
            parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
            parser.add_argument("--epochs", type=int, default={epochs})
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
            model = build_model()
            model.summary()
            print("Total params:", model.count_params())
            model.compile(
                optimizer={optimizer},
                loss={loss!r},
                metrics={metrics!r},
            )
            model.fit(
                x_train, y_train,
                epochs=args.epochs,
                batch_size={batch_size},
                validation_split={validation_split},
                shuffle={shuffle},
                callbacks={callbacks},
            )
            print("Test:", dict(zip(model.metrics_names, np.atleast_1d(
                model.evaluate(x_test, y_test, verbose=0)))))
            if args.save:
                model.save(args.save)


        if __name__ == "__main__":
            main()
        ''').format(
        model=model_code(project.model).replace("\n", "\n    "),
        epochs=cfg.epochs, input_shape=tuple(project.model.input_shape), one_hot=one_hot,
        optimizer=_optimizer_code(cfg), loss=cfg.loss, metrics=list(cfg.metrics),
        batch_size=cfg.batch_size, validation_split=cfg.validation_split, shuffle=cfg.shuffle,
        callbacks=callbacks,
    )
