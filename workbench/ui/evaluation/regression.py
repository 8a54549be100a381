"""Regression results: predicted against true values, and for 1-D inputs the data with the fit."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtWidgets import QHBoxLayout, QWidget

from workbench.i18n import _
from workbench.ui.plot_export import add_save_menu, plot_table

TRAIN_BRUSH = pg.mkBrush(120, 120, 120, 140)
TEST_BRUSH = pg.mkBrush(31, 119, 180, 220)
FIT_PEN = pg.mkPen("#d62728", width=2.5)


def _white_plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w")
    plot = widget.getPlotItem()
    plot.setTitle(title, color="#222")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom"):
        plot.getAxis(side).setPen(pg.mkPen("#555"))
        plot.getAxis(side).setTextPen(pg.mkPen("#222"))
    plot.addLegend(offset=(10, 10), labelTextColor="#222")
    return widget


class RegressionView(QWidget):
    """Two plots, each built once and updated with ``setData``: the classic first Keras example."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.scatter_plot = _white_plot(_("Test split: predicted vs true"), _("true"),
                                        _("predicted"))
        self.identity = self.scatter_plot.plot([], [], pen=pg.mkPen("#888", width=1.5,
                                                                    style=pg.QtCore.Qt.DashLine),
                                               name=_("perfect: predicted = true"))
        self.points = self.scatter_plot.plot([], [], pen=None, symbol="o", symbolSize=7,
                                             symbolBrush=TEST_BRUSH, symbolPen=None,
                                             name=_("test points"))
        self.fit_plot = _white_plot(_("Data and the fitted curve"), "x", "y")
        add_save_menu(self.scatter_plot, "predicted-vs-true", lambda: plot_table(self.scatter_plot))
        add_save_menu(self.fit_plot, "fitted-curve", lambda: plot_table(self.fit_plot))
        self.train_data = self.fit_plot.plot([], [], pen=None, symbol="o", symbolSize=5,
                                             symbolBrush=TRAIN_BRUSH, symbolPen=None,
                                             name=_("training data"))
        self.test_data = self.fit_plot.plot([], [], pen=None, symbol="o", symbolSize=7,
                                            symbolBrush=TEST_BRUSH, symbolPen=None,
                                            name=_("test data"))
        self.curve = self.fit_plot.plot([], [], pen=FIT_PEN, name=_("model"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scatter_plot, 1)
        layout.addWidget(self.fit_plot, 1)

    def set_result(self, y_true: np.ndarray, predicted: np.ndarray, x_train=None, y_train=None,
                   x_test=None, curve_x=None, curve_y=None) -> None:
        true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
        pred = np.asarray(predicted, dtype=np.float64).reshape(len(predicted), -1)
        # Several outputs: compare them all, flattened (each point is one output of one sample).
        k = min(true.shape[1], pred.shape[1])
        t, p = true[:, :k].ravel(), pred[:, :k].ravel()
        self.points.setData(t, p)
        both = np.concatenate([t, p]) if t.size else np.array([0.0, 1.0])
        finite = both[np.isfinite(both)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.identity.setData([lo, hi], [lo, hi])
        one_d = curve_x is not None and curve_y is not None
        self.fit_plot.setVisible(one_d)
        if one_d:
            self.train_data.setData(np.ravel(x_train), np.ravel(y_train))
            self.test_data.setData(np.ravel(x_test), true[:, 0])
            fitted = np.asarray(curve_y).reshape(len(curve_y), -1)[:, 0]
            self.curve.setData(np.ravel(curve_x), fitted)

    def fitted_curve(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.curve.getData()
        return (np.asarray(x) if x is not None else np.zeros(0),
                np.asarray(y) if y is not None else np.zeros(0))
