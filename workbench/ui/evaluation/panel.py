"""The Evaluation tab: where the trained model is wrong, on the test split, live while it trains.

Predictions are computed by the engine (``EvaluationWorker``: its ``evaluate`` request, with a copy
of the weights), newest epoch only; this panel only draws what comes back.
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core import evaluation
from workbench.core.run_text import percent, trained_text
from workbench.i18n import N_, _, ngettext
from workbench.ui.evaluation.class_pictures import ClassPicturesView
from workbench.ui.evaluation.feature_space import FeatureSpaceView
from workbench.ui.evaluation.gallery import SampleGalleryView, top_probabilities
from workbench.ui.evaluation.matrix import ConfusionMatrixView
from workbench.ui.evaluation.per_class import PerClassTable
from workbench.ui.evaluation.regression import RegressionView
from workbench.ui.evaluation.why import EvaluationWhyView
from workbench.ui.evaluation.worker import (
    CURVE_POINTS,
    EvaluationRequest,
    EvaluationResult,
    EvaluationWorker,
)
from workbench.ui.previous_model import PreviousModelNotice

GALLERY_LIMIT = 200  # thumbnails per cell; the title says how many there are in all
MOST_WRONG = 60
EMPTY_TEXT = N_("Train the model (or open a trained .keras) to see where it is wrong.")
# Behind another tab, the last epoch's evaluation is asked for this long after a run ends: the
# run's end on the GUI thread (the record, the runs table, the repaint) goes first, and the
# engine's cores are the run's until then (in the window's own process, as the tests' engine
# is, a fresh model's predict step traced took the GIL from that end: the run's longest stall).
CATCH_UP_DELAY_MS = 1000


class EvaluationPanel(QWidget):
    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.result: EvaluationResult | None = None
        self._thumbnails_for: tuple | None = None  # a result whose galleries wait to be shown
        self._dataset = None  # the dataset the shown result was computed on
        self._pending_run: int | None = None  # the run whose weights were last sent
        self._undrawn: tuple | None = None  # (result, its caption) not drawn yet (tab hidden)
        self._token = 0
        self._stale = state.trained.weights is not None
        self.worker = EvaluationWorker(state, self)
        self.worker.finished.connect(self._on_result_ready)
        self.worker.failed.connect(self._on_result_failed)

        self.summary = QLabel(self, objectName="evaluationSummary")
        self.summary.setTextFormat(Qt.RichText)
        self.summary.setWordWrap(True)  # unwrapped it made the tab wider than a small window
        self.progress = QLabel(self)
        self.progress.setStyleSheet("color: #666")
        self.progress.setWordWrap(True)
        self.normalise = QCheckBox(_("Row %"), self, objectName="confusionNormalise")
        self.normalise.setToolTip(_("Show each true class's row as percentages (recall on the "
                                    "diagonal) instead of image counts"))
        self.normalise.toggled.connect(self._on_normalise_changed)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.progress)
        header.addWidget(self.normalise)

        self.empty = QLabel(_(EMPTY_TEXT), self, objectName="evaluationEmpty")
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #777; font-size: 15px; padding: 30px")

        self.matrix = ConfusionMatrixView(self)
        self.matrix.setMinimumSize(260, 240)  # ten classes' numbers stay apart at 1024×700
        self.matrix.cell_clicked.connect(self._on_cell_clicked)
        self.cell_gallery = SampleGalleryView(_("Click a cell of the matrix to see its images."))
        self.cell_gallery.sample_clicked.connect(self._on_sample_clicked)
        self.cell_gallery.sample_activated.connect(self._send_to_draw)
        self.wrong_gallery = SampleGalleryView("")
        self.wrong_gallery.sample_clicked.connect(self._on_sample_clicked)
        self.wrong_gallery.sample_activated.connect(self._send_to_draw)
        # A clicked image's heatmaps for its predicted and its true class, side by side.
        self.why = EvaluationWhyView(state.trained, self)
        self.why.draw_requested.connect(self._send_to_draw)
        self.feature_space = FeatureSpaceView(state.trained, self)
        self.feature_space.sample_clicked.connect(self._on_sample_clicked)
        self.class_pictures = ClassPicturesView(state.trained, self)
        self.table = PerClassTable(self)
        self.pairs = QListWidget(self, objectName="confusedPairs")
        self.pairs.itemClicked.connect(self._on_pair_clicked)
        metrics = QWidget(self)
        metrics_layout = QVBoxLayout(metrics)
        metrics_layout.setContentsMargins(0, 0, 0, 0)
        metrics_layout.addWidget(self.table, 3)
        pairs_label = QLabel(_("Most confused pairs (true → predicted), click one:"))
        pairs_label.setWordWrap(True)
        metrics_layout.addWidget(pairs_label)
        metrics_layout.addWidget(self.pairs, 1)
        self.details = QTabWidget(self)
        self.details.addTab(self.cell_gallery, _("Cell"))
        self.details.addTab(self.wrong_gallery, _("Most wrong"))
        self.details.addTab(metrics, _("Per class"))
        self.details.addTab(self.feature_space, _("Feature space"))
        self.details.addTab(self.class_pictures, _("Classes"))
        classification = QSplitter(Qt.Horizontal, self)
        classification.addWidget(self.matrix)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.details, 1)
        right_layout.addWidget(self.why)
        classification.addWidget(right)
        classification.setStretchFactor(0, 3)
        classification.setStretchFactor(1, 2)
        classification.setSizes([640, 360])  # ~29-pixel cells in a 1024-pixel window

        self.regression = RegressionView(self)
        self.pages = QStackedWidget(self)
        for page in (self.empty, classification, self.regression):
            self.pages.addWidget(page)
        self.previous_notice = PreviousModelNotice(state, self)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.previous_notice)
        layout.addWidget(self.pages, 1)
        state.trained.weights_updated.connect(self._on_weights_changed)
        state.busy_changed.connect(self._on_busy_changed)
        self._catch_up = QTimer(self, singleShot=True, interval=CATCH_UP_DELAY_MS,
                                timeout=self._request)
        state.data.loaded.connect(self._on_dataset_changed)
        state.project_replaced.connect(self._on_project_replaced)
        state.engine.ready.connect(self._request)  # weights that came before the engine was
        self._show_empty(EMPTY_TEXT)
        self._on_dataset_changed()  # built late (main window): the dataset, weights there are

    # State events --------------------------------------------------------------------------------

    def _on_weights_changed(self, _epoch: int) -> None:
        self._stale = True
        self._request()

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            self._catch_up.stop()
        elif self.isVisible():
            self._request()
        else:
            self._catch_up.start()  # the last epoch, ready when the tab is shown

    def _on_dataset_changed(self) -> None:
        dataset = self.state.data.dataset
        if dataset is not None and dataset.task == "classification":
            # Create the cell labels now, while nothing trains: making ~100 text items takes
            # ~0.1 s of GUI time, too long for the first epoch's refresh.
            self.matrix.prepare(dataset.num_classes)
        if self.state.trained.weights is not None:
            self._stale = True
            self._request()

    def _on_project_replaced(self) -> None:
        self._token += 1  # results still in flight belong to the old project
        self._stale = False
        self.result = self._thumbnails_for = self._undrawn = None
        self._show_empty(EMPTY_TEXT)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.draw_pending()
        self._fill_thumbnails()
        self._request()

    def _on_normalise_changed(self, checked: bool) -> None:
        self.matrix.set_normalised(checked)

    # Requests and results ------------------------------------------------------------------------

    def _request(self) -> None:
        """Ask the worker for the latest weights, if they are newer than what is shown.

        While training runs, only a visible panel asks (evaluating competes with training for the
        CPU); otherwise it catches up when shown or when training ends.
        """
        if not self._stale:
            return
        state = self.state
        if state.trained.weights is None:
            self._show_empty(_(EMPTY_TEXT))
            return
        if not state.engine.loaded:
            return
        dataset = state.data.dataset
        if dataset is None:
            self._show_empty(state.data.error or _("Loading the dataset…"))
            return
        if state.busy and not self.isVisible():
            return
        curve_x = None
        if dataset.task == "regression" and int(np.prod(dataset.input_shape)) == 1:
            xs = np.concatenate([np.ravel(dataset.x_train), np.ravel(dataset.x_test)])
            lo, hi = float(xs.min()), float(xs.max())
            margin = 0.05 * (hi - lo or 1.0)
            curve_x = np.linspace(lo - margin, hi + margin, CURVE_POINTS, dtype=np.float32)
            curve_x = curve_x.reshape((-1, *dataset.input_shape))
        self._token += 1
        self._stale = False
        self._pending_dataset = dataset
        self._pending_run = state.trained.weights_run
        self.worker.submit(EvaluationRequest(
            token=self._token, epoch=state.trained.weights_epoch,
            model=state.trained.model_body(),
            dataset=dataset, dataset_name=state.data.name or state.project.dataset,
            seed=state.data.seed, curve_x=curve_x, loss=self._trained_loss()))
        self.progress.setText(_("computing…"))

    def _on_result_failed(self, token: int, message: str) -> None:
        if token != self._token:
            return
        # Asked again when the engine is (back) ready, or the tab is shown: the engine may have
        # stopped under this request, and a restarted one answers it.
        self._stale = True
        self.progress.setText("")
        if self.result is None:
            self._show_empty(message)
        else:
            self.summary.setText(f"<span style='color:#b00'>{message}</span>")

    def _on_result_ready(self, result: EvaluationResult) -> None:
        if result.token != self._token:
            return  # an older request, or one from a replaced project
        self.result = result
        self._dataset = self._pending_dataset
        self.progress.setText(_("{count} test samples in {seconds} s").format(
            count=f"{len(result.y_true):,}", seconds=f"{result.seconds:.2f}"))
        run = self._pending_run
        trained = self.state.trained
        epoch = "" if trained.is_external else " · " + trained_text(
            run, result.epoch, trained.partial_epoch == result.epoch)
        self._undrawn = (result, epoch)
        if self.isVisible():
            self.draw_pending()
        # else: drawn when the tab is shown. The last epoch's result, computed while another
        # tab is shown, arrives as the next run may be starting: drawing the matrix then cost
        # ~20 ms of GUI time while the run built its model (the run's start stall).

    def draw_pending(self) -> None:
        """Draw the result that came while the tab was hidden (an export needs it now)."""
        pending, self._undrawn = self._undrawn, None
        if pending is None or pending[0] is not self.result:
            return
        result, epoch = pending
        if result.task == "regression":
            self._show_regression(result, epoch)
        else:
            self._show_classification(result, epoch)

    # Showing -------------------------------------------------------------------------------------

    def _trained_loss(self) -> str | None:
        """The loss the shown weights were trained with: their run's, else the project's (an
        opened .keras keeps its own compiled loss)."""
        trained = self.state.trained
        if trained.is_external:
            return None
        for record in self.state.project.runs:
            training = record.get("training") if isinstance(record, dict) else None
            if str(record.get("id")) == str(trained.weights_run) and isinstance(training, dict):
                if isinstance(training.get("loss"), str):
                    return training["loss"]
        return self.state.training.loss

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.summary.setText("")
        self.progress.setText("")
        self.normalise.setVisible(False)
        self.why.clear()
        self.pages.setCurrentIndex(0)

    def _show_regression(self, result: EvaluationResult, epoch: str) -> None:
        dataset = self._dataset
        self.normalise.setVisible(False)
        self.summary.setText(_("<b>Test MSE {mse}</b> · MAE {mae}").format(
            mse=f"{result.mse:.4g}", mae=f"{result.mae:.4g}") + epoch)
        curve_x = None
        if result.curve_y is not None:
            lo = float(min(np.min(dataset.x_train), np.min(dataset.x_test)))
            hi = float(max(np.max(dataset.x_train), np.max(dataset.x_test)))
            margin = 0.05 * (hi - lo or 1.0)
            curve_x = np.linspace(lo - margin, hi + margin, len(result.curve_y))
        self.regression.set_result(result.y_true, result.outputs, dataset.x_train,
                                   dataset.y_train, dataset.x_test, curve_x, result.curve_y)
        self.pages.setCurrentIndex(2)

    def _show_classification(self, result: EvaluationResult, epoch: str) -> None:
        self.normalise.setVisible(True)
        self.summary.setText(_("<b>Test accuracy {accuracy}</b> · loss {loss} ({name})").format(
            accuracy=percent(result.accuracy), loss=f"{result.loss:.4f}",
            name=(result.loss_name or "cross-entropy").replace("_", " ")) + epoch)
        names = self._class_names(result.confusion.shape[0])
        self.matrix.set_matrix(result.confusion, names)
        self.matrix.set_normalised(self.normalise.isChecked())
        self.table.show_metrics(result.per_class, names)
        self._fill_pairs(result, names)
        self.class_pictures.set_class_names(names)
        self.feature_space.set_result(self._dataset.x_test, result.y_true, result.y_pred, names)
        self._thumbnails_for = (result, names)
        if self.isVisible():
            self._fill_thumbnails()
        if self.why.index is not None:  # the image picked, with the new weights' answer
            self._on_sample_clicked(self.why.index)
        # else: made when the tab is shown. A result that arrives while another tab is shown
        # (the last epoch's, as the next run starts) would spend ~0.15 s of GUI time on
        # thumbnails nobody sees, stalling the live curves.
        self.pages.setCurrentIndex(1)

    def _fill_thumbnails(self) -> None:
        """The galleries of the result shown (the most confident mistakes, the selected cell)."""
        pending, self._thumbnails_for = self._thumbnails_for, None
        if pending is None or pending[0] is not self.result:
            return
        self._fill_most_wrong(*pending)
        if self.matrix.selected is not None:
            self._on_cell_clicked(*self.matrix.selected)

    def _class_names(self, n: int) -> list[str]:
        names = list(self._dataset.class_names) if self._dataset is not None else []
        return names + [str(i) for i in range(len(names), n)]

    def _fill_pairs(self, result: EvaluationResult, names: list[str]) -> None:
        self.pairs.clear()
        for true, pred, count in result.pairs:
            if count <= 0:
                continue
            item = QListWidgetItem(ngettext("{true} → {pred}: {count} image",
                                            "{true} → {pred}: {count} images", count).format(
                true=names[true], pred=names[pred], count=count))
            item.setData(Qt.UserRole, (int(true), int(pred)))
            self.pairs.addItem(item)
        if self.pairs.count() == 0:
            self.pairs.addItem(_("none: every test image is classified correctly"))

    def _fill_most_wrong(self, result: EvaluationResult, names: list[str]) -> None:
        wrong = result.wrong[:MOST_WRONG]
        captions, tips = [], []
        for i in wrong:
            probs = result.outputs[i]
            pred = int(result.y_pred[i])
            sure = percent(probs[pred], 0)
            captions.append(_("{true} → {pred}\n{sure} sure").format(
                true=names[result.y_true[i]], pred=names[pred], sure=sure))
            tips.append(self._tooltip(int(i), names))
        total = len(result.wrong)
        self.wrong_gallery.set_samples(
            self._dataset.x_test[wrong], wrong, captions, tips,
            title=(_("The {count} most confident mistakes of {total} (true → predicted). Click "
                     "one to see why (below); double-click to try it in Draw.").format(
                         count=len(wrong), total=f"{total:,}")
                   if total else _("No mistakes on the test split.")),
        )

    def _tooltip(self, index: int, names: list[str]) -> str:
        top = top_probabilities(self.result.outputs[index], names, 3)
        lines = [_("test image #{index}: true {name}").format(
            index=index, name=names[self.result.y_true[index]])]
        lines += [f"{name}: {percent(p)}" for name, p in top]
        return "\n".join(lines)

    # Interaction ---------------------------------------------------------------------------------

    def _on_cell_clicked(self, true: int, pred: int) -> None:
        result = self.result
        if result is None or result.confusion is None:
            return
        names = self._class_names(result.confusion.shape[0])
        indices = np.asarray(evaluation.cell_indices(result.y_true, result.y_pred, true, pred),
                             dtype=np.int64)
        # Most confident first, so the clearest cases lead.
        indices = indices[np.argsort(-result.outputs[indices, pred], kind="stable")]
        shown = indices[:GALLERY_LIMIT]
        captions = []
        for i in shown:
            (top, p), *rest = top_probabilities(result.outputs[i], names, 2)
            second = (f"\n{rest[0][0]}: {percent(rest[0][1], 0)}"
                      if rest and rest[0][1] >= 0.01 else "")
            captions.append(f"{top}: {percent(p, 0)}{second}")
        what = _("correct") if true == pred else _("wrong")
        more = _(" (showing {count})").format(count=len(shown)) \
            if len(indices) > len(shown) else ""
        self.cell_gallery.set_samples(
            self._dataset.x_test[shown], shown, captions,
            [self._tooltip(int(i), names) for i in shown],
            title=ngettext("<b>true {true} → predicted {pred}</b>: {count} image, {what}{more}. "
                           "Click one to see why (below); double-click to try it in Draw.",
                           "<b>true {true} → predicted {pred}</b>: {count} images, {what}{more}. "
                           "Click one to see why (below); double-click to try it in Draw.",
                           len(indices)).format(true=names[true], pred=names[pred],
                                                count=f"{len(indices):,}", what=what, more=more),
        )
        self.details.setCurrentWidget(self.cell_gallery)

    def _on_pair_clicked(self, item: QListWidgetItem) -> None:
        cell = item.data(Qt.UserRole)
        if cell:
            self.matrix.select_cell(*cell)

    def _on_sample_clicked(self, index: int) -> None:
        result = self.result
        if (result is None or result.confusion is None or self._dataset is None
                or not 0 <= index < len(result.y_true)):
            self.why.clear()
            return
        names = self._class_names(result.confusion.shape[0])
        self.why.show_sample(index, self._dataset.x_test[index], int(result.y_true[index]),
                             int(result.y_pred[index]), names, result.outputs[index])

    def _send_to_draw(self, index: int) -> None:
        if self._dataset is None or not 0 <= index < len(self._dataset.x_test):
            return
        image = np.array(self._dataset.x_test[index], dtype=np.float32)
        self.state.bus.test_image_requested.emit(image)
        self.state.bus.status_message.emit(
            _("Test image #{index} sent to the Draw tab.").format(index=index))

    def retranslate(self) -> None:
        """After Help ▸ Language: the result's texts drawn again."""
        if self.result is not None:
            self._on_result_ready(self.result)

    def close(self) -> bool:
        self.worker.close()
        return super().close()


def main() -> int:
    """Open the panel alone on the default template; train it from the Training tab elsewhere,
    or pass a .keras file to evaluate that model."""
    from workbench.ui.application import run_panel

    return run_panel(EvaluationPanel, _("Evaluation"), (1000, 700),
                     show_error=lambda panel, text: panel._show_empty(text),
                     on_exit=lambda panel: panel.worker.close())


if __name__ == "__main__":
    raise SystemExit(main())
