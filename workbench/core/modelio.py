"""Load and save Keras models safely: ``safe_mode`` stays on, every failure is one readable line."""

from __future__ import annotations

import json
import os
import re
import warnings
import zipfile
from pathlib import Path

from workbench.core.atomic import replacing
from workbench.core.errors import plain_text, reason_lines
from workbench.core.safe_hdf5 import check_hdf5, check_hdf5_member
from workbench.core.safe_io import (
    FileRefused,
    GiB,
    MiB,
    check_fits_memory,
    check_regular,
    check_zip_members,
    open_zip,
    shown,
)
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import N_, _

# Keras warns when a file's optimizer state does not match the freshly compiled optimizer. We only
# read the compile settings from a file (runs start with a fresh optimizer), so the warning would
# be terminal noise about nothing a user can act on.
warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer",
                        category=UserWarning)


class ModelFileError(Exception):
    """One readable sentence on why a model file cannot be used. ``refused``: the file itself
    is refused (missing, not a regular file, unsafe), whatever it is loaded for."""

    def __init__(self, message: str, refused: bool = False):
        super().__init__(message)
        self.refused = refused


# What a .keras archive's members may declare before Keras inflates them.
_CONFIG_LIMIT = 64 * MiB  # config.json / metadata.json: the architecture, as text
_ASSETS_LIMIT = 1 * GiB  # assets/: Keras writes them all to the temporary folder


