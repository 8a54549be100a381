"""The Draw tab's second opinion: an exported model (ONNX or TFLite, e.g. int8) answering the same
drawing beside Keras, live, so a learner sees what conversion and quantisation change.

The export's bytes go to the engine (``open_deployed``), which loads it into its runtime
(onnxruntime, or LiteRT after a child process has tried the file) under a handle of this view's;
each drawing then asks it for one answer (``predict_deployed``, about a millisecond). The window
itself loads no runtime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5 import sip
from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.core.safe_io import FileRefused, read_bytes
from workbench.engine.client import EngineError
from workbench.engine.files import as_bytes
from workbench.engine.protocol import new_id
from workbench.i18n import N_, _
from workbench.ui.draw.prediction import PredictionView

# The box's first and last items (their data; shown translated).
KERAS_ONLY = N_("Keras only")
OPEN_ITEM = N_("Open an exported model…")
EXPORT_FILTER = N_("Exported models (*.onnx *.tflite)")
ANSWER_TIMEOUT_S = 10.0  # an answer takes about a millisecond; a first one may wait for a load


def read_export_output(output: np.ndarray) -> np.ndarray:
    """Class probabilities from an export's output for one digit. An int8 softmax comes back in
    steps of 1/256, so its row sums to 1 only within a few thousandths: read as logits it would be
    softmaxed a second time (flattened towards uniform); it is renormalised instead."""
    from workbench.actions.predict import read_output

    v = np.asarray(output, dtype=np.float64).reshape(-1)
    if v.size > 1 and np.isfinite(v).all() and v.min() >= 0 and abs(v.sum() - 1.0) < 0.02:
        return v / v.sum()
    return read_output(v)[0]


def describe(path: Path) -> str:
    """``digits-int8.tflite (TFLite)``: how the choice reads in the box."""
    kind = {".onnx": "ONNX", ".tflite": "TFLite"}.get(path.suffix.lower(), _("export"))
    return f"{path.name} ({kind})"


class DeployedAnswer(QWidget):
    """The choice of exported model, and its answer (bars) for the current drawing."""

    ready = pyqtSignal()  # a runtime was loaded (or dropped): the drawing should be asked again

    def __init__(self, parent: QWidget | None = None, link=None):
        """``link``: the window's EngineLink, which loads and runs the export."""
        super().__init__(parent)
        self.setObjectName("deployedAnswer")
        self.link = link
        self.runtime: str | None = None  # the runtime's name, once the engine has loaded it
        self.path: Path | None = None
        self.last_latency_ms: float | None = None
        self.folder: Path | None = None  # of the newest export offered (not the project's)
        self._handle: str | None = None  # the engine's name for the export loaded
        self._loading: str | None = None
        self._stale = False  # the engine restarted: what it held is gone
        if link is not None:
            link.state_changed.connect(self._on_engine_state_changed)

        self.box = QComboBox(objectName="deployedModelBox")
        for item in (KERAS_ONLY, OPEN_ITEM):
            self.box.addItem(_(item), item)
        self.box.setToolTip(_("Also run the drawing through an exported model (ONNX or TFLite, "
                              "e.g. int8), in its own runtime, beside Keras's answer"))
        self.box.activated.connect(self._on_activated)
        self.title = QLabel("", self, objectName="deployedTitle")
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self.view = PredictionView(self)
        self.view.setObjectName("deployedPredictionView")
        self.comparison = QLabel("", self, objectName="deployedComparison")
        self.comparison.setWordWrap(True)
        self.comparison.setStyleSheet("color: #555;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.comparison)
        self.setVisible(False)  # shown while an export is chosen

        # The box, for the panel to place above the answers (it is reparented there).
        self.chooser = QWidget(parent)
        row = QHBoxLayout(self.chooser)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(_("Compare with"), self.chooser))
        row.addWidget(self.box, 1)

    # The choice ----------------------------------------------------------------------------------

    def add_model(self, path: str | Path, select: bool = True) -> None:
        """Offer an export in the box (the newest first); ``select``: load it now."""
        path = Path(path)
        if path.suffix.lower() not in (".onnx", ".tflite"):
            return
        self.folder = path.parent  # where "Open an exported model…" starts
        index = self.box.findData(str(path))
        if index < 0:
            self.box.insertItem(1, describe(path), str(path))
            index = 1
        if select:
            self.box.setCurrentIndex(index)
            self._load(str(path))

    def forget_models(self) -> None:
        """Another project is open: the exports offered were made from the model that went, so
        they go too, and the answer is Keras's alone again."""
        while self.box.count() > 2:
            self.box.removeItem(1)
        self.box.setCurrentIndex(0)
        if self.runtime is not None or self._loading is not None or self.isVisible():
            self._drop()

    def _on_activated(self, index: int) -> None:
        choice = self.box.itemData(index)
        if choice == OPEN_ITEM:
            path, _kind = QFileDialog.getOpenFileName(self, _("Compare with an exported model"),
                                                      str(self.folder or ""), _(EXPORT_FILTER))
            if path:
                self.add_model(path)
            else:
                self.box.setCurrentIndex(self.box.findData(str(self.path)) if self.path else 0)
            return
        if choice == KERAS_ONLY:
            self._drop()
            return
        self._load(self.box.itemData(index))

    def _drop(self) -> None:
        self._release()
        self.runtime, self.path, self._loading = None, None, None
        self.setVisible(False)
        self.ready.emit()

    def _release(self) -> None:
        if self._handle is not None and self.link is not None:
            self.link.ask("release_deployed", {"handle": self._handle})
        self._handle = None

    def _load(self, path: str) -> None:
        self._release()
        self.runtime = None
        self._loading = path
        self.title.setText(_("{name}: loading…").format(name=Path(path).name))
        self.view.show_hint(_("Loading the exported model…"))
        self.comparison.setText("")
        self.setVisible(True)
        kind = {".onnx": _("ONNX file"), ".tflite": _("TFLite file")}.get(
            Path(path).suffix.lower(), _("exported model"))
        try:
            data = read_bytes(path, "model", kind)
        except FileRefused as exc:
            self._on_failed(path, str(exc))
            return
        if self.link is None:
            self._on_failed(path, _("There is no engine to run the exported model."))
            return
        handle = f"deployed-{new_id()}"
        self.link.ask("open_deployed", {"file": as_bytes(data), "name": Path(path).name,
                                        "where": str(path), "handle": handle},
                      lambda reply, error, p=path, h=handle: self._on_opened(p, h, reply, error))

    def _on_opened(self, path: str, handle: str, reply: dict | None, error: str) -> None:
        if sip.isdeleted(self) or path != self._loading:
            if not error:  # another choice came meanwhile: this one is not kept
                self.link.ask("release_deployed", {"handle": handle})
            return
        if error:
            self._on_failed(path, error)
            return
        self._handle = handle
        self.runtime, self.path, self._loading = reply["runtime"], Path(path), None
        self.title.setText(_("{model} in {runtime}").format(model=describe(self.path),
                                                           runtime=self.runtime))
        self.ready.emit()

    def _on_engine_state_changed(self, state: str, _detail: str) -> None:
        if state in ("restarting", "failed"):
            self._stale = True
        elif state == "ready" and self._stale:
            self._stale = False
            if self._handle is not None and self.path is not None:
                self._handle = None  # the new engine holds none: load it there again
                self._load(str(self.path))

    def _on_failed(self, path: str, text: str) -> None:
        if path != self._loading:
            return
        self.runtime, self.path, self._loading = None, None, None
        self.title.setText(Path(path).name)
        self.view.show_hint(text)
        self.comparison.setText("")

    @property
    def loading(self) -> bool:
        return self._loading is not None

    # The answer ----------------------------------------------------------------------------------

    def predict(self, digit28: np.ndarray) -> np.ndarray | None:
        """The export's raw output for one preprocessed digit, from the engine (None without
        one loaded; ValueError with the engine's line when it cannot answer)."""
        if self.runtime is None or self._handle is None:
            return None
        try:
            reply = self.link.request("predict_deployed", {
                "handle": self._handle, "digit": np.asarray(digit28, np.float32)},
                timeout=ANSWER_TIMEOUT_S)
        except (EngineError, TimeoutError) as exc:
            raise ValueError(str(exc)) from None
        self.last_latency_ms = float(reply["latency_ms"])
        return np.asarray(reply["output"]).reshape(-1)

    def answer(self, digit28: np.ndarray | None, keras_probs: np.ndarray | None,
               class_names: list[str]) -> None:
        """Answer ``digit28`` beside Keras's ``keras_probs`` (None: nothing to compare)."""
        if self.runtime is None or self.loading:
            return
        if digit28 is None:
            self.view.show_hint(_("Draw a digit"))
            self.comparison.setText("")
            return
        try:
            probs = read_export_output(self.predict(digit28))
        except (ValueError, RuntimeError) as exc:
            self.view.show_hint(
                _("The exported model could not run on this drawing: {reason}").format(reason=exc))
            self.comparison.setText("")
            return
        self.view.show_probabilities(probs, class_names if len(class_names) == len(probs)
                                     else [str(i) for i in range(len(probs))])
        if keras_probs is None or len(keras_probs) != len(probs):
            self.comparison.setText(f"{self.last_latency_ms:.2f} ms")  # not translated: a unit
            return
        same = int(np.argmax(probs)) == int(np.argmax(keras_probs))
        diff = float(np.max(np.abs(np.asarray(keras_probs) - probs)))
        verdict = _("the same class as Keras") if same else _("NOT Keras's class")
        self.comparison.setText(
            _("{verdict}; largest probability difference {diff}; {ms} ms in {runtime}").format(
                verdict=verdict, diff=f"{diff:.4f}", ms=f"{self.last_latency_ms:.2f}",
                runtime=self.runtime))
