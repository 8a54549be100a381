"""Help ▸ Tutorials: every tutorial opens with its settings; a run puts ours beside theirs."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QPushButton, QTableWidget

from workbench.core import tutorials
from workbench.core.spec import TrainConfig
from workbench.ui.main_window import MainWindow
from workbench.ui.project_actions import ProjectActions

TRAIN_TIMEOUT_MS = 90_000


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                    timeout=60_000)
    yield w
    w.training_panel.shutdown()
    w.state.undo_stack.setClean()
    w.close()
    w.deleteLater()
    qtbot.wait(10)


def open_tutorial(qtbot, w, key: str, dataset: str) -> None:
    """Help ▸ Tutorials ▸ key, as a user picks it, then wait for its dataset to load."""
    menu = w.tutorials.menu
    assert menu.menuAction() in w.help_menu.actions()
    w.tutorials.actions[key].trigger()
    qtbot.waitUntil(lambda: w.state.data.dataset is not None
                    and w.state.data.dataset.name == dataset, timeout=60_000)


def shrink(w, n_train: int = 200, epochs: int = 1) -> None:
    """Tiny data and one epoch: the test checks the card, not the tutorial's accuracy."""
    w.state.data.dataset = w.state.data.dataset.subset(n_train)
    config = TrainConfig.from_dict(w.state.training.to_dict())
    config.epochs = epochs
    w.state.set_training(config)


def click(qtbot, w, name: str) -> None:
    button = w.findChild(QPushButton, name)
    assert button is not None and button.isVisible(), name
    qtbot.mouseClick(button, Qt.LeftButton)


def train_from_card(qtbot, w) -> None:
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS):
        click(qtbot, w, "tutorialTrain")


def card_rows(w) -> dict[str, tuple[str, str]]:
    return {what: (theirs, ours) for what, theirs, ours in w.tutorials.card.rows()}


def test_menu_lists_a_to_h_and_each_opens_with_its_settings(qtbot, window):
    w = window
    texts = [a.text() for a in w.tutorials.menu.actions()]
    assert [t.split()[0].lstrip("&") for t in texts] == list("ABCDEFGH")
    w.tutorials.open("B")
    assert w.state.training.epochs == 5  # the tutorial's epochs, not the template's 15
    assert w.state.project.dataset == "mnist-embedded"
    w.tutorials.open("H")
    assert w.state.project.dataset == "fonts"
    assert w.state.training.optimizer == "sgd" and w.state.training.learning_rate == 0.02
    assert w.state.spec.input_shape == (1296,)
    assert w.tutorials.dock.isVisible()
    assert "Tutorial H" in w.tutorials.card.title.text()
    assert "63 %" in w.tutorials.card.text.text()


def test_tutorial_d_shows_the_prediction_at_one_beside_theirs(qtbot, window):
    w = window
    open_tutorial(qtbot, w, "D", "regression-line")
    rows = card_rows(w)
    assert rows["prediction at x = 1"] == ("≈ 0.7 after 200 SGD epochs", "")
    shrink(w, n_train=100, epochs=2)
    train_from_card(qtbot, w)
    rows = card_rows(w)
    weights = w.tutorials.weights["linear-regression"]
    expected = float(weights[0].ravel()[0] + weights[1].ravel()[0])
    assert rows["prediction at x = 1"][1] == f"{expected:.2f} after 2 epochs"
    assert rows["parameters"] == ("2", "2")


