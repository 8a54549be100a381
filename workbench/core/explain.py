"""Why a classifier answered what it did for one input: attributions as arrays of the input's shape.

Vanilla gradients, gradient × input, SmoothGrad, Integrated Gradients (black baseline), Grad-CAM on
the last Conv2D and occlusion, for any single-input Keras model (sequential, graph, LSTM). Qt-free:
the Draw and Evaluation views call it on the thread that owns their model, ``workbench explain``
in-process. Each gradient path is one ``tf.function`` per model with a fixed signature (the
target class and the batch size are arguments), traced once and reused for every stroke.

Scores are the output layer's values before its softmax where it has one: a probability close to
1 has a gradient close to 0 everywhere, which shows nothing (Simonyan et al. 2013 use the
unnormalised class score for the same reason). Every method explains that one score.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from workbench.i18n import N_, _

# Method key -> the name a person reads (translated where shown). The keys are the CLI's
# --method values.
METHODS = {
    "gradients": N_("Gradients"),
    "gradient-x-input": N_("Gradient × input"),
    "smoothgrad": "SmoothGrad",
    "integrated-gradients": N_("Integrated Gradients"),
    "gradcam": "Grad-CAM",
    "occlusion": N_("Occlusion"),
}
# Signed methods: evidence against the class (negative) is as meaningful as evidence for it.
SIGNED = ("gradient-x-input", "integrated-gradients", "occlusion")
DEFAULT_STEPS = 32
MAX_STEPS = 1024
# SmoothGrad (Smilkov et al. 2017): noise of 10-20 % of the input's range, averaged over samples.
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15
# Integrated Gradients' path points are sent through the model in chunks of this many.
_CHUNK = 64
NO_CONV = N_("Grad-CAM needs a Conv2D layer (it weighs the last one's feature maps by their "
           "gradients); this model has none. Gradients, Integrated Gradients and occlusion work "
           "for any model.")


class ExplainError(ValueError):
    """One readable sentence on why this model or input cannot be explained this way."""


@dataclass
class Explanation:
    method: str
    target: int  # the class whose score is explained
    attribution: np.ndarray  # float32, the model input's shape without the batch axis
    outputs: np.ndarray  # the model's own outputs for the input, flattened (C,)
    score: float  # the explained score (the target's logit where the output is a softmax)
    baseline_score: float | None = None  # Integrated Gradients: the score of the black image

    @property
    def heatmap(self) -> np.ndarray:
        return heatmap(self.attribution, self.method)


# Which methods a model offers -------------------------------------------------------------------


def last_conv2d(model):
    """The model's last Conv2D layer in the order Keras runs them (graphs too), or None."""
    _tfm, keras = _tf()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
             and not isinstance(layer, keras.layers.Conv2DTranspose)]
    return convs[-1] if convs else None


def unavailable_reason(model, method: str) -> str | None:
    """Why ``model`` cannot be explained by ``method`` (None: it can)."""
    if method not in METHODS:
        return _("unknown method {method!r}; choose one of {methods}").format(
                   method=method, methods=', '.join(METHODS))
    if method == "gradcam" and last_conv2d(model) is None:
        return _(NO_CONV)
    return None


def available_methods(model) -> dict[str, str | None]:
    """Every method key -> None when ``model`` offers it, else the reason it does not."""
    return {method: unavailable_reason(model, method) for method in METHODS}


# Explaining -------------------------------------------------------------------------------------


def explain(model, batch: np.ndarray, method: str = "gradients", target: int | None = None,
            steps: int = DEFAULT_STEPS, seed: int = 0) -> Explanation:
    """Attribute ``model``'s score for ``target`` (default: its top class) on ``batch``, a batch of
    one in the model's input shape. Call it on the thread that owns ``model``."""
    return explainer_for(model).explain(batch, method, target, steps, seed)


# The explainers of the most recent models, newest last. Not a WeakKeyDictionary: an explainer's
# traced functions hold its model, so a weak key would never be let go.
KEEP = 3
_explainers: list[Explainer] = []
_explainers_lock = threading.Lock()


def explainer_for(model) -> Explainer:
    """The model's ``Explainer`` (its traced functions), made once per model; the last ``KEEP``
    models' are kept."""
    with _explainers_lock:
        found = next((e for e in _explainers if e.model is model), None)
        if found is None:
            found = Explainer(model)
        _explainers[:] = [e for e in _explainers if e is not found][-(KEEP - 1):] + [found]
        return found


