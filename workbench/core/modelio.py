"""Load and save Keras models safely: ``safe_mode`` stays on, every failure is one readable line."""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

from workbench.core.atomic import replacing
from workbench.core.tf_loader import load_tensorflow

# Keras warns when a file's optimizer state does not match the freshly compiled optimizer. We only
# read the compile settings from a file (runs start with a fresh optimizer), so the warning would
# be terminal noise about nothing a user can act on.
warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer",
                        category=UserWarning)


class ModelFileError(Exception):
    """One readable sentence on why a model file cannot be used."""


def load_model(path: str | os.PathLike, compile: bool = True):
    """Load a ``.keras`` (or legacy ``.h5``) file without ever running code from it."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder; expected a .keras model file")
    suffix = path.suffix.lower()
    if suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a valid .keras file (it is not a Keras zip archive)")
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(f"{path}: expected a .keras (or legacy .h5) model file")
    from workbench.core.layers import LAYER_CONSTRUCTION

    _, keras = load_tensorflow()
    try:
        with LAYER_CONSTRUCTION:
            return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for bad files
        text = str(exc)
        if "safe_mode" in text or "Lambda" in text:
            raise ModelFileError(
                f"{path}: refused: loading this model would run Python code stored in the file "
                "(a Lambda layer). Only open it with Keras directly if you trust its source."
            ) from None
        if "Could not locate" in text or "Unknown layer" in text or "custom" in text.lower():
            raise ModelFileError(
                f"{path}: uses custom layers or functions that are not part of Keras; "
                "it cannot be opened safely"
            ) from None
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
        raise ModelFileError(f"{path}: could not be loaded ({first})") from None


def save_model(model, path: str | os.PathLike) -> Path:
    """Save as ``.keras`` through a temporary file so a crash never leaves half a file."""
    path = Path(path)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    with replacing(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def model_to_plain(model) -> dict:
    """A Keras model's architecture as plain JSON-able data (read on the model's own thread), for
    another thread to build its own copy with ``model_from_plain``."""
    import json

    _, keras = load_tensorflow()
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model), default=str))


def model_from_plain(config: dict, weights: list | None = None):
    """A new Keras model from ``model_to_plain``'s data (safe_mode on), with ``weights``."""
    import copy

    from workbench.core.layers import LAYER_CONSTRUCTION

    _, keras = load_tensorflow()
    with LAYER_CONSTRUCTION:  # on a copy: Keras empties the config it deserializes
        model = keras.saving.deserialize_keras_object(copy.deepcopy(config), safe_mode=True)
    if weights is not None:
        model.set_weights(weights)
    return model
