"""A remote engine as a window holds it (Engine ▸ Connect): the client ``remote.connect`` made,
the device the engine computes on, and the link's state, watched.

States, as a spawned engine's (``on_state(state, detail)``, from the watcher thread):
``starting`` (connected; the engine is still importing TensorFlow, its device unknown),
``ready`` (detail: the device), ``lost`` (nothing heard, heartbeats included, for ``lost_s``: the
engine's runs go on there; zmq reconnects by itself and the state is ``ready`` again as soon as
the engine is heard), ``stopped`` (closed here). While the link is lost a request is refused at
once (EngineError), as a spawned engine's while it restarts: the window never waits on a dead
link. Closing disconnects only: the engine, and any run in it, goes on. No Qt, no TensorFlow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from workbench.engine.client import EngineClient, EngineError
from workbench.engine.protocol import Message
from workbench.engine.remote import Connection
from workbench.i18n import _

LOST_S = 5.0  # heartbeats come every second: this long without one, the link is down
HEARD_S = 2.0  # heard within this, a lost link is back


def device_text(device: dict | None) -> str:
    """The device a status bar names: the GPU's name (``2 × NVIDIA H100``), or ``CPU (its
    name)``; "" when unknown."""
    if not device:
        return ""
    name = device.get("name") or "?"
    if device.get("kind") == "GPU":
        count = device.get("count") or 1
        return f"{count} × {name}" if count > 1 else name
    return f"CPU ({name})"


class RemoteEngine:
    """``submit``/``request``/``stream`` as any engine, to the one ``connection`` names."""

    where = "remote"

    def __init__(self, connection: Connection, client: EngineClient, ping: dict,
                 on_state: Callable[[str, str], None] | None = None, lost_s: float = LOST_S):
        self.connection, self.client = connection, client
        self.device: dict | None = ping.get("device")
        self.training: dict | None = ping.get("training")  # another client's run, on connecting
        self.on_state = on_state
        self.lost_s = lost_s
        self.state, self.detail = ("ready", device_text(self.device)) if self.device else (
            "starting", "")
        self._closing = threading.Event()
        if self.device is None:
            client.submit("device", on_reply=self._on_device)
        self._watcher = threading.Thread(target=self._watch, name="engine-link-watch",
                                         daemon=True)
        self._watcher.start()

    @property
    def where_text(self) -> str:
        return _("the engine at {where}").format(where=self.connection.where)

    def current(self) -> EngineClient:
        if self.state == "lost":
            raise EngineError(self.detail)
        if self.state == "stopped":
            raise EngineError(_("disconnected from {engine}").format(engine=self.where_text))
        return self.client

    def submit(self, *args, **kwargs):
        return self.current().submit(*args, **kwargs)

    def request(self, *args, **kwargs):
        return self.current().request(*args, **kwargs)

    def stream(self, *args, **kwargs):
        return self.current().stream(*args, **kwargs)

    def check(self, timeout: float = LOST_S) -> dict:
        """A ping through the link now, even while it counts as lost (Engine ▸ Reattach): its
        answer, or EngineError in one line."""
        try:
            return self.client.request("ping", timeout=timeout)
        except TimeoutError:
            raise EngineError(_("{engine} does not answer (is the ssh -L tunnel up, and "
                                "`workbench engine` still running there?)").format(
                                    engine=self.where_text)) from None

    def close(self) -> None:
        """Disconnect (the engine and its runs go on)."""
        self._closing.set()
        if self._watcher is not threading.current_thread():
            self._watcher.join(5.0)
        self.client.close(_("disconnected from {engine}").format(engine=self.where_text))
        self._set_state("stopped", "")

    # --- the receiver's and the watcher's threads --------------------------------------------

    def _on_device(self, message: Message) -> None:
        if message.ok:
            self.device = message.body.get("device")
            if self.state == "starting":
                self._set_state("ready", device_text(self.device))

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        if self.on_state is not None:
            self.on_state(state, detail)

    def _watch(self) -> None:
        while not self._closing.wait(0.25):
            silence = self.client.silence
            if self.state in ("ready", "starting") and silence > self.lost_s:
                self._set_state("lost", _("lost the link to {engine} (nothing heard for "
                                          "{seconds:.0f} s); a run there goes on, and is "
                                          "reattached when the link is back").format(
                                              engine=self.where_text, seconds=silence))
            elif self.state == "lost" and silence < HEARD_S:
                self._set_state(*(("ready", device_text(self.device)) if self.device else
                                  ("starting", "")))
