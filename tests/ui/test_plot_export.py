"""Every plot and picture of the window saves as PNG, SVG and CSV from its right-click menu (#28):
file names say project, run and view; the folder used last is remembered."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PyQt5.QtCore import QPoint, QSettings, Qt, QTimer
from PyQt5.QtGui import QContextMenuEvent
from PyQt5.QtWidgets import QApplication, QFileDialog, QMenu

from workbench.ui.plot_export import file_stem


def _settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


def save_all(view, tmp_path: Path, name: str) -> dict[str, Path]:
    """Save through each action of the view's menu, as a click would (the dialog answered)."""
    menu = view.save_menu
    menu.settings = _settings(tmp_path)
    written = {}
    for fmt, action in menu.actions.items():
        path = tmp_path / f"{name}.{fmt}"
        menu.ask_path = lambda _fmt, p=path: p
        action.trigger()
        assert path.is_file() and path.stat().st_size > 0, (name, fmt)
        written[fmt] = path
    if "png" in written:
        with Image.open(written["png"]) as image:
            assert image.size[0] > 50 and image.size[1] > 50
            assert np.asarray(image.convert("L")).std() > 1  # something is drawn
    if "svg" in written:
        root = ET.parse(written["svg"]).getroot()
        assert root.tag.endswith("svg") and len(list(root.iter())) > 5
    return written


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_file_names_say_project_run_and_view():
    assert file_stem("MNIST CNN", 3, "loss") == "mnist-cnn-run3-loss"
    assert file_stem("Fonts: two hidden layers", None, "weights-dense/1") == \
        "fonts-two-hidden-layers-weights-dense-1"
    assert file_stem("../..", None, "") == "plot"


def test_curves(qtbot, tmp_path):
    from workbench.ui.training.metric_plot import MetricPlotView

    view = MetricPlotView("lossPlot", "Loss")
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    x = np.arange(1, 11, dtype=float)
    view.show_current(x, 1 / x, 1 / x + 0.01, np.array([5.0, 10.0]), np.array([0.3, 0.2]))
    # The curves keep pyqtgraph's own menu (log scale, ranges): the entries are added to it.
    box_menu = view.plot.getPlotItem().getViewBox().menu
    assert view.plot.save_menu.actions["png"] in box_menu.actions()
    written = save_all(view.plot, tmp_path, "loss")
    rows = read_csv(written["csv"])  # pyqtgraph's CSV exporter: x and y of every curve
    assert len(rows[0]) >= 6 and len(rows) == 1 + 10
    assert rows[0][:2] == ["train (per batch)_x", "train (per batch)_y"]
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], 1 / x, rtol=1e-6)
    assert [float(v) for v in rows[1][4:6]] == [5.0, 0.3]


def test_confusion_matrix(qtbot, tmp_path):
    from workbench.ui.evaluation.matrix import ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    counts = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    view.set_matrix(counts, ["cat", "dog", "bird"])
    rows = read_csv(save_all(view, tmp_path, "matrix")["csv"])
    assert rows[0] == ["true \\ predicted", "cat", "dog", "bird"]
    assert [[int(v) for v in r[1:]] for r in rows[1:]] == counts.tolist()
    assert [r[0] for r in rows[1:]] == ["cat", "dog", "bird"]


def test_right_click_opens_the_menu(qtbot):
    from workbench.ui.evaluation.matrix import ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.show()
    seen = []

    def close_menu():
        menu = QApplication.activePopupWidget()
        if isinstance(menu, QMenu):
            seen.extend(a.text() for a in menu.actions())
            menu.close()

    QTimer.singleShot(200, close_menu)
    event = QContextMenuEvent(QContextMenuEvent.Mouse, QPoint(20, 20),
                              view.viewport().mapToGlobal(QPoint(20, 20)))
    QApplication.sendEvent(view.viewport(), event)
    assert seen == ["Save as PNG…", "Save as SVG…", "Save numbers as CSV…"]


def test_the_dialog_starts_in_the_last_folder_with_a_named_file(qtbot, tmp_path, monkeypatch):
    from workbench.ui.evaluation.matrix import ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.set_matrix(np.eye(2, dtype=int), ["a", "b"])
    menu = view.save_menu
    menu.settings = _settings(tmp_path)
    asked = []
    folder = tmp_path / "figures"
    folder.mkdir()

    def answer(_parent, _title, start, _filter):
        asked.append(start)
        return str(folder / Path(start).name), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    menu.actions["png"].trigger()
    menu.actions["csv"].trigger()
    assert Path(asked[0]).name == "workbench-confusion-matrix.png"  # no project around it
    assert Path(asked[1]) == folder / "workbench-confusion-matrix.csv"  # the folder remembered
    assert read_csv(folder / "workbench-confusion-matrix.csv")[1] == ["a", "1", "0"]


