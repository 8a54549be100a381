"""An engine started on its own (``workbench engine --listen``) and reached from elsewhere.

The engine's side: ``parse_listen`` (HOST:PORT, loopback unless allowed otherwise), ``bind``
(the server on that port, or one line when the port is taken) and the connection file it writes:
JSON (format, protocol, address, host, port, key hex, pid, workbench version), created with mode
0600 from the first byte (``os.open``), never written over a file that is not a connection file of
ours, removed at the end only while it is still this engine's.

The caller's side (the CLI's ``train --engine F``; the window's Engine ▸ Connect to come):
``read_connection_file`` and ``connect``, which says in one line what is wrong before anything
runs: the file, the port (refused, unreachable), the protocol's version, a wrong key (the engine
drops what is not signed with its key, so the handshake ping goes unanswered). No Qt, no
TensorFlow here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from workbench.core.appdata import data_dir
from workbench.core.safe_io import shown
from workbench.engine.client import EngineClient, EngineError
from workbench.engine.protocol import PROTOCOL
from workbench.i18n import _

CONNECTION_FORMAT = "workbench-engine-connection/1"
MAX_FILE_BYTES = 64 << 10
PING_TIMEOUT_S = 10.0  # the engine answers a ping from its I/O thread, TensorFlow importing or not
REACH_TIMEOUT_S = 5.0


class RemoteError(Exception):
    """An engine that cannot be started or reached as asked (one readable line)."""


@dataclass(frozen=True)
class Connection:
    """What a connection file says: where the engine listens and the key it signs with."""

    host: str
    port: int
    key: bytes
    protocol: str = PROTOCOL
    pid: int | None = None
    version: str = ""

    @property
    def address(self) -> str:
        return f"tcp://{_bracketed(self.host)}:{self.port}"

    @property
    def where(self) -> str:
        return f"{_bracketed(self.host)}:{self.port}"

    def to_dict(self) -> dict:
        return {"format": CONNECTION_FORMAT, "protocol": self.protocol, "address": self.address,
                "host": self.host, "port": self.port, "key": self.key.hex(), "pid": self.pid,
                "workbench": self.version}


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def workbench_version() -> str:
    try:
        from importlib.metadata import version

        return version("workbench")
    except Exception:  # noqa: BLE001 - not installed (a source checkout): say so
        return "unknown"


# --- the engine's side ------------------------------------------------------------------------


def parse_listen(text: str, allow_remote: bool = False) -> tuple[str, int]:
    """``(host, port)`` of ``--listen HOST:PORT`` (RemoteError: malformed, or an address that is
    not loopback without ``allow_remote``). Port 0: any free port."""
    host, sep, port = str(text).rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise RemoteError(_("--listen {text}: give HOST:PORT, e.g. 127.0.0.1:5555").format(
                              text=shown(text)))
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise RemoteError(_("--listen {text}: {host} is not an IP address (e.g. "
                            "127.0.0.1)").format(text=shown(text), host=shown(host))) from None
    if not loopback and not allow_remote:
        raise RemoteError(_("--listen {text}: not a loopback address; the engine "
                            "listens on 127.0.0.1 (reach it with ssh -L) unless "
                            "--allow-remote is given").format(text=shown(text)))
    return host, int(port)


def reachable_host(host: str) -> str:
    """The host a connection file names: ``host``, or this machine's name where the engine
    listens on every address (0.0.0.0, ::), which no client can connect to by that name."""
    return socket.gethostname() if ipaddress.ip_address(host).is_unspecified else host


def bind(key: bytes, host: str, port: int, handlers: dict):
    """The engine's server listening on ``host:port`` (RemoteError: the port is in use, or the
    address is not this machine's)."""
    import errno

    import zmq

    from workbench.engine.server import Server

    where = f"{_bracketed(host)}:{port}"
    context = zmq.Context.instance()
    try:
        if ":" in host:
            context.setsockopt(zmq.IPV6, 1)
        return Server(key, handlers, f"tcp://{where}" if port else f"tcp://{_bracketed(host)}:*",
                      context=context)
    except zmq.ZMQError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise RemoteError(_("{where} is in use (another engine or program listens "
                                "there): choose another port").format(where=where)) from None
        raise RemoteError(_("cannot listen on {where}: {reason}").format(
                              where=where, reason=exc.strerror)) from None


def default_connection_file(port: int) -> Path:
    return data_dir() / "engines" / f"engine-{port}.json"


