"""The feature space of the test split (TensorBoard's projector is the model): each test image as a
point where the penultimate layer puts it, projected to 2-D, coloured by its true class, mistakes
marked; a click on a point picks that image (the Evaluation tab shows its heatmaps).

The activations come from the engine's ``feature_space`` request about the trained model (with
PCA there too: it is instant, so the picture follows each epoch of a run); t-SNE and UMAP take
seconds to minutes and run in the engine's ``project`` request; both on the engine's compute
lane, so Draw's answers do not wait for them. The GUI only asks and draws; answers no longer
wanted are dropped.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.core.feature_space import PROJECTIONS, unavailable_projection
from workbench.i18n import N_, _

LEGEND = N_("✕: a mistake · click a point to see its heatmaps")
MAX_POINTS = 2000  # t-SNE of more takes minutes on a laptop's CPU


class FeatureSpaceView(QWidget):
    sample_clicked = pyqtSignal(int)  # the test image of a clicked point
    projected = pyqtSignal()  # points drawn (or the reason there are none shown)

    def __init__(self, trained, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("featureSpace")
        self.trained = trained
        self.xy: np.ndarray | None = None
        self.indices = np.zeros(0, np.int64)  # the test image of each point
        self._data: tuple | None = None  # (x, y_true, y_pred, names) of the shown result
        self._generation = 0

        self.method_box = QComboBox(self, objectName="featureSpaceMethod")
        for key, name in PROJECTIONS.items():
            self.method_box.addItem(_(name), key)
            reason = unavailable_projection(key)
            if reason is not None:
                item = self.method_box.model().item(self.method_box.count() - 1)
                item.setEnabled(False)
                item.setToolTip(_(reason))
        self.method_box.setToolTip(_("PCA at once (and after each epoch); t-SNE and UMAP on "
                                     "Project, in the background"))
        self.project_button = QPushButton(_("Project"), self, objectName="featureSpaceButton")
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.plot = pg.PlotWidget(self, background="w")
        self.plot.setMinimumSize(160, 120)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.scatter = pg.ScatterPlotItem(size=6, hoverable=True, tip=None)
        self.plot.addItem(self.scatter)
        self.scatter.sigClicked.connect(self._on_points_clicked)
        self.legend = QLabel(_(LEGEND), self)
        self.legend.setStyleSheet("color: #555;")
        self.legend.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.method_box)
        row.addWidget(self.project_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)

        self.project_button.clicked.connect(self.project)
        self.method_box.currentIndexChanged.connect(lambda _i: self._on_method_changed())

    @property
    def method(self) -> str:
        return self.method_box.currentData()

    def set_result(self, x, y_true, y_pred, names: list[str]) -> None:
        """A new evaluation: PCA follows it at once when shown; t-SNE/UMAP wait for Project."""
        count = min(len(x), MAX_POINTS)
        self._data = (np.asarray(x[:count]), np.asarray(y_true[:count]),
                      np.asarray(y_pred[:count]), list(names))
        if self.method == "pca" and self.isVisible():
            self.project()
        elif self.xy is not None and len(self.xy) == count:
            self._draw()  # the same points, the new mistakes marked
        else:
            self.status.setText(_("{method}: press Project.").format(
                method=_(PROJECTIONS[self.method])))

    def project(self) -> None:
        if self._data is None:
            self.status.setText(_("Evaluate a trained model first."))
            return
        self._generation += 1
        request, method = self._generation, self.method
        asked = self.trained.has_model and self.trained.ask(
            "feature_space", {**self.trained.model_body(),
                              "x": np.asarray(self._data[0], np.float32), "projection": method},
            lambda reply, error: self._on_features(request, method, reply, error))
        self.status.setText(_("Reading the penultimate layer…") if asked else
                            _("Train the model (or open a trained one) first."))

    def _on_features(self, request: int, method: str, reply: dict | None, error: str) -> None:
        if request != self._generation:
            return
        if reply is None:
            self._on_failed(request, error)
            return
        if "xy" in reply:
            self._show(reply["xy"], method, reply["dims"])
            return
        self.status.setText(_("{method} of {count} points… (in the background; t-SNE takes a "
                              "minute or more)").format(method=_(PROJECTIONS[method]),
                                                        count=f"{len(reply['features']):,}"))
        self.trained.ask("project", {"features": reply["features"], "projection": method},
                         lambda answer, why: self._on_projected(request, method, answer, why,
                                                                reply["dims"]))

    def _on_projected(self, request, method, reply, error, dims) -> None:
        if reply is None:
            self._on_failed(request, error)
        elif request == self._generation:
            self._show(reply["xy"], method, dims)

    def _on_failed(self, request, message: str) -> None:
        if request == self._generation:
            self.status.setText(_("No projection: {reason}").format(reason=message))
            self.projected.emit()

    def _show(self, xy, method, dims: int) -> None:
        self.xy = np.asarray(xy, np.float32)
        self.indices = np.arange(len(self.xy))
        wrong = int((self._data[1] != self._data[2]).sum())
        self.status.setText(_("{method} of the penultimate layer ({dims} values per image), "
                              "{count} test images, {wrong} mistakes").format(
            method=_(PROJECTIONS[method]), dims=dims, count=f"{len(self.xy):,}",
            wrong=f"{wrong:,}"))
        self._draw()
        self.plot.autoRange()
        self.projected.emit()

    def _draw(self) -> None:
        _x, y_true, y_pred, names = self._data
        n = max(len(names), int(y_true.max(initial=0)) + 1)
        colours = [pg.intColor(i, hues=max(n, 1), maxValue=220) for i in range(n)]
        brushes = [pg.mkBrush(colour) for colour in colours]
        shown = names + [str(i) for i in range(len(names), n)]
        self.legend.setText(_("True class: ") + " ".join(
            f'<span style="color: {c.name()}; font-weight: bold;">{_escape(name)}</span>'
            for c, name in zip(colours, shown)) + f" · {_(LEGEND)}")
        wrong = y_true != y_pred
        edge = pg.mkPen(0, 0, 0, 220, width=1.5)
        self.scatter.setData(
            pos=self.xy, data=self.indices, brush=[brushes[int(t)] for t in y_true],
            pen=[edge if w else None for w in wrong], symbol=np.where(wrong, "x", "o"),
            size=np.where(wrong, 11, 6))

    def _on_points_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            self.sample_clicked.emit(int(points[0].data()))

    def _on_method_changed(self) -> None:
        self._generation += 1  # a projection on its way is not the one asked for now
        if self.method == "pca" and self._data is not None:
            self.project()
        else:
            self.status.setText(_("{method}: press Project.").format(
                method=_(PROJECTIONS[self.method])))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.method == "pca" and self._data is not None and self.xy is None:
            self.project()


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
