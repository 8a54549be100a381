"""A dataset file or folder sent to a remote engine once: in chunks, keyed by its content's
SHA-256, kept in the engine's cache, so a second run on the same data sends nothing.

The caller's side (``send``) hashes the ``.npz`` file (a folder of class sub-folders: a tar of
the images its loader reads, packed the same way every time), asks ``has_data`` and, only if the
engine lacks it, sends it with ``put_data`` requests of ``CHUNK`` bytes each (a uint8 buffer).
The engine's side (``has_data``, ``put_data``, ``cached_path``) appends the chunks to a part file
of that client's, checks the whole against its hash, then renames it to ``<hash>.npz`` in
``data_dir()/engine-cache/datasets`` (a tar: unpacked, with tarfile's ``data`` filter, into the
folder ``<hash>``). A train request names it as ``dataset_hash``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.core.appdata import data_dir
from workbench.i18n import _

CHUNK = 4 << 20
_HASH = re.compile(r"[0-9a-f]{64}")


class DataCacheError(Exception):
    """A chunk or hash the engine cannot take (one readable line)."""


def cache_dir() -> Path:
    return data_dir() / "engine-cache" / "datasets"


def _hash(body: dict) -> str:
    digest = body.get("hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise DataCacheError(_("a dataset's hash is 64 lowercase hex digits"))
    return digest


def _cached(digest: str) -> Path | None:
    folder = cache_dir()
    for path in (folder / f"{digest}.npz", folder / digest):
        if path.exists():
            return path
    return None


def cached_path(digest: str) -> Path:
    """The cached file or folder of ``digest`` (DataCacheError: the engine has none)."""
    path = _cached(_hash({"hash": digest}))
    if path is None:
        raise DataCacheError(_("the engine has no dataset {digest}…: send it first").format(
                                 digest=digest[:12]))
    return path


# --- the engine's side (requests on the jobs lane: before the run they feed, in order) ---------


def has_data(body: dict) -> dict:
    return {"present": _cached(_hash(body)) is not None}


def put_data(body: dict, client: bytes) -> dict:
    """Append ``chunk`` at ``offset`` of the file ``hash`` (``total`` bytes); the last chunk
    checks the whole and puts it in the cache."""
    digest, offset, total = _hash(body), body.get("offset"), body.get("total")
    chunk, kind = body.get("chunk"), body.get("kind", "npz")
    if (kind not in ("npz", "tar") or type(offset) is not int or type(total) is not int
            or not isinstance(chunk, np.ndarray) or chunk.dtype != np.uint8
            or not 0 <= offset < total):
        raise DataCacheError(_("put_data needs a uint8 chunk, its offset and the total size"))
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{digest}.{client.hex()[:32]}.part"
    if offset == 0:
        part.unlink(missing_ok=True)
    elif not part.exists() or part.stat().st_size != offset:
        raise DataCacheError(_("a chunk at {offset} of a dataset the engine has not "
                               "received up to there: send it again from the start").format(
                                 offset=offset))
    with open(part, "ab") as handle:
        handle.write(chunk.tobytes())
    received = offset + chunk.size
    if received > total:
        part.unlink(missing_ok=True)
        raise DataCacheError(_("more bytes than the dataset's size were sent"))
    if received == total:
        if _sha256(part) != digest:
            part.unlink(missing_ok=True)
            raise DataCacheError(_("the dataset received does not match its hash: send it again"))
        if kind == "npz":
            os.replace(part, folder / f"{digest}.npz")
        else:
            _unpack(part, folder / digest)
    return {"received": received}


def _unpack(tar: Path, target: Path) -> None:
    unpacking = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with tarfile.open(tar) as archive:
            archive.extractall(unpacking, filter="data")  # no links out, no devices, no ".."
        if not target.exists():  # else another client's copy of the same bytes is there
            os.replace(unpacking, target)
    except (tarfile.TarError, OSError) as exc:
        raise DataCacheError(_("the folder sent could not be unpacked: {exc}").format(
                                 exc=exc)) from None
    finally:
        tar.unlink(missing_ok=True)
        shutil.rmtree(unpacking, ignore_errors=True)


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
    if not Path(path).is_dir():
        return _send(request, Path(path), "npz", progress)
    with tempfile.TemporaryDirectory(prefix="workbench-send-") as folder:
        packed = Path(folder) / "dataset.tar"
        pack_folder(Path(path), packed)
        return _send(request, packed, "tar", progress)


def pack_folder(folder: Path, into: Path) -> None:
    """A tar of the images ``folder``'s loader reads (class/relative path), in their order, with
    no dates, owners or modes of their own: the same folder packs to the same bytes."""
    from workbench.core.datasets.folders import _check_class_links, image_files

    _check_class_links(folder)
    with tarfile.open(into, "w", format=tarfile.PAX_FORMAT) as archive:
        for name, paths in image_files(folder).items():
            for path in paths:
                relative = Path(os.path.relpath(path, folder / name)).as_posix()
                info = tarfile.TarInfo(f"{name}/{relative}")
                info.size, info.mode, info.mtime = os.path.getsize(path), 0o644, 0
                with open(path, "rb") as handle:
                    archive.addfile(info, handle)


def _send(request, path: Path, kind: str, progress) -> tuple[str, int]:
    digest = _sha256(path)
    if request("has_data", {"hash": digest}, timeout=60)["present"]:
        return digest, 0
    total = os.path.getsize(path)
    if total == 0:
        raise DataCacheError(_("{path} is empty").format(path=path))
    sent = 0
    with open(path, "rb") as handle:
        while sent < total:
            block = handle.read(CHUNK)
            if not block:
                raise DataCacheError(_("{path} changed while it was being sent").format(
                                         path=path))
            request("put_data", {"hash": digest, "offset": sent, "total": total, "kind": kind,
                                 "chunk": np.frombuffer(block, dtype=np.uint8)}, timeout=300)
            sent += len(block)
            if progress is not None:
                progress(sent, total)
    return digest, sent
