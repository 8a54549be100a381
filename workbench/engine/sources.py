"""What an engine request names, made real: its model (``spec`` or ``plain`` with ``weights``)
built, its dataset loaded, a model as a ``.keras`` file's bytes; and the error a request that
cannot be served as asked raises (one readable line). Shared by the request modules."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from workbench.i18n import _


class EngineRequestError(Exception):
    """A request the engine cannot serve as asked (one readable line)."""


def given(body: dict) -> tuple[tuple, list | None]:
    """The model a body gives as data: ``(("spec"|"plain", data), weights)``."""
    if "spec" in body:
        return ("spec", body["spec"]), body.get("weights")
    if "plain" in body:
        return ("plain", body["plain"]), body.get("weights")
    raise EngineRequestError(_("the request gives no model (handle, spec or plain)"))


def build(source: tuple, weights: list | None):
    """A Keras model of ``source`` (see ``given``) holding ``weights``."""
    kind, data = source
    if kind == "spec":
        from workbench.core.build import build_model
        from workbench.core.spec import ModelSpec

        model = build_model(ModelSpec.from_dict(data), name="inference")
    else:
        from workbench.core.modelio import model_from_plain

        model = model_from_plain(data)
    if weights is not None:
        model.set_weights([np.asarray(w) for w in weights])
    return model


def dataset(body: dict, seed: int | None):
    """The dataset a body names (``dataset``, or a file sent before: ``dataset_hash``), cut to
    ``subset`` when given (one ``Dataset.subset`` call's arguments, or a list of them: the calls
    that cut the caller's copy, ``ui.engine_data.named_body``)."""
    from workbench.core.datasets import load_dataset

    name = body.get("dataset")
    if not isinstance(name, str):
        raise EngineRequestError(_("the request names no dataset"))
    if body.get("dataset_hash") is not None:  # a file the caller sent (engine.datacache)
        from workbench.engine.datacache import cached_path

        name = str(cached_path(body["dataset_hash"]))
    data = load_dataset(name, seed=seed or 0, allow_download=bool(body.get("download", True)))
    subset = body.get("subset")
    if subset:  # one subset call's arguments, or the list of the caller's calls in order
        if not isinstance(subset, list) or not all(isinstance(n, (int, list)) for n in subset):
            raise EngineRequestError(_("subset is a list of subset calls (n_train, n_test, "
                                       "seed)"))
        for args in subset if isinstance(subset[0], list) else [subset]:
            data = data.subset(*[int(n) for n in args])
    return data


def keras_bytes(model) -> np.ndarray:
    """``model`` saved as a ``.keras`` file, as the uint8 array that carries it."""
    from workbench.core.modelio import save_model

    with tempfile.TemporaryDirectory(prefix="workbench-engine-") as folder:
        path = save_model(model, os.path.join(folder, "trained.keras"))
        return np.fromfile(path, dtype=np.uint8)