def check_keras_archive(path: Path) -> None:
    """Refuse a ``.keras`` zip before Keras opens it: members outside its folder (``../``), a
    config that would inflate to gigabytes, assets larger than the temporary folder can take,
    contents larger than the free memory."""
    import shutil
    import tempfile

    try:
        with open_zip(path, "model", N_(".keras file (a Keras zip archive)")) as archive:
            members = check_zip_members(path, archive, N_(".keras file"))
            for info in members:
                if info.filename.endswith(".h5"):  # the weights, read by h5py
                    check_hdf5_member(path, archive, info, N_(".keras file"))
    except FileRefused as exc:
        raise ModelFileError(str(exc)) from None
    names = {info.filename for info in members}
    if "config.json" not in names:
        raise ModelFileError(_("{path}: not a valid .keras file (it has no config.json)").format(
                                 path=shown(path)))
    for info in members:
        if info.filename in ("config.json", "metadata.json") and info.file_size > _CONFIG_LIMIT:
            raise ModelFileError(
                _("{path}: refused: its {member} would inflate to {size:.1f} GiB "
                  "(a model's description is megabytes at most)").format(
                    path=shown(path), member=info.filename, size=info.file_size / GiB))
    assets = sum(i.file_size for i in members if i.filename.startswith("assets/"))
    free_disk = shutil.disk_usage(tempfile.gettempdir()).free
    if assets > min(_ASSETS_LIMIT, free_disk // 2):
        raise ModelFileError(_("{path}: refused: its assets would write {assets:.1f} "
                               "GiB to the temporary folder").format(
                                 path=shown(path), assets=assets / GiB))
    try:
        check_fits_memory(path, sum(i.file_size for i in members), N_("the model"))
    except FileRefused as exc:
        raise ModelFileError(str(exc)) from None


def _load_failure(path: Path, exc: BaseException) -> ModelFileError:
    """Keras's reason as one line of ours."""
    text = plain_text(exc)
    where = shown(path)
    if "TFSMLayer" in text:
        return ModelFileError(
            _("{where}: refused: the model loads an external SavedModel (a TFSMLayer), "
              "which can run code from outside the file. Only open it with Keras "
              "directly if you trust it.").format(where=where), refused=True)
    if "safe_mode" in text or "Lambda" in text or "lambda" in text:
        return ModelFileError(
            _("{where}: refused: loading this model would run Python code stored in the "
              "file (a Lambda layer). Only open it with Keras directly if you trust its "
              "source.").format(where=where), refused=True)
    if "Could not locate" in text or "Unknown layer" in text or "custom" in text.lower():
        return ModelFileError(_("{where}: uses custom layers or functions that are not "
                                "part of Keras; it cannot be opened safely").format(
                                  where=where))
    unsafe = re.search(r"Not allowed: ([^;\n]+)", text)
    if unsafe:  # Keras's own guard on the weights file inside a .keras (bombs, links out)
        return ModelFileError(_("{where}: refused: its weights file is unsafe ({reason})").format(
                                  where=where, reason=shown(unsafe[1].strip().rstrip("."))),
                              refused=True)
    if "could not be loaded" in text and "Example error message" in text:
        after = text.split("Example error message", 1)[1].split("\n")
        reason = next((ln.strip() for ln in after[1:] if ln.strip()), "")
        return ModelFileError(_("{where}: the weights stored in the file do not fit its "
                                "layers").format(where=where)
                              + (f" ({shown(reason)})" if reason else ""))
    legacy = re.search(r"Shape mismatch in layer #\d+ \(named (.+?)\).*?expects shape "
                       r"(\(.*?\))\. Received saved weight with shape (\(.*?\))", text, re.S)
    if legacy:  # a legacy .h5's words for the same thing
        return ModelFileError(_("{where}: the weights stored in the file do not fit its "
                                "layers (layer {layer} expects {expects}, the file "
                                "holds {holds})").format(
                                  where=where, layer=shown(legacy[1]),
                                  expects=legacy[2], holds=legacy[3]))
    if isinstance(exc, json.JSONDecodeError):
        return ModelFileError(_("{where}: its model description is not valid JSON ({exc})").format(
                                  where=where, exc=exc))
    if isinstance(exc, (MemoryError, RecursionError)):
        return ModelFileError(_("{where}: refused: the model is too large or too deeply "
                                "nested to load").format(where=where), refused=True)
    return ModelFileError(_("{where}: could not be loaded ({reason})").format(
                              where=where, reason=shown(reason_lines(exc)[0])))


def load_model(path: str | os.PathLike, compile: bool = True):
    """Load a ``.keras`` (or legacy ``.h5``) file without ever running code from it."""
    path = Path(path)
    suffix = path.suffix.lower()
    what = N_(".keras model file") if suffix == ".keras" else (
        N_("legacy .h5 model file") if suffix in (".h5", ".hdf5") else N_("Keras model file"))
    try:
        check_regular(path, "model", what)
    except FileRefused as exc:
        raise ModelFileError(str(exc), refused=True) from None
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(_("{path}: expected a .keras (or legacy .h5) model file").format(
                                 path=shown(path)))
    if suffix == ".keras":
        if not zipfile.is_zipfile(path):
            raise ModelFileError(_("{path}: not a valid .keras file (it is not a Keras "
                                   "zip archive)").format(path=shown(path)))
        try:
            check_keras_archive(path)
        except ModelFileError as exc:  # the archive itself, before Keras reads it
            exc.refused = True
            raise
    else:
        try:
            check_hdf5(path, "model", what)
        except FileRefused as exc:
            raise ModelFileError(str(exc), refused=True) from None
    from workbench.core.layers import LAYER_CONSTRUCTION

    _tf, keras = load_tensorflow()
    try:
        with LAYER_CONSTRUCTION, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Keras's extra lines on odd members
            return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for bad files
        raise _load_failure(path, exc) from None


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

    _tf, keras = load_tensorflow()
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model), default=str))


def model_from_plain(config: dict, weights: list | None = None):
    """A new Keras model from ``model_to_plain``'s data (safe_mode on), with ``weights``."""
    import copy

    from workbench.core.layers import LAYER_CONSTRUCTION

    _tf, keras = load_tensorflow()
    with LAYER_CONSTRUCTION:  # on a copy: Keras empties the config it deserializes
        model = keras.saving.deserialize_keras_object(copy.deepcopy(config), safe_mode=True)
    if weights is not None:
        model.set_weights(weights)
    return model
