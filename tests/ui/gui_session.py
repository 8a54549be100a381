"""A whole GUI session in a fresh interpreter, for tests/ui/test_no_tensorflow_in_window.py:
``python tests/ui/gui_session.py FOLDER`` opens a project (a tiny .npz of digits), edits its
model, trains one epoch, evaluates, draws a digit and gets its probabilities, exports the
model as .keras and ONNX, and sweeps one trial, all through the window with the real, spawned
engine. It prints one
JSON line: the steps done, the first failure, and which of TensorFlow, Keras, onnxruntime,
LiteRT, tf2onnx, TFLite are in the window's ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

HEAVY = ("tensorflow", "keras", "onnxruntime", "ai_edge_litert", "tf2onnx", "tflite_runtime")
STEP_TIMEOUT_S = float(os.environ.get("WORKBENCH_SESSION_STEP_S", "240"))


def heavy_modules() -> list[str]:
    return sorted(name for name in sys.modules if name.split(".")[0] in HEAVY)


class _Witness:
    """A finder that finds nothing: it notes, for each of HEAVY, where our code first imported
    it (the workbench frames of the stack), so a failure names the module to move."""

    def __init__(self) -> None:
        self.first: dict[str, list[str]] = {}

    def find_spec(self, name, path=None, target=None):
        root = name.split(".")[0]
        if root in HEAVY and root not in self.first:
            self.first[root] = [f"{f.filename.rpartition('/workbench/')[2]}:{f.lineno} {f.name}"
                                for f in traceback.extract_stack()
                                if "/workbench/" in f.filename and "/tests/" not in f.filename]
        return None


WITNESS = _Witness()
sys.meta_path.insert(0, WITNESS)


def main(folder: Path) -> dict:
    import numpy as np
    from PyQt5.QtCore import QEvent, QPointF, Qt
    from PyQt5.QtGui import QMouseEvent
    from PyQt5.QtWidgets import QApplication, QMessageBox

    app = QApplication(["workbench-session"])
    messages: list[str] = []
    QMessageBox.information = lambda *a, **k: messages.append(str(a[2]))
    QMessageBox.warning = lambda *a, **k: messages.append(str(a[2]))

    from workbench.core.datasets import load_dataset
    from workbench.core.project import Project, save_project
    from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
    from workbench.ui.main_window import MainWindow
    from workbench.ui.project_actions import ProjectActions

    steps: list[str] = []
    result = {"steps": steps, "failed": "", "messages": messages}

    def wait(condition, what: str, timeout: float = STEP_TIMEOUT_S) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError(f"{what}: not within {timeout:g} s")
            app.processEvents()
            time.sleep(0.01)

    digits = load_dataset("mnist-embedded").subset(240, 60)
    data = folder / "digits.npz"
    np.savez(data, x_train=(digits.x_train * 255).astype(np.uint8), y_train=digits.y_train,
             x_test=(digits.x_test * 255).astype(np.uint8), y_test=digits.y_test)
    L = LayerSpec.create
    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=8, activation="relu"),
                                L("Dense", units=10, activation="softmax")])
    config = TrainConfig(epochs=1, batch_size=32, validation_split=0.2, seed=1)
    project = folder / "digits.json"
    save_project(Project(spec, config, str(data), name="digits"), project)
    ProjectActions.ask_unsaved = lambda self: "discard"
    ProjectActions.ask_save_path = lambda self, *args: str(folder / "exported.keras")

    w = MainWindow()
    w.show()
    try:
        wait(lambda: w.state.engine.loaded, "the engine started")
        steps.append("engine")
        assert w.project_actions.open_path(project), messages
        wait(lambda: w.state.data.dataset is not None and w.state.inspection is not None,
             "the project opened")
        steps.append("open")
        edited = w.state.spec.copy()
        edited.layers[1].config["units"] = 12
        w.state.set_model(edited, text="Units")
        wait(lambda: w.state.inspection is not None and w.state.inspection.ok
             and w.state.inspection.total_params == 784 * 12 + 12 + 12 * 10 + 10,
             "the edit inspected")
        steps.append("edit")
        finished = []
        w.training_panel.training_finished.connect(finished.append)
        assert w.training_panel.start_training(), w.training_panel.train_blocker()
        wait(lambda: finished, "one epoch trained")
        assert finished[0].result.status == "completed", finished[0].result.message
        wait(lambda: w.state.trained.has_model, "the trained model")
        steps.append("train")
        w.tabs.setCurrentWidget(w.evaluation_panel)
        wait(lambda: w.evaluation_panel.result is not None, "the evaluation")
        steps.append("evaluate")
        w.tabs.setCurrentWidget(w.draw_panel)
        canvas = w.draw_panel.canvas
        points = [(80 + 120 * t, 70) for t in np.linspace(0, 1, 12)] + [
            (200 - 80 * t, 70 + 150 * t) for t in np.linspace(0, 1, 16)]  # a 7
        for kind, (x, y), buttons in ([(QEvent.MouseButtonPress, points[0], Qt.LeftButton)]
                                      + [(QEvent.MouseMove, p, Qt.LeftButton)
                                         for p in points[1:]]
                                      + [(QEvent.MouseButtonRelease, points[-1], Qt.NoButton)]):
            button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
            QApplication.sendEvent(canvas, QMouseEvent(kind, QPointF(x, y), button, buttons,
                                                       Qt.NoModifier))
        wait(lambda: w.draw_panel.prediction.probabilities is not None, "Draw's probabilities")
        assert abs(float(np.sum(w.draw_panel.prediction.probabilities)) - 1) < 1e-3
        steps.append("draw")
        actions = w.project_actions
        actions.export_model()
        wait(lambda: (folder / "exported.keras").is_file(), "the .keras export")  # (atomic)
        steps.append("export keras")
        dialog = actions.export_deployment("onnx")
        dialog.path_edit.setText(str(folder / "digits.onnx"))
        dialog.export_button.click()
        wait(lambda: dialog.report is not None or bool(dialog.error), "the ONNX export")
        assert dialog.report is not None, dialog.error
        assert (folder / "digits.onnx").is_file()
        steps.append("export onnx")
        sweep = w.experiments_panel  # a sweep of one trial: the study here, the trial there
        w.tabs.setCurrentWidget(sweep)
        sweep.space_editor.set_space({"batch_size": {"choices": [16]}})
        sweep.trials.setValue(1)
        sweep.epochs.setValue(1)
        sweep.run_sweep()
        wait(lambda: not sweep.running, "the sweep")
        assert [r.state for r in sweep.reports.values()] == ["complete"], sweep.status.text()
        steps.append("sweep")
    except Exception as exc:  # noqa: BLE001 - reported to the test, with where
        result["failed"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()[-3000:]
        result["status"] = w.statusBar().currentMessage()
    result["heavy"] = heavy_modules()
    result["first_import"] = WITNESS.first
    w.state.undo_stack.setClean()
    w.close()
    app.processEvents()
    return result


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    outcome = main(Path(sys.argv[1]))
    print("SESSION " + json.dumps(outcome), flush=True)  # then the app's engine is closed