class Explainer:
    """One model's traced functions: scores and their input gradients for a batch of inputs
    (gradients, gradient × input, SmoothGrad and Integrated Gradients all use it), the last
    Conv2D's class activation map, and the forward pass occlusion uses. The functions read the
    model's variables, so weights set later (each epoch) are used without tracing again."""

    def __init__(self, model):
        from workbench.core.inference import model_input_shape

        self.model = model
        try:
            self.input_shape = tuple(int(d) for d in model_input_shape(model))
        except (TypeError, ValueError) as exc:
            raise ExplainError(str(exc) if isinstance(exc, ValueError) else
                               _("the model's input shape is not fixed")) from None
        self.logits = _softmax_layer(model) is not None
        self._traced: dict[str, object] = {}

    # the public entry ---------------------------------------------------------------------------

    def explain(self, batch, method: str = "gradients", target: int | None = None,
                steps: int = DEFAULT_STEPS, seed: int = 0) -> Explanation:
        reason = unavailable_reason(self.model, method)
        if reason is not None:
            raise ExplainError(reason)
        x = np.asarray(batch, dtype=np.float32).reshape((1, *self.input_shape))
        if method == "gradcam":
            return self._gradcam(x, target)
        if method == "occlusion":
            return self._occlusion(x, target)
        if method == "integrated-gradients":
            return self._integrated(x, target, steps)
        if method == "smoothgrad":
            rng = np.random.default_rng(seed)
            sigma = SMOOTHGRAD_NOISE * max(float(x.max() - x.min()), 1e-3)
            noisy = x + rng.normal(0.0, sigma, (SMOOTHGRAD_SAMPLES, *self.input_shape))
            target = self._target(x, target)
            scores, grads = self._gradients(noisy.astype(np.float32), target)
            outputs, score = self._forward_one(x, target)
            return Explanation(method, target, grads.mean(axis=0), outputs, score)
        target = self._target(x, target)
        scores, grads = self._gradients(x, target)
        attribution = grads[0] * x[0] if method == "gradient-x-input" else grads[0]
        return Explanation(method, target, attribution, self._outputs(scores[0]),
                           float(scores[0, target]))

    # methods -------------------------------------------------------------------------------------

    def _integrated(self, x, target, steps) -> Explanation:
        """Sundararajan et al. 2017 from a black image, the path integral by the trapezoid rule
        over ``steps`` intervals (exact for a path the gradient is constant along)."""
        if not 1 <= int(steps) <= MAX_STEPS:
            raise ExplainError(_("steps must be between 1 and {max_steps}, not {steps}").format(
                                   max_steps=MAX_STEPS, steps=steps))
        steps = int(steps)
        target = self._target(x, target)
        baseline = np.zeros_like(x)
        alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
        alphas = alphas.reshape((-1,) + (1,) * len(self.input_shape))
        total = np.zeros(self.input_shape, np.float64)
        first = last = None
        for start in range(0, steps + 1, _CHUNK):
            a = alphas[start:start + _CHUNK]
            path = (baseline + a * (x - baseline)).astype(np.float32)
            scores, grads = self._gradients(path, target)
            weights = np.where((a == 0.0) | (a == 1.0), 0.5, 1.0)  # the trapezoid's ends
            total += (grads * weights).sum(axis=0)
            first = scores[0] if first is None else first
            last = scores[-1]
        attribution = (total / steps) * (x[0] - baseline[0])
        return Explanation("integrated-gradients", target, attribution.astype(np.float32),
                           self._outputs(last), float(last[target]),
                           baseline_score=float(first[target]))

    def _gradcam(self, x, target) -> Explanation:
        """Grad-CAM (Selvaraju et al. 2017): the last Conv2D's maps weighted by the score's
        gradient, summed over channels, kept where positive, stretched over the input's picture.

        The weights are the gradient at each place (HiResCAM, Draelos & Carin 2020), not its mean
        over the map: the same for a network that ends in global average pooling (the gradient is
        then the same everywhere), but for one that ends in Flatten + Dense, as the MNIST CNN does,
        the mean adds up weights for places the evidence is not, and where the class depends on
        *where* something is, they cancel: the paper's mean put the peak on the patch for 0 of 60
        images in tests/core/test_explain.py, this weighting for over 90 %."""
        target = self._target(x, target)
        cam, scores = self._call("gradcam", x, target)
        cam = np.asarray(cam)[0]
        h, w, channels = image_view(self.input_shape)
        upsampled = _resize(cam, h, w)
        attribution = np.repeat(upsampled[:, :, None], channels, axis=2)
        scores = np.asarray(scores)[0]
        return Explanation("gradcam", target, attribution.reshape(self.input_shape),
                           self._outputs(scores), float(scores[target]))

    def _occlusion(self, x, target) -> Explanation:
        """Zeiler & Fergus 2014: black out a patch at each place (stride half a patch) and record
        how much the score drops; a pixel's value is the mean drop of the patches covering it."""
        h, w, channels = image_view(self.input_shape)
        ph, pw = max(1, round(h / 7)), max(1, round(w / 7))
        tops, lefts = _starts(h, ph), _starts(w, pw)
        picture = x.reshape(h, w, channels)
        places = [(top, left) for top in tops for left in lefts]
        occluded = np.repeat(picture[None], len(places), axis=0)
        for i, (top, left) in enumerate(places):
            occluded[i, top:top + ph, left:left + pw, :] = 0.0
        batch = np.concatenate([x, occluded.reshape((-1, *self.input_shape))])
        scores = self._forward_batch(batch)
        target = self._target(x, target, scores[0])
        drops = scores[0, target] - scores[1:, target]
        total, count = np.zeros((h, w)), np.zeros((h, w))
        for drop, (top, left) in zip(drops, places):
            total[top:top + ph, left:left + pw] += drop
            count[top:top + ph, left:left + pw] += 1
        heat = total / np.maximum(count, 1)
        attribution = np.repeat(heat[:, :, None], channels, axis=2).astype(np.float32)
        return Explanation("occlusion", target, attribution.reshape(self.input_shape),
                           self._outputs(scores[0]), float(scores[0, target]))

    # helpers -------------------------------------------------------------------------------------

    def _target(self, x, target, scores=None) -> int:
        if scores is None:
            scores = self._forward_batch(x)[0]
        count = scores.shape[-1]
        if target is None:
            return int(np.argmax(scores))
        if not isinstance(target, (int, np.integer)) or not 0 <= int(target) < count:
            raise ExplainError(_("class {target} does not exist: the model has {count} "
                                 "outputs (classes 0 to {count2})").format(
                                   target=target, count=count, count2=count - 1))
        return int(target)

    def _outputs(self, scores) -> np.ndarray:
        """The model's own outputs from the explained scores (softmax put back)."""
        s = np.asarray(scores, np.float64).reshape(-1)
        if not self.logits:
            return s
        e = np.exp(s - s.max())
        return e / e.sum()

    def _forward_one(self, x, target) -> tuple[np.ndarray, float]:
        scores = self._forward_batch(x)[0]
        return self._outputs(scores), float(scores[target])

    def _forward_batch(self, batch) -> np.ndarray:
        return np.asarray(self._call("forward", batch)).reshape(len(batch), -1)

    def _gradients(self, batch, target) -> tuple[np.ndarray, np.ndarray]:
        scores, grads = self._call("gradients", batch, target)
        return np.asarray(scores).reshape(len(batch), -1), np.asarray(grads)

    def _call(self, name: str, batch, *args):
        tf, _keras = _tf()
        fn = self._traced.get(name)
        if fn is None:
            fn = self._traced[name] = self._trace(name)
        extra = [tf.constant(a, dtype=tf.int32) for a in args]
        return fn(tf.constant(batch, dtype=tf.float32), *extra)

    def _trace(self, name: str):
        tf, keras = _tf()
        model = self.model
        inputs = tf.TensorSpec((None, *self.input_shape), tf.float32)
        target = tf.TensorSpec((), tf.int32)

        def flat(out):
            return tf.reshape(out, (tf.shape(out)[0], -1))

        if name == "forward":
            fn = tf.function(lambda x: flat(model(x, training=False)), input_signature=[inputs])
        elif name == "gradients":
            def gradients(x, target):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    scores = flat(model(x, training=False))
                    chosen = tf.reduce_sum(scores[:, target])
                return scores, tape.gradient(chosen, x)

            fn = tf.function(gradients, input_signature=[inputs, target])
        else:  # gradcam
            conv = last_conv2d(model)
            channels_first = getattr(conv, "data_format", "channels_last") == "channels_first"
            both = _with_maps(model, conv)

            def gradcam(x, target):
                with tf.GradientTape() as tape:
                    maps, out = both(x, training=False)
                    scores = flat(out)
                    chosen = tf.reduce_sum(scores[:, target])
                grads = tape.gradient(chosen, maps)
                if channels_first:
                    maps, grads = (tf.transpose(t, (0, 2, 3, 1)) for t in (maps, grads))
                return tf.nn.relu(tf.reduce_sum(grads * maps, axis=-1)), scores

            fn = tf.function(gradcam, input_signature=[inputs, target])
        signature = [inputs] if name == "forward" else [inputs, target]
        with _scores_before_softmax(model):  # traced now, with the output's softmax set aside
            return fn.get_concrete_function(*signature)