def test_tutorial_h_steps_stand_side_by_side_with_its_pictures(qtbot, window, monkeypatch):
    w = window
    asked = []
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: asked.append(1) or "discard")
    open_tutorial(qtbot, w, "H", "fonts")
    click(qtbot, w, "tutorialStep_fonts-logistic")
    qtbot.waitUntil(lambda: w.state.data.dataset is not None, timeout=60_000)
    assert w.state.spec.to_dict()["layers"][0]["config"]["units"] == 5
    shrink(w)
    train_from_card(qtbot, w)
    rows = card_rows(w)
    assert rows["Logistic regression"][0] == "≈ 40 % validation accuracy"
    assert "train /" in rows["Logistic regression"][1]
    assert rows["Two hidden layers (128, 32 sigmoid)"][1] == ""
    # The logistic model's 5 output units drawn as 36×36 pictures, side by side.
    units = w.tutorials.card.shown["units"]
    assert units.shape == (36, 5 * 37 - 1)

    click(qtbot, w, "tutorialStep_fonts-two-hidden")
    assert asked  # the trained run is an unsaved change: the user was asked before it went
    qtbot.waitUntil(lambda: w.state.data.dataset is not None, timeout=60_000)
    shrink(w)
    train_from_card(qtbot, w)
    rows = card_rows(w)
    assert "train /" in rows["Logistic regression"][1]  # still there: this session's runs
    assert "train /" in rows["Two hidden layers (128, 32 sigmoid)"][1]
    assert rows["parameters (this step)"][1] == "170,309"
    # 32 of the 128 first-layer units in a 4×8 grid of 36×36 images.
    assert w.tutorials.card.shown["units"].shape == (4 * 37 - 1, 8 * 37 - 1)
    epochs, train, _val = w.tutorials.card.shown["every"]
    assert epochs == [1] and len(train) == 1
    # The output weights as a heatmap, in the Weights tab.
    click(qtbot, w, "tutorialShow_output")
    assert w.tabs.currentWidget() is w.weights_panel
    qtbot.waitUntil(lambda: w.weights_panel.weights.shown.get("kind") == "heatmap",
                    timeout=10_000)
    assert w.weights_panel.weights.shown["kernel"].shape == (32, 5)
    click(qtbot, w, "tutorialShow_confusion")
    assert w.tabs.currentWidget() is w.evaluation_panel


def test_tutorial_c_compares_with_one_click_each(qtbot, window):
    w = window
    open_tutorial(qtbot, w, "C", "mnist-embedded")
    shrink(w)
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS):
        click(qtbot, w, "tutorialVariant_0")  # MSE instead of cross-entropy
    assert w.state.training.loss == "mean_squared_error"
    rows = w.tutorials.card.rows()
    assert len(rows) == 1 and "mean_squared_error" in rows[0][0] and "val" in rows[0][2]
    # The four optimizers: one click runs the Experiments tab's preset sweep.
    experiments = w.experiments_panel
    experiments.epochs.setValue(1)
    click(qtbot, w, "tutorialPreset_optimizers")
    assert w.tabs.currentWidget() is experiments
    qtbot.waitUntil(lambda: not experiments.running, timeout=4 * TRAIN_TIMEOUT_MS)
    rows = w.tutorials.card.rows()
    names = [what.split(": ", 1) for what, _theirs, _ours in rows[1:]]
    assert [number for number, _name in names] == [f"sweep trial {i}" for i in range(4)]
    assert sorted(name for _number, name in names) == ["Adam", "RMSprop", "SGD",
                                                       "SGD (momentum 0.9)"]
    assert all(ours.endswith("%") for _what, _theirs, ours in rows[1:])


# Tutorial → (its dataset, epochs for the tiny run, the rows whose "Tutorial" column it fills).
RUNS = {
    "A": ("mnist-embedded", 1, {"parameters": "101,770",
                                "test accuracy": "printed after 5 epochs"}),
    "B": ("mnist-embedded", 1, {"parameters": "121,930",
                                "test accuracy": "printed after 5 epochs"}),
    "E": ("random-classes", 2, {"parameters": "11,110",
                                "training accuracy": "rises epoch after epoch",
                                "test accuracy": "stays at chance (10 %)"}),
    "F": ("mnist-embedded", 2, {"parameters": "244,522", "validation accuracy":
                                "95.4 % → 96.8 % over 5 epochs (full MNIST)"}),
    "G": ("mnist-embedded", 1, {"parameters": "41,738", "test accuracy": ""}),
}


