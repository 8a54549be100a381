"""Inference on one image fast enough to follow the mouse: the Draw tab and ``workbench predict``.

``model.predict`` costs ~50 ms per call (it builds a dataset and a loop each time); calling the
model through a ``tf.function`` with a fixed input signature costs ~1 ms. Both the GUI and the
CLI run a drawn or opened digit through this ``Predictor``, so they compute the same numbers.
"""

from __future__ import annotations

import threading

import numpy as np

from workbench.core.digits import fit_to_input
from workbench.i18n import _


def model_input_shape(model) -> tuple:
    """The model's input shape without the batch axis; ValueError for several inputs."""
    shape = model.input_shape
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ValueError(_("This model takes {n_shape} inputs; a drawing is one "
                               "image.").format(n_shape=len(shape)))
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

        tf, _keras = load_tensorflow()
        traced = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec(shape, tf.float32)],
        )
        # The concrete function skips tf.function's per-call argument binding (~0.5 ms).
        concrete = traced.get_concrete_function()
        return lambda batch: concrete(tf.constant(batch, dtype=tf.float32))
