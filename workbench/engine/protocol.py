"""The engine's messages on the wire: a JSON header plus raw numpy buffers, every frame signed.

A message is the multipart frame list ``[signature, header, buffer...]``. The header is JSON:
``{"protocol", "kind", "id", "name", "body", "buffers"}`` (a reply adds ``"ok"`` and, when not ok,
``"error"``; a request may add ``"language"``, the sender's, which the engine's words follow).
An array anywhere in ``body`` travels as its own buffer frame and is written in the body as
``{"$array": i}``; ``buffers[i]`` gives its dtype (from ``DTYPES`` only) and shape, and the frame
must hold exactly that many bytes. The signature is HMAC-SHA256, under the session's random
key, of every other frame (each with its length in front). Nothing is unpickled, ever.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PROTOCOL = "workbench-engine/1"
KINDS = ("request", "reply", "event", "heartbeat")
# Plain numeric arrays only: never ``object`` (that would need pickle), little-endian on the wire.
DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
MAX_HEADER_BYTES = 16 << 20
MAX_RANK = 32
ARRAY_KEY = "$array"


class ProtocolError(Exception):
    """A message refused: wrong signature, malformed header, unknown dtype, wrong buffer size.

    ``message_id`` is the id the refused message gave, when its signature was right and its
    header could be read (so the sender can be told); None otherwise."""

    def __init__(self, reason: str, message_id: str | None = None):
        super().__init__(reason)
        self.message_id = message_id


@dataclass
class Message:
    """One message: a ``request`` (``name`` says which), its ``reply`` or an ``event`` it streams
    (both carry the request's ``id``), or a ``heartbeat``."""

    kind: str
    id: str
    name: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    ok: bool = True  # replies: False with ``error`` (one readable line) when the request failed
    error: str = ""
    language: str = ""  # requests: the sender's language (workbench.i18n), "" for the engine's


def new_key() -> bytes:
    """A random per-session signing key."""
    return secrets.token_bytes(32)


def new_id() -> str:
    return secrets.token_hex(8)


class Signer:
    """HMAC-SHA256 over frames, under one session's key."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the signing key is too short")
        self._key = bytes(key)

    def sign(self, frames: list[bytes]) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for frame in frames:
            mac.update(len(frame).to_bytes(8, "little"))
            mac.update(frame)
        return mac.hexdigest().encode("ascii")

    def verify(self, frames: list[bytes], signature: bytes) -> bool:
        return hmac.compare_digest(self.sign(frames), bytes(signature))


def encode(message: Message, signer: Signer) -> list[bytes]:
    """The signed frames of ``message`` (ValueError: an array of a dtype the wire refuses, or a
    body value JSON cannot hold)."""
    if message.kind not in KINDS:
        raise ValueError(f"unknown message kind {message.kind!r}")
    buffers: list[bytes] = []
    described: list[dict] = []
    header: dict[str, Any] = {"protocol": PROTOCOL, "kind": message.kind, "id": message.id,
                              "name": message.name,
                              "body": _pack(message.body, buffers, described)}
    if message.language:
        header["language"] = str(message.language)
    if message.kind == "reply":
        header["ok"] = bool(message.ok)
        if not message.ok:
            header["error"] = str(message.error)
    header["buffers"] = described
    try:
        text = json.dumps(header, separators=(",", ":"))
    except TypeError as exc:  # a Path, a set, an object: the sender's bug, said as ValueError
        raise ValueError(f"a message body holds a value JSON cannot carry: {exc}") from None
    frames = [text.encode("utf-8"), *buffers]
    return [signer.sign(frames), *frames]


def decode(frames: list[bytes], signer: Signer) -> Message:
    """The message in ``frames``, or ProtocolError: nothing of a refused message is used."""
    if len(frames) < 2:
        raise ProtocolError(f"a message needs at least 2 frames, got {len(frames)}")
    signature, rest = frames[0], [bytes(f) for f in frames[1:]]
    if not signer.verify(rest, signature):
        raise ProtocolError("wrong signature")
    if len(rest[0]) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {len(rest[0])} bytes (at most {MAX_HEADER_BYTES})")
    try:
        header = json.loads(rest[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    message_id = header.get("id")
    message_id = message_id if isinstance(message_id, str) else None
    try:
        if header.get("protocol") != PROTOCOL:
            raise ProtocolError(f"protocol {header.get('protocol')!r}, expected {PROTOCOL!r}")
        kind, name, body = header.get("kind"), header.get("name", ""), header.get("body", {})
        if kind not in KINDS:
            raise ProtocolError(f"unknown message kind {kind!r}")
        if message_id is None or not isinstance(name, str) or not isinstance(body, dict):
            raise ProtocolError("header needs a string id and name and an object body")
        described = header.get("buffers", [])
        if not isinstance(described, list) or len(described) != len(rest) - 1:
            raise ProtocolError(f"header describes {_count(described)} buffers, "
                                f"the message has {len(rest) - 1}")
        arrays = [_array(i, d, frame) for i, (d, frame) in enumerate(zip(described, rest[1:]))]
        body = _unpack(body, arrays)
    except ProtocolError as exc:
        raise ProtocolError(str(exc), message_id) from None
    language = header.get("language", "")
    return Message(kind, message_id, name, body, bool(header.get("ok", True)),
                   str(header.get("error", "")), language if isinstance(language, str) else "")


def _count(described) -> str:
    return str(len(described)) if isinstance(described, list) else "no list of"


def _array(index: int, described, frame: bytes) -> np.ndarray:
    if not isinstance(described, dict):
        raise ProtocolError(f"buffer {index}: not described")
    dtype, shape = described.get("dtype"), described.get("shape")
    if dtype not in DTYPES:
        raise ProtocolError(f"buffer {index}: dtype {dtype!r} is not allowed")
    if (not isinstance(shape, list) or len(shape) > MAX_RANK
            or not all(type(d) is int and d >= 0 for d in shape)):
        raise ProtocolError(f"buffer {index}: shape {shape!r} is not a list of sizes")
    wire = np.dtype(dtype).newbyteorder("<")
    needed = math.prod(shape) * wire.itemsize
    if needed != len(frame):
        raise ProtocolError(f"buffer {index}: {dtype} {tuple(shape)} needs {needed} bytes, "
                            f"the frame has {len(frame)}")
    # Read-only, on the frame's own bytes; the native byte order for the caller.
    return np.frombuffer(frame, dtype=wire).reshape(shape).astype(dtype, copy=False)


def _pack(value: Any, buffers: list[bytes], described: list[dict]) -> Any:
    """``value`` with every numpy array replaced by ``{"$array": i}`` (its bytes put aside)."""
    if isinstance(value, np.ndarray):
        name = value.dtype.name
        if name not in DTYPES:
            raise ValueError(f"arrays of dtype {name} cannot cross to the engine")
        wire = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        described.append({"dtype": name, "shape": list(value.shape)})
        buffers.append(wire.tobytes())
        return {ARRAY_KEY: len(buffers) - 1}
    if isinstance(value, dict):
        if ARRAY_KEY in value:
            raise ValueError(f"{ARRAY_KEY!r} is reserved in message bodies")
        return {str(k): _pack(v, buffers, described) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, buffers, described) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unpack(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, dict):
        if ARRAY_KEY in value:
            index = value[ARRAY_KEY]
            if len(value) != 1 or type(index) is not int or not 0 <= index < len(arrays):
                raise ProtocolError(f"body names buffer {index!r}, which the message lacks")
            return arrays[index]
        return {k: _unpack(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    return value
