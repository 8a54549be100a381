"""The engine in a thread of this process: the same server, handlers and client, over inproc://.

For tests (the UI suite does not start a TensorFlow process per test) and for callers that
want the engine's API without a process of its own. Messages are encoded, signed and checked
exactly as across processes.
"""

from __future__ import annotations

import threading

import zmq

from workbench.engine.client import EngineClient
from workbench.engine.handlers import EngineState, handlers
from workbench.engine.protocol import new_id, new_key
from workbench.engine.server import Server


class InProcessEngine:
    """A server thread and a client of it; ``request``/``submit``/``stream`` as a spawned one."""

    state = "ready"

    def __init__(self, warm: bool = False):
        self.key = key = new_key()  # a second client of the same engine (a test's) signs with it
        self.context = zmq.Context.instance()
        self.engine_state = EngineState()
        self.server = Server(key, handlers(self.engine_state), f"inproc://engine-{new_id()}",
                             self.context)
        self.server.on_close.append(self.engine_state.cancel_all)
        self._thread = threading.Thread(target=self.server.serve, name="engine-server",
                                        daemon=True)
        self._thread.start()
        self.client = EngineClient(self.server.address, key, self.context)
        if warm:
            threading.Thread(target=self.engine_state.warm_up, daemon=True).start()

    def submit(self, *args, **kwargs):
        return self.client.submit(*args, **kwargs)

    def request(self, *args, **kwargs):
        return self.client.request(*args, **kwargs)

    def stream(self, *args, **kwargs):
        return self.client.stream(*args, **kwargs)

    def close(self) -> None:
        self.server.stop()
        self._thread.join(10.0)
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
