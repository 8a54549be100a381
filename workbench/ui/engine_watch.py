"""Engine ▸ Watch the run: another window's run on the same engine, read-only: its loss per
epoch from its first, the epoch and batch it is at, and how it ended. The engine's ``watch``
request streams the run's events (no weights); nothing here can stop or change the run. A link
that drops and comes back watches again (the epochs so far come with the new ``watch_begin``).
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt5.QtWidgets import QDialog, QLabel, QVBoxLayout

from workbench.i18n import _
from workbench.ui.engine_link import EngineLink


class WatchDialog(QDialog):
    def __init__(self, link: EngineLink, parent=None):
        super().__init__(parent)
        self.setObjectName("watchRunDialog")
        self.setWindowTitle(_("Watching a run on the engine (read-only)"))
        self.link = link
        self.request: str | None = None
        self.epochs: dict[int, dict] = {}
        self.total = None
        self.ended = ""
        layout = QVBoxLayout(self)
        self.heading = QLabel(_("Asking the engine for its run…"), self,
                              objectName="watchHeading", wordWrap=True)
        layout.addWidget(self.heading)
        self.plot = pg.PlotWidget(self, objectName="watchPlot", background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", _("epoch"))
        self.plot.addLegend()
        self.curves = {name: self.plot.plot([], [], name=name, symbol="o", symbolSize=5,
                                            pen=pg.mkPen(color, width=2))
                       for name, color in (("loss", "#1f77b4"), ("val_loss", "#ff7f0e"))}
        layout.addWidget(self.plot, 1)
        self.progress = QLabel("", self, objectName="watchProgress")
        layout.addWidget(self.progress)
        link.state_changed.connect(self._on_engine_state_changed)
        self.resize(560, 380)
        self._watch()

    def _watch(self) -> None:
        self.request = self.link.ask("watch", {}, self._on_reply, self._on_event)

    def _on_engine_state_changed(self, state: str, _detail: str) -> None:
        if state == "lost":
            self.progress.setText(_("The link to the engine is lost; watching again once it "
                                    "is back"))
        elif state == "ready" and self.request is not None and not self.ended:
            self._stop_watching()
            self._watch()

    def _on_event(self, name: str, body: dict) -> None:
        if name == "watch_begin":
            self.total = (body.get("info") or {}).get("epochs")
            self.heading.setText(_("{title} for another window since {since}; read-only").format(
                title=body["title"], since=body["since"]))
            for each in body.get("epochs") or []:
                self._add_epoch(each["epoch"], each["logs"])
        elif name == "epoch_end":
            self._add_epoch(body["epoch"], body["logs"])
        elif name in ("batch_end", "batches"):  # each batch, or a window's coalesced ones
            loss = (body.get("logs") or {}).get("loss")
            points = body.get("points")
            if points is not None and len(points):
                loss = float(points[-1][1])  # (x, loss, metric) rows
            where = (_("Epoch {epoch} of {epochs} · batch {batch}") if self.total else
                     _("Epoch {epoch} · batch {batch}")).format(
                epoch=body["epoch"] + 1, epochs=self.total, batch=body["batch"] + 1)
            if loss is not None:
                where = _("{progress} · loss {loss:.4f}").format(progress=where, loss=loss)
            self.progress.setText(where)
        elif name == "train_begin":
            self.total = (body.get("info") or {}).get("epochs")

    def _add_epoch(self, epoch: int, logs: dict) -> None:
        self.epochs[epoch] = logs or {}
        xs = sorted(self.epochs)
        for name, curve in self.curves.items():
            points = [(x + 1, self.epochs[x][name]) for x in xs if name in self.epochs[x]]
            curve.setData([p[0] for p in points], [p[1] for p in points])

    def _on_reply(self, body: dict | None, error: str) -> None:
        if error:
            self.ended = error
            self.progress.setText(error)
            return
        if body.get("status") == "unwatched":
            return
        for each in body.get("epochs") or []:
            self._add_epoch(each["epoch"], each["logs"])
        self.ended = body.get("status") or "ended"
        message = body.get("message") or ""
        summary = message or _("{status}, {epochs} epoch(s)").format(status=self.ended,
                                                                    epochs=len(self.epochs))
        self.progress.setText(_("The run ended: {summary}").format(summary=summary))

    def _stop_watching(self) -> None:
        request, self.request = self.request, None
        if request is not None:
            self.link.forget_ask(request)
            if not self.ended:
                self.link.ask("unwatch", {"request": request})

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._stop_watching()
        super().closeEvent(event)

    def done(self, result: int) -> None:  # Esc, and close()
        self._stop_watching()
        super().done(result)