# Pictures ---------------------------------------------------------------------------------------


def image_view(input_shape) -> tuple[int, int, int]:
    """(H, W, C) of an input shape seen as a picture: (H, W) and (H, W, C) as they are, a flat
    (n,) as a square where n is one, else as one row; ExplainError for other shapes."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) == 3:
        return shape
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        return (side, side, 1) if side * side == shape[0] else (1, shape[0], 1)
    raise ExplainError(_("inputs of shape {shape} cannot be shown as a picture").format(
                           shape=shape))


def heatmap(attribution: np.ndarray, method: str) -> np.ndarray:
    """The (H, W) picture of an attribution: signed methods in [-1, 1] (summed over channels),
    gradient magnitudes and Grad-CAM in [0, 1]; scaled by the largest magnitude."""
    a = np.asarray(attribution, np.float64)
    h, w, c = image_view(a.shape)
    a = a.reshape(h, w, c)
    picture = a.sum(axis=2) if method in SIGNED or method == "gradcam" else np.abs(a).max(axis=2)
    if method == "gradcam":
        picture = np.maximum(picture, 0.0)
    top = float(np.abs(picture).max(initial=0.0))
    return (picture / top if top > 0 else picture).astype(np.float32)


def _starts(size: int, patch: int) -> list[int]:
    stride = max(1, patch // 2)
    starts = list(range(0, max(size - patch, 0) + 1, stride))
    if starts[-1] + patch < size:
        starts.append(size - patch)  # the last patch reaches the edge
    return starts


def _resize(cam: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize of a small (h0, w0) map, as the Grad-CAM paper stretches it."""
    from PIL import Image

    image = Image.fromarray(np.asarray(cam, np.float32), mode="F")
    return np.asarray(image.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


# Keras ------------------------------------------------------------------------------------------


def _tf():
    from workbench.core.tf_loader import load_tensorflow

    return load_tensorflow()


def _softmax_layer(model):
    """The output layer when it ends in a softmax activation (Dense, Conv, Activation), else
    None."""
    last = model.layers[-1] if model.layers else None
    activation = getattr(last, "activation", None)
    return last if getattr(activation, "__name__", "") == "softmax" else None


def _with_maps(model, conv):
    """A callable ``x -> (conv's output, model's output)``. A Sequential runs its layers in turn
    (a loaded one has called each layer several times while it was rebuilt, and ``conv.output``
    is then a tensor of another graph); a graph model gets a Keras model of the two outputs."""
    _tfm, keras = _tf()
    if isinstance(model, keras.Sequential):
        def both(x, training=False):
            maps = None
            for layer in model.layers:
                x = layer(x, training=training)
                if layer is conv:
                    maps = x
            return maps, x

        return both
    return keras.Model(model.inputs[0], [conv.output, model.outputs[0]])


@contextmanager
def _scores_before_softmax(model):
    """While tracing: the output layer's softmax set aside, so the traced function returns the
    scores it normalises. Only the model's own thread traces, so no call sees the change."""
    layer = _softmax_layer(model)
    if layer is None:
        yield
        return
    _tfm, keras = _tf()
    kept = layer.activation
    layer.activation = keras.activations.linear
    try:
        yield
    finally:
        layer.activation = kept
