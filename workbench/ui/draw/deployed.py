"""The Draw tab's second opinion: an exported model (ONNX or TFLite, e.g. int8) answering the same
drawing beside Keras, live, so a learner sees what conversion and quantisation change.

The export is loaded into its runtime (onnxruntime or the LiteRT interpreter) once, by a task of
the task runner (importing the runtime takes a moment); each drawing then costs one call of a
fraction of a millisecond on the GUI thread. No Keras here: the runtimes hold plain arrays.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.core import digits
from workbench.ui.draw.prediction import PredictionView

KERAS_ONLY = "Keras only"
OPEN_ITEM = "Open an exported model…"
EXPORT_FILTER = "Exported models (*.onnx *.tflite)"


def _load_runtime(_state, path: str):
    """The task: the export in its runtime, called once so the first drawing is not the one that
    waits for the runtime's lazy set-up."""
    from workbench.core.deploy import open_runtime

    runtime = open_runtime(path)
    try:
        runtime.run(np.zeros((1, *runtime.input_shape), np.float32))
    except Exception:  # noqa: BLE001 - a shape it cannot take is reported at the first drawing
        pass
    return runtime


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
    kind = {".onnx": "ONNX", ".tflite": "TFLite"}.get(path.suffix.lower(), "export")
    return f"{path.name} ({kind})"


class DeployedAnswer(QWidget):
    """The choice of exported model, and its answer (bars) for the current drawing."""

    ready = pyqtSignal()  # a runtime was loaded (or dropped): the drawing should be asked again

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("deployedAnswer")
        self.runtime = None
        self.path: Path | None = None
        self.last_latency_ms: float | None = None
        self.folder: Path | None = None  # of the newest export offered (not the project's)
        self._runner = None
        self._loading: str | None = None

        self.box = QComboBox(objectName="deployedModelBox")
        self.box.addItems([KERAS_ONLY, OPEN_ITEM])
        self.box.setToolTip("Also run the drawing through an exported model (ONNX or TFLite, "
                            "e.g. int8), in its own runtime, beside Keras's answer")
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
        row.addWidget(QLabel("Compare with", self.chooser))
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
        text = self.box.itemText(index)
        if text == OPEN_ITEM:
            path, _ = QFileDialog.getOpenFileName(self, "Compare with an exported model",
                                                  str(self.folder or ""), EXPORT_FILTER)
            if path:
                self.add_model(path)
            else:
                self.box.setCurrentIndex(self.box.findData(str(self.path)) if self.path else 0)
            return
        if text == KERAS_ONLY:
            self._drop()
            return
        self._load(self.box.itemData(index))

    def _drop(self) -> None:
        self.runtime, self.path, self._loading = None, None, None
        self.setVisible(False)
        self.ready.emit()

    def _load(self, path: str) -> None:
        from workbench.ui.tasks import TaskRunner

        if self._runner is None:
            self._runner = TaskRunner(self)
        self._loading = path
        self.title.setText(f"{Path(path).name}: loading…")
        self.view.show_hint("Loading the exported model…")
        self.comparison.setText("")
        self.setVisible(True)
        self._runner.start(_load_runtime, path, name="deployed-runtime",
                           on_result=lambda runtime, p=path: self._on_loaded(p, runtime),
                           on_error=lambda text, p=path: self._on_failed(p, text))

    def _on_loaded(self, path: str, runtime) -> None:
        if path != self._loading:
            return  # another choice came meanwhile
        self.runtime, self.path, self._loading = runtime, Path(path), None
        self.title.setText(f"{describe(self.path)} in {runtime.runtime}")
        self.ready.emit()

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
        """The export's raw output for one preprocessed digit (None without a runtime)."""
        if self.runtime is None:
            return None
        start = time.perf_counter()
        output = self.runtime.run(digits.fit_to_input(digit28, self.runtime.input_shape))
        self.last_latency_ms = (time.perf_counter() - start) * 1000.0
        return np.asarray(output).reshape(-1)

    def answer(self, digit28: np.ndarray | None, keras_probs: np.ndarray | None,
               class_names: list[str]) -> None:
        """Answer ``digit28`` beside Keras's ``keras_probs`` (None: nothing to compare)."""
        if self.runtime is None or self.loading:
            return
        if digit28 is None:
            self.view.show_hint("Draw a digit")
            self.comparison.setText("")
            return
        try:
            probs = read_export_output(self.predict(digit28))
        except (ValueError, RuntimeError) as exc:
            self.view.show_hint(f"The exported model could not run on this drawing: {exc}")
            self.comparison.setText("")
            return
        self.view.show_probabilities(probs, class_names if len(class_names) == len(probs)
                                     else [str(i) for i in range(len(probs))])
        if keras_probs is None or len(keras_probs) != len(probs):
            self.comparison.setText(f"{self.last_latency_ms:.2f} ms")
            return
        same = int(np.argmax(probs)) == int(np.argmax(keras_probs))
        diff = float(np.max(np.abs(np.asarray(keras_probs) - probs)))
        verdict = "the same class as Keras" if same else "NOT Keras's class"
        self.comparison.setText(f"{verdict}; largest probability difference {diff:.4f}; "
                                f"{self.last_latency_ms:.2f} ms in {self.runtime.runtime}")
