"""The views' requests about the trained model: why it answers what it does (``explain``), what
each layer makes of an input (``activations``), which layers hold weights (``layers``), where the
penultimate layer puts the test images (``feature_space``, then ``project`` for the slow
projections) and what each class looks for (``class_pictures``).

The quick ones (explain, activations, layers) ask about the model the engine holds under a handle
(``load_model``) and run on the ``views`` lane, the thread that built it. The slow ones (the
feature space of thousands of samples, seconds of class pictures, minutes of t-SNE) run on the
``compute`` lane, so Draw's answers on the views lane never wait behind them: the request gives
the model (``spec`` or ``plain`` with ``weights``, as the caller holds it now) and the lane builds
a model of its own, once per architecture. All answer in numpy arrays and plain values. A request
the model cannot serve is one readable line (``ActionError``); a method the model does not offer
is a ``refused`` reply, since the caller still wants to know which methods it does offer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.actions.errors import ActionError
from workbench.i18n import _

MAX_SAMPLES = 5000  # feature_space: more takes the views lane from Draw for too long
MAX_TARGETS = 16


def _model(state, body: dict):
    """The Keras model of ``body["handle"]`` (views lane only)."""
    handle = body.get("handle")
    model = state.models.get(handle) if isinstance(handle, str) else None
    if model is None:
        raise ActionError(_("the engine holds no model {handle}").format(handle=repr(handle)))
    return model


def _own_model(state, body: dict):
    """On the compute lane: a model of the body's own (``spec`` or ``plain``, with ``weights``),
    built once per architecture and kept (touched by this lane only), holding those weights."""
    import json

    from workbench.engine.sources import build, given

    source, weights = given(body)
    key = json.dumps(source, sort_keys=True, default=str)
    if state.compute_model is None or state.compute_model[0] != key:
        state.compute_model = None  # a failed build leaves nothing half-made
        state.compute_model = (key, build(source, None))
    model = state.compute_model[1]
    if weights is not None:
        try:
            model.set_weights([np.asarray(w) for w in weights])
        except ValueError:
            raise ActionError(_("the weights do not fit the model")) from None
    return model


def _array(body: dict, key: str) -> np.ndarray:
    value = body.get(key)
    if not isinstance(value, np.ndarray):
        raise ActionError(_("the request needs {key} as an array").format(key=repr(key)))
    return np.asarray(value, np.float32)


def explain(state, call) -> dict:
    """Heatmaps of ``method`` (default gradients, ``steps`` for Integrated Gradients) for each
    class of ``targets`` (a list; null: the model's top class; default ``[null]``), of one input:
    ``digit`` (28×28, preprocessed as Draw does, fitted to the model's input) or ``sample`` (one
    input in the model's own layout, e.g. a test image). Reply: ``offered`` (method -> null, or
    why the model does not offer it) and ``refused`` (the reason, when it does not offer
    ``method``), else ``heatmaps`` (float32 arrays in [-1, 1], one per target), ``targets``,
    ``predicted`` and ``probabilities``."""
    from workbench.actions.explain import explain_digit
    from workbench.actions.predict import read_output
    from workbench.core import explain as core

    body = call.body
    model = _model(state, body)
    method = body.get("method", "gradients")
    offered = core.available_methods(model)
    if method not in offered:
        raise ActionError(_("unknown method {method}; choose one of {methods}").format(
            method=repr(method), methods=", ".join(core.METHODS)))
    if offered[method] is not None:
        return {"offered": offered, "refused": offered[method]}
    targets = body.get("targets", [None])
    if (not isinstance(targets, list) or not 0 < len(targets) <= MAX_TARGETS
            or not all(t is None or type(t) is int and t >= 0 for t in targets)):
        raise ActionError(_("targets is a list of 1 to {count} class numbers (or null)").format(
            count=MAX_TARGETS))
    steps = body.get("steps", core.DEFAULT_STEPS)
    if type(steps) is not int:
        raise ActionError(_("steps is a whole number"))
    heatmaps, explained, probabilities = [], [], None
    for target in targets:
        if "digit" in body:
            item = explain_digit(model, _array(body, "digit"), method, target, steps)
            result, probabilities = item.explanation, item.probabilities
        else:
            sample = _array(body, "sample")
            try:
                result = core.explain(model, _one_input(model, sample), method, target, steps)
                probabilities, _note = read_output(result.outputs)
            except ValueError as exc:
                raise ActionError(str(exc)) from None
        heatmaps.append(np.asarray(result.heatmap, np.float32))
        explained.append(int(result.target))
    return {"offered": offered, "heatmaps": heatmaps, "targets": explained,
            "predicted": int(np.argmax(probabilities)),
            "probabilities": np.asarray(probabilities, np.float32)}


def _one_input(model, sample: np.ndarray) -> np.ndarray:
    """``sample`` as a batch of one in ``model``'s input layout (ActionError: it does not fit)."""
    from workbench.core.evaluation import adapt_inputs, model_input_shape

    try:
        return adapt_inputs(sample[None], model_input_shape(model))
    except ValueError as exc:
        raise ActionError(_("the input does not fit this model: {reason}").format(
            reason=exc)) from None


def activations(state, call) -> dict:
    """Every layer's output for one ``sample`` (any layout of the model's input size): ``names``
    (in the model's order), ``outputs`` (float32 arrays without the batch axis) and ``classes``
    (layer name -> its Keras class name)."""
    from workbench.core.introspection import layer_activations

    model = _model(state, call.body)
    x = _one_input(model, _array(call.body, "sample"))
    try:
        found = layer_activations(model, x[0])
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return {"names": [name for name, _ in found],
            "outputs": [np.asarray(a, np.float32) for _, a in found],
            "classes": {layer.name: type(layer).__name__ for layer in model.layers}}


def layers(state, call) -> dict:
    """The model's layers that hold weights, each with its slice of the weights list
    (``name``, ``class_name``, ``start``, ``shapes``, ``first``, ``units``: a
    ``core.weight_layers.WeightedLayer``), and its ``input_shape`` (without the batch axis; []
    when it has not exactly one input)."""
    from workbench.core.weight_layers import weighted_layers

    model = _model(state, call.body)
    inputs = getattr(model, "inputs", None) or []
    shape = [None if d is None else int(d) for d in inputs[0].shape[1:]] if len(inputs) == 1 \
        else []
    return {"layers": [{"name": layer.name, "class_name": layer.class_name,
                        "start": layer.start, "shapes": [list(s) for s in layer.shapes],
                        "first": layer.first, "units": layer.units}
                       for layer in weighted_layers(model)],
            "input_shape": shape}


def feature_space(state, call) -> dict:
    """What the model's (``spec``/``plain`` + ``weights``) last layer receives for each sample
    of ``x`` (at most ``MAX_SAMPLES``):
    ``dims`` (values per sample) and, with ``projection`` "pca" (the default; instant), ``xy``
    (N×2); with another projection, ``features`` (N×dims float32) for a ``project`` request."""
    from workbench.core import feature_space as core

    model = _own_model(state, call.body)
    x = call.body.get("x")
    if not isinstance(x, np.ndarray) or not 0 < len(x) <= MAX_SAMPLES:
        raise ActionError(_("feature_space needs 1 to {count} samples as an array").format(
            count=f"{MAX_SAMPLES:,}"))
    projection = call.body.get("projection", "pca")
    reason = core.unavailable_projection(projection)
    if reason is not None:
        raise ActionError(reason)
    try:
        feats, _outputs = core.features(model, x)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    reply: dict[str, Any] = {"dims": int(feats.shape[1]) if feats.ndim == 2 else 0}
    if projection == "pca":
        reply["xy"] = _projected(feats, "pca", 0)
    else:
        reply["features"] = np.asarray(feats, np.float32)
    return reply


def project(state, call) -> dict:
    """``features`` (N×D) projected to 2-D by ``projection`` (pca, tsne, umap; ``seed``):
    ``xy`` (N×2 float32). No model: numpy and scikit-learn, on the compute lane."""
    feats = call.body.get("features")
    if not isinstance(feats, np.ndarray) or feats.ndim != 2:
        raise ActionError(_("project needs the features as an N×D array"))
    seed = call.body.get("seed", 0)
    return {"xy": _projected(feats, call.body.get("projection", "pca"),
                             seed if type(seed) is int else 0)}


def _projected(feats: np.ndarray, method: str, seed: int) -> np.ndarray:
    from workbench.core.feature_space import project as project_features

    try:
        return np.asarray(project_features(feats, method, seed), np.float32)
    except ValueError as exc:
        raise ActionError(str(exc)) from None


def class_pictures(state, call) -> dict:
    """Per class, the input the model (``spec``/``plain`` + ``weights``) scores highest for it
    (``core.feature_space.class_pictures``, ``steps`` of gradient ascent, default 150):
    ``pictures`` (C, *input shape) float32 in [0, 1]."""
    from workbench.core.feature_space import class_pictures as draw

    model = _own_model(state, call.body)
    steps = call.body.get("steps", 150)
    if type(steps) is not int or not 1 <= steps <= 2000:
        raise ActionError(_("steps is a whole number from 1 to 2000"))
    try:
        return {"pictures": np.asarray(draw(model, steps=steps), np.float32)}
    except ValueError as exc:
        raise ActionError(str(exc)) from None


# name -> (function of (state, call), lane)
REQUESTS = {"explain": (explain, "views"), "activations": (activations, "views"),
            "layers": (layers, "views"), "feature_space": (feature_space, "compute"),
            "class_pictures": (class_pictures, "compute"), "project": (project, "compute")}
