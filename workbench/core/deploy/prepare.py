"""The model a converter is given: what Keras computes at inference, in a form converters take.

- Layers that act only while training (dropout, noise, random augmentation: ``training_only`` in
  the catalogue) are the identity at inference, but their random ops stay in the traced graph, and
  tf2onnx and the TFLite converter refuse those ops. ``inference_model`` puts a Keras ``Identity``
  in their place (the same function at inference; the export's check compares with the original).
- The TFLite calibrator (int8) crashes the process on the recurrent layers' fused while-loop ops
  (LSTM, GRU, SimpleRNN, also inside Bidirectional: measured with TensorFlow 2.21).
  ``unrolled`` gives them ``unroll=True`` (the same weights and maths over a fixed number of time
  steps), which calibrates and runs.
- ``refused_layer`` reads a converter's error text for the layer it names; ``convert`` runs a
  converter (Keras's ``model.export``) and turns its failure into that readable refusal.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from workbench.core.catalogue import CATALOGUE
from workbench.core.deploy import DeployError
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import _, ngettext

RECURRENT = ("LSTM", "GRU", "SimpleRNN")


def _training_only(layer) -> bool:
    ltype = CATALOGUE.get(type(layer).__name__)
    return ltype is not None and ltype.training_only


def _clone(model, replace):
    """``model`` rebuilt with ``replace(layer)`` for every layer (the layer itself, shared, where
    it returns None). None for models Keras cannot clone (subclassed ones)."""
    _tf, keras = load_tensorflow()
    from workbench.core.layers import LAYER_CONSTRUCTION

    def clone_layer(layer):
        new = replace(layer)
        return layer if new is None else new

    with LAYER_CONSTRUCTION:
        try:
            return keras.models.clone_model(model, clone_function=clone_layer)
        except (TypeError, ValueError, NotImplementedError):  # a subclassed model
            return None


def inference_model(model):
    """``model`` with every training-only layer replaced by ``Identity`` (``model`` itself when
    it has none, or when Keras cannot clone it)."""
    if not any(_training_only(layer) for layer in model.layers):
        return model
    _tf, keras = load_tensorflow()
    clone = _clone(model, lambda layer: keras.layers.Identity(name=layer.name)
                   if _training_only(layer) else None)
    return model if clone is None else clone


def _unroll_config(config: dict) -> bool:
    changed = False
    if "unroll" in config and not config["unroll"]:
        config["unroll"] = True
        changed = True
    for key in ("layer", "backward_layer"):  # Bidirectional
        inner = config.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
            changed = _unroll_config(inner["config"]) or changed
    return changed


def has_recurrent(model) -> bool:
    return any(_unroll_config(layer.get_config()) for layer in model.layers)


def unrolled(model):
    """``model`` with its recurrent layers unrolled, carrying the same weights."""
    if not has_recurrent(model):
        return model

    def replace(layer):
        config = layer.get_config()
        if not _unroll_config(config):
            return None
        return type(layer).from_config(config)

    clone = _clone(model, replace)
    if clone is None:
        return model
    clone.set_weights(model.get_weights())
    return clone


def refused_layer(text: str, model) -> str | None:
    """``"name (ClassName)"`` of the model layer a converter's message names, or None.

    Traced op names carry the layer's name as a path part, with Keras's ``_1`` call suffix:
    ``sequential_1/random_flip_1/stateless_random_uniform``.
    """
    found: tuple[int, str] | None = None
    for layer in sorted(model.layers, key=lambda item: -len(item.name)):
        match = re.search(rf"(?:^|[/\[\"' ]){re.escape(layer.name)}(?:_\d+)?/", text)
        if match and (found is None or match.start() < found[0]):
            found = (match.start(), f"{layer.name} ({type(layer).__name__})")
    return None if found is None else found[1]


def refusal(converter: str, text: str, model, way_out: str) -> DeployError:
    """The readable error for a converter that refused part of ``model``."""
    ops = sorted(set(re.findall(r"Tensorflow op \[[^\]]*: (\w+)\] is not supported", text))
                 | set(re.findall(r"'tf\.(\w+)' op is neither", text)))
    layer = refused_layer(text, model)
    what = _("layer {name}").format(name=layer) if layer else _("this model")
    detail = " " + ngettext("(no {converter} equivalent for the TensorFlow op {ops})",
                            "(no {converter} equivalent for the TensorFlow ops {ops})",
                            len(ops)).format(converter=converter, ops=", ".join(ops)) if ops else ""
    if not ops and not layer:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), _("it failed"))
        detail = f": {first[:200]}"
    return DeployError(_("the {converter} converter cannot convert {what}{detail}: "
                         "{way_out}").format(
                           converter=converter, what=what, detail=detail,
                           way_out=way_out))


def convert(source, path: str | os.PathLike, fmt: str, converter: str, way_out: str,
            failed_in_log=lambda text: False, **options) -> None:
    """``source.export(path, format=fmt, **options)`` with the converter's log captured (never
    printed). When it raises (ImportError aside: a missing converter is the caller's message) or
    its log says it failed (``failed_in_log``), the file it left is removed and the DeployError
    names the layer it refused."""
    from workbench.core.deploy.quiet import captured

    with warnings.catch_warnings(), captured() as lines:
        warnings.simplefilter("ignore")  # the converters' own deprecations, not the user's
        try:
            source.export(str(path), format=fmt, verbose=False, **options)
            failed = False
        except ImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - the converters raise all kinds
            lines.append(str(exc))
            failed = True
    text = "\n".join(lines)
    if failed or failed_in_log(text):
        Path(path).unlink(missing_ok=True)
        raise refusal(converter, text, source, way_out)