def test_weights_and_activations_and_data_tab(qtbot, tmp_path):
    from tests.ui.test_weights import ready_window, train_epochs

    w = ready_window(qtbot, "mnist-cnn")
    w.state.project.runs.append({"id": 3, "training": {}, "history": {}})
    history = train_epochs(w, 1, qtbot)  # the layers come from the engine
    w.tabs.setCurrentWidget(w.weights_panel)
    view = w.weights_panel.weights
    view.layer_combo.setCurrentIndex(0)
    assert view.view.save_menu.default_path("png").name == \
        f"mnist-cnn-run3-weights-{view.shown['layer']}.png"
    rows = read_csv(save_all(view.view, tmp_path, "weights")["csv"])
    kernel = history[0][0].reshape(-1, 32)
    assert rows[0] == ["picture", "input", "unit", "value"] and len(rows) == 1 + kernel.size
    assert float(rows[1][3]) == pytest.approx(float(kernel[0, 0]), rel=1e-5)

    panel = w.weights_panel
    panel.tabs.setCurrentWidget(panel.activations)
    qtbot.waitUntil(lambda: bool(panel.activations.rows), timeout=20000)
    rows = read_csv(save_all(panel.activations.view, tmp_path, "activations")["csv"])
    assert rows[1][0] == "input" and len({r[0] for r in rows[1:]}) >= 3

    data = w.dataset_panel
    w.tabs.setCurrentWidget(data)
    qtbot.waitUntil(lambda: len(data.model.rows) > 0, timeout=20000)
    rows = read_csv(save_all(data.grid, tmp_path, "grid")["csv"])
    assert rows[0] == ["split", "index", "label"] and len(rows) == 1 + len(data.model.rows)
    rows = read_csv(save_all(data.balance, tmp_path, "balance")["csv"])
    assert rows[0] == ["class", "train", "validation", "test"] and len(rows) == 11
    assert sum(int(r[1]) + int(r[2]) for r in rows[1:]) == len(data.dataset.x_train)


def test_sweep_plots_and_prediction(qtbot, tmp_path):
    from workbench.ui.draw.prediction import PredictionView
    from workbench.ui.experiments.plots import Importances

    bars = Importances()
    qtbot.addWidget(bars)
    bars.resize(400, 200)
    bars.show()
    bars.show_importances({"learning_rate": 0.7, "batch_size": 0.3})
    rows = read_csv(save_all(bars, tmp_path, "importances")["csv"])
    assert rows == [["setting", "importance"], ["learning_rate", "0.7"], ["batch_size", "0.3"]]

    view = PredictionView()
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    view.show_probabilities(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"])
    rows = read_csv(save_all(view._plot, tmp_path, "prediction")["csv"])
    assert rows[2] == ["b", "0.7"]
    assert Qt.CustomContextMenu != view._plot.contextMenuPolicy()  # ours, through the filter


def test_file_export_report_writes_the_last_runs_report(qtbot, tmp_path, monkeypatch):
    """File ▸ Export Report…: the task runner writes the report the CLI writes, of the last run
    trained in the window, with its test split and weights."""
    from PyQt5.QtWidgets import QMessageBox

    from tests.ui.test_deploy_dialog import train
    from workbench.ui.main_window import MainWindow
    from workbench.ui.project_actions import ProjectActions

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: messages.append(a[2]))
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: messages.append(a[2]))
    w = MainWindow()
    qtbot.addWidget(w)
    actions = w.project_actions
    actions.settings = _settings(tmp_path)
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None
                    and w.state.inspection is not None, timeout=60_000)
    w.state.data.dataset = w.state.data.dataset.subset(300, 100)
    out = tmp_path / "run.html"
    monkeypatch.setattr(actions, "ask_save_path", lambda *a: str(out))
    actions.export_report_action.trigger()
    assert "no runs yet" in messages[-1] and not out.exists()
    try:
        train(qtbot, w)
        actions.export_report_action.trigger()
        qtbot.waitUntil(lambda: "report" in w.statusBar().currentMessage()
                        or len(messages) > 1, timeout=90_000)
    finally:
        w.training_panel.shutdown()
    assert len(messages) == 1, messages[1:]
    html = out.read_text(encoding="utf-8")
    run_id = w.state.project.runs[-1]["id"]
    assert f"run {run_id}</h1>" in html and 'id="evaluation"' in html and 'id="weights"' in html
    assert "Tutorial B" in html  # the default project is the MNIST CNN template
    assert f"Wrote the report of run {run_id}" in w.statusBar().currentMessage()


def test_sweep_trials_regression_and_tutorial_figures(qtbot, tmp_path):
    from workbench.actions.sweep import TrialReport
    from workbench.ui.evaluation.regression import RegressionView
    from workbench.ui.experiments.plots import ParallelCoordinates
    from workbench.ui.tutorials.card import TutorialCard

    lines = ParallelCoordinates()
    qtbot.addWidget(lines)
    lines.resize(500, 300)
    lines.show()
    space = {"learning_rate": {"low": 1e-4, "high": 1e-1, "log": True}}
    reports = [TrialReport(1, {"learning_rate": 0.01}, 0.9, "complete"),
               TrialReport(0, {"learning_rate": 0.001}, 0.8, "complete"),
               TrialReport(2, {"learning_rate": 0.05}, None, "pruned")]
    lines.show_trials(space, reports, 1, "val_accuracy")
    rows = read_csv(save_all(lines, tmp_path, "trials")["csv"])
    assert rows == [["trial", "learning_rate", "val_accuracy", "state"],
                    ["0", "0.001", "0.8", "complete"], ["1", "0.01", "0.9", "complete"],
                    ["2", "0.05", "", "pruned"]]

    regression = RegressionView()
    qtbot.addWidget(regression)
    regression.resize(700, 300)
    regression.show()
    x = np.linspace(0, 1, 8)
    regression.set_result(x, x * 0.9, x, x, x, x, x * 0.9)
    rows = read_csv(save_all(regression.scatter_plot, tmp_path, "scatter")["csv"])
    np.testing.assert_allclose([float(r[3]) for r in rows[1:]], x * 0.9, rtol=1e-6)
    save_all(regression.fit_plot, tmp_path, "fit")

    card = TutorialCard()
    qtbot.addWidget(card)
    card.resize(500, 500)
    card.show()
    units = np.random.default_rng(0).normal(size=(9, 9))
    card.show_figure(([10, 20], [0.5, 0.6], [0.45]), units)
    rows = read_csv(save_all(card.figure, tmp_path, "tutorial")["csv"])
    assert rows[1] == ["accuracy", "10", "0.5", "0.45"] and rows[2][3] == ""
    assert len(rows) == 1 + 2 + 81