def test_tutorials_a_b_e_f_g_open_run_and_show_ours_beside_theirs(qtbot, window, monkeypatch):
    w = window
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    for key, (dataset, epochs, theirs) in RUNS.items():
        open_tutorial(qtbot, w, key, dataset)
        before = card_rows(w)
        assert all(before[what] == (figure, "") for what, figure in theirs.items()), key
        shrink(w, n_train=200, epochs=epochs)
        train_from_card(qtbot, w)
        rows = card_rows(w)
        assert all(rows[what][0] == figure for what, figure in theirs.items()), key
        assert rows["parameters"][1] == theirs["parameters"], key  # the tutorial's model
        if key != "F":
            assert rows["test accuracy"][1].endswith("%"), key
        if key in ("E", "F"):  # a figure per epoch, first → last
            what = "training accuracy" if key == "E" else "validation accuracy"
            assert " → " in rows[what][1], key
        if key == "F":
            assert rows["  epoch 2"][1].endswith("%")


def test_opening_another_project_detaches_the_card(qtbot, window):
    w = window
    w.tutorials.open("A")
    w.open_template("mnist-cnn")
    assert "not this tutorial's" in w.tutorials.card.status.text()
    assert w.findChild(QTableWidget, "tutorialTable") is not None


def test_core_rows_without_a_run_leave_ours_empty():
    for item in tutorials.TUTORIALS:
        for _what, _theirs, ours in item.rows(None):
            assert ours == ""
    assert tutorials.first_layer_units(None) is None
    kernel = np.arange(1296 * 128, dtype=np.float32).reshape(1296, 128)
    picture = tutorials.first_layer_units([kernel])
    assert picture.shape == (147, 295)
    np.testing.assert_array_equal(picture[:36, :36], kernel[:, 0].reshape(36, 36))


def test_core_rows_put_each_tutorials_figures_beside_ours():
    weights = [np.zeros((784, 10)), np.zeros(10)]
    f = tutorials.tutorial("F").rows({"history": {"val_accuracy": [0.9, 0.93, 0.95]},
                                      "test": {"accuracy": 0.951}}, weights)
    assert f[0] == ("parameters", "244,522", "7,850")
    assert f[1] == ("validation accuracy", "95.4 % → 96.8 % over 5 epochs (full MNIST)",
                    "90.0% → 95.0%")
    assert [row[2] for row in f[2:5]] == ["90.0%", "93.0%", "95.0%"]
    e = dict((what, (theirs, ours)) for what, theirs, ours in tutorials.tutorial("E").rows(
        {"history": {"accuracy": [0.1, 0.4, 0.9]}, "test": {"accuracy": 0.09}}))
    assert e["training accuracy"] == ("rises epoch after epoch", "10.0% → 90.0%")
    assert e["test accuracy"] == ("stays at chance (10 %)", "9.0%")
    a = tutorials.tutorial("A").rows({"test": {"accuracy": 0.97}})
    assert a[-1] == ("test accuracy", "printed after 5 epochs", "97.0%")
    assert tutorials.tutorial("G").params == 41_738
    c = tutorials.runs_rows([{"id": 2, "training": {"optimizer": {"class_name": "RMSprop",
                                                                 "config": {}},
                                                   "loss": "mean_squared_error"},
                              "history": {"loss": [1, 0.5], "val_accuracy": [0.5, 0.8]}}])
    assert c == [("run 2: RMSprop, mean_squared_error", "", "val 80.0% after 2 epochs")]
    epochs, train, val = tutorials.accuracy_every(
        {"history": {"accuracy": list(np.linspace(0, 1, 25)),
                     "val_accuracy": list(np.linspace(0, 1, 25))}})
    assert epochs == [10, 20, 25] and len(train) == len(val) == 3
