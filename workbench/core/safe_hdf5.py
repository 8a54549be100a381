"""HDF5 files within bounds: a legacy ``.h5`` model, or the weights file inside a ``.keras``.

Before Keras (through h5py) reads one, every dataset is checked: no links to other files, no data
stored outside the file (external or virtual datasets), only filters built into HDF5 (another
filter number makes HDF5 load a plugin library), and no dataset that would inflate far beyond the
bytes it stores (a gzip bomb, or a dataset that stores nothing and reads as gigabytes of fill
value); the whole must fit the free memory. Keras 3.15 has a guard of its own for the weights in a
``.keras``; older versions, which the Workbench also runs on, have none.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile

from workbench.core.safe_io import (
    MAX_RATIO,
    RATIO_CHECKED_FROM,
    FileRefused,
    _a,
    _size,
    check_fits_memory,
    open_regular,
    shown,
)
from workbench.i18n import _

HDF5_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
                32000: "lzf"}
MAX_HDF5_OBJECTS = 100_000


def _dataset_bytes(path, owner: str, name: str, dataset) -> int:
    """The bytes reading ``dataset`` inflates to; FileRefused if it reaches outside the file, uses
    a filter that is not built in, or declares far more than it stores."""
    if dataset.is_virtual or dataset.external:
        raise FileRefused(_("{path}: refused: {owner} dataset {name!r} reads its data "
                            "from other files").format(
                              path=shown(path), owner=owner, name=shown(name)))
    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in HDF5_FILTERS:
            raise FileRefused(_("{path}: refused: {owner} dataset {name!r} uses HDF5 "
                                "filter {code}, which is not built into HDF5").format(
                                  path=shown(path), owner=owner, name=shown(name),
                                  code=code))
    itemsize = dataset.dtype.itemsize
    inflated = (dataset.size or 0) * itemsize
    if dataset.chunks:  # each stored chunk inflates whole, even beyond the dataset's shape
        chunk = itemsize
        for side in dataset.chunks:
            chunk *= side
        inflated = max(inflated, dataset.id.get_num_chunks() * chunk)
    stored = dataset.id.get_storage_size()
    if inflated > RATIO_CHECKED_FROM and inflated > MAX_RATIO * max(stored, 1):
        raise FileRefused(_("{path}: refused: {owner} dataset {name!r} would inflate "
                            "from {size} to {size2} (a compression bomb?)").format(
                              path=shown(path), owner=owner, name=shown(name),
                              size=_size(stored), size2=_size(inflated)))
    return inflated


def _check(path, stream, what: str, member: str | None = None) -> None:
    """Check the HDF5 file that ``stream`` reads (``path`` names it in messages, with the
    archive's ``member`` that holds it, if any)."""
    import h5py

    owner = _("its") if member is None else _("its {member}").format(member=shown(member))
    try:
        h5 = h5py.File(stream, "r")
    except (OSError, ValueError):
        raise FileRefused(
            _("{path}: not a valid {what} (it is not an HDF5 file)").format(
                path=shown(path), what=_(what)) if member is None else
            _("{path}: {owner} is not an HDF5 file").format(path=shown(path), owner=owner)
        ) from None
    with h5:
        names: list[str] = []
        # a callback's non-None answer stops the walk: never list more than the limit
        h5.visit_links(lambda name: names.append(name) or len(names) > MAX_HDF5_OBJECTS or None)
        if len(names) > MAX_HDF5_OBJECTS:
            raise FileRefused(_("{path}: refused: more than {max_hdf5_objects:,} "
                                "objects is too many for {a}").format(
                                  path=shown(path), max_hdf5_objects=MAX_HDF5_OBJECTS,
                                  a=_a(what)))
        total = h5.id.get_filesize()  # attributes and small data are read whole
        for name in names:
            link = h5.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise FileRefused(_("{path}: refused: {owner} link {name!r} points to "
                                    "another file ({filename})").format(
                                      path=shown(path), owner=owner, name=shown(name),
                                      filename=shown(link.filename)))
            if not isinstance(link, h5py.HardLink):
                continue  # a soft link names an object in this file, checked where it is
            item = h5.get(name)
            if isinstance(item, h5py.Dataset):
                total += _dataset_bytes(path, owner, name, item)
    check_fits_memory(path, total, _("the {what}").format(what=_(what)))


def check_hdf5(path: str | os.PathLike, kind: str, what: str) -> None:
    """Refuse the HDF5 file ``path`` (a regular file within ``kind``'s limit) unless it is
    within bounds."""
    with open_regular(path, kind, what) as stream:
        _check(path, stream, what)


class _StoredMember(io.RawIOBase):
    """An uncompressed zip member read in place, with the cheap seeks h5py needs (a ZipExtFile
    re-reads from the member's start on every backward seek)."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo):
        super().__init__()
        self._fp, self._size, self._pos = archive.fp, info.file_size, 0
        self._fp.seek(info.header_offset)
        header = self._fp.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        self._start = info.header_offset + 30 + name_length + extra_length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._pos))
        self._fp.seek(self._start + self._pos)
        data = self._fp.read(count)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def check_hdf5_member(path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> None:
    """Refuse the HDF5 file an archive holds (a ``.keras``'s ``model.weights.h5``) unless it is
    within bounds, as ``check_hdf5`` checks a file; messages name the archive and the member."""
    try:
        stream = (_StoredMember(archive, info) if info.compress_type == zipfile.ZIP_STORED
                  else archive.open(info))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRefused(_("{path}: not a valid {what} ({exc})").format(
                              path=shown(path), what=_(what), exc=shown(exc))) from None
    with stream:
        _check(path, stream, _("{what}'s {member}").format(what=_(what), member=info.filename),
               info.filename)
