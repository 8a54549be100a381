"""Atomic file replacement: write a sibling temporary file, fsync it, then ``os.replace``.

A crash at any point leaves either the old file or the new one, never half of either.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _mode_for(path: Path) -> int:
    """The permissions the file had, or an ordinary new file's (0666 less the umask: 0644)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux says it without changing it (os.umask would, for every thread, for a moment)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextmanager
def replacing(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    ``suffix`` matters to writers that look at the name (Keras wants ``.keras``). The temporary
    file is removed when the block fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp's 0600 would make every export private
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes | memoryview, suffix: str = ".tmp") -> Path:
    """Write ``data`` at ``path`` atomically (``replacing``)."""
    path = Path(path)
    with replacing(path, suffix=suffix) as tmp, open(tmp, "wb") as out:
        out.write(data)
    return path


def sync_folder(folder: str | os.PathLike) -> None:
    """Make the renames in ``folder`` durable (fsync the folder itself), before anything that
    relies on them, such as removing the backup they replace."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # a system without folder descriptors: the renames are as durable as it allows
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
