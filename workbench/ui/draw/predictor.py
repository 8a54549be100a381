"""One-image inference fast enough to follow the mouse, and model outputs read as probabilities.

``model.predict`` costs ~50 ms per call (it builds a dataset and a loop each time); calling the
model through a ``tf.function`` with a fixed input signature costs ~1 ms. No Qt here.
"""

from __future__ import annotations

import threading

import numpy as np

from workbench.core.digits import fit_to_input


def model_input_shape(model) -> tuple:
    """The model's input shape without the batch axis; ValueError for several inputs."""
    shape = model.input_shape
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ValueError(f"This model takes {len(shape)} inputs; a drawing is one image.")
        shape = shape[0]
    return tuple(shape[1:])


class Predictor:
    """Runs a Keras model on a batch of one through a ``tf.function`` traced once per model.

    The traced function reads the model's variables, so weights loaded later with
    ``set_weights`` (each epoch during training) are used without tracing again. ``warm`` traces
    ahead of time on another thread (the training worker, for the model it prepares for the GUI);
    the two most recent models keep their traced functions, so the one in use is not lost.
    """

    KEEP = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Most recent last: (model, batch shape, traced function).
        self._traced: list[tuple[object, tuple, object]] = []

    def prepare(self, model, digit28: np.ndarray) -> np.ndarray:
        """``digit28`` as the batch of one ``model`` expects (ValueError with a clear message)."""
        return fit_to_input(digit28, model_input_shape(model))

    def warm(self, model) -> None:
        """Trace ``model``'s one-image call now (any thread), so the first drawing is fast."""
        shape = (1, *model_input_shape(model))
        if self._find(model, shape) is None:
            self._keep(model, shape, self._trace(model, shape))

    def __call__(self, model, batch: np.ndarray) -> np.ndarray:
        shape = tuple(batch.shape)
        fn = self._find(model, shape)
        if fn is None:
            fn = self._trace(model, shape)
            self._keep(model, shape, fn)
        return np.asarray(fn(batch))

    def predict(self, model, digit28: np.ndarray) -> np.ndarray:
        """Raw model output for one preprocessed digit, flattened."""
        return self(model, self.prepare(model, digit28)).reshape(-1)

    def _find(self, model, shape: tuple):
        with self._lock:
            for known, known_shape, fn in self._traced:
                if known is model and known_shape == shape:
                    return fn
        return None

    def _keep(self, model, shape: tuple, fn) -> None:
        with self._lock:
            others = [t for t in self._traced if t[0] is not model]
            self._traced = [*others[-(self.KEEP - 1):], (model, shape, fn)]

    @staticmethod
    def _trace(model, shape: tuple):
        from workbench.core.tf_loader import load_tensorflow

        tf, _ = load_tensorflow()
        traced = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec(shape, tf.float32)],
        )
        # The concrete function skips tf.function's per-call argument binding (~0.5 ms).
        concrete = traced.get_concrete_function()
        return lambda batch: concrete(tf.constant(batch, dtype=tf.float32))


def as_probabilities(output: np.ndarray) -> tuple[np.ndarray, str]:
    """Read a classifier's output as class probabilities; returns ``(probs, note)``.

    Softmax outputs pass through. Logits (a last layer without softmax) get a softmax, a single
    sigmoid unit becomes two classes; ``note`` says so, because the bars then show our reading
    of the model rather than its own numbers.
    """
    v = np.asarray(output, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError("The model's output is not a number (NaN or infinite).")
    if v.size == 1:
        p = float(v[0])
        note = ""
        if not 0.0 <= p <= 1.0:
            p = 1.0 / (1.0 + np.exp(-p))
            note = "output read as a logit (sigmoid applied)"
        return np.array([1.0 - p, p]), note
    if (v >= -1e-6).all() and abs(float(v.sum()) - 1.0) < 1e-3:
        return np.clip(v, 0.0, 1.0), ""
    e = np.exp(v - v.max())
    return e / e.sum(), "the last layer has no softmax: bars show softmax of its outputs"


def class_names_for(dataset, count: int) -> list[str]:
    """The dataset's class names when they fit the model's output size, else "0".."count-1"."""
    names = list(getattr(dataset, "class_names", None) or [])
    if len(names) == count:
        return [str(n) for n in names]
    return [str(i) for i in range(count)]
