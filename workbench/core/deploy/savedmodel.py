"""SavedModel (for TF Serving): written by Keras (``model.export(format="tf_saved_model")``),
reloaded with ``tf.saved_model.load`` and run through its ``serve`` endpoint.

A SavedModel is a folder. ``replacing_folder`` writes it beside the target and swaps it in, so a
failed export leaves the old folder (or none), never half of one. A folder is replaced only when it
holds our manifest (``workbench-export.json``: every file and folder we wrote) and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from workbench.core.deploy import DeployError
from workbench.core.deploy.prepare import inference_model
from workbench.core.deploy.quiet import captured
from workbench.core.safe_io import FileRefused, read_text, shown
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import N_, _

MANIFEST = "workbench-export.json"
MANIFEST_FORMAT = "workbench-export/1"


def is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file()


def _entries(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _not_ours(path: Path) -> str | None:
    """Why the Workbench may not replace what is at ``path`` (None: nothing, an empty folder, or
    an export of ours that nobody added to)."""
    if path.is_symlink():
        return _("is a link (links are not followed where the Workbench writes)")
    if not path.exists():
        return None
    if not path.is_dir():
        return _("is a file, not a SavedModel folder")
    present = _entries(path)
    if not present:
        return None
    try:
        manifest = json.loads(read_text(path / MANIFEST, "json", N_("export manifest")))
        listed = set(manifest["files"]) if manifest.get("format") == MANIFEST_FORMAT else None
    except (FileRefused, ValueError, TypeError, KeyError, AttributeError):
        listed = None
    if listed is None:
        return _("is a folder the Workbench did not write (it has no {manifest})").format(
                   manifest=MANIFEST)
    extra = sorted(present - listed - {MANIFEST})
    if extra:
        return (_("holds files the Workbench did not write ({files})").format(
                    files=", ".join(map(shown, extra[:3])) + (", ..." if len(extra) > 3 else "")))
    return None


def check_replaceable(path: Path) -> None:
    """DeployError unless ``path`` is missing, an empty folder or an export of ours."""
    why = _not_ours(path)
    if why:
        raise DeployError(_("{path}: {why}; nothing was changed: choose a new or empty "
                            "folder").format(path=shown(path), why=why))


@contextmanager
def replacing_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary folder beside ``path``; when the block succeeds it becomes ``path``,
    with our manifest.

    ``path`` may be missing, an empty folder or an export of ours (which is replaced); anything
    else there is refused before anything is written (we never delete what we did not write).
    """
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        manifest = {"format": MANIFEST_FORMAT, "files": sorted(_entries(tmp))}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp / MANIFEST, 0o644)
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_saved_model(model, path: str | os.PathLike) -> None:
    """Write ``model``'s inference function as a SavedModel into the (new) folder ``path``."""
    tf, _keras = load_tensorflow()
    source = inference_model(model)
    shape = tuple(source.inputs[0].shape[1:])
    with captured() as lines:
        try:
            source.export(str(path), format="tf_saved_model", verbose=False,
                          input_signature=[tf.TensorSpec((None, *shape), tf.float32,
                                                         name="input")])
            failed = None
        except Exception as exc:  # noqa: BLE001
            failed = exc
    if failed is not None:
        text = "\n".join([str(failed), *lines])
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), _("it failed"))
        raise DeployError(_("the SavedModel could not be written: {first}").format(
                              first=first[:200]))


class SavedModelRuntime:
    """A SavedModel folder reloaded by TensorFlow, called through its ``serve`` endpoint."""

    runtime = "TensorFlow (SavedModel)"

    def __init__(self, path: str | os.PathLike):
        tf, _keras = load_tensorflow()
        self.path = Path(path)
        if not is_saved_model(self.path):
            raise DeployError(_("{path}: not a SavedModel folder (no saved_model.pb in "
                                "it)").format(path=path))
        try:
            with captured():
                self._loaded = tf.saved_model.load(str(path))
        except Exception as exc:  # noqa: BLE001
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise DeployError(_("{path}: TensorFlow cannot load it ({first})").format(
                                  path=path, first=first[:200])) from None
        self._serve = getattr(self._loaded, "serve", None)
        if self._serve is None:
            raise DeployError(_("{path}: the SavedModel has no serve endpoint").format(
                                  path=path))
        self._tf = tf

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self._serve(self._tf.constant(np.asarray(batch, dtype=np.float32)))
        if isinstance(out, dict):
            out = next(iter(out.values()))
        if isinstance(out, (list, tuple)):
            out = out[0]
        return np.asarray(out)

    def close(self) -> None:
        self._loaded = self._serve = None
