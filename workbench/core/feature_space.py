"""What the network has made of its inputs: the penultimate layer's activations projected to 2-D
(PCA, t-SNE from scikit-learn, UMAP where umap-learn is installed), and per class the input that
maximises its score (activation maximisation with a smoothness regulariser).

Qt-free. ``features`` and ``class_pictures`` run Keras (on the thread that owns the model); the
projections are numpy and scikit-learn only, so they can run on any worker thread.
"""

from __future__ import annotations

import importlib.util
import threading

import numpy as np

from workbench.i18n import _

PROJECTIONS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
_BATCH = 256


# The penultimate layer ---------------------------------------------------------------------------


def features(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(features (N, D), outputs (N, C))``: what the last layer receives for each sample of
    ``x`` (flattened), and the model's outputs; in batches."""
    from workbench.core.evaluation import adapt_inputs, model_input_shape
    from workbench.core.tf_loader import load_tensorflow

    tf, _keras = load_tensorflow()
    both = _penultimate_and_output(model)
    x = adapt_inputs(x, model_input_shape(model))
    feats, outs = [], []
    for start in range(0, len(x), _BATCH):
        batch = tf.constant(np.asarray(x[start:start + _BATCH], np.float32))
        f, o = both(batch)
        feats.append(np.asarray(f).reshape(len(batch), -1))
        outs.append(np.asarray(o).reshape(len(batch), -1))
    if not feats:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(feats), np.concatenate(outs)


_traced: list[tuple[object, object]] = []  # (model, function), the most recent last
_traced_lock = threading.Lock()


def _penultimate_and_output(model):
    """``_trace_penultimate``'s function of ``model``, traced once (PCA follows every epoch)."""
    with _traced_lock:
        fn = next((f for m, f in _traced if m is model), None)
        if fn is None:
            fn = _trace_penultimate(model)
        _traced[:] = [(m, f) for m, f in _traced if m is not model][-1:] + [(model, fn)]
        return fn


def _trace_penultimate(model):
    """A traced ``x -> (the last layer's input, the model's output)``. A Sequential runs its
    layers in turn (a loaded one's layer tensors may belong to another of Keras's graphs)."""
    from workbench.core.evaluation import model_input_shape
    from workbench.core.tf_loader import load_tensorflow

    tf, keras = load_tensorflow()
    last = model.layers[-1]
    if isinstance(model, keras.Sequential):
        def both(x):
            received = x
            for layer in model.layers:
                received = x
                x = layer(x, training=False)
            return received, x
    else:
        inner = keras.Model(model.inputs[0], [last.input, model.outputs[0]])

        def both(x):
            return inner(x, training=False)
    shape = tuple(model_input_shape(model))
    return tf.function(both, input_signature=[tf.TensorSpec((None, *shape), tf.float32)])


# Projections -----------------------------------------------------------------------------------


def unavailable_projection(method: str) -> str | None:
    """Why ``method`` cannot project here (None: it can)."""
    if method not in PROJECTIONS:
        return _("unknown projection {method!r}; choose one of {projections}").format(
                   method=method, projections=', '.join(PROJECTIONS))
    if method == "tsne" and importlib.util.find_spec("sklearn") is None:
        return _("t-SNE needs scikit-learn (pip install scikit-learn)")
    if method == "umap" and importlib.util.find_spec("umap") is None:
        return _("UMAP needs umap-learn, which is not installed (pip install umap-learn)")
    return None


def project(feats: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(N, 2) coordinates of ``feats`` (N, D); ValueError when ``method`` is not available."""
    reason = unavailable_projection(method)
    if reason is not None:
        raise ValueError(reason)
    f = np.asarray(feats, np.float64)
    n = len(f)
    if n < 3:
        raise ValueError(_("{n} samples are too few to project").format(n=n))
    if method == "pca":
        return pca(f)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (n - 1) / 3.0))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(f).astype(np.float32)
    import umap

    return umap.UMAP(n_components=2, random_state=seed).fit_transform(f).astype(np.float32)


def pca(feats: np.ndarray) -> np.ndarray:
    """The first two principal components' scores (signs fixed so that the largest loading is
    positive: the picture does not flip from one epoch to the next for nothing)."""
    f = np.asarray(feats, np.float64)
    centred = f - f.mean(axis=0)
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * signs[:, None]
    scores = centred @ axes.T
    if scores.shape[1] < 2:  # one feature: a line
        scores = np.column_stack([scores, np.zeros(len(scores))])
    return scores.astype(np.float32)


# What each class looks for ---------------------------------------------------------------------


def class_pictures(model, steps: int = 150, learning_rate: float = 0.05,
                   smoothness: float = 0.5, seed: int = 0) -> np.ndarray:
    """Per class, the input in [0, 1] that maximises its score (the logit where the output is a
    softmax): gradient ascent from faint noise, pulled also towards a small total variation
    (neighbouring pixels alike) and towards black, the two regularisers of Mahendran & Vedaldi
    2015. Returns
    (C, *input shape) float32."""
    from workbench.core.explain import _scores_before_softmax, image_view
    from workbench.core.inference import model_input_shape
    from workbench.core.tf_loader import load_tensorflow

    tf, _keras = load_tensorflow()
    shape = tuple(int(d) for d in model_input_shape(model))
    h, w, c = image_view(shape)
    count = int(np.prod(model.output_shape[1:]))
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.0, 0.2, (count, *shape)).astype(np.float32)
    eye = tf.constant(np.eye(count, dtype=np.float32))

    def rms(t):  # per picture
        flat = tf.reshape(t, (count, -1))
        return tf.reshape(tf.sqrt(tf.reduce_mean(tf.square(flat), axis=1)) + 1e-8,
                          (count,) + (1,) * len(shape))

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            scores = tf.reshape(model(x, training=False), (count, -1))
            own = tf.reduce_sum(scores * eye)  # each picture's own class
        toward_class = tape.gradient(own, x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            picture = tf.reshape(x, (count, h, w, c))
            rough = (tf.reduce_sum(tf.abs(picture[:, 1:] - picture[:, :-1]))
                     + tf.reduce_sum(tf.abs(picture[:, :, 1:] - picture[:, :, :-1])))
        toward_smooth = -tape.gradient(rough, x)
        # Each pull normalised, so ``smoothness`` weighs them whatever the scale of a model's
        # scores: 0 ignores the neighbours, 1 pulls to smooth as hard as to the class.
        direction = toward_class / rms(toward_class) + smoothness * toward_smooth / rms(
            toward_smooth) - 0.1 * x
        return tf.clip_by_value(x + learning_rate * direction, 0.0, 1.0)

    spec = tf.TensorSpec((count, *shape), tf.float32)
    with _scores_before_softmax(model):
        traced = tf.function(step, input_signature=[spec]).get_concrete_function()
    x = tf.constant(start)
    for _i in range(int(steps)):
        x = traced(x)
    return np.asarray(x, np.float32)