def _read_ours(path: Path, writing: bool = False) -> dict | None:
    """The connection file at ``path`` as a dict if it is one of ours; None if there is none;
    RemoteError if something else is there."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RemoteError(f"{shown(path)}: {exc.strerror or exc}") from None
    data = None
    if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_FILE_BYTES:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            data = None
    if not isinstance(data, dict) or data.get("format") != CONNECTION_FORMAT:
        left = _("; it was left as it is (give another --connection-file)") if writing else ""
        raise RemoteError(_("{path}: exists and is not a Workbench engine's connection "
                            "file").format(path=shown(path)) + left)
    return data


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_connection_file(path: str | os.PathLike) -> Path:
    """``path``, checked before the engine binds: nothing there, or a connection file of ours
    whose engine is gone (RemoteError otherwise)."""
    path = Path(path)
    old = _read_ours(path, writing=True)
    if old is not None and old.get("pid") != os.getpid() and _alive(old.get("pid")):
        raise RemoteError(_("{path}: belongs to a running engine (pid {pid}); give "
                            "another --connection-file").format(
                              path=shown(path), pid=old.get('pid')))
    return path


def write_connection_file(path: str | os.PathLike, connection: Connection) -> Path:
    """Write ``connection`` to ``path``, mode 0600 from its creation (a temporary file beside it,
    made with ``os.open(..., 0o600)``, then renamed over it)."""
    path = check_connection_file(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(connection.to_dict(), indent=1) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RemoteError(_("{filename}: cannot be written ({reason})").format(
                              filename=shown(exc.filename or path),
                              reason=exc.strerror or exc)) from None
    return path


def remove_connection_file(path: str | os.PathLike, pid: int) -> bool:
    """Remove ``path`` if it is still the connection file of engine ``pid`` (True if removed)."""
    path = Path(path)
    try:
        data = _read_ours(path)
    except RemoteError:
        return False
    if data is None or data.get("pid") != pid:
        return False
    path.unlink(missing_ok=True)
    return True


# --- the caller's side ------------------------------------------------------------------------


def read_connection_file(path: str | os.PathLike) -> Connection:
    """The connection file at ``path`` (RemoteError: missing, unreadable, not ours, malformed)."""
    path = Path(path)
    if not path.exists():
        raise RemoteError(_("{path}: no such connection file (`workbench engine` writes "
                            "it and prints its name)").format(path=shown(path)))
    return _connection(_read_ours(path), path)


# The line `workbench engine` prints, in any language: its address, then its file's path.
LINE = re.compile(r"tcp://\S+.*?(?P<path>(?:/|~|[A-Za-z]:\\).*)$")


def parse_connection(text: str) -> tuple[Connection, str]:
    """What the window's Engine ▸ Connect is given, read: a connection file's path, the line
    ``workbench engine`` prints (its file, where it is on this machine), or the file's contents
    pasted. ``(connection, what it came from)``; RemoteError in one line otherwise."""
    text = text.strip()
    if not text:
        raise RemoteError(_("give the engine's connection file, or the line `workbench engine` "
                            "printed"))
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("format") != CONNECTION_FORMAT:
            raise RemoteError(_("the text pasted is not a Workbench engine's connection file"))
        pasted = _("the connection pasted")
        return _connection(data, pasted), pasted
    line = LINE.search(text)
    if line is not None:
        path = Path(line["path"].strip())
        if not path.exists():
            raise RemoteError(_("{path}, which the line names, is not on this machine: copy it "
                                "here (scp), or paste its contents").format(path=shown(path)))
    else:
        path = Path(text).expanduser()
    return read_connection_file(path), str(path)


def _connection(data: dict, path) -> Connection:
    try:
        host, port, key = data["host"], data["port"], bytes.fromhex(data["key"])
        if not isinstance(host, str) or type(port) is not int or not 0 < port <= 65535:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise RemoteError(_("{path}: a connection file without a host, port and key").format(
                              path=shown(path))) from None
    if len(key) < 16:
        raise RemoteError(_("{path}: its key is too short").format(path=shown(path)))
    pid = data.get("pid")
    return Connection(host, port, key, str(data.get("protocol", "")),
                      pid if type(pid) is int else None, str(data.get("workbench", "")))


def connect(connection: Connection, file: str | os.PathLike | None = None,
            ping_timeout: float | None = None) -> tuple[EngineClient, dict]:
    """A client of the engine ``connection`` names and its answer to a signed ping; RemoteError
    in one line when the port is refused or unreachable, the engine speaks another protocol, or
    it does not answer (a wrong key: it drops what it cannot verify)."""
    where = connection.where
    if connection.protocol != PROTOCOL:
        raise RemoteError(_("the engine at {where} speaks {theirs}, this Workbench "
                            "speaks {ours}: run the same Workbench version on both "
                            "machines").format(
                              where=where, theirs=shown(connection.protocol), ours=PROTOCOL))
    try:  # zmq would retry a refused port for ever, in silence: ask the system once
        socket.create_connection((connection.host, connection.port), REACH_TIMEOUT_S).close()
    except OSError as exc:
        why = _("connection refused (is `workbench engine` running there?)") if isinstance(
            exc, ConnectionRefusedError) else (exc.strerror or str(exc) or type(exc).__name__)
        raise RemoteError(_("cannot reach the engine at {where}: {why}").format(
                              where=where, why=why)) from None
    client = EngineClient(connection.address, connection.key)
    timeout = PING_TIMEOUT_S if ping_timeout is None else ping_timeout
    try:
        ping = client.request("ping", timeout=timeout)
    except TimeoutError:
        client.close()
        raise RemoteError(_("the engine at {where} did not answer a signed ping: wrong "
                            "key in {file}, or not a Workbench engine").format(
                              where=where, file=shown(file or _("the connection file")))) from None
    except EngineError as exc:  # signed, but refused: another version of the protocol
        client.close()
        raise RemoteError(_("the engine at {where} refused this Workbench: {exc}").format(
                              where=where, exc=exc)) from None
    if ping.get("protocol") != PROTOCOL:
        client.close()
        raise RemoteError(_("the engine at {where} speaks {theirs}, this Workbench speaks "
                            "{ours}").format(
                              where=where, theirs=shown(ping.get('protocol')), ours=PROTOCOL))
    return client, ping
