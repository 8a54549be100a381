"""The window's Engine menu and the status bar's engine label (issue 31).

Engine ▸ Connect to a remote engine… takes a ``workbench engine --listen`` connection file, the
line it printed, or the file's contents pasted; Use the local engine goes back; Reattach asks a
remote engine where this window's run is after a dropped link; Watch the run follows another
window's run on that engine, read-only.

The switch is the window's: its project state's link moves to the remote engine (``EngineLink.
use_host``), and the app's other windows keep theirs (each window is a client of its own, so
an engine busy with one window's run says so to another, and that one can watch it). The remote
engine is this window's (disconnected when it closes, or goes back to the local engine: the
engine and any run in it go on there). Connecting never makes the GUI thread wait: the reading,
the TCP check and the signed ping run as a task; nothing changes until they succeed, and any
failure is one line.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from workbench.engine.remote_engine import device_text
from workbench.i18n import N_, _
from workbench.ui.engine_link import EngineHost, EngineLink, shared_host
from workbench.ui.tasks import TaskRunner

STATES = {"starting": N_("starting…"), "restarting": N_("restarting…"), "failed": N_("stopped"),
          "lost": N_("link lost"), "stopped": N_("disconnected")}
WHERE = {"local": N_("local"), "remote": N_("remote")}


def status_text(link: EngineLink) -> str:
    """The engine label's text: where the engine runs and its device (``Engine: remote ·
    NVIDIA H100``, ``Engine: local · CPU (…)``), or its state."""
    state = _(STATES[link.state]) if link.state in STATES else link.state
    if link.state in ("restarting", "failed"):
        return _("Engine: {state}").format(state=state)
    if link.state == "ready":
        state = device_text(link.host.device) or link.detail or _("ready")
    return _("Engine: {where} · {state}").format(where=_(WHERE.get(link.where, link.where)),
                                                 state=state)


def _connect(_task, text: str):
    """The task: read what was given, reach the engine, ping it; the RemoteEngine."""
    from workbench.engine import remote
    from workbench.engine.remote_engine import RemoteEngine

    try:
        connection, source = remote.parse_connection(text)
        client, ping = remote.connect(connection, source)
    except remote.RemoteError as exc:
        return str(exc)
    return RemoteEngine(connection, client, ping)


def _check(_task, engine):
    from workbench.engine.client import EngineError

    try:
        engine.check()
    except EngineError as exc:
        return str(exc)
    return ""


class ConnectDialog(QDialog):
    """Where the connection is given: a file (Choose…) or text pasted; the one line of what went
    wrong stays in the dialog, so it can be mended and tried again."""

    def __init__(self, menu: EngineMenu):
        super().__init__(menu.window)
        self.setObjectName("connectEngineDialog")
        self.setWindowTitle(_("Connect to a remote engine"))
        self.menu = menu
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_(
            "On the GPU machine: <tt>workbench&nbsp;engine&nbsp;--listen&nbsp;127.0.0.1:5555</tt>; "
            "here: <tt>ssh&nbsp;-N&nbsp;-L&nbsp;5555:127.0.0.1:5555&nbsp;THAT-MACHINE</tt>.<br>"
            "Give its connection file (copied here), the line it printed, or the file's "
            "contents:"), self, wordWrap=True))
        self.text = QPlainTextEdit(self, objectName="engineConnectionText")
        self.text.setPlaceholderText("~/engine-5555.json")  # not translated: a path
        self.text.setFixedHeight(90)
        layout.addWidget(self.text)
        choose = QPushButton(_("Choose a connection file…"), self)
        choose.clicked.connect(self._choose)
        layout.addWidget(choose)
        self.problem = QLabel("", self, objectName="engineConnectProblem", wordWrap=True)
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel, self)
        self.connect_button = self.buttons.addButton(_("Connect"), QDialogButtonBox.AcceptRole)
        self.buttons.accepted.connect(lambda: menu.connect_to(self.text.toPlainText()))
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        menu.connected.connect(self._on_connected)
        menu.refused.connect(self._on_refused)
        self.resize(560, self.sizeHint().height())

    def _choose(self) -> None:
        path, _kind = QFileDialog.getOpenFileName(
            self, _("The engine's connection file"), "",
            _("Connection files (*.json);;All files (*)"))
        if path:
            self.text.setPlainText(path)

    def set_working(self, working: bool, text: str = "") -> None:
        self.connect_button.setEnabled(not working)
        self.problem.setText(text)

    def _on_connected(self, _line: str) -> None:
        self.accept()

    def _on_refused(self, line: str) -> None:
        self.set_working(False, line)


class EngineMenu(QObject):
    """The Engine menu of ``window`` and its engine label."""

    connected = pyqtSignal(str)  # the status line: connected to a remote engine
    refused = pyqtSignal(str)  # why a connection was not made (one line); nothing changed

    def __init__(self, window, label: QLabel):
        super().__init__(window)
        self.window, self.label = window, label
        self.state = window.state
        self.remote: EngineHost | None = None  # this window's remote engine, while it uses one
        self.dialog: ConnectDialog | None = None
        self.watching = None
        self._tasks = TaskRunner(self)
        self._connecting = None
        self._closed = False
        bar = window.menuBar()
        self.menu = bar.addMenu(_("E&ngine"))
        bar.insertMenu(window.help_menu.menuAction(), self.menu)
        self.connect_action = self.menu.addAction(_("&Connect to a remote engine…"),
                                                  self.show_connect)
        self.connect_action.setObjectName("connectEngineAction")
        self.local_action = self.menu.addAction(_("Use the &local engine"), self.use_local)
        self.local_action.setObjectName("localEngineAction")
        self.menu.addSeparator()
        self.reattach_action = self.menu.addAction(_("&Reattach"), self.reattach)
        self.reattach_action.setObjectName("reattachEngineAction")
        self.reattach_action.setStatusTip(_("Ask the remote engine where this window's run is, "
                                            "after a dropped link"))
        self.watch_action = self.menu.addAction(_("&Watch the run on the engine…"), self.watch)
        self.watch_action.setObjectName("watchRunAction")
        self.watch_action.setStatusTip(_("Follow another window's run on this engine, "
                                         "read-only"))
        self.state.engine.state_changed.connect(self._on_engine_state_changed)
        self._on_engine_state_changed(self.state.engine.state, self.state.engine.detail)

    @property
    def link(self) -> EngineLink:
        return self.state.engine

    def _say(self, text: str, ms: int = 15000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def _refusal(self) -> str:
        if self.state.busy or self.state.sweeping:
            return _("Stop the training first: a run cannot move to another engine")
        return ""

    def retranslate(self) -> None:
        """The label's text, built from the engine's state, in the language now."""
        self._on_engine_state_changed(self.link.state, self.link.detail, quiet=True)

    def _on_engine_state_changed(self, state: str, detail: str, quiet: bool = False) -> None:
        self.label.setText(status_text(self.link))
        where = (_("the engine at {where}").format(where=self.remote.engine.connection.where)
                 if self.remote is not None else _("the engine on this computer"))
        self.label.setToolTip(f"{where}: {detail}" if detail else where)
        if quiet:
            return
        if (state in ("restarting", "failed") and detail) or state == "lost":
            self._say(detail)
        remote = self.link.where == "remote"
        self.local_action.setEnabled(remote)
        self.reattach_action.setEnabled(remote)
        self.watch_action.setEnabled(remote)

    # Connect ------------------------------------------------------------------------------------

    def show_connect(self) -> ConnectDialog | None:
        refusal = self._refusal()
        if refusal:
            self._say(refusal)
            return None
        if self.dialog is None:
            self.dialog = ConnectDialog(self)
        self.dialog.set_working(False)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def connect_to(self, text: str) -> None:
        """Connect this window to the engine ``text`` names (a connection file, the printed
        line, or the file's contents); ``connected`` or ``refused`` says how it went."""
        refusal = self._refusal()
        if refusal or self._connecting is not None:
            self.refused.emit(refusal or _("already connecting"))
            return
        if self.dialog is not None:
            self.dialog.set_working(True, _("Connecting…"))
        self._connecting = self._tasks.start(
            _connect, text, name="engine-connect", on_result=self._on_connected,
            on_error=self._on_refused, on_finished=self._on_connect_finished)

    def _on_connect_finished(self, _task) -> None:
        self._connecting = None

    def _on_refused(self, line: str) -> None:
        self._say(line)
        self.refused.emit(line)

    def _on_connected(self, engine) -> None:
        if isinstance(engine, str):
            self._on_refused(engine)
            return
        refusal = _("the window closed") if self._closed else self._refusal()  # meanwhile
        if refusal:
            engine.close()
            self._on_refused(refusal)
            return
        where = engine.connection.where
        old, self.remote = self.remote, EngineHost(engine)
        self.link.use_host(self.remote, _("connecting to the engine at {where}").format(
            where=where))
        self._disconnect(old)  # another remote engine before: no longer this window's
        line = _("Connected to the engine at {where}").format(where=where)
        if engine.training:
            line = _("{connected}; busy: training {title} for another window since {since} "
                     "(Engine ▸ Watch the run follows it)").format(
                connected=line, title=engine.training["title"], since=engine.training["since"])
        self._say(line, 30000)
        self.connected.emit(line)

    # Local, reattach, watch ----------------------------------------------------------------------

    def use_local(self) -> bool:
        """Back to the app's own engine (spawned if it is not running)."""
        if self.remote is None:
            return True
        refusal = self._refusal()
        if refusal:
            self._say(refusal)
            return False
        self.link.use_host(shared_host(), _("back to the local engine"))
        self.close_remote()
        self._say(_("The window works with the local engine again"))
        return True

    def reattach(self) -> None:
        if self.remote is None:
            self._say(_("The window works with the local engine: there is no link to reattach"))
            return
        self._say(_("Reattaching to the engine at {where}…").format(
            where=self.remote.engine.connection.where))
        self._tasks.start(_check, self.remote.engine, name="engine-reattach",
                          on_result=self._on_checked)

    def _on_checked(self, problem: str) -> None:
        if problem:
            self._say(problem)
            return
        runs = self.link.reattach()
        self._say(_("The link to the engine is up; {runs} run(s) of this window followed").format(
            runs=runs) if runs else _("The link to the engine is up"))

    def watch(self):
        from workbench.ui.engine_watch import WatchDialog

        if self.watching is not None:
            self.watching.close()
        self.watching = WatchDialog(self.link, self.window)
        self.watching.show()
        return self.watching

    def close_remote(self) -> None:
        remote, self.remote = self.remote, None
        self._disconnect(remote)

    def _disconnect(self, remote: EngineHost | None) -> None:
        """Disconnect from ``remote`` (its runs go on there); a run watched there, no longer."""
        if remote is None:
            return
        if self.watching is not None:
            self.watching.close()
            self.watching = None
        remote.close()

    def close(self) -> None:
        """The window closes: its remote engine is disconnected (its runs go on there)."""
        self._closed = True
        self._tasks.shutdown(15.0)
        self.close_remote()
