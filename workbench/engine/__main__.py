"""``python -m workbench.engine``: the engine process, as ``lifecycle.EngineProcess`` spawns it.

Reads the handshake (key, parent pid, parent timeout, niceness) as one JSON line on stdin, lowers
its priority by that niceness (a window's engine yields the CPU to its window), binds a loopback
port, prints ``{"address", "pid"}`` as one line on stdout, then serves until told to shut down or
until the window is gone. TensorFlow is imported meanwhile, on a thread of its own.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading


def main() -> None:
    # Warnings and errors only: the log's tail is what a user reads when the engine dies.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s engine %(levelname)s %(message)s")
    # Python hands the GIL over every 5 ms by default: a predict request crosses three threads
    # here (receive, the views lane, send) while the training thread runs Keras's Python, and
    # each waited up to that; 1 ms, as the window's process uses (ui/tasks.py).
    sys.setswitchinterval(0.001)
    handshake = json.loads(sys.stdin.readline())
    parent = int(handshake["parent"])
    niceness = int(handshake.get("niceness") or 0)
    if niceness > 0 and hasattr(os, "nice"):
        os.nice(min(niceness, 19))  # before TensorFlow's threads exist: they inherit it

    from workbench.engine.lifecycle import die_with_parent, watch_parent

    die_with_parent(parent)

    from workbench.engine.handlers import EngineState, handlers
    from workbench.engine.server import Server

    state = EngineState()
    server = Server(bytes.fromhex(handshake["key"]), handlers(state), "tcp://127.0.0.1:*",
                    parent_timeout=handshake.get("parent_timeout"))
    server.on_close.append(state.cancel_all)
    sys.stdout.write(json.dumps({"address": server.address, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    os.dup2(2, 1)  # anything printed later goes to the log, not to a pipe nobody reads
    threading.Thread(target=state.warm_up, name="engine-warm-up", daemon=True).start()
    threading.Thread(target=watch_parent, args=(parent, server.stop), daemon=True).start()
    server.serve()
    # Deliver what was sent last (the reply to ``shutdown``) before exiting; not forever.
    ending = threading.Thread(target=server.context.term, daemon=True)
    ending.start()
    ending.join(2.0)
    logging.shutdown()
    os._exit(0)  # TensorFlow's own threads must not hold the exit up


if __name__ == "__main__":
    main()
