"""The engine as a process of its own: spawn, handshake, watch, restart; and its end of it.

``EngineProcess`` (the window's and the CLI's side) spawns ``python -m workbench.engine`` with
``subprocess`` (never a fork of a process holding Qt or TensorFlow), hands it the session's key on
its stdin, reads the one line it answers (its address), and connects an ``EngineClient``. The
engine's stderr goes to a log file, never to the user's terminal (TensorFlow's C++ lines land
there); only when the engine dies is its tail shown, in the one line that says so. A dead or
hung engine is restarted, at most ``max_restarts`` times; every spawn happens on the watcher
thread, which lives as long as the ``EngineProcess`` (``PR_SET_PDEATHSIG`` fires when the thread
that spawned the child ends, not only the process).

The engine's side (``watch_parent``, ``die_with_parent``) ends it when the window is gone: the
kernel's parent-death signal on Linux, and a thread that sees its parent change elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workbench.engine.client import EngineClient, EngineError
from workbench.engine.protocol import new_key
from workbench.i18n import N_, _

log = logging.getLogger("workbench.engine.lifecycle")

HANDSHAKE_TIMEOUT_S = 30.0  # the engine answers before it imports TensorFlow
SILENCE_S = 15.0  # a side that hears nothing from the other for this long gives it up
# A window's engine runs this much nicer than the window: where both want the CPU (TensorFlow's
# import as the window first paints; a run as the curves redraw, on 2 cores), the window goes
# first, so it shows sooner and does not stutter. Alone on the CPU the engine runs at full
# speed: niceness only decides who waits when the two compete.
WINDOW_NICENESS = 10
TAIL_LINES = 3
# The engine's states, as the status bar words them (translated where shown).
STATES = (N_("starting"), N_("restarting"), N_("ready"), N_("failed"), N_("stopped"))
_LISTING = ("Thread 0x", "Current thread 0x", "File \"", "Extension modules:",
            "<no Python frame>", "Stack (most recent call first)")


class EngineProcess:
    """A spawned engine, restarted when it dies; ``request``/``submit``/``stream`` as a client.

    ``on_state(state, detail)`` runs on the watcher thread: ``starting``; ``ready`` (detail: the
    device, e.g. "GPU (NVIDIA H100)"); ``restarting`` (detail: the one line saying how the engine
    died, with its stderr's tail); ``failed`` (the same, no more restarts); ``stopped``."""

    def __init__(self, on_state: Callable[[str, str], None] | None = None,
                 max_restarts: int = 3, log_path: str | os.PathLike | None = None,
                 python: str = sys.executable, silence_s: float = SILENCE_S,
                 niceness: int = 0):
        """``niceness``: how much lower than this process the engine runs (Unix ``nice``): a
        window's engine yields the CPU to the window it serves (see ``WINDOW_NICENESS``)."""
        self.on_state = on_state
        self.niceness = niceness
        self.max_restarts = max_restarts
        self.restarts = 0
        self.python = python
        self.silence_s = silence_s
        self._own_log = log_path is None  # made here: removed again on a clean close
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix="workbench-engine-", suffix=".log")
            os.close(fd)
        self.log_path = Path(log_path)
        self.state, self.detail = "stopped", ""
        self.device: dict | None = None
        self.process: subprocess.Popen | None = None
        self.client: EngineClient | None = None
        self._connected = threading.Condition()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    # --- the caller's side -------------------------------------------------------------------

    def start(self, wait: float | None = None) -> EngineProcess:
        """Spawn the engine (on the watcher thread); with ``wait``, until it is connected."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="engine-watcher",
                                             daemon=True)
            self._watcher.start()
        if wait is not None:
            self.connected(wait)
        return self

    def connected(self, timeout: float | None = None) -> EngineClient:
        """The current client, once the engine answers (EngineError: it failed or closed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._connected:
            while self.client is None:
                if self.state in ("failed", "stopped") and self._watcher_done():
                    raise EngineError(self.detail or _("the engine is not running"))
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(_("the engine did not start in time"))
                self._connected.wait(0.2 if left is None else min(left, 0.2))
            return self.client

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def current(self) -> EngineClient:
        """The client of the engine now; EngineError at once while there is none (starting,
        restarting, failed): a window never waits for an engine to come back."""
        client = self.client
        if client is None:
            raise EngineError(self.detail if self.state == "failed" and self.detail
                              else _("the engine is {state}").format(state=_(self.state)))
        return client

    def submit(self, *args, **kwargs):
        return self.current().submit(*args, **kwargs)

    def request(self, *args, **kwargs):
        return self.current().request(*args, **kwargs)

    def stream(self, *args, **kwargs):
        return self.current().stream(*args, **kwargs)

    def close(self, timeout: float = 10.0) -> None:
        """Ask the engine to end (its running jobs cancelled); kill it if it does not."""
        self._closing.set()
        client, process = self.client, self.process
        if client is not None and process is not None and process.poll() is None:
            try:
                client.request("shutdown", timeout=2.0)
            except (EngineError, TimeoutError):
                pass
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout)
        if self.process is not None and self.process.poll() is None:  # spawned meanwhile
            self.process.kill()
            self.process.wait()
        for each in {client, self.client} - {None}:
            each.close(_("the engine was closed"))
        if self._own_log and self.state != "failed":  # a failed engine's log stays, to be read
            self.log_path.unlink(missing_ok=True)
        self._set_state("stopped", "")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # --- the watcher thread ------------------------------------------------------------------

    def _watcher_done(self) -> bool:
        return self._watcher is None or not self._watcher.is_alive()

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        if self.on_state is not None:
            try:
                self.on_state(state, detail)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the watcher
                log.exception("engine state listener failed")

    def _watch(self) -> None:
        while not self._closing.is_set():
            self._set_state("starting" if self.restarts == 0 else "restarting", self.detail)
            try:
                self._spawn()
                ended = self._wait_until_ended()
            except EngineError as exc:
                ended = str(exc)
            if ended is None or self._closing.is_set():
                return
            with self._connected:
                client, self.client = self.client, None
            if client is not None:
                client.close(ended)  # every request still waiting gets this line
            self.restarts += 1
            if self.restarts > self.max_restarts:
                self._set_state("failed", _("{ended}; not restarted again ({restarts} "
                                            "restarts)").format(ended=ended,
                                                                restarts=self.max_restarts))
                with self._connected:
                    self._connected.notify_all()
                return
            self._set_state("restarting", _("{ended}; restarting ({restart} of {restarts})").format(
                ended=ended, restart=self.restarts, restarts=self.max_restarts))

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log_file:
            offset = log_file.tell()
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
                   "PYTHONFAULTHANDLER": "1"}
            self._offset = offset
            self.process = subprocess.Popen(
                [self.python, "-m", "workbench.engine"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log_file, env=env, close_fds=True,
                start_new_session=True)  # a Ctrl+C in the terminal is the window's to handle
        key = new_key()
        process = self.process
        try:
            process.stdin.write(json.dumps({"key": key.hex(), "parent": os.getpid(),
                                            "parent_timeout": self.silence_s,
                                            "niceness": self.niceness}).encode() + b"\n")
            process.stdin.close()
            line = _read_line(process.stdout, HANDSHAKE_TIMEOUT_S)
            answer = json.loads(line)
            address = answer["address"]
        except (OSError, ValueError, KeyError, TimeoutError) as exc:
            process.kill()
            process.wait()
            raise EngineError(self.ended_line(process.returncode, _("no handshake: {exc}").format(
                                                                      exc=exc))) \
                from None
        finally:
            process.stdout.close()
        client = EngineClient(address, key)
        try:
            client.request("ping", timeout=HANDSHAKE_TIMEOUT_S)
        except (EngineError, TimeoutError) as exc:
            client.close()
            process.kill()
            process.wait()
            raise EngineError(self.ended_line(process.returncode, _("no answer: {exc}").format(
                                                                      exc=exc))) \
                from None
        with self._connected:
            self.client = client
            self._connected.notify_all()
        threading.Thread(target=self._ask_device, args=(client,), daemon=True).start()

    def _ask_device(self, client: EngineClient) -> None:
        from workbench.engine.handlers import device_text

        try:
            self.device = client.request("device", timeout=300)["device"]
        except (EngineError, TimeoutError):
            return  # it died meanwhile: the watcher says so
        if self.client is client:
            self._set_state("ready", device_text(self.device))

    def _wait_until_ended(self) -> str | None:
        """Until the engine dies (its one line) or hangs (killed; its line), or we close (None)."""
        process, client = self.process, self.client
        while not self._closing.wait(0.1):
            code = process.poll()
            if code is not None:
                return self.ended_line(code)
            if client.silence > self.silence_s:
                process.kill()
                process.wait()
                return self.ended_line(process.returncode,
                                       _("no answer for {seconds} s").format(
                                           seconds=f"{self.silence_s:.0f}"))
        return None

    def ended_line(self, code: int | None, why: str = "") -> str:
        """One line: how the engine ended, and the last lines it wrote to its stderr."""
        if code is not None and code < 0:
            try:
                how = _("killed by {signal}").format(signal=signal.Signals(-code).name)
            except ValueError:
                how = _("killed by signal {number}").format(number=-code)
        elif code is not None:
            how = _("exit code {code}").format(code=code)
        else:
            how = _("still running")
        head = _("The engine stopped ({how})").format(how=how + ("; " + why if why else ""))
        tail = self.stderr_tail()
        return f"{head}: {tail}" if tail else head

    def stderr_tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines this engine wrote to its log, without TensorFlow's chatter, joined."""
        from workbench.core.tf_loader import is_noise

        try:
            with open(self.log_path, "rb") as log_file:
                log_file.seek(getattr(self, "_offset", 0))
                text = log_file.read()[-65536:].decode("utf-8", "replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip() and not is_noise(line)]
        fatal = [line for line in kept if line.startswith("Fatal Python error")]
        # Left out: faulthandler's stack listing and its list of extension modules.
        kept = [line for line in kept if not line.startswith(_LISTING)]
        if fatal and fatal[-1] not in kept[-lines:]:
            kept = [*kept[-(lines - 1):], fatal[-1]]
        tail = " | ".join(kept[-lines:])
        return tail if len(tail) <= 400 else "…" + tail[-399:]


def _read_line(stream, timeout: float) -> str:
    """One line from a child's stdout, or TimeoutError (a child that never answers)."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(_("nothing in {timeout:g} s").format(timeout=timeout))
        ready, _w, _x = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                raise OSError(_("it closed its output"))
            data += chunk
    return data.decode("utf-8", "replace")


# --- the engine's side ------------------------------------------------------------------------

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Linux: the kernel sends SIGTERM when the parent goes (even by kill -9). If the parent is
    already gone (it died before this ran), end now."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(0)


def watch_parent(parent: int, on_gone: Callable[[], None], interval: float = 0.5) -> None:
    """Call ``on_gone`` once the parent process is gone (another platform than Linux, or a
    parent-death signal that did not come); run on a thread of its own."""
    while os.getppid() == parent:
        time.sleep(interval)
    log.warning("the window's process is gone: stopping")
    on_gone()
