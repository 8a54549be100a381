"""A dataset file sent to a remote engine once: in chunks, keyed by its content's SHA-256, kept
in the engine's cache, so a second run on the same file sends nothing.

The caller's side (``send``) hashes the file, asks ``has_data`` and, only if the engine lacks it,
sends it with ``put_data`` requests of ``CHUNK`` bytes each (a uint8 buffer). The engine's side
(``has_data``, ``put_data``, ``cached_path``) appends the chunks to a part file of that client's,
checks the whole against its hash, then renames it to ``<hash>.npz`` in
``data_dir()/engine-cache/datasets``. A train request names it as ``dataset_hash``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.core.appdata import data_dir

CHUNK = 4 << 20
_HASH = re.compile(r"[0-9a-f]{64}")


class DataCacheError(Exception):
    """A chunk or hash the engine cannot take (one readable line)."""


def cache_dir() -> Path:
    return data_dir() / "engine-cache" / "datasets"


def _hash(body: dict) -> str:
    digest = body.get("hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise DataCacheError("a dataset's hash is 64 lowercase hex digits")
    return digest


def cached_path(digest: str) -> Path:
    """The cached file of ``digest`` (DataCacheError: the engine has none)."""
    path = cache_dir() / f"{_hash({'hash': digest})}.npz"
    if not path.is_file():
        raise DataCacheError(f"the engine has no dataset {digest[:12]}…: send it first")
    return path


# --- the engine's side (requests on the jobs lane: before the run they feed, in order) ---------


def has_data(body: dict) -> dict:
    return {"present": (cache_dir() / f"{_hash(body)}.npz").is_file()}


def put_data(body: dict, client: bytes) -> dict:
    """Append ``chunk`` at ``offset`` of the file ``hash`` (``total`` bytes); the last chunk
    checks the whole and puts it in the cache."""
    digest, offset, total = _hash(body), body.get("offset"), body.get("total")
    chunk = body.get("chunk")
    if (type(offset) is not int or type(total) is not int or not isinstance(chunk, np.ndarray)
            or chunk.dtype != np.uint8 or not 0 <= offset < total):
        raise DataCacheError("put_data needs a uint8 chunk, its offset and the total size")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{digest}.{client.hex()[:32]}.part"
    if offset == 0:
        part.unlink(missing_ok=True)
    elif not part.exists() or part.stat().st_size != offset:
        raise DataCacheError(f"a chunk at {offset} of a dataset the engine has not received "
                             "up to there: send it again from the start")
    with open(part, "ab") as handle:
        handle.write(chunk.tobytes())
    received = offset + chunk.size
    if received > total:
        part.unlink(missing_ok=True)
        raise DataCacheError("more bytes than the dataset's size were sent")
    if received == total:
        if _sha256(part) != digest:
            part.unlink(missing_ok=True)
            raise DataCacheError("the dataset received does not match its hash: send it again")
        os.replace(part, folder / f"{digest}.npz")
    return {"received": received}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --- the caller's side ---------------------------------------------------------------------------


def send(request: Callable[..., dict], path: str | os.PathLike,
         progress: Callable[[int, int], None] | None = None) -> tuple[str, int]:
    """Make sure the engine holds the file at ``path``: ``(its hash, bytes sent)``; 0 bytes when
    the engine had it already. ``request(name, body, timeout=...)`` is a client's."""
    digest = _sha256(Path(path))
    if request("has_data", {"hash": digest}, timeout=60)["present"]:
        return digest, 0
    total = os.path.getsize(path)
    if total == 0:
        raise DataCacheError(f"{path} is empty")
    sent = 0
    with open(path, "rb") as handle:
        while sent < total:
            block = handle.read(CHUNK)
            if not block:
                raise DataCacheError(f"{path} changed while it was being sent")
            request("put_data", {"hash": digest, "offset": sent, "total": total,
                                 "chunk": np.frombuffer(block, dtype=np.uint8)}, timeout=300)
            sent += len(block)
            if progress is not None:
                progress(sent, total)
    return digest, sent
